//! The user-written optimiser runs through the pipeline and is recorded like a built-in one: named in the
//! manifest and the recorded config, with per-layer statistics at every step.

#[test]
fn lion_should_train_the_digits_mlp() {
    let dir = owm_testkit::tempdir();
    let report = custom_optimizer::run(&dir.path().join("run"), 10).unwrap();
    assert!(report.evaluation.report.accuracy >= 0.9, "accuracy {}", report.evaluation.report.accuracy);
    assert_eq!(report.training.phases[0].optimizer, "lion");
    assert_eq!(report.manifest.optimizer["phases"][0]["settings"]["lr"], 3e-4);
    // The recorded experiment names what ran, not the config's default optimiser.
    let recorded = &report.manifest.experiment["optimizer"];
    assert_eq!((recorded["kind"].as_str(), recorded["name"].as_str(), recorded["settings"]["beta2"].as_f64()), (Some("custom"), Some("lion"), Some(0.99)));
    let trace = owm::trace::read_trace(report.run_dir.join(owm::train::files::TRACE)).unwrap();
    assert_eq!(trace.steps().count() as u64, report.training.steps);
    // Every step traces every parameter of the MLP (two layers: weight and bias each).
    assert!(trace.steps().all(|s| s.layers.len() == 4 && s.layers.iter().all(|l| l.update_norm > 0.0)));
}

#[test]
fn lion_should_train_on_wgpu() {
    let dir = owm_testkit::tempdir();
    let report = custom_optimizer::run_on(&dir.path().join("run"), 10, owm::core::BackendKind::Wgpu).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    assert!(report.evaluation.report.accuracy >= 0.9, "wgpu accuracy {}", report.evaluation.report.accuracy);
}
