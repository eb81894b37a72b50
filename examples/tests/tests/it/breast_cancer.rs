//! Trains on scikit-learn's Wisconsin breast-cancer data, exported by `tools/export_breast_cancer.py`
//! (`.ci/run` writes it and sets `OWM_BREAST_CANCER_CSV`).

use std::path::{Path, PathBuf};

use breast_cancer::{Config, run};
use owm::core::BackendKind;

fn data() -> Option<PathBuf> {
    let home = std::env::var("HOME").unwrap_or_default();
    let default = format!("{home}/.cache/owm-datasets/breast_cancer.csv");
    let install = "python3 tools/export_breast_cancer.py ~/.cache/owm-datasets/breast_cancer.csv (needs scikit-learn), or set OWM_BREAST_CANCER_CSV";
    owm_testkit::real_dataset(&owm_testkit::dataset_path("OWM_BREAST_CANCER_CSV", &default), install)
}

fn config(csv: PathBuf, out: &Path, device: BackendKind) -> Config {
    Config { csv, out: out.join("run"), hidden: Vec::new(), epochs: 60, device, seed: 42, quiet: true }
}

#[test]
fn logistic_regression_should_reach_095() {
    let Some(csv) = data() else { return };
    let out = owm_testkit::tempdir();
    let report = run(&config(csv, out.path(), BackendKind::Flex)).unwrap();
    let e = &report.evaluation;
    eprintln!("breast cancer, logistic regression: accuracy {:.4}, weighted F1 {:.4}", e.report.accuracy, e.report.weighted_f1);
    // 569 rows, 20% of each class held out: round(212 · 0.2) malignant + round(357 · 0.2) benign = 42 + 71.
    assert_eq!(e.report.total, 113);
    assert!(e.report.accuracy >= 0.95, "test accuracy {}", e.report.accuracy);
    // The fitted preprocessing is in the bundle: input i of `layers.0.weight` is feature_names[i].
    let prep = &report.manifest.preprocessing;
    assert_eq!(prep["kind"], "tabular");
    assert_eq!(prep["feature_names"][0], "mean_radius");
    assert_eq!(prep["feature_names"].as_array().map(Vec::len), Some(30));
    assert_eq!(report.class_names, ["benign", "malignant"]);
}

#[test]
fn should_train_on_wgpu() {
    let Some(csv) = data() else { return };
    let out = owm_testkit::tempdir();
    let report = run(&Config { epochs: 20, ..config(csv, out.path(), BackendKind::Wgpu) }).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    assert!(report.evaluation.report.accuracy >= 0.9, "wgpu test accuracy {}", report.evaluation.report.accuracy);
}
