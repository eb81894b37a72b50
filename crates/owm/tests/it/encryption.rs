//! `owm encrypt` / `owm decrypt` / `owm eval --identity`: weights encrypted for age recipients or a
//! passphrase, the manifest still verifiable without a key, a bit-exact round trip, clear refusals, and no
//! plaintext tensor bytes on disk after an encrypted evaluation.

use owm_testkit::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn owm(dir: &Path, args: &[&str]) -> Output {
    owm_testkit::output(Command::new(env!("CARGO_BIN_EXE_owm")).args(args).current_dir(dir).env("TMPDIR", dir.join("tmp")))
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

#[test]
fn encrypted_weights_should_round_trip_verify_without_a_key_and_stay_off_disk() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    std::fs::create_dir(d.join("tmp")).unwrap();
    let train = ok(owm(d, &["train", "--epochs", "2", "--out", "run", "--quiet"]));
    let accuracy = train.lines().find(|l| l.starts_with("test accuracy")).unwrap().split_whitespace().nth(2).unwrap().to_string();
    ok(owm(d, &["keygen", "--age", "alice"]));
    ok(owm(d, &["keygen", "--age", "mallory"]));
    std::fs::write(d.join("pass"), "correct horse battery staple\n").unwrap();
    ok(owm(d, &["keygen", "--age", "bob"]));
    let bob = std::fs::read_to_string(d.join("bob.agepub")).unwrap();
    ok(owm(d, &["encrypt", "run", "--out", "enc", "--recipient", "alice.agepub", "--recipient", bob.trim()]));
    ok(owm(d, &["encrypt", "run", "--out", "encp", "--passphrase-file", "pass"]));
    let names: Vec<String> = std::fs::read_dir(d.join("enc")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.contains(&"weights.safetensors.age".to_string()) && !names.contains(&"weights.safetensors".to_string()), "{names:?}");

    // Without a key: the manifest and ciphertext verify; with one, every tensor.
    let v = ok(owm(d, &["verify", "enc"]));
    assert!(v.contains("weights encrypted") && v.contains("OK: every digest matches"), "{v}");
    let v = ok(owm(d, &["verify", "enc", "--identity", "alice"]));
    assert!(v.contains("checked 4 tensors"), "{v}");

    // Round trip, by key and by passphrase: bit-exact weights.
    ok(owm(d, &["decrypt", "enc", "--out", "dec", "--identity", "alice"]));
    ok(owm(d, &["decrypt", "encp", "--out", "dec2", "--passphrase-file", "pass"]));
    ok(owm(d, &["verify", "enc", "--identity", "bob"]));
    let plain = std::fs::read(d.join("run/bundle/weights.safetensors")).unwrap();
    assert_eq!(std::fs::read(d.join("dec/weights.safetensors")).unwrap(), plain);
    assert_eq!(std::fs::read(d.join("dec2/weights.safetensors")).unwrap(), plain);
    ok(owm(d, &["verify", "dec"]));

    // A wrong identity, a missing one and a tampered ciphertext fail clearly and write nothing.
    let wrong = owm(d, &["decrypt", "enc", "--out", "nope", "--identity", "mallory"]);
    assert!(!wrong.status.success() && text(&wrong).contains("weights.safetensors.age"), "{}", text(&wrong));
    assert!(!d.join("nope").exists());
    let missing = owm(d, &["eval", "enc"]);
    assert!(!missing.status.success() && text(&missing).contains("give an identity"), "{}", text(&missing));
    let tampered = d.join("tampered");
    std::fs::create_dir(&tampered).unwrap();
    for f in std::fs::read_dir(d.join("enc")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, tampered.join(f.file_name().unwrap())).unwrap();
    }
    let age = tampered.join("weights.safetensors.age");
    let mut bytes = std::fs::read(&age).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&age, bytes).unwrap();
    let v = owm(d, &["verify", "tampered"]);
    assert!(!v.status.success() && text(&v).contains("weights.safetensors.age") && text(&v).contains("MISMATCH"), "{}", text(&v));
    let t = owm(d, &["decrypt", "tampered", "--out", "nope", "--identity", "alice"]);
    assert!(!t.status.success() && !d.join("nope").exists(), "{}", text(&t));

    // Start a model from the encrypted bundle: decrypted in memory with the identity, refused without.
    let t = owm(d, &["train", "--transfer-from", "enc", "--max-steps", "5", "--out", "from-enc", "--quiet"]);
    assert!(!t.status.success() && text(&t).contains("give an identity"), "{}", text(&t));
    let t = ok(owm(d, &["train", "--init-from", "enc", "--identity", "alice", "--max-steps", "5", "--out", "from-enc", "--quiet"]));
    assert!(t.contains("4 applied"), "{t}");
    std::fs::remove_dir_all(d.join("from-enc")).unwrap();

    // Evaluate the encrypted bundle alone: same accuracy, and no plaintext tensor bytes anywhere on disk.
    for gone in ["run", "dec", "dec2"] {
        std::fs::remove_dir_all(d.join(gone)).unwrap();
    }
    let eval = ok(owm(d, &["eval", "enc", "--identity", "alice"]));
    assert!(eval.contains(&format!("test accuracy {accuracy}")), "{eval} (trained: {accuracy})");
    // Windows of the plaintext tensor data (past the header), searched in every file the test folder holds,
    // the evaluation's temporary folder included.
    let header = u64::from_le_bytes(plain[..8].try_into().unwrap()) as usize + 8;
    let windows: Vec<&[u8]> = [header + 64, (header + plain.len()) / 2, plain.len() - 128].iter().map(|&i| &plain[i..i + 64]).collect();
    for file in files_under(d) {
        let bytes = std::fs::read(&file).unwrap();
        for w in &windows {
            assert!(!bytes.windows(64).any(|b| b == *w), "plaintext tensor bytes in {}", file.display());
        }
    }
}
