//! The validation split: evaluated every epoch into the trace, the report and the manifest; early stopping on
//! its metrics, ending on the best epoch's weights, through checkpoints, resumes and replays.

use owm_core::{StopReason, TraceEvent};
use owm_models::ModelConfig;
use owm_optim::{AdamConfig, ConvergenceConfig, EarlyStopping, OptimizerConfig};
use owm_train::{Checkpoint, ExperimentConfig, ReplayOptions, RunReport, TrainOptions, files, replay, train, train_with, validation_metrics};

/// A wide MLP at a high rate on 100 digits: its validation loss is lowest at epoch 2, then rises (measured).
fn overfitting() -> ExperimentConfig {
    let mut c = ExperimentConfig {
        model: ModelConfig::Mlp { hidden: vec![256] },
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-2)),
        convergence: ConvergenceConfig { early_stopping: Some(EarlyStopping::new("val_loss", 10)), ..ConvergenceConfig::epochs(100) },
        ..ExperimentConfig::default()
    };
    c.data.train_limit = Some(100);
    c
}

/// The metrics of the run's bundle (its final weights) on the run's validation split.
fn bundle_metrics(report: &RunReport, config: &ExperimentConfig) -> std::collections::BTreeMap<String, f64> {
    let splits = config.data.load(config.seed).unwrap();
    let device = burn::tensor::Device::flex();
    let model = config.model.init(&splits.train.input_spec(), splits.train.num_classes(), &device).unwrap();
    let bundle = owm_share::load_bundle(&report.bundle_dir).unwrap();
    let model = bundle.load_into(model).unwrap();
    let norm = owm_data::Normalizer::fit(&splits.train).unwrap();
    validation_metrics(&model, splits.validation.as_ref().unwrap(), Some(&norm), &device).unwrap()
}

#[test]
fn every_epoch_should_be_validated_into_the_trace_the_manifest_and_the_report() {
    let dir = owm_testkit::tempdir();
    let config = ExperimentConfig { convergence: ConvergenceConfig::epochs(4), ..ExperimentConfig::default() };
    let report = train(&config, &dir.path().join("run"), false).unwrap();
    let trace = owm_trace::read_trace(report.run_dir.join(files::TRACE)).unwrap();
    let records: Vec<_> = trace.validations().cloned().collect();
    assert_eq!(records.iter().map(|r| (r.round, r.steps)).collect::<Vec<_>>(), [(1, 41), (2, 82), (3, 123), (4, 164)]);
    for r in &records {
        let keys: Vec<&str> = r.metrics.keys().map(String::as_str).collect();
        assert_eq!(keys, ["val_accuracy", "val_loss", "val_macro_f1"]);
    }
    let losses: Vec<f64> = records.iter().map(|r| r.metrics["val_loss"]).collect();
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "a healthy run's validation loss falls: {losses:?}");
    // The last validation is of the final weights: recomputed from the bundle, bit for bit.
    assert_eq!(bundle_metrics(&report, &config), records[3].metrics);
    // The manifest holds the curve and the split; the test split is untouched by it.
    assert_eq!(report.training.validation, records);
    assert_eq!((report.training.validation_items, report.manifest.dataset["validation_len"].as_u64()), (145, Some(145)));
    assert_eq!(report.evaluation.report.total, 359);
    // Training and validation curves on one chart.
    let loss = std::fs::read_to_string(report.run_dir.join(files::LOSS_SVG)).unwrap();
    assert!(loss.contains("Loss: training and validation") && loss.contains("validation (val_loss)"), "{loss}");
    let html = std::fs::read_to_string(report.run_dir.join(files::REPORT_HTML)).unwrap();
    assert!(html.contains("validation (val_accuracy)"));
}

