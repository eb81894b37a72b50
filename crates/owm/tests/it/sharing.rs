//! `owm verify`, `owm keygen` and `owm sign` on a real bundle: every single-byte change to tensors, manifest,
//! trace or signature is caught and named; a wrong key is refused; an `owm-bundle/1` bundle still loads.

use crate::owm;
use owm_testkit::text;
use std::path::{Path, PathBuf};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// A copy of `bundle` with byte `offset` of `file` (negative: from the end) changed.
fn flipped(bundle: &Path, into: &Path, file: &str, offset: i64) -> PathBuf {
    copy_dir(bundle, into);
    let path = into.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let i = if offset < 0 { (bytes.len() as i64 + offset) as usize } else { offset as usize };
    bytes[i] = if bytes[i] == b'1' {
        b'2'
    } else if bytes[i].is_ascii_digit() {
        b'1'
    } else {
        bytes[i] ^ 0x01
    };
    std::fs::write(&path, bytes).unwrap();
    into.to_path_buf()
}

fn trained(dir: &Path) -> PathBuf {
    let out = owm(dir, &["train", "--epochs", "2", "--out", "run", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    dir.join("run/bundle")
}

#[test]
fn verify_should_catch_and_name_any_altered_byte() {
    let dir = owm_testkit::tempdir();
    let bundle = trained(dir.path());
    let ok = owm(dir.path(), &["verify", "run"]);
    assert!(ok.status.success() && text(&ok).contains("OK: every digest matches") && text(&ok).contains("not signed"), "{}", text(&ok));

    // The last byte of the weights file is tensor data.
    let b = flipped(&bundle, &dir.path().join("t1"), "weights.safetensors", -1);
    let out = owm(dir.path(), &["verify", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("weights.safetensors") && text(&out).contains("tensor `"), "{}", text(&out));

    // A digit of the recorded accuracy: still valid JSON, but no longer the manifest that was digested.
    let manifest = std::fs::read_to_string(bundle.join("manifest.json")).unwrap();
    let at = manifest.find("\"accuracy\": 0.").unwrap() + "\"accuracy\": 0.".len() + 1;
    let b = flipped(&bundle, &dir.path().join("t2"), "manifest.json", at as i64);
    let out = owm(dir.path(), &["verify", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("manifest.json") && text(&out).contains("bundle_digest"), "{}", text(&out));
    // Loading refuses it too.
    let out = owm(dir.path(), &["eval", b.to_str().unwrap()]);
    assert!(!out.status.success() && text(&out).contains("bundle_digest"), "{}", text(&out));

    // The trace.
    let b = flipped(&bundle, &dir.path().join("t3"), "trace.jsonl", 10);
    let out = owm(dir.path(), &["verify", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("trace.jsonl") && text(&out).contains("altered"), "{}", text(&out));
}

#[test]
fn signatures_should_bind_every_file_to_one_key() {
    let dir = owm_testkit::tempdir();
    let bundle = trained(dir.path());
    let out = owm(dir.path(), &["keygen", "alice"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(owm(dir.path(), &["keygen", "alice"]).status.code() != Some(0), "keys are never overwritten");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(dir.path().join("alice")).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let out = owm(dir.path(), &["sign", "run", "--key", "alice"]);
    assert!(out.status.success(), "{}", text(&out));
    let ok = owm(dir.path(), &["verify", "run", "--key", "alice.pub"]);
    assert!(ok.status.success() && text(&ok).contains("signed by the given key"), "{}", text(&ok));

    // Another key is refused.
    assert!(owm(dir.path(), &["keygen", "mallory"]).status.success());
    let out = owm(dir.path(), &["verify", "run", "--key", "mallory.pub"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("signature.json") && text(&out).contains("not by the key given"), "{}", text(&out));

    // One hex digit of the signature itself, changed to another hex digit.
    copy_dir(&bundle, &dir.path().join("s1"));
    let mut signature = std::fs::read_to_string(bundle.join("signature.json")).unwrap().into_bytes();
    let at = String::from_utf8_lossy(&signature).find("\"signature\": \"").unwrap() + "\"signature\": \"".len() + 3;
    signature[at] = if signature[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(dir.path().join("s1/signature.json"), signature).unwrap();
    let b = dir.path().join("s1");
    let out = owm(dir.path(), &["verify", b.to_str().unwrap(), "--key", "alice.pub"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    assert!(text(&out).contains("signature.json") && text(&out).contains("does not verify"), "{}", text(&out));

    // A re-signed tensor change is still caught by the digests; an unsigned change by the signature.
    let b = flipped(&bundle, &dir.path().join("s2"), "weights.safetensors", -1);
    let out = owm(dir.path(), &["verify", b.to_str().unwrap(), "--key", "alice.pub"]);
    assert!(text(&out).contains("weights.safetensors") && text(&out).contains("changed since it was signed"), "{}", text(&out));

    // An unsigned bundle is refused when a key is required.
    copy_dir(&bundle, &dir.path().join("s3"));
    std::fs::remove_file(dir.path().join("s3/signature.json")).unwrap();
    let out = owm(dir.path(), &["verify", "s3", "--key", "alice.pub"]);
    assert!(out.status.code() == Some(6) && text(&out).contains("not signed"), "{}", text(&out));
}

#[test]
fn a_bundle_from_before_format_2_should_still_load() {
    let dir = owm_testkit::tempdir();
    let bundle = trained(dir.path());
    // What `owm-bundle/1` wrote: no bundle digest, file list, code or licence sections.
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let map = m.as_object_mut().unwrap();
    for key in ["bundle_digest", "files", "code", "licenses"] {
        map.remove(key);
    }
    map.insert("format".into(), "owm-bundle/1".into());
    std::fs::write(bundle.join("manifest.json"), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let out = owm(dir.path(), &["verify", "run"]);
    assert!(out.status.success() && text(&out).contains("owm-bundle/1"), "{}", text(&out));
    let out = owm(dir.path(), &["eval", "run"]);
    assert!(out.status.success() && text(&out).contains("matches the accuracy recorded"), "{}", text(&out));
    // Its trace is still checked.
    let b = flipped(&bundle, &dir.path().join("v1"), "trace.jsonl", 10);
    let out = owm(dir.path(), &["verify", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
}

#[test]
fn the_model_card_and_openness_class_should_follow_the_manifest() {
    let dir = owm_testkit::tempdir();
    let args = ["train", "--epochs", "2", "--out", "run", "--quiet", "--weights-license", "Apache-2.0", "--data-license", "CC-BY-4.0"];
    let out = owm(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out));
    let card = std::fs::read_to_string(dir.path().join("run/bundle/README.md")).unwrap();
    assert!(card.starts_with("---\nlicense: \"Apache-2.0\"\nlibrary_name: owm\n"), "{card}");
    assert!(card.contains("- type: accuracy") && card.contains("Class II (open tooling)"), "{card}");
    let out = owm(dir.path(), &["inspect", "run"]);
    let inspect = text(&out);
    assert!(inspect.contains("openness: Class II (open tooling)"), "{inspect}");
    assert!(inspect.contains("missing for Class I (open science): intermediate parameters"), "{inspect}");
    // The card is bound like every other file.
    let b = flipped(&dir.path().join("run/bundle"), &dir.path().join("c1"), "README.md", 5);
    let out = owm(dir.path(), &["verify", b.to_str().unwrap()]);
    assert!(out.status.code() == Some(6) && text(&out).contains("README.md"), "{}", text(&out));
    // Without licences for the weights, no class: the card says what is missing.
    let out = owm(dir.path(), &["train", "--epochs", "1", "--out", "bare", "--quiet"]);
    assert!(out.status.success(), "{}", text(&out));
    let card = std::fs::read_to_string(dir.path().join("bare/bundle/README.md")).unwrap();
    assert!(card.contains("no class reached yet") && card.contains("open `weights` licence"), "{card}");
}
