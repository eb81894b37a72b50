//! `owm verify`, `owm keygen` and `owm sign` on a real bundle: every single-byte change to tensors, manifest,
//! trace or signature is caught and named; a wrong key is refused; an `owm-bundle/1` bundle still loads.
//! OpenSSF Model Signing signatures are checked both ways with the reference `model_signing` tool.

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
fn signatures_of_both_formats_should_bind_every_file_to_one_key() {
    let dir = owm_testkit::tempdir();
    let bundle = trained(dir.path());
    let d = dir.path();
    // OpenSSF's `model.sig` (ECDSA, the default): one base64 character of the DER signature's last integer.
    // OWM's `signature.json` (Ed25519): one hex digit of the signature.
    for (algorithm, file, field, name) in [("--ecdsa", "model.sig", "\"sig\": \"", "alice"), ("--ed25519", "signature.json", "\"signature\": \"", "erin")] {
        let out = owm(d, &["keygen", algorithm, name]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(owm(d, &["keygen", algorithm, name]).status.code() != Some(0), "keys are never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(d.join(name)).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let out = owm(d, &["sign", "run", "--key", name]);
        assert!(out.status.success() && text(&out).contains(file), "{}", text(&out));
        let public = format!("{name}.pub");
        let ok = owm(d, &["verify", "run", "--key", &public]);
        assert!(ok.status.success() && text(&ok).contains(&format!("{file}, 4 files) by the given key")), "{}", text(&ok));

        // Another key of the same kind is refused.
        let other = format!("{name}-mallory");
        assert!(owm(d, &["keygen", algorithm, &other]).status.success());
        let out = owm(d, &["verify", "run", "--key", &format!("{other}.pub")]);
        assert_eq!(out.status.code(), Some(6), "{}", text(&out));
        assert!(text(&out).contains(file) && text(&out).contains("not by the key given"), "{}", text(&out));

        let tampered = d.join(format!("{name}-sig"));
        copy_dir(&bundle, &tampered);
        let mut signature = std::fs::read_to_string(bundle.join(file)).unwrap().into_bytes();
        let start = String::from_utf8_lossy(&signature).find(field).unwrap() + field.len();
        let at = start + String::from_utf8_lossy(&signature[start..]).find('"').unwrap() - 6;
        signature[at] = if signature[at] == b'0' { b'1' } else { b'0' };
        std::fs::write(tampered.join(file), signature).unwrap();
        let out = owm(d, &["verify", tampered.to_str().unwrap(), "--key", &public]);
        assert_eq!(out.status.code(), Some(6), "{}", text(&out));
        assert!(text(&out).contains(file) && text(&out).contains("does not verify"), "{}", text(&out));

        // A re-signed tensor change is still caught by the digests; an unsigned change by the signature; so is a
        // file added.
        let b = flipped(&bundle, &d.join(format!("{name}-w")), "weights.safetensors", -1);
        let out = owm(d, &["verify", b.to_str().unwrap(), "--key", &public]);
        assert!(text(&out).contains("weights.safetensors") && text(&out).contains("changed since it was signed"), "{}", text(&out));
        copy_dir(&bundle, &d.join(format!("{name}-extra")));
        std::fs::write(d.join(format!("{name}-extra/notes.txt")), "added").unwrap();
        let out = owm(d, &["verify", &format!("{name}-extra"), "--key", &public]);
        assert!(out.status.code() == Some(6) && text(&out).contains("`notes.txt` was added after signing"), "{}", text(&out));
    }
    // Both signatures sit side by side, each leaving the other out; an ECDSA key cannot sign OWM's format.
    let both = owm(d, &["verify", "run", "--key", "erin.pub"]);
    assert!(both.status.success() && text(&both).contains("model.sig (OpenSSF Model Signing v1.0) by the key with SHA-256"), "{}", text(&both));
    let out = owm(d, &["sign", "run", "--key", "alice", "--format", "owm"]);
    assert!(!out.status.success() && text(&out).contains("made with Ed25519"), "{}", text(&out));

    // An unsigned bundle is refused when a key is required.
    copy_dir(&bundle, &d.join("s3"));
    for file in ["signature.json", "model.sig"] {
        std::fs::remove_file(d.join("s3").join(file)).unwrap();
    }
    let out = owm(d, &["verify", "s3", "--key", "alice.pub"]);
    assert!(out.status.code() == Some(6) && text(&out).contains("not signed"), "{}", text(&out));
}

/// Whether python3 has OpenSSF's `model_signing`; without it a loud SKIPPED, or a failure where it is
/// required (`CI`, `OWM_REQUIRE_MODEL_SIGNING`: `.ci/run` installs it).
fn model_signing() -> bool {
    let found = std::process::Command::new("python3").args(["-c", "import model_signing"]).output().is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var_os("OWM_REQUIRE_MODEL_SIGNING").is_some() || std::env::var_os("CI").is_some();
        assert!(!required, "python3 with model_signing is required here: pip install model-signing pyopenssl");
        eprintln!("\n*** SKIPPED: python3 lacks model_signing (pip install model-signing pyopenssl), so OpenSSF's verifier did not check `owm sign` ***\n");
    }
    found
}

/// OpenSSF's reference tool (`tools/oms_check.py`) on the files it runs in `dir`.
fn reference(dir: &Path, args: &[&str]) -> std::process::Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/oms_check.py");
    owm_testkit::output(std::process::Command::new("python3").arg(script).args(args).current_dir(dir))
}

