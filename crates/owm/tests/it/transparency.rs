//! Runs that survive SIGKILL, replays, and the report as a browser shows it, through the `owm` binary.

use crate::owm;
use owm_testkit::text;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn digest(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout.split("weights digest ").nth(1).and_then(|s| s.split_whitespace().next()).unwrap_or_else(|| panic!("no digest in {stdout}")).to_string()
}

/// Counts the step records of a growing trace, reading only what was appended since the last call.
struct Follow {
    path: PathBuf,
    read: u64,
    /// The last bytes read, too short to hold a whole marker: a marker split across two reads is counted once.
    tail: Vec<u8>,
    steps: usize,
}

const MARKER: &[u8] = br#"{"event":"step""#;

impl Follow {
    fn new(path: PathBuf) -> Self {
        Self { path, read: 0, tail: Vec::new(), steps: 0 }
    }

    fn steps(&mut self) -> usize {
        use std::io::{Seek, SeekFrom};
        let Ok(mut f) = std::fs::File::open(&self.path) else { return 0 };
        let mut fresh = std::mem::take(&mut self.tail);
        let _ = f.seek(SeekFrom::Start(self.read));
        self.read += f.read_to_end(&mut fresh).unwrap_or(0) as u64;
        self.steps += fresh.windows(MARKER.len()).filter(|w| *w == MARKER).count();
        self.tail = fresh[fresh.len().saturating_sub(MARKER.len() - 1)..].to_vec();
        self.steps
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// About 8,600 steps of a few hundred microseconds: long enough to be killed at a random one.
const RUN: [&str; 10] = ["train", "--quiet", "--hidden", "32", "--batch-size", "1", "--epochs", "6", "--checkpoint-every", "97"];

#[test]
fn a_run_killed_with_sigkill_should_resume_to_the_uninterrupted_weights() {
    let dir = owm_testkit::tempdir();
    let whole = owm(dir.path(), &[&RUN[..], &["--out", "whole"]].concat());
    assert!(whole.status.success(), "{}", text(&whole));
    let total = 6 * 1437;

    // Kill a real run at a random step (printed, to reproduce a failure).
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as usize;
    let kill_at = 50 + nanos % (total * 6 / 10);
    eprintln!("killing the run at step {kill_at} of {total}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_owm"))
        .args([&RUN[..], &["--out", "cut"]].concat())
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut trace = Follow::new(dir.path().join("cut/trace.jsonl"));
    let started = Instant::now();
    while trace.steps() < kill_at {
        assert!(child.try_wait().unwrap().is_none(), "the run ended before step {kill_at}");
        assert!(started.elapsed() < Duration::from_secs(120), "the run did not reach step {kill_at}");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let cut = dir.path().join("cut");
    assert!(!cut.join("bundle").exists(), "killed after it finished");

    // The partial trace reads up to its last complete record and renders.
    let partial = dir.path().join("partial");
    copy_dir(&cut, &partial);
    let report = owm(dir.path(), &["report", "partial"]);
    assert!(report.status.success(), "{}", text(&report));
    let html = std::fs::read_to_string(partial.join("report.html")).unwrap();
    assert!(html.contains("without a stop record"), "the partial report does not say the run was cut");

    // `owm resume` continues it to the weights of the uninterrupted run.
    let resumed = owm(dir.path(), &["resume", "cut", "--quiet"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    assert_eq!(digest(&resumed), digest(&whole), "killed at step {kill_at}: {}", text(&resumed));
    let again = owm(dir.path(), &["resume", "cut", "--quiet"]);
    assert!(!again.status.success() && text(&again).contains("complete"), "{}", text(&again));

    // The resumed run's trace replays bit for bit.
    let replayed = owm(dir.path(), &["replay", "cut", "--quiet"]);
    assert!(replayed.status.success() && text(&replayed).contains("reproduced"), "{}", text(&replayed));
}

#[test]
fn replay_should_exit_non_zero_where_a_seed_changes_the_run() {
    let dir = owm_testkit::tempdir();
    let run = owm(dir.path(), &["train", "--quiet", "--epochs", "2", "--out", "run"]);
    assert!(run.status.success(), "{}", text(&run));
    let same = owm(dir.path(), &["replay", "run", "--quiet"]);
    assert!(same.status.success(), "{}", text(&same));
    let other = owm(dir.path(), &["replay", "run", "--quiet", "--seed", "1"]);
    assert_eq!(other.status.code(), Some(4), "{}", text(&other));
    assert!(text(&other).contains("diverged at step 0, `layers.0.weight`"), "{}", text(&other));
}

#[test]
fn trace_should_export_csv_and_diff_should_compare_runs() {
    let dir = owm_testkit::tempdir();
    for (out, epochs) in [("a", "2"), ("b", "3")] {
        let run = owm(dir.path(), &["train", "--quiet", "--epochs", epochs, "--checkpoint-every", "45", "--out", out]);
        assert!(run.status.success(), "{}", text(&run));
    }
    let csv = owm(dir.path(), &["trace", "a", "--steps", "5..6", "--paths", "layers.1.weight", "--stats", "update_ratio"]);
    assert!(csv.status.success(), "{}", text(&csv));
    let lines: Vec<String> = String::from_utf8_lossy(&csv.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0], "step,epoch,path,stat,value");
    assert!(lines[1].starts_with("5,1,layers.1.weight,update_ratio,"), "{lines:?}");
    let same = owm(dir.path(), &["diff", "a", "a/bundle"]);
    assert!(same.status.success() && text(&same).contains("bit-identical"), "{}", text(&same));
    let diff = owm(dir.path(), &["diff", "a", "b"]);
    assert_eq!(diff.status.code(), Some(5), "{}", text(&diff));
    assert!(text(&diff).contains("changed most"), "{}", text(&diff));
    let checkpoint = owm(dir.path(), &["diff", "b/checkpoint.json", "b"]);
    assert!(text(&checkpoint).contains("(step 90)"), "{}", text(&checkpoint));
}

#[test]
fn trace_should_export_tensorboard_events_that_tensorboard_reads_back() {
    let dir = owm_testkit::tempdir();
    // Gradient steps with validation, then a genetic-algorithm phase: every kind of scalar, and histograms.
    let run = owm(dir.path(), &["train", "--quiet", "--hidden", "16", "--optimizer", "adam:epochs=2,ga:generations=3:population=6", "--out", "run"]);
    assert!(run.status.success(), "{}", text(&run));
    for out in ["tb", "again"] {
        let written = owm(dir.path(), &["trace", "run", "--tensorboard", out]);
        assert!(written.status.success(), "{}", text(&written));
    }
    let file = |d: &str| std::fs::read(dir.path().join(d).join(owm::trace::TENSORBOARD_FILE)).unwrap();
    assert_eq!(file("tb"), file("again"), "the same trace gives the same bytes");

    let found = Command::new("python3").args(["-c", "import tensorboard"]).output().is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var_os("OWM_REQUIRE_TENSORBOARD").is_some() || std::env::var_os("CI").is_some();
        assert!(!required, "python3 with tensorboard is required here: pip install tensorboard");
        eprintln!("\n*** SKIPPED: python3 lacks tensorboard (pip install tensorboard), so TensorBoard did not read the events ***\n");
        return;
    }
    // A private run adds the clipping and noise scalars.
    let dp = owm(
        dir.path(),
        &["train", "--quiet", "--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-clip", "1", "--epochs", "1", "--batch-size", "64", "--out", "dp"],
    );
    assert!(dp.status.success(), "{}", text(&dp));
    assert!(owm(dir.path(), &["trace", "dp", "--tensorboard", "dp_tb"]).status.success());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/tensorboard_check.py");
    for (run, tb) in [("run", "tb"), ("dp", "dp_tb")] {
        let out = owm_testkit::output(Command::new("python3").arg(&script).arg(dir.path().join(run).join("trace.jsonl")).arg(dir.path().join(tb)));
        assert!(out.status.success(), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(report["histogram_tags"].as_u64().unwrap() > 0 && report["hparams"].as_u64().unwrap() > 10, "{report}");
        assert!(report["scalar_tags"].as_u64().unwrap() > 20, "{report}");
    }
}

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].iter().map(PathBuf::from).find(|p| p.exists())
}

#[test]
fn the_report_should_render_in_headless_chromium_with_the_runs_data() {
    let Some(browser) = chromium() else {
        let required = std::env::var_os("OWM_REQUIRE_CHROMIUM").is_some() || std::env::var_os("CI").is_some();
        assert!(!required, "chromium is required here (.ci/run installs Debian's chromium)");
        eprintln!("\n*** SKIPPED: no chromium; `apt install chromium` to run the report rendering test ***\n");
        return;
    };
    let dir = owm_testkit::tempdir();
    let run = owm(dir.path(), &["train", "--quiet", "--epochs", "3", "--out", "run"]);
    assert!(run.status.success(), "{}", text(&run));
    let page = dir.path().join("run/report.html");
    let profile = dir.path().join("profile");
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let (dom, log) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Uncaught")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");

