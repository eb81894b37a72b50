//! `owm train --transfer-from`: a base on some classes, transferred to others with renaming, exclusion,
//! freezing and the shape-mismatch policies, each visible in the printed summary and `transfer.md`.

use crate::owm;
use owm_testkit::text;

#[test]
fn should_transfer_from_a_run_folder_freeze_and_report() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    let base = owm(d, &["train", "--classes", "0,1,2,3,4", "--hidden", "32", "--epochs", "2", "--out", "base", "--quiet"]);
    assert!(base.status.success(), "{}", text(&base));
    let args = ["train", "--classes", "5,6,7,8,9", "--hidden", "32", "--max-steps", "10", "--quiet", "--transfer-from", "base"];
    let frozen = owm(d, &[&args[..], &["--transfer-exclude", "layers.1.*", "--freeze-transferred", "--out", "frozen"]].concat());
    assert!(frozen.status.success(), "{}", text(&frozen));
    assert!(text(&frozen).contains("2 applied, 0 adapted, 2 skipped, 0 missing, 0 unused"), "{}", text(&frozen));
    let md = std::fs::read_to_string(d.join("frozen/transfer.md")).unwrap();
    assert!(md.contains("| layers.0.weight | applied | layers.0.weight |"), "{md}");
    let diff = owm(d, &["diff", "base", "frozen", "--json"]);
    let diff: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    let changed = |path: &str| diff["params"].as_array().unwrap().iter().find(|p| p["path"] == path).unwrap()["diff_norm"].as_f64().unwrap();
    assert_eq!(changed("layers.0.weight"), 0.0, "the frozen body did not move");
    assert!(changed("layers.1.weight") > 0.0);

    // Another class count: the head does not fit; the default policy says so, `adapt` makes a new head.
    let three = ["train", "--classes", "7,8,9", "--hidden", "32", "--max-steps", "5", "--quiet", "--transfer-from", "base"];
    let strict = owm(d, &[&three[..], &["--out", "strict"]].concat());
    assert!(!strict.status.success() && text(&strict).contains("layers.1.weight") && text(&strict).contains("on_mismatch"), "{}", text(&strict));
    let adapt = owm(d, &[&three[..], &["--on-mismatch", "adapt", "--out", "adapt"]].concat());
    assert!(text(&adapt).contains("2 applied, 2 adapted, 0 skipped"), "{}", text(&adapt));
    assert!(std::fs::read_to_string(d.join("adapt/transfer.md")).unwrap().contains("new head: 5 → 3 outputs"));

    // Renaming into a model with another hidden layer count: what matches is loaded, the rest listed.
    let renamed = owm(
        d,
        &[
            "train",
            "--classes",
            "5,6,7,8,9",
            "--hidden",
            "32,16",
            "--max-steps",
            "5",
            "--quiet",
            "--transfer-from",
            "base",
            "--transfer-map",
            "layers.1.=unused.",
            "--out",
            "deeper",
        ],
    );
    assert!(text(&renamed).contains("2 applied, 0 adapted, 0 skipped, 4 missing, 2 unused"), "{}", text(&renamed));
}
