//! `cargo xtask bench`: LeNet-5 training throughput, OWM on each compiled backend beside PyTorch; genetic
//! algorithm generations per second on the digits MLP beside PyGAD (target: at least 5×); what default
//! tracing costs on whole `owm train` runs, with the trace's size and its report's time; bundle save, load and
//! verify throughput (target: verify at least 1 GB/s on one core); DP-SGD training throughput beside plain
//! training and beside Opacus (target: at most 3× slower than plain).

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

pub fn run(args: &[String]) -> Result<()> {
    let mut settings = [
        ("--batch-size", 64usize),
        ("--steps", 50),
        ("--warmup", 5),
        ("--generations", 30),
        ("--tracing-epochs", 10),
        ("--tracing-items", 50_000),
        ("--bundle-mb", 100),
    ];
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(slot) = settings.iter_mut().find(|(name, _)| name == flag) else { bail!("unknown option {flag}") };
        slot.1 = it.next().context("missing value")?.parse()?;
    }
    let [(_, batch), (_, steps), (_, warmup), (_, generations), (_, tracing_epochs), (_, tracing_items), (_, bundle_mb)] = settings;
    let root = crate::workspace_root();
    let status = Command::new(crate::cargo()).args(["build", "--release", "-p", "owm", "--features", "ndarray,wgpu"]).current_dir(&root).status()?;
    if !status.success() {
        bail!("building owm failed");
    }
    let binary = target_dir()?.join("release").join("owm");
    let mut rows: Vec<Value> = Vec::new();
    for device in ["flex", "ndarray", "wgpu"] {
        eprintln!("bench: OWM LeNet-5 on {device} ...");
        let out = Command::new(&binary)
            .args(["bench", "--device", device, "--batch-size", &batch.to_string(), "--steps", &steps.to_string()])
            .args(["--warmup", &warmup.to_string()])
            .output()?;
        rows.push(parse_row(&format!("owm-{device}"), &out));
    }
    let torch_ok = Command::new("python3").args(["-c", "import torch"]).output().is_ok_and(|o| o.status.success());
    let torch = if torch_ok {
        eprintln!("bench: PyTorch LeNet-5 on CPU ...");
        let out = Command::new("python3")
            .arg(root.join("xtask/bench/lenet_torch.py"))
            .args(["--batch-size", &batch.to_string(), "--steps", &steps.to_string(), "--warmup", &warmup.to_string()])
            .output()?;
        Some(parse_row("pytorch-cpu", &out))
    } else {
        eprintln!("bench: python3 -c 'import torch' failed; PyTorch column skipped");
        None
    };
    let torch_ips = torch.as_ref().and_then(|t| t["images_per_second"].as_f64());
    rows.extend(torch);
    println!("LeNet-5 training, CIFAR-shaped input [{batch}, 3, 32, 32], Adam lr 1e-3, {steps} timed steps");
    println!("{:<14} {:>12} {:>16}", "backend", "img/s", "ratio vs PyTorch");
    for row in &mut rows {
        let ips = row["images_per_second"].as_f64();
        let ratio = ips.zip(torch_ips).map(|(a, b)| a / b);
        row["ratio_vs_pytorch"] = json!(ratio);
        let shown = ips.map_or_else(|| row["error"].as_str().unwrap_or("failed").chars().take(60).collect(), |v| format!("{v:.0}"));
        let ratio = ratio.map_or("-".to_string(), |r| format!("{r:.2}"));
        println!("{:<14} {:>12} {:>16}", row["name"].as_str().unwrap_or("?"), shown, ratio);
    }
    let report = json!({
        "benchmark": "lenet5-cifar-adam",
        "batch_size": batch,
        "steps": steps,
        "warmup": warmup,
        "host": host(),
        "results": rows,
    });
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    write_json(&dir.join("lenet.json"), &report)?;
    ga(&binary, generations, &root, &dir)?;
    tracing(&binary, tracing_epochs, tracing_items, &dir)?;
    bundle(&binary, bundle_mb, &dir)?;
    dp(&binary, batch, steps, warmup, &root, &dir)
}

