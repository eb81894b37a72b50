//! Runs the example on generated `user,item,click` files with planted structure: users and items fall into
//! taste groups, and a user clicks mostly items of their own group, so matrix factorisation can learn what
//! a popularity ranking cannot.

use std::fmt::Write as _;
use std::path::Path;

use ctr_recommender::{Config, Recommender, run};
use owm::core::{BackendKind, Rng};

const USERS: u64 = 120;
const ITEMS: u64 = 80;
const GROUPS: u64 = 4;

/// Each user clicks 14 items: 12 from their group (item % 4 == user % 4), 2 anywhere; item popularity is
/// skewed within groups so a popularity baseline is not trivial.
fn write_clicks(path: &Path, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut out = String::from("user,item,click,timestamp\n");
    for u in 0..USERS {
        let mut seen = std::collections::BTreeSet::new();
        while seen.len() < 14 {
            let item = if seen.len() < 12 {
                // Low item numbers of the group are more popular.
                let k = (rng.uniform(0.0, 1.0).powi(2) * (ITEMS / GROUPS) as f64) as u64;
                k * GROUPS + u % GROUPS
            } else {
                rng.below(ITEMS)
            };
            seen.insert(item);
        }
        for (t, item) in seen.into_iter().enumerate() {
            let _ = writeln!(out, "u{u},i{item},1,{t}");
        }
    }
    std::fs::write(path, out).unwrap();
}

fn config(dir: &Path, model: Recommender, device: BackendKind, epochs: u64) -> Config {
    Config {
        interactions: dir.join("clicks.csv"),
        model,
        dim: 8,
        negatives: 4,
        chronological: false,
        item_features: None,
        out: dir.join(format!("run-{model:?}-{}", device.name())),
        epochs,
        device,
        seed: 11,
        quiet: true,
    }
}

fn clicks() -> owm_testkit::TempDir {
    let dir = owm_testkit::tempdir();
    write_clicks(&dir.path().join("clicks.csv"), 9);
    dir
}

#[test]
fn matrix_factorisation_should_beat_popularity_on_ndcg_at_10() {
    let dir = clicks();
    let report = run(&config(dir.path(), Recommender::Mf, BackendKind::Flex, 30)).unwrap();
    let e = &report.evaluation;
    let ranking = e.ranking.as_ref().expect("interactions are ranked per user");
    let (name, baseline) = ranking.baseline.as_ref().expect("a popularity baseline");
    eprintln!("MF NDCG@10 {:.4} vs {name} {:.4} over {} users; AUC {:?}", ranking.model.ndcg, baseline.ndcg, ranking.groups, e.scores);
    assert_eq!(name, "popularity");
    assert!(ranking.groups >= 100, "{} users ranked", ranking.groups);
    assert!(ranking.model.ndcg > baseline.ndcg + 0.05, "MF {} vs popularity {}", ranking.model.ndcg, baseline.ndcg);
    assert!(e.scores.as_ref().unwrap().roc_auc > 0.8, "{:?}", e.scores);
    assert_eq!(report.manifest.preprocessing["users"].as_array().map(Vec::len), Some(USERS as usize));
}

#[test]
fn factorisation_machine_over_item_side_features_should_beat_popularity() {
    let dir = clicks();
    // Each item's taste group, as a side feature (items i0..i79; one item left out: it reads as unknown).
    let mut side = String::from("item,genre\n");
    for i in 1..ITEMS {
        let _ = writeln!(side, "i{i},g{}", i % GROUPS);
    }
    std::fs::write(dir.path().join("items.csv"), side).unwrap();
    let config = Config { item_features: Some(dir.path().join("items.csv")), ..config(dir.path(), Recommender::Fm, BackendKind::Flex, 30) };
    let report = run(&config).unwrap();
    let prep = &report.manifest.preprocessing;
    assert_eq!(prep["side_fields"][0]["column"], "genre");
    assert_eq!(report.manifest.tensors["factors.2.weight"].shape, [GROUPS as usize + 1, 8], "one factor row per genre and unknown");
    let ranking = report.evaluation.ranking.unwrap();
    eprintln!("FM with item genres NDCG@10 {:.4} vs popularity {:.4}", ranking.model.ndcg, ranking.baseline.as_ref().unwrap().1.ndcg);
    assert!(ranking.model.ndcg > ranking.baseline.unwrap().1.ndcg, "FM {}", ranking.model.ndcg);
    // Matrix factorisation reads users and items only, and says so.
    let config = Config { model: Recommender::Mf, ..config };
    let err = run(&config).unwrap_err().to_string();
    assert!(err.contains("matrix_factorization") && err.contains("two fields"), "{err}");
}

#[test]
fn a_chronological_split_should_test_each_users_latest_clicks() {
    let dir = clicks();
    let config = Config { chronological: true, ..config(dir.path(), Recommender::Logistic, BackendKind::Flex, 2) };
    let report = run(&config).unwrap();
    // 14 clicks per user: the latest 3 (20%, rounded) of each user are tested, each with 4 non-clicks.
    assert_eq!(report.evaluation.report.total, USERS * 3 * 5);
}

#[test]
fn should_train_on_wgpu() {
    let dir = clicks();
    let report = run(&config(dir.path(), Recommender::Mf, BackendKind::Wgpu, 30)).unwrap();
    assert_eq!(report.manifest.backend, "wgpu");
    let ranking = report.evaluation.ranking.unwrap();
    assert!(ranking.model.ndcg > ranking.baseline.unwrap().1.ndcg, "wgpu MF {}", ranking.model.ndcg);
}
