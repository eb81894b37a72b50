//! A user-defined Burn module trained by a user-defined optimiser through the whole pipeline: per-layer
//! statistics at every step, checkpoints, a resume after SIGKILL to the uninterrupted weights, an evaluation,
//! and a bundle that `owm verify` and `owm eval` accept.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use custom_model::{Config, evaluate, run};
use owm::core::{BackendKind, TraceEvent};
use owm_testkit::text;

fn config(out: &Path, epochs: u64) -> Config {
    Config { out: out.to_path_buf(), epochs, checkpoint_every: 20, quiet: true, ..Config::default() }
}

/// The `owm` binary `cargo test --workspace` builds beside this test executable (target/debug/owm).
fn owm_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().and_then(Path::parent).unwrap().join("owm");
    assert!(bin.is_file(), "{} is missing: these tests run the owm binary, which `cargo test --workspace` (or `cargo build -p owm`) builds", bin.display());
    bin
}

#[test]
fn a_user_model_should_train_trace_evaluate_and_bundle_like_a_built_in_one() {
    let dir = owm_testkit::tempdir();
    let report = run(&config(&dir.path().join("run"), 4)).unwrap();
    let accuracy = report.evaluation.report.accuracy;
    assert!(accuracy >= 0.9, "test accuracy {accuracy}");

    // The manifest and the recorded config say what ran: the user's module and the user's optimiser.
    let m = &report.manifest;
    assert_eq!(m.model["kind"], "custom");
    assert!(m.model["name"].as_str().unwrap().ends_with("::ResidualMlp"), "{}", m.model);
    assert!(m.model["tree"].as_str().unwrap().contains("LayerNorm"), "{}", m.model);
    let params: Vec<(String, Vec<usize>)> = serde_json::from_value(m.model["params"].clone()).unwrap();
    let paths: Vec<&str> = params.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["stem.weight", "stem.bias", "norm.gamma", "norm.beta", "block.weight", "block.bias", "head.weight", "head.bias"]);
    assert_eq!(params[0].1, [64, 64]);
    assert_eq!(m.experiment["model"]["kind"], "custom");
    assert_eq!((m.experiment["optimizer"]["name"].as_str(), m.experiment["optimizer"]["settings"]["beta"].as_f64()), (Some("signum"), Some(0.9)));

    // Every weight was initialised by the plan and traced at every step.
    let trace = owm::trace::read_trace(report.run_dir.join(owm::train::files::TRACE)).unwrap();
    let inits = trace.events.iter().filter(|e| matches!(e, TraceEvent::ParamInit(_))).count();
    assert_eq!(inits, 8);
    assert_eq!(trace.steps().count() as u64, report.training.steps);
    assert!(trace.steps().all(|s| s.layers.len() == 8), "per-layer statistics at every step");
    assert!(report.run_dir.join(owm::train::files::CHECKPOINT).is_file());

    // Re-evaluated from the bundle into a fresh module: the recorded accuracy, bit for bit on the CPU.
    let again = evaluate(&report.bundle_dir, 64, &BackendKind::Flex).unwrap();
    assert_eq!(again.report.report.accuracy, accuracy);
    assert!(again.same_test_data);

    // The command line verifies the bundle and accepts it for evaluation, saying what it cannot rebuild.
    let verify = Command::new(owm_binary()).arg("verify").arg(&report.run_dir).output().unwrap();
    assert!(verify.status.success() && text(&verify).contains("OK: every digest matches"), "{}", text(&verify));
    let eval = Command::new(owm_binary()).arg("eval").arg(&report.run_dir).output().unwrap();
    assert!(eval.status.success(), "{}", text(&eval));
    assert!(text(&eval).contains("ResidualMlp") && text(&eval).contains(&format!("recorded test accuracy {accuracy:.4}")), "{}", text(&eval));
}

/// The environment variable that makes [`child_training_process`] train (into the folder it names).
const CHILD: &str = "OWM_CUSTOM_MODEL_CHILD_RUN";

/// Not a test of its own: the training process that the SIGKILL test starts (this executable again, with
/// `CHILD` set) and kills.
#[test]
#[ignore = "started and killed by a_killed_user_run_should_resume_to_the_uninterrupted_weights"]
fn child_training_process() {
    let out = std::env::var_os(CHILD).expect("started by the SIGKILL test");
    run(&config(Path::new(&out), 40)).unwrap();
}

#[test]
fn a_killed_user_run_should_resume_to_the_uninterrupted_weights() {
    let dir = owm_testkit::tempdir();
    let whole = run(&config(&dir.path().join("whole"), 40)).unwrap();

    let cut = dir.path().join("cut");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "custom_model::child_training_process", "--ignored", "--nocapture"])
        .env(CHILD, &cut)
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !cut.join(owm::train::files::CHECKPOINT).is_file() {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint after two minutes");
        assert!(child.try_wait().unwrap().is_none(), "the training process ended before its first checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(!cut.join(owm::train::files::BUNDLE).exists(), "killed before the end of its 40 epochs");

    // The command line cannot rebuild user code, and says so by name.
    let refused = Command::new(owm_binary()).arg("resume").arg(&cut).output().unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(text(&refused).contains("ResidualMlp") && text(&refused).contains("user code"), "{}", text(&refused));

    let resumed = run(&Config { resume: true, ..config(&cut, 40) }).unwrap();
    assert_eq!(resumed.manifest.weights_digest, whole.manifest.weights_digest);
}
