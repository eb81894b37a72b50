//! Compares `ClassificationReport` with scikit-learn on fixtures written by `tools/reference_metrics.py`.

use owm_eval::ClassificationReport;
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    name: String,
    num_classes: usize,
    y_true: Vec<usize>,
    y_pred: Vec<usize>,
    accuracy: f64,
    precision: Vec<f64>,
    recall: Vec<f64>,
    f1: Vec<f64>,
    support: Vec<u64>,
    macro_precision: f64,
    macro_recall: f64,
    macro_f1: f64,
    weighted_f1: f64,
    confusion: Vec<Vec<u64>>,
}

/// Both sides compute in f64 from the same counts; only summation order differs.
const TOL: f64 = 1e-12;

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= TOL, "{what}: owm {a} vs sklearn {b}");
}

#[test]
fn should_match_scikit_learn_metrics() {
    let cases: Vec<Case> = serde_json::from_str(include_str!("../fixtures/sklearn_metrics.json")).unwrap();
    assert_eq!(cases.len(), 2);
    for c in cases {
        let r = ClassificationReport::new(&c.y_true, &c.y_pred, c.num_classes).unwrap();
        close(r.accuracy, c.accuracy, &c.name);
        close(r.macro_precision, c.macro_precision, &c.name);
        close(r.macro_recall, c.macro_recall, &c.name);
        close(r.macro_f1, c.macro_f1, &c.name);
        close(r.weighted_f1, c.weighted_f1, &c.name);
        for (i, m) in r.per_class.iter().enumerate() {
            close(m.precision, c.precision[i], &format!("{} precision[{i}]", c.name));
            close(m.recall, c.recall[i], &format!("{} recall[{i}]", c.name));
            close(m.f1, c.f1[i], &format!("{} f1[{i}]", c.name));
            assert_eq!(m.support, c.support[i]);
        }
        assert_eq!(r.confusion, c.confusion, "{}", c.name);
    }
}
