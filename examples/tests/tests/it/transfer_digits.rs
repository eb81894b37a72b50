//! The transfer example end to end: digits 0–4 → 5–9, against scratch at equal steps.

use owm::init::Adaptation;

fn config(dir: &std::path::Path) -> transfer_digits::Config {
    transfer_digits::Config {
        out: dir.join("runs"),
        base_epochs: 20,
        budgets: vec![10, 20, 40],
        hidden: 64,
        lr: 1e-3,
        device: owm::core::BackendKind::Flex,
        seed: 42,
        quiet: true,
    }
}

#[test]
fn transfer_should_beat_scratch_at_equal_steps_and_report_every_tensor() {
    let dir = owm_testkit::tempdir();
    let c = transfer_digits::run(&config(dir.path())).unwrap();
    let accuracy = |r: &owm::train::RunReport| r.evaluation.report.accuracy;
    for p in &c.pairs {
        assert_eq!((p.transfer.training.steps, p.scratch.training.steps), (p.steps, p.steps));
    }
    // The head start: well ahead of scratch at 10 and 20 steps.
    for p in &c.pairs[..2] {
        let (ta, sa) = (accuracy(&p.transfer), accuracy(&p.scratch));
        assert!(ta > sa + 0.1, "{} steps: transfer {ta:.4} vs scratch {sa:.4}", p.steps);
    }
    let t = &c.pairs[1].transfer;

    // The report lists exactly what was loaded and what was left to the init plan.
    let report = t.transfer.as_ref().unwrap();
    let applied: Vec<(&str, &str)> = report.applied.iter().map(|a| (a.path.as_str(), a.from.as_str())).collect();
    assert_eq!(applied, [("layers.0.weight", "layers.0.weight"), ("layers.0.bias", "layers.0.bias")]);
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(skipped, ["layers.1.weight", "layers.1.bias"]);
    assert!(report.adapted.is_empty() && report.missing.is_empty() && report.unused.is_empty());
    assert_eq!(report.digest, c.base.manifest.bundle_digest);

    // The body was frozen: the transfer's hidden layer is the base's, bit for bit; its head trained.
    let base = owm::share::load_bundle(&c.base.bundle_dir).unwrap();
    let tuned = owm::share::load_bundle(&t.bundle_dir).unwrap();
    assert_eq!(tuned.tensors["layers.0.weight"], base.tensors["layers.0.weight"]);
    assert_eq!(tuned.tensors["layers.0.bias"], base.tensors["layers.0.bias"]);
    // The manifest names the base as lineage and as the source of each transferred parameter.
    assert_eq!(tuned.manifest.lineage[0].bundle_digest, base.manifest.bundle_digest);
    let params = tuned.manifest.init["params"].as_array().unwrap();
    let body = params.iter().find(|p| p["path"] == "layers.0.weight").unwrap();
    assert_eq!(body["strategy"]["kind"], "pretrained");
    assert_eq!(body["strategy"]["digest"], base.manifest.bundle_digest.as_str());
    assert_eq!(tuned.manifest.init["transfer"]["applied"].as_array().unwrap().len(), 2);

    let md = std::fs::read_to_string(dir.path().join("runs/comparison.md")).unwrap();
    assert!(md.contains("| layers.1.weight | skipped | layers.1.weight | excluded |"), "{md}");
    assert!(std::fs::read_to_string(dir.path().join("runs/comparison.svg")).unwrap().contains("scratch"));
    assert!(md.contains("| 20 | "), "{md}");
    assert!(t.run_dir.join("transfer.md").is_file());
}

#[test]
fn a_head_for_another_class_count_should_be_adapted_under_the_adapt_policy() {
    let dir = owm_testkit::tempdir();
    let cfg = config(dir.path());
    let base = owm::train::train(&transfer_digits::base(&transfer_digits::Config { base_epochs: 1, ..cfg.clone() }), &dir.path().join("base"), false).unwrap();
    // Three classes instead of five: the head cannot be loaded, and is not excluded this time.
    let mut target = transfer_digits::target(&cfg, 10, Some(owm::init::Transfer::from(base.bundle_dir.display().to_string())));
    target.data.classes = Some(vec!["7".into(), "8".into(), "9".into()]);
    let err = owm::train::train(&target, &dir.path().join("strict"), false).unwrap_err().to_string();
    assert!(err.contains("layers.1.weight") && err.contains("[64, 5]") && err.contains("[64, 3]"), "{err}");
    target.transfer = target.transfer.map(|t| t.on_mismatch(owm::init::OnMismatch::Adapt));
    let run = owm::train::train(&target, &dir.path().join("adapt"), false).unwrap();
    let report = run.transfer.unwrap();
    let adapted: Vec<(&str, &Adaptation)> = report.adapted.iter().map(|a| (a.path.as_str(), &a.how)).collect();
    let head = Adaptation::NewHead { from_outputs: 5, outputs: 3 };
    assert_eq!(adapted, [("layers.1.weight", &head), ("layers.1.bias", &head)]);
    assert_eq!(report.applied.len(), 2);
}

#[test]
fn freezing_needs_a_gradient_optimiser() {
    let dir = owm_testkit::tempdir();
    let cfg = config(dir.path());
    let base = owm::train::train(&transfer_digits::base(&transfer_digits::Config { base_epochs: 1, ..cfg.clone() }), &dir.path().join("base"), false).unwrap();
    let mut target = transfer_digits::target(&cfg, 10, Some(transfer_digits::transfer_from(&base.bundle_dir)));
    target.optimizer = owm::optim::OptimizerConfig::Ga(owm::optim::GaConfig::default());
    let err = owm::train::train(&target, &dir.path().join("ga"), false).unwrap_err().to_string();
    assert!(err.contains("freezing some weights needs a gradient optimiser"), "{err}");
}
