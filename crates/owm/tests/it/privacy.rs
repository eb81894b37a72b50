//! `owm train --dp-epsilon`: DP-SGD from the command line, the guarantee printed, in the manifest and in
//! the model card.

use crate::owm;
use owm_testkit::text;

#[test]
fn should_train_privately_and_record_the_guarantee() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    let out = owm(
        d,
        &[
            "train",
            "--dp-epsilon",
            "3",
            "--dp-delta",
            "1e-6",
            "--dp-clip",
            "0.5",
            "--epochs",
            "2",
            "--batch-size",
            "64",
            "--lr",
            "0.01",
            "--out",
            "run",
            "--quiet",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("not standardised"), "{}", text(&out));
    let line = text(&out).lines().find(|l| l.starts_with("privacy: ")).map(str::to_string).unwrap_or_default();
    assert!(line.contains("δ = 0.000001") && line.contains("40 steps") && line.contains("clip 0.5"), "{line}");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("run/bundle/manifest.json")).unwrap()).unwrap();
    let eps = manifest["privacy"]["epsilon"].as_f64().unwrap();
    assert!(eps <= 3.0 && eps > 2.99, "{eps}");
    let card = std::fs::read_to_string(d.join("run/bundle/README.md")).unwrap();
    assert!(card.contains("## Privacy") && card.contains("example-level differential privacy"), "{card}");
    // The guarantee is bound by the bundle digest like every other section.
    let verify = owm(d, &["verify", "run"]);
    assert!(verify.status.success(), "{}", text(&verify));

    let bad = owm(d, &["train", "--dp-clip", "1", "--out", "bad"]);
    assert!(!bad.status.success() && text(&bad).contains("need --dp-epsilon or --dp-noise"), "{}", text(&bad));
    let search = owm(d, &["train", "--dp-noise", "1", "--optimizer", "ga:generations=2", "--out", "ga"]);
    assert!(!search.status.success() && text(&search).contains("differentially private training needs a gradient optimiser"), "{}", text(&search));
}

#[test]
fn private_normalisers_should_come_from_public_bounds_and_private_estimates() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    let manifest = |run: &str| -> serde_json::Value { serde_json::from_slice(&std::fs::read(d.join(run).join("bundle/manifest.json")).unwrap()).unwrap() };
    // Standardised with private means and deviations that spend 0.5 of ε = 2; predictions normalise the same way.
    let args = ["train", "--dp-epsilon", "2", "--feature-bounds", "0:16", "--dp-normalize", "standard:epsilon=0.5", "--epochs", "2", "--out", "std"];
    let out = owm(d, &args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("--init torch-uniform") && text(&out).contains("standard estimates (bounds 0:16"), "{}", text(&out));
    let m = manifest("std");
    let n = &m["privacy"]["normalizer"];
    assert!((n["epsilon"].as_f64().unwrap() - 0.5).abs() < 1e-9 && n["releases"] == 2 && n["estimate"] == "standard", "{n}");
    let total = m["privacy"]["epsilon"].as_f64().unwrap();
    assert!(total <= 2.0 && total > 1.999 && n["training_epsilon"].as_f64().unwrap() < total, "{}", m["privacy"]);
    let stds: Vec<f64> = m["normalization"]["std"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    assert!(stds.len() == 64 && stds.iter().all(|s| (4.0..=16.0).contains(s)), "deviations between a quarter and all of the width: {stds:?}");
    let card = std::fs::read_to_string(d.join("std/bundle/README.md")).unwrap();
    assert!(card.contains("normalised inside the guarantee") && card.contains("spending ε = 0.5000 on their own"), "{card}");
    let check = owm(d, &["predict", "std", "--check"]);
    assert!(check.status.success(), "{}", text(&check));

    // A table's columns by name; bounds alone scale to [-1, 1] and spend nothing.
    crate::tasks::write_table(&d.join("t.csv"), 200, 1, &["red", "blue"]);
    let table = ["train", "--task", "tabular", "--data", "t.csv", "--target", "y", "--dp-epsilon", "4", "--epochs", "2"];
    let out = owm(d, &[&table[..], &["--feature-bounds", "x=-3:3,*=0:1", "--out", "tab"]].concat());
    assert!(out.status.success() && text(&out).contains("scaled to [-1, 1] from public bounds x=-3:3,*=0:1, spending nothing"), "{}", text(&out));
    let m = manifest("tab");
    assert_eq!(m["normalization"], serde_json::json!({"mean": [0.0, 0.5, 0.5], "std": [3.0, 0.5, 0.5]}));
    assert!(m["privacy"]["normalizer"]["epsilon"] == 0.0 && m["privacy"]["normalizer"]["releases"] == 0, "{}", m["privacy"]);

    // Each rule, refused with what to do.
    for (extra, says) in [
        (&["--feature-bounds", "nope=0:1"][..], "no feature `nope` (features: x, colour=blue, colour=red)"),
        (&["--feature-bounds", "x=0:1"][..], "feature `colour=blue` has no bounds"),
        (&["--feature-bounds", "0:1", "--dp-normalize", "middle"][..], "--dp-normalize `middle`: center, standard or bounds"),
        (&["--feature-bounds", "0:1", "--dp-normalize", "center:epsilon=4"][..], "must leave part of the target epsilon to training"),
        (&["--dp-normalize", "center"][..], "--feature-bounds"),
    ] {
        let out = owm(d, &[&table[..], extra, &["--out", "bad"]].concat());
        assert!(!out.status.success() && text(&out).contains(says), "{extra:?}: {}", text(&out));
    }
    let out = owm(d, &["train", "--feature-bounds", "0:16", "--out", "bad"]);
    assert!(!out.status.success() && text(&out).contains("for private training"), "{}", text(&out));
}