/// DP-SGD training throughput beside plain training, OWM's and Opacus's in the same run (target: OWM's DP-SGD
/// at most 3× slower than its plain training).
fn dp(binary: &std::path::Path, batch: usize, steps: usize, warmup: usize, root: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    let args = ["--batch-size".to_string(), batch.to_string(), "--steps".into(), steps.to_string(), "--warmup".into(), warmup.to_string()];
    eprintln!("bench: DP-SGD beside plain training, LeNet-5, OWM ...");
    let owm = parse_row("owm-flex", &Command::new(binary).args(["bench", "--dp"]).args(&args).output()?);
    let opacus_ok = Command::new("python3").args(["-c", "import opacus"]).output().is_ok_and(|o| o.status.success());
    let opacus = if opacus_ok {
        eprintln!("bench: DP-SGD beside plain training, LeNet-5, Opacus ...");
        Some(parse_row("opacus", &Command::new("python3").arg(root.join("xtask/bench/dp_opacus.py")).args(&args).output()?))
    } else {
        eprintln!("bench: python3 -c 'import opacus' failed; Opacus column skipped");
        None
    };
    println!("DP-SGD (clip 1, noise 1, Poisson sampling) beside plain training: LeNet-5, Adam, expected batch {batch}, {steps} timed steps");
    println!("{:<10} {:>12} {:>12} {:>10}", "engine", "plain img/s", "DP img/s", "slowdown");
    for row in std::iter::once(&owm).chain(opacus.as_ref()) {
        let f = |k: &str| row[k].as_f64().map_or("-".to_string(), |v| format!("{v:.0}"));
        let slowdown = row["slowdown"].as_f64().map_or("-".to_string(), |v| format!("{v:.2}x"));
        println!("{:<10} {:>12} {:>12} {:>10}", row["name"].as_str().unwrap_or("?"), f("plain_images_per_second"), f("private_images_per_second"), slowdown);
    }
    let slowdown = owm["slowdown"].as_f64().unwrap_or(f64::INFINITY);
    println!("OWM DP-SGD slowdown {slowdown:.2}x (target <= 3x: {})", if slowdown <= 3.0 { "met" } else { "NOT met" });
    let report = json!({ "benchmark": "dp-sgd-lenet5", "host": host(), "owm": owm, "opacus": opacus, "targets": { "slowdown": 3.0 } });
    write_json(&dir.join("dp.json"), &report)
}

/// Saving, loading and verifying a bundle of about `mb` MB (target: verify at least 1 GB/s on one core).
fn bundle(binary: &std::path::Path, mb: usize, dir: &std::path::Path) -> Result<()> {
    if mb == 0 {
        return Ok(());
    }
    eprintln!("bench: bundle of about {mb} MB: save, load, verify ...");
    let out = Command::new(binary).args(["bench", "--bundle", &mb.to_string()]).output()?;
    let row = parse_row("owm", &out);
    let f = |k: &str| row[k].as_f64().unwrap_or(0.0);
    println!(
        "Bundle of {:.0} MB: save {:.0} MB/s, load {:.0} MB/s, verify {:.0} MB/s (target >= 1000 MB/s: {})",
        f("weights_bytes") / 1e6,
        f("save_mb_per_s"),
        f("load_mb_per_s"),
        f("verify_mb_per_s"),
        if f("verify_mb_per_s") >= 1000.0 { "met" } else { "NOT met" }
    );
    let report = json!({ "benchmark": "bundle-io", "host": host(), "result": row, "targets": { "verify_mb_per_s": 1000.0 } });
    write_json(&dir.join("bundle.json"), &report)
}

