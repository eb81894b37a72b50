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