    // The charts hold the run's data: the loss line has one point per step, the update-ratio heatmap a row
    // per parameter, the confusion matrix the evaluation's counts.
    let trace = owm::trace::read_trace(dir.path().join("run/trace.jsonl")).unwrap();
    let steps = trace.steps().count();
    // 3 epochs of ceil(1293 / 32) = 41 steps (the digits training split, less its 10% validation).
    assert_eq!(steps, 123);
    let loss_line = dom
        .split("<polyline")
        .find(|p| p.contains(r#"stroke-width="2""#))
        .and_then(|p| p.split("points=\"").nth(1))
        .map(|p| p.split('"').next().unwrap_or_default().split_whitespace().count())
        .expect("a loss line");
    assert_eq!(loss_line, steps, "the loss chart does not have one point per step");
    assert!(dom.matches("<svg").count() >= 8, "charts missing");
    for path in ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"] {
        assert!(dom.contains(&format!(">{path}<")), "{path} is not labelled in the charts");
    }
    let evaluation: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.path().join("run/evaluation.json")).unwrap()).unwrap();
    let first_row: Vec<String> = evaluation["confusion"][0].as_array().unwrap().iter().map(|n| format!("<td>{n}</td>")).collect();
    assert!(dom.contains(&first_row.concat()), "the confusion table does not show the evaluation");
    assert!(dom.contains("nothing alarming"), "the default run's explanation is not shown");
}