#[test]
fn openssf_signatures_should_check_both_ways_with_the_reference_tool() {
    if !model_signing() {
        return;
    }
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    let bundle = trained(d);
    assert!(owm(d, &["keygen", "alice"]).status.success());
    assert!(owm(d, &["sign", "run", "--key", "alice"]).status.success());
    // `owm sign`, checked by the reference verifier; which refuses any change to any file, or a file added.
    let out = reference(d, &["verify", "run/bundle", "alice.pub"]);
    assert!(out.status.success(), "{}", text(&out));
    for (copy, file) in [("t1", "weights.safetensors"), ("t2", "manifest.json"), ("t3", "trace.jsonl"), ("t4", "README.md")] {
        let b = flipped(&bundle, &d.join(copy), file, -2);
        let out = reference(d, &["verify", b.to_str().unwrap(), "alice.pub"]);
        assert!(out.status.code() == Some(1) && text(&out).contains(file), "{file}: {}", text(&out));
    }
    copy_dir(&bundle, &d.join("t5"));
    std::fs::write(d.join("t5/extra.bin"), [0u8]).unwrap();
    let out = reference(d, &["verify", "t5", "alice.pub"]);
    assert!(out.status.code() == Some(1) && text(&out).contains("extra.bin"), "{}", text(&out));
    assert!(owm(d, &["keygen", "mallory"]).status.success());
    assert_eq!(reference(d, &["verify", "run/bundle", "mallory.pub"]).status.code(), Some(1));

    // The reference signer, with OWM's key file, checked by `owm verify`: accepted, then refused once changed.
    std::fs::remove_file(bundle.join("model.sig")).unwrap();
    let out = reference(d, &["sign", "run/bundle", "alice"]);
    assert!(out.status.success(), "{}", text(&out));
    let ok = owm(d, &["verify", "run", "--key", "alice.pub"]);
    assert!(ok.status.success() && text(&ok).contains("model.sig, 4 files) by the given key"), "{}", text(&ok));
    let out = owm(d, &["verify", "run", "--key", "mallory.pub"]);
    assert!(out.status.code() == Some(6) && text(&out).contains("not by the key given"), "{}", text(&out));
    let b = flipped(&bundle, &d.join("t6"), "trace.jsonl", -2);
    let out = owm(d, &["verify", b.to_str().unwrap(), "--key", "alice.pub"]);
    assert!(out.status.code() == Some(6) && text(&out).contains("`trace.jsonl` changed since it was signed"), "{}", text(&out));

    // Any model folder the reference tool signed, not an OWM bundle: its files against the signed statement.
    std::fs::create_dir_all(d.join("plain/sub")).unwrap();
    std::fs::write(d.join("plain/model.bin"), [1u8, 2, 3]).unwrap();
    std::fs::write(d.join("plain/sub/config.json"), "{}").unwrap();
    assert!(reference(d, &["sign", "plain", "alice"]).status.success());
    let ok = owm(d, &["verify", "plain", "--key", "alice.pub"]);
    assert!(ok.status.success() && text(&ok).contains("model.sig, 2 files) by the given key"), "{}", text(&ok));
    std::fs::write(d.join("plain/sub/config.json"), "{ }").unwrap();
    let out = owm(d, &["verify", "plain", "--key", "alice.pub"]);
    assert!(out.status.code() == Some(6) && text(&out).contains("`sub/config.json` changed since it was signed"), "{}", text(&out));
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