#[test]
fn early_stopping_should_end_on_the_best_epoch_and_say_so() {
    let dir = owm_testkit::tempdir();
    let config = overfitting();
    let report = train(&config, &dir.path().join("run"), false).unwrap();
    let StopReason::EarlyStopped { metric, best, best_round, patience } = report.training.stop_reason.clone() else {
        panic!("{:?}", report.training.stop_reason)
    };
    assert_eq!((metric.as_str(), patience), ("val_loss", 10));
    assert_eq!(report.training.epochs, best_round + 10, "stopped ten epochs after the best");
    let trace = owm_trace::read_trace(report.run_dir.join(files::TRACE)).unwrap();
    let at_best = trace.validations().find(|v| v.round == best_round).unwrap().clone();
    assert_eq!(at_best.metrics["val_loss"], best);
    assert!(trace.validations().all(|v| v.metrics["val_loss"] >= best));
    let restored: Vec<_> = trace.events.iter().filter_map(|e| if let TraceEvent::BestRestored(b) = e { Some(b.clone()) } else { None }).collect();
    assert_eq!(restored.len(), 1);
    assert_eq!((restored[0].round, restored[0].steps, restored[0].value), (best_round, at_best.steps, best));
    assert_eq!(report.training.phases[0].restored.as_ref(), Some(&restored[0]));
    // The bundle holds the best epoch's weights: they score exactly what that epoch recorded.
    assert_eq!(bundle_metrics(&report, &config), at_best.metrics);
    // The explanation names the epoch over-fitting began and that the run ended on it.
    let e = owm_trace::explain(&trace);
    assert!(e.stop.contains(&format!("ended on the weights of its round {best_round}")), "{}", e.stop);
    let found = e.findings.iter().find(|f| f.rule == "overfitting").unwrap_or_else(|| panic!("{e:#?}"));
    assert!(found.message.starts_with(&format!("over-fitting since epoch {best_round} ")), "{}", found.message);
    assert_eq!(found.severity, owm_trace::Severity::Info);
    // An exact replay reproduces every validation and the restore.
    let replayed = replay(&report.run_dir, ReplayOptions::default()).unwrap();
    assert_eq!(replayed.divergence, None);
}

#[test]
fn a_run_resumed_after_its_best_epoch_should_end_on_the_same_weights() {
    let dir = owm_testkit::tempdir();
    let whole = train(&overfitting(), &dir.path().join("whole"), false).unwrap();
    let best_steps = whole.training.phases[0].restored.as_ref().unwrap().steps;
    // A checkpoint between the best epoch and the stop carries the best weights with it.
    let mut config = overfitting();
    config.trace.checkpoint_every = whole.training.steps - 1;
    assert!(config.trace.checkpoint_every > best_steps);
    let run_dir = dir.path().join("run");
    let first = train(&config, &run_dir, false).unwrap();
    assert_eq!(first.manifest.weights_digest, whole.manifest.weights_digest);
    let checkpoint = Checkpoint::load(&run_dir.join(files::CHECKPOINT)).unwrap();
    assert_eq!(checkpoint.best.as_ref().map(|b| b.round.steps), Some(best_steps));
    std::fs::remove_dir_all(run_dir.join(files::BUNDLE)).unwrap();
    let options = TrainOptions { resume: Some(run_dir.join(files::CHECKPOINT)), ..TrainOptions::default() };
    let resumed = train_with(&config, &run_dir, options).unwrap();
    assert_eq!(resumed.training.stop_reason, whole.training.stop_reason);
    assert_eq!(resumed.manifest.weights_digest, whole.manifest.weights_digest);
}

#[test]
fn early_stopping_on_a_validation_metric_needs_a_validation_split() {
    let dir = owm_testkit::tempdir();
    let mut config = overfitting();
    config.data.validation_fraction = 0.0;
    let err = train(&config, &dir.path().join("run"), false).unwrap_err();
    assert!(matches!(&err, owm_train::Error::NoValidation { metric } if metric == "val_loss"), "{err}");
    assert!(!dir.path().join("run").exists(), "nothing written");
    // A training metric needs none.
    config.convergence.early_stopping = Some(EarlyStopping::new("train_loss", 2));
    config.convergence.max_epochs = Some(3);
    assert_eq!(train(&config, &dir.path().join("run"), false).unwrap().training.epochs, 3);
}
