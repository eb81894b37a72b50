//! `owm publish`, `pull`, `list` and `lineage` on a local registry, with ten publishers at once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use owm::burn::nn::{Linear, LinearConfig};
use owm::burn::prelude::*;
use owm_testkit::text;

fn owm(dir: &Path, args: &[&str]) -> Output {
    owm_testkit::output(Command::new(env!("CARGO_BIN_EXE_owm")).args(args).current_dir(dir).env_remove("OWM_REGISTRY"))
}

fn manifest(bundle: &Path) -> owm::share::Manifest {
    serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap()
}

#[derive(Module, Debug)]
struct Tiny {
    fc: Linear,
}

#[test]
fn ten_publishers_at_once_should_leave_a_consistent_registry() {
    let dir = owm_testkit::tempdir();
    for (run, seed) in [("a", "1"), ("b", "2")] {
        let out = owm(dir.path(), &["train", "--epochs", "2", "--seed", seed, "--out", run, "--quiet"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let children: Vec<_> = (0..10)
        .map(|i| {
            let run = if i % 2 == 0 { "a" } else { "b" };
            Command::new(env!("CARGO_BIN_EXE_owm"))
                .args(["publish", run, "--name", "digits", "--version", &format!("1.{i}"), "--registry", "reg"])
                .current_dir(dir.path())
                .output()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|o| o.expect("owm runs"))
        .collect();
    assert!(children.iter().all(|o| o.status.success()), "published in turn");
    let mut procs: Vec<_> = (0..10)
        .map(|i| {
            let run = if i % 2 == 0 { "a" } else { "b" };
            Command::new(env!("CARGO_BIN_EXE_owm"))
                .args(["publish", run, "--name", "concurrent", "--version", &format!("2.{i}"), "--registry", "reg"])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("owm starts")
        })
        .collect();
    for p in procs.iter_mut() {
        let status = p.wait().unwrap();
        assert!(status.success());
    }
    let list = owm(dir.path(), &["list", "--registry", "reg"]);
    let lines: Vec<String> = String::from_utf8_lossy(&list.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 20, "{lines:?}");
    let unique: BTreeSet<&str> = lines.iter().map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(unique.len(), 20);
    for i in 0..10 {
        let out = owm(dir.path(), &["pull", &format!("concurrent@2.{i}"), "--out", &format!("pulled-{i}"), "--registry", "reg"]);
        assert!(out.status.success() && text(&out).contains("verified"), "{}", text(&out));
        let run = if i % 2 == 0 { "a" } else { "b" };
        assert_eq!(
            std::fs::read(dir.path().join(format!("pulled-{i}/weights.safetensors"))).unwrap(),
            std::fs::read(dir.path().join(run).join("bundle/weights.safetensors")).unwrap(),
            "the weights file comes back byte for byte"
        );
    }
    // Every tensor and file is stored once: the blobs are exactly the distinct digests of the two bundles.
    let mut digests = BTreeSet::new();
    for run in ["a", "b"] {
        let bundle = dir.path().join(run).join("bundle");
        let m = manifest(&bundle);
        digests.extend(m.tensors.values().map(|t| t.sha256.clone()));
        digests.extend(m.files.values().map(|f| f.sha256.clone()));
        digests.insert(owm::share::tensor_digest(&std::fs::read(bundle.join("manifest.json")).unwrap()));
    }
    let blobs = std::fs::read_dir(dir.path().join("reg/blobs/sha256")).unwrap().flatten().filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count();
    assert_eq!(blobs, digests.len());

    // A version holds one bundle.
    let out = owm(dir.path(), &["publish", "b", "--name", "digits", "--version", "1.0", "--registry", "reg"]);
    assert!(!out.status.success() && text(&out).contains("already published"), "{}", text(&out));
    assert!(
        owm(dir.path(), &["publish", "a", "--name", "digits", "--version", "1.0", "--registry", "reg"]).status.success(),
        "the same bundle again is a no-op"
    );

    // An altered blob is caught on pull.
    let m = manifest(&dir.path().join("a/bundle"));
    let (_, t) = m.tensors.iter().next().unwrap();
    std::fs::write(dir.path().join("reg/blobs/sha256").join(&t.sha256), b"junk").unwrap();
    let out = owm(dir.path(), &["pull", "digits@1.0", "--out", "bad", "--registry", "reg"]);
    assert!(!out.status.success() && text(&out).contains(&t.sha256), "{}", text(&out));
}

#[test]
fn lineage_should_print_the_tree_of_base_models() {
    let dir = owm_testkit::tempdir();
    let out = owm(dir.path(), &["train", "--epochs", "1", "--out", "base", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(owm(dir.path(), &["publish", "base", "--name", "digits", "--version", "1", "--registry", "reg"]).status.success());
    let base = manifest(&dir.path().join("base/bundle"));
    let device = Device::flex();
    let mut m = owm::share::Manifest::new(3);
    m.lineage.push(owm::share::BaseModel { name: "digits@1".into(), bundle_digest: base.bundle_digest.clone() });
    m.lineage.push(owm::share::BaseModel { name: "elsewhere".into(), bundle_digest: "0".repeat(64) });
    owm::share::save_bundle(dir.path().join("child"), &Tiny { fc: LinearConfig::new(2, 2).init(&device) }, m).unwrap();
    assert!(owm(dir.path(), &["publish", "child", "--name", "head", "--version", "2", "--registry", "reg"]).status.success());
    let out = owm(dir.path(), &["lineage", "head@2", "--registry", "reg"]);
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].starts_with("head@2 ") && lines[1].starts_with("  digits@1 ") && lines[2].contains("elsewhere") && lines[2].contains("not published here"),
        "{lines:?}"
    );
    let out = owm(dir.path(), &["lineage", "head@2"]);
    assert!(!out.status.success() && text(&out).contains("OWM_REGISTRY"), "{}", text(&out));
}
