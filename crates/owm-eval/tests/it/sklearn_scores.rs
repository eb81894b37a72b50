//! F-beta averaging, zero division, ROC AUC with ties, average precision, log loss and ranking metrics
//! against scikit-learn (and NumPy for HitRate/Recall/MAP) on fixtures written by `tools/reference_metrics.py`.

use owm_eval::{Average, ZeroDivision, average_precision, log_loss, per_class_prf, prf, ranking, roc_auc};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct Fixtures {
    fbeta: Vec<BTreeMap<String, serde_json::Value>>,
    binary: Vec<Binary>,
    log_loss: Vec<LogLoss>,
    ranking: Vec<Ranking>,
}

#[derive(Deserialize)]
struct Binary {
    name: String,
    truth: Vec<bool>,
    scores: Vec<f64>,
    roc_auc: f64,
    average_precision: f64,
}

#[derive(Deserialize)]
struct LogLoss {
    num_classes: usize,
    truth: Vec<usize>,
    probs: Vec<Vec<f64>>,
    log_loss: f64,
}

#[derive(Deserialize)]
struct Ranking {
    k: usize,
    relevance: Vec<Vec<f64>>,
    scores: Vec<Vec<f64>>,
    ndcg: f64,
    hit_rate: f64,
    recall: f64,
    map: f64,
}

/// Both sides compute in f64; only summation order differs.
const TOL: f64 = 1e-12;

fn fixtures() -> Fixtures {
    serde_json::from_str(include_str!("../fixtures/sklearn_scores.json")).unwrap()
}

/// `None` in the fixture stands for NaN.
fn same(owm: f64, sklearn: &serde_json::Value, what: &str) {
    match sklearn.as_f64() {
        Some(v) => assert!((owm - v).abs() <= TOL, "{what}: owm {owm} vs sklearn {v}"),
        None => assert!(owm.is_nan(), "{what}: owm {owm} vs sklearn NaN"),
    }
}

#[test]
fn fbeta_should_match_scikit_learn_for_every_average_and_zero_division_policy() {
    let f = fixtures();
    assert_eq!(f.fbeta.len(), 2);
    for case in &f.fbeta {
        let name = case["name"].as_str().unwrap();
        let labels = |k: &str| serde_json::from_value::<Vec<usize>>(case[k].clone()).unwrap();
        let (truth, predicted) = (labels("y_true"), labels("y_pred"));
        let (k, beta) = (case["num_classes"].as_u64().unwrap() as usize, case["beta"].as_f64().unwrap());
        for (zd_name, zd) in [("zero", ZeroDivision::Zero), ("one", ZeroDivision::One), ("nan", ZeroDivision::Nan)] {
            for (avg_name, avg) in [("micro", Average::Micro), ("macro", Average::Macro), ("weighted", Average::Weighted)] {
                let got = prf(&truth, &predicted, k, beta, avg, zd).unwrap();
                let want = &case[&format!("{avg_name}_{zd_name}")];
                let what = format!("{name} {avg_name} zero_division={zd_name}");
                same(got.precision, &want[0], &format!("{what} precision"));
                same(got.recall, &want[1], &format!("{what} recall"));
                same(got.f, &want[2], &format!("{what} f"));
            }
            let per = per_class_prf(&truth, &predicted, k, beta, zd).unwrap();
            for (c, ((p, _), want)) in per.iter().zip(case[&format!("per_class_{zd_name}")].as_array().unwrap()).enumerate() {
                let what = format!("{name} class {c} zero_division={zd_name}");
                same(p.precision, &want[0], &format!("{what} precision"));
                same(p.recall, &want[1], &format!("{what} recall"));
                same(p.f, &want[2], &format!("{what} f"));
            }
        }
    }
}

#[test]
fn roc_auc_and_average_precision_should_match_scikit_learn_with_ties() {
    for b in fixtures().binary {
        let auc = roc_auc(&b.truth, &b.scores).unwrap();
        assert!((auc - b.roc_auc).abs() <= TOL, "{}: roc_auc owm {auc} vs sklearn {}", b.name, b.roc_auc);
        let ap = average_precision(&b.truth, &b.scores).unwrap();
        assert!((ap - b.average_precision).abs() <= TOL, "{}: AP owm {ap} vs sklearn {}", b.name, b.average_precision);
    }
}

#[test]
fn log_loss_should_match_scikit_learn_including_a_confident_mistake() {
    for c in fixtures().log_loss {
        let got = log_loss(&c.truth, &c.probs, c.num_classes).unwrap();
        assert!((got - c.log_loss).abs() <= 1e-12, "{} classes: owm {got} vs sklearn {}", c.num_classes, c.log_loss);
    }
}

#[test]
fn ranking_metrics_should_match_scikit_learn_ndcg_and_the_numpy_reference() {
    for r in fixtures().ranking {
        let got = ranking(&r.relevance, &r.scores, r.k).unwrap();
        for (what, a, b) in [("ndcg", got.ndcg, r.ndcg), ("hit_rate", got.hit_rate, r.hit_rate), ("recall", got.recall, r.recall), ("map", got.map, r.map)] {
            assert!((a - b).abs() <= TOL, "k={} {what}: owm {a} vs reference {b}", r.k);
        }
    }
}