#[test]
fn resume_should_take_the_runs_own_config_only() {
    let dir = owm_testkit::tempdir();
    let mixed = owm(dir.path(), &["train", "--resume", "run", "--epochs", "3"]);
    assert_eq!(mixed.status.code(), Some(2), "{}", text(&mixed));
    assert!(text(&mixed).contains("cannot be used with"), "{}", text(&mixed));
    let mixed = owm(dir.path(), &["resume", "run", "--epochs", "3"]);
    assert_eq!(mixed.status.code(), Some(2), "{}", text(&mixed));
    let nowhere = owm(dir.path(), &["resume", "nowhere"]);
    assert_eq!(nowhere.status.code(), Some(1), "{}", text(&nowhere));
    assert!(text(&nowhere).contains("nowhere is not a run folder that can be resumed"), "{}", text(&nowhere));
}

#[test]
fn bad_run_folders_should_be_reported_with_file_and_line_not_a_panic() {
    let dir = owm_testkit::tempdir();
    let run = owm(dir.path(), &["train", "--quiet", "--epochs", "1", "--out", "run"]);
    assert!(run.status.success(), "{}", text(&run));
    let trace = dir.path().join("run/trace.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&trace).unwrap().lines().map(str::to_string).collect();
    lines[7] = "{\"event\":\"step\",".into();
    std::fs::write(&trace, lines.join("\n") + "\n").unwrap();
    for args in [&["report", "run"][..], &["replay", "run", "--quiet"], &["trace", "run"]] {
        let out = owm(dir.path(), args);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
        assert!(all.contains("trace.jsonl") && all.contains("line 8") && !all.contains("panicked"), "{args:?}: {all}");
    }
    let missing = owm(dir.path(), &["replay", "nowhere"]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("nowhere/trace.jsonl"), "{}", text(&missing));
    let neither = owm(dir.path(), &["diff", "run", "nowhere"]);
    assert!(text(&neither).contains("neither a bundle, a run folder nor a checkpoint"), "{}", text(&neither));
}
