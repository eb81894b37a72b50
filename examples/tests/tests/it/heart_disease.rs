//! Runs the example on generated files in the exact UCI Cleveland layout: 14 columns, no header, `?` for
//! missing values, `num` from 0 to 4.

use std::fmt::Write as _;
use std::path::Path;

use heart_disease::{Config, run};
use owm::core::{BackendKind, Rng};

/// 303 patients; disease is planted in chest-pain type, max heart rate, ST depression and `thal`; `ca` and
/// `thal` miss a few values, as in the real file.
fn write_cleveland(path: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    for i in 0..303 {
        let sick = rng.uniform(0.0, 1.0) < 0.46;
        let cp: f64 = if sick { [4.0, 4.0, 4.0, 3.0][rng.below(4) as usize] } else { [1.0, 2.0, 3.0, 3.0][rng.below(4) as usize] };
        let thalach = if sick { rng.normal(139.0, 12.0) } else { rng.normal(165.0, 12.0) };
        let oldpeak = if sick { rng.normal(1.6, 0.5).max(0.0) } else { rng.normal(0.5, 0.4).max(0.0) };
        let thal = if sick { "7.0" } else { "3.0" };
        let ca = if i % 60 == 7 { "?".to_string() } else { format!("{:.1}", rng.below(4) as f64) };
        let thal = if i % 75 == 11 { "?" } else { thal };
        let num = if sick { 1 + rng.below(4) } else { 0 };
        let _ = writeln!(
            out,
            "{:.1},{:.1},{cp:.1},{:.1},{:.1},{:.1},{:.1},{thalach:.1},{:.1},{oldpeak:.1},{:.1},{ca},{thal},{num}",
            rng.normal(54.0, 9.0).round(),
            rng.below(2) as f64,
            rng.normal(131.0, 17.0).round(),
            rng.normal(246.0, 50.0).round(),
            rng.below(2) as f64,
            [0.0, 2.0][rng.below(2) as usize],
            rng.below(2) as f64,
            (1 + rng.below(3)) as f64,
        );
    }
    std::fs::write(path, out).unwrap();
}

/// Orange's `heart_disease.tab`, fetched by `cargo xtask data heart-disease`: the real 303 Cleveland patients.
#[test]
fn should_learn_the_real_cleveland_data_from_orange() {
    let fetched = owm::data::datasets_dir().unwrap_or_default().join("heart-disease/heart_disease.tab");
    let Some(tab) = owm_testkit::real_dataset(&fetched, "cargo xtask data heart-disease") else { return };
    let dir = owm_testkit::tempdir();
    let report = run(&config(&tab, dir.path(), BackendKind::Flex, 60)).unwrap();
    let e = &report.evaluation;
    eprintln!("heart disease (real, Orange .tab): accuracy {:.4}, macro F1 {:.4}, ROC AUC {:?}", e.report.accuracy, e.report.macro_f1, e.scores);
    assert_eq!(report.class_names, ["0", "1"]);
    assert_eq!(e.report.total as usize + report.training.train_items + report.training.validation_items, 303);
    assert!(e.report.accuracy >= 0.75, "test accuracy {}", e.report.accuracy); // 0.8361 measured (seed 7)
}

fn config(csv: &Path, out: &Path, device: BackendKind, epochs: u64) -> Config {
    Config { csv: csv.to_path_buf(), out: out.join("run"), epochs, device, seed: 7, quiet: true }
}

#[test]
fn should_impute_question_marks_and_learn_the_planted_signal() {
    let dir = owm_testkit::tempdir();
    let csv = dir.path().join("processed.cleveland.data");
    write_cleveland(&csv, 3);
    let report = run(&config(&csv, dir.path(), BackendKind::Flex, 60)).unwrap();
    let e = &report.evaluation;
    eprintln!("heart disease (generated Cleveland layout): accuracy {:.4}, macro F1 {:.4}, ROC AUC {:?}", e.report.accuracy, e.report.macro_f1, e.scores);
    assert_eq!(report.class_names, ["absent", "present"]);
    assert!(e.report.accuracy >= 0.85, "test accuracy {}", e.report.accuracy);
    // Every `?` was imputed, none dropped: 5 `ca` (rows 7, 67, ..., 247) and 4 `thal` (rows 11, 86, 161, 236).
    let prep = &report.manifest.preprocessing;
    let imputed = |side: &str, col: &str| prep[side]["imputed"][col].as_u64().unwrap_or(0);
    let sides = |col: &str| ["train_cleaning", "validation_cleaning", "test_cleaning"].iter().map(|s| imputed(s, col)).sum::<u64>();
    assert_eq!(sides("ca"), 5, "{prep}");
    assert_eq!(sides("thal"), 4, "{prep}");
    assert_eq!(e.report.total as usize + report.training.train_items + report.training.validation_items, 303);
    // Categories are one-hot encoded with names that trace each input back to its column.
    let names: Vec<String> = serde_json::from_value(prep["feature_names"].clone()).unwrap();
    assert!(names.contains(&"cp=4.0".to_string()) && names.contains(&"thalach".to_string()), "{names:?}");
}

#[test]
fn a_row_with_a_missing_field_should_name_file_and_line() {
    let dir = owm_testkit::tempdir();
    let csv = dir.path().join("processed.cleveland.data");
    write_cleveland(&csv, 3);
    let mut text = std::fs::read_to_string(&csv).unwrap();
    text.push_str("63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0\n"); // 13 fields
    std::fs::write(&csv, text).unwrap();
    let err = run(&config(&csv, dir.path(), BackendKind::Flex, 1)).unwrap_err().to_string();
    assert!(err.contains("processed.cleveland.data") && err.contains("line 304"), "{err}");
}

#[test]
fn should_train_on_wgpu() {
    let dir = owm_testkit::tempdir();
    let csv = dir.path().join("processed.cleveland.data");
    write_cleveland(&csv, 3);
    let report = run(&config(&csv, dir.path(), BackendKind::Wgpu, 20)).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    assert!(report.evaluation.report.accuracy >= 0.8, "wgpu test accuracy {}", report.evaluation.report.accuracy);
}
