//! `cargo xtask fuzz [--seconds N] [--jobs N] [TARGET...]`: runs every fuzz target of `fuzz/` (or the named
//! ones) under libFuzzer for N seconds each (default 10), `--jobs` at a time (default 1), from a corpus seeded
//! by `owm-fuzz`'s `seed-corpus`, and writes what each did to `target/fuzz/summary.json`.
//!
//! Needs the nightly toolchain and `cargo install cargo-fuzz`. Targets are built without a sanitizer
//! (`-s none`: OWM's one `unsafe` call, a bounds-checked GEMM, is on no parsing path, so what is sought is panics, hangs, overflows and runaway allocation)
//! and with debug assertions (`-a`: integer overflow panics). A finding is left in `fuzz/artifacts/TARGET/`
//! and fails the command; keep it as a regression in `fuzz/regressions/TARGET/` once fixed.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{cargo, workspace_root};

/// One target's run.
struct Outcome {
    target: String,
    seconds: u64,
    runs: u64,
    corpus: usize,
    finding: Option<String>,
}

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 10u64;
    let mut jobs = 1usize;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => seconds = it.next().context("--seconds N")?.parse().context("--seconds N")?,
            "--jobs" => jobs = it.next().context("--jobs N")?.parse().context("--jobs N")?,
            name if !name.starts_with('-') => targets.push(name.to_string()),
            other => bail!("unknown option `{other}`: cargo xtask fuzz [--seconds N] [--jobs N] [TARGET...]"),
        }
    }
    let root = workspace_root();
    let fuzz = root.join("fuzz");
    if targets.is_empty() {
        targets = std::fs::read_dir(fuzz.join("fuzz_targets"))?.filter_map(|e| e.ok()?.path().file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
        targets.sort();
    }
    let nightly = Command::new("cargo").args(["+nightly", "fuzz", "--version"]).output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        bail!("cargo fuzz needs the nightly toolchain and cargo-fuzz: rustup toolchain install nightly && cargo install cargo-fuzz");
    }
    let corpus = fuzz.join("corpus");
    let status = Command::new(cargo()).current_dir(&root).args(["run", "-q", "-p", "owm-fuzz", "--bin", "seed-corpus", "--"]).arg(&corpus).status()?;
    if !status.success() {
        bail!("seed-corpus failed");
    }
    let status = Command::new("cargo").current_dir(&root).args(["+nightly", "fuzz", "build", "-s", "none", "-a"]).status()?;
    if !status.success() {
        bail!("cargo fuzz build failed");
    }
    // The targets run as built here (not through `cargo fuzz run`, which would rebuild them when the sources
    // change during a long run).
    let metadata = Command::new("cargo").current_dir(&fuzz).args(["+nightly", "metadata", "--format-version", "1", "--no-deps"]).output()?;
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout).context("cargo metadata of fuzz/")?;
    let bin_dir = Path::new(metadata["target_directory"].as_str().context("target_directory")?).join("x86_64-unknown-linux-gnu/release");
    let mut outcomes = Vec::new();
    for batch in targets.chunks(jobs.max(1)) {
        let children = batch
            .iter()
            .map(|target| {
                let log = root.join(format!("target/fuzz/{target}.log"));
                std::fs::create_dir_all(root.join("target/fuzz"))?;
                let artifacts = fuzz.join("artifacts").join(target);
                std::fs::create_dir_all(&artifacts)?;
                let child = Command::new(bin_dir.join(target))
                    .current_dir(&root)
                    .arg(corpus.join(target))
                    .arg(format!("-artifact_prefix={}/", artifacts.display()))
                    .args([&format!("-max_total_time={seconds}"), "-timeout=20", "-rss_limit_mb=2048", "-max_len=65536"])
                    .stdout(std::fs::File::create(&log)?)
                    .stderr(std::fs::File::options().append(true).open(&log)?)
                    .spawn()?;
                Ok((target.clone(), log, child))
            })
            .collect::<Result<Vec<_>>>()?;
        for (target, log, mut child) in children {
            let ok = child.wait()?.success();
            let outcome = outcome(&target, &log, &corpus.join(&target), ok)?;
            println!(
                "{:<14} {:>5} s {:>10} runs  corpus {:>5}  {}",
                outcome.target,
                outcome.seconds,
                outcome.runs,
                outcome.corpus,
                outcome.finding.as_deref().unwrap_or("no finding")
            );
            outcomes.push(outcome);
        }
    }
    let summary: Vec<serde_json::Value> = outcomes
        .iter()
        .map(|o| serde_json::json!({"target": o.target, "seconds": o.seconds, "runs": o.runs, "corpus": o.corpus, "finding": o.finding}))
        .collect();
    let path = root.join("target/fuzz/summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)?;
    println!("wrote {}", path.display());
    let found: Vec<&str> = outcomes.iter().filter(|o| o.finding.is_some()).map(|o| o.target.as_str()).collect();
    if !found.is_empty() {
        bail!("findings in {}: see target/fuzz/TARGET.log and fuzz/artifacts/", found.join(", "));
    }
    Ok(())
}

/// Reads libFuzzer's last `#N DONE`/`Done N runs in S second(s)` lines and the first finding from its log.
fn outcome(target: &str, log: &Path, corpus: &Path, ok: bool) -> Result<Outcome> {
    let text = std::fs::read_to_string(log)?;
    let mut runs = 0;
    let mut seconds = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Done ") {
            let words: Vec<&str> = rest.split_whitespace().collect();
            runs = words.first().and_then(|w| w.parse().ok()).unwrap_or(runs);
            seconds = words.get(3).and_then(|w| w.parse().ok()).unwrap_or(seconds);
        }
    }
    let finding = text
        .lines()
        .find(|l| {
            l.contains("==ERROR") || l.contains("panicked at") || l.contains("deadly signal") || l.contains("out-of-memory") || l.contains("timeout after")
        })
        .map(str::to_string)
        .or_else(|| (!ok).then(|| format!("exited with an error, see {}", log.display())));
    let corpus = std::fs::read_dir(corpus).map_or(0, |d| d.count());
    Ok(Outcome { target: target.to_string(), seconds, runs, corpus, finding })
}
