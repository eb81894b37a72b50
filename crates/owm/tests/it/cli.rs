//! The `owm` binary as a user runs it.

use crate::owm;
use owm_testkit::text;

#[test]
fn train_without_arguments_should_reach_95_percent_and_eval_should_agree() {
    let dir = owm_testkit::tempdir();
    let out = owm(dir.path(), &["train", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let accuracy: f64 = stdout
        .split("test accuracy ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {stdout}"));
    assert!(accuracy >= 0.95, "{stdout}");
    let run = dir.path().join("runs/digits-mlp-adam-s42");
    assert!(run.join("bundle/manifest.json").is_file(), "{stdout}");

    let eval = owm(dir.path(), &["eval", "runs/digits-mlp-adam-s42"]);
    assert!(eval.status.success(), "{}", text(&eval));
    let eval_out = String::from_utf8_lossy(&eval.stdout);
    assert!(eval_out.contains(&format!("test accuracy {accuracy:.4}")), "{eval_out}");
    assert!(eval_out.contains("matches the accuracy recorded at training time"), "{eval_out}");

    let inspect = owm(dir.path(), &["inspect", "runs/digits-mlp-adam-s42/bundle"]);
    assert!(inspect.status.success(), "{}", text(&inspect));
    assert!(String::from_utf8_lossy(&inspect.stdout).contains("layers.0.weight"));

    // A second run does not overwrite the first.
    let again = owm(dir.path(), &["train", "--quiet", "--epochs", "1"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(dir.path().join("runs/digits-mlp-adam-s42-2/bundle").is_dir());
}

#[test]
fn malformed_data_should_fail_with_the_file_and_offset_not_a_panic() {
    let dir = owm_testkit::tempdir();
    std::fs::write(dir.path().join("train-images-idx3-ubyte"), [0x50, 0x4b, 3, 4, 0, 0]).unwrap();
    std::fs::write(dir.path().join("train-labels-idx1-ubyte"), [0, 0, 8, 1, 0, 0, 0, 0]).unwrap();
    std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), []).unwrap();
    std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), []).unwrap();
    let out = owm(dir.path(), &["train", "--quiet", "--data", "mnist", "--data-dir", "."]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("train-images-idx3-ubyte") && stderr.contains("at byte 0") && stderr.contains("wrong magic"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_tampered_bundle_should_be_refused_by_eval_and_inspect() {
    let dir = owm_testkit::tempdir();
    let out = owm(dir.path(), &["train", "--quiet", "--epochs", "1", "--out", "run"]);
    assert!(out.status.success(), "{}", text(&out));
    let weights = dir.path().join("run/bundle/weights.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0x10;
    std::fs::write(&weights, bytes).unwrap();
    for cmd in ["eval", "inspect"] {
        let out = owm(dir.path(), &[cmd, "run"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the manifest"), "{}", text(&out));
    }
}

#[test]
fn unknown_devices_and_bad_options_should_be_clear_errors() {
    let dir = owm_testkit::tempdir();
    let out = owm(dir.path(), &["train", "--device", "tpu"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown backend `tpu`"), "{}", text(&out));
    let out = owm(dir.path(), &["train", "--data", "cifar10"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir is required"), "{}", text(&out));
    let out = owm(dir.path(), &["train", "--lr=-1"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("learning rate must be finite and > 0"), "{}", text(&out));
}

#[test]
fn optimizer_spec_should_run_phases_and_print_why_each_stopped() {
    let dir = owm_testkit::tempdir();
    let args = ["train", "--quiet", "--hidden", "16", "--optimizer", "ga:generations=3:population=8,adam:epochs=2", "--out", "run"];
    let out = owm(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("phase 1 ga: 3 steps, 20 evaluations, stopped: reached the step budget (3)"), "{stdout}");
    assert!(stdout.contains("phase 2 adam: 82 steps, 0 evaluations, stopped: reached the epoch budget (2)"), "{stdout}");
    let config = std::fs::read_to_string(dir.path().join("run/config.json")).unwrap();
    assert!(config.contains("\"kind\": \"ga\"") && config.contains("\"then\""), "{config}");
}

#[test]
fn overrides_should_change_only_what_they_name() {
    let dir = owm_testkit::tempdir();
    let config = r#"{"data": {"source": {"kind": "digits"}}, "model": {"kind": "mlp", "hidden": [8]},
        "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.5, "nesterov": true, "weight_decay": 0.01},
        "convergence": {"max_epochs": 1, "max_steps": 7}}"#;
    std::fs::write(dir.path().join("exp.json"), config).unwrap();
    let out = owm(dir.path(), &["train", "--quiet", "--config", "exp.json", "--lr", "0.05", "--epochs", "2", "--out", "run"]);
    assert!(out.status.success(), "{}", text(&out));
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("run/config.json")).unwrap()).unwrap();
    let o = &saved["optimizer"];
    assert_eq!(
        (o["lr"].as_f64(), o["momentum"].as_f64(), o["nesterov"].as_bool(), o["weight_decay"].as_f64()),
        (Some(0.05), Some(0.5), Some(true), Some(0.01))
    );
    assert_eq!((saved["convergence"]["max_epochs"].as_u64(), saved["convergence"]["max_steps"].as_u64()), (Some(2), Some(7)));
    assert!(String::from_utf8_lossy(&out.stdout).contains("reached the step budget (7)"), "{}", text(&out));

    let out = owm(dir.path(), &["train", "--quiet", "--optimizer", "adam", "--momentum", "0.9", "--out", "bad"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn schedule_should_print_and_plot_a_curve() {
    let dir = owm_testkit::tempdir();
    let out =
        owm(dir.path(), &["schedule", "cosine:t_max=90:warmup=10:warmup_factor=0.1", "--lr", "0.1", "--steps", "100", "--every", "10", "--svg", "lr.svg"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("       1  1.000000e-2"), "{stdout}");
    assert!(stdout.contains("      11  1.000000e-1"), "{stdout}");
    assert!(std::fs::read_to_string(dir.path().join("lr.svg")).unwrap().contains("<svg"));
    let bad = owm(dir.path(), &["schedule", "cosine"]);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
}