/// What default tracing costs on whole `owm train` runs (target: at most 3% slower), the trace's size (target:
/// under 20 MB for 10 epochs of LeNet-5 on CIFAR-10-sized data) and its report's time (target: under 2 s).
fn tracing(binary: &std::path::Path, epochs: usize, items: usize, dir: &std::path::Path) -> Result<()> {
    if epochs == 0 {
        return Ok(());
    }
    eprintln!("bench: tracing cost, LeNet-5 on {items} random CIFAR-sized images, {epochs} epochs, 2 traced and 2 untraced runs ...");
    let out = Command::new(binary).args(["bench", "--device", "flex", "--tracing", &epochs.to_string(), "--train-items", &items.to_string()]).output()?;
    let row = parse_row("owm-flex", &out);
    let f = |k: &str| row[k].as_f64();
    match (f("overhead"), f("trace_bytes"), f("report_seconds")) {
        (Some(overhead), Some(bytes), Some(report)) => {
            let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
            println!(
                "Tracing on the full `owm train` path ({} steps): traced {:.1} s, untraced {:.1} s",
                row["steps"],
                f("seconds_traced").unwrap_or(0.0),
                f("seconds_untraced").unwrap_or(0.0)
            );
            println!("  overhead {:+.2}% (target <= 3%: {})", overhead * 100.0, verdict(overhead <= 0.03));
            println!("  trace {:.1} MB (target < 20 MB: {})", bytes / 1e6, verdict(bytes < 20e6));
            println!("  owm report {report:.2} s (target < 2 s: {})", verdict(report < 2.0));
        }
        _ => println!("Tracing cost: {}", row["error"]),
    }
    let report =
        json!({ "benchmark": "tracing-cost", "host": host(), "result": row, "targets": { "overhead": 0.03, "trace_bytes": 20e6, "report_seconds": 2.0 } });
    write_json(&dir.join("tracing.json"), &report)
}

/// GA generations per second, OWM (flex) beside PyGAD with the same recipe (`tools/pygad_digits.py`).
fn ga(binary: &std::path::Path, generations: usize, root: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    eprintln!("bench: OWM GA on the digits MLP, {generations} generations ...");
    let out = Command::new(binary).args(["bench", "--ga", &generations.to_string(), "--device", "flex"]).output()?;
    let owm = parse_row("owm-flex", &out);
    let pygad_ok = Command::new("python3").args(["-c", "import pygad, sklearn"]).output().is_ok_and(|o| o.status.success());
    let pygad = if pygad_ok {
        eprintln!("bench: PyGAD, {generations} generations ...");
        let out = Command::new("python3").arg(root.join("tools/pygad_digits.py")).args(["--bench", &generations.to_string()]).output()?;
        Some(parse_row("pygad", &out))
    } else {
        eprintln!("bench: python3 -c 'import pygad, sklearn' failed; PyGAD column skipped (pip install pygad scikit-learn)");
        None
    };
    let gps = |v: &Value| v["generations_per_second"].as_f64();
    let ratio = gps(&owm).zip(pygad.as_ref().and_then(gps)).map(|(a, b)| a / b);
    println!("GA on the digits MLP (64-32-10), population 50, fitness on 1,438 items, {generations} generations");
    println!("{:<14} {:>12}", "engine", "gen/s");
    for row in std::iter::once(&owm).chain(pygad.as_ref()) {
        let shown = gps(row).map_or_else(|| row["error"].as_str().unwrap_or("failed").chars().take(60).collect(), |v| format!("{v:.2}"));
        println!("{:<14} {:>12}", row["name"].as_str().unwrap_or("?"), shown);
    }
    match ratio {
        Some(r) => println!("OWM / PyGAD: {r:.1}x (target >= 5x: {})", if r >= 5.0 { "met" } else { "NOT met" }),
        None => println!("OWM / PyGAD: -"),
    }
    let report =
        json!({ "benchmark": "ga-digits-mlp32", "generations": generations, "host": host(), "results": [owm, pygad], "ratio_vs_pygad": ratio, "target": 5.0 });
    write_json(&dir.join("ga.json"), &report)
}

/// Writes `value` as pretty JSON to `path` atomically (temporary file, rename) and says so.
fn write_json(path: &std::path::Path, value: &Value) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value)?)?;
    std::fs::rename(&tmp, path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn parse_row(name: &str, out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()) {
        Some(mut v) if out.status.success() => {
            v["name"] = json!(name);
            v
        }
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_string();
            json!({ "name": name, "error": last })
        }
    }
}

fn target_dir() -> Result<std::path::PathBuf> {
    let out = Command::new(crate::cargo()).args(["metadata", "--format-version", "1", "--no-deps"]).current_dir(crate::workspace_root()).output()?;
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["target_directory"].as_str().context("no target_directory")?.into())
}

fn host() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()));
    let rustc = Command::new("rustc").arg("--version").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "rustc": rustc,
    })
}
