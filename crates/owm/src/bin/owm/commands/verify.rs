//! `owm verify`: every digest of a bundle and its signatures; exit 6 naming each mismatch. A model folder that
//! is not an OWM bundle but carries an OpenSSF Model Signing `model.sig` gets its signature checked.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::VerifyArgs;
use crate::settings::bundle_dir;

/// `owm verify`.
pub fn run(args: VerifyArgs) -> Result<ExitCode> {
    let identities = super::identities(args.identity.as_deref(), args.passphrase_file.as_deref())?;
    let identities = identities.as_ref();
    let (bundle, key) = (&bundle_dir(&args.bundle), args.key.as_deref());
    let trusted = key.map(owm::share::read_public_key).transpose()?;
    if !bundle.join(owm::share::MANIFEST_FILE).exists() && bundle.join(owm::share::OMS_SIGNATURE_FILE).exists() {
        return signed_folder(bundle, trusted.as_ref());
    }
    let v = owm::share::verify_bundle_with(bundle, trusted.as_ref(), identities)?;
    let m = &v.manifest;
    println!("bundle {} ({}, written by owm {})", bundle.display(), m.format, m.owm_version);
    if v.legacy {
        println!("note: an owm-bundle/1 manifest: its sections are not bound by a bundle digest (tensors and trace still are)");
    } else {
        println!("bundle digest {}", m.bundle_digest);
    }
    println!("checked {} tensors, {} files", v.tensors_checked, v.files_checked);
    if v.encrypted && identities.is_none() {
        println!("weights encrypted: the ciphertext was checked; give --identity (or --passphrase-file) to check every tensor");
    }
    print_signatures(&v.signatures);
    if v.signatures.is_empty() && !v.problems.iter().any(|p| matches!(p, owm::share::Error::Signature { .. })) {
        println!("not signed");
    }
    if v.ok() {
        println!("OK: every digest matches");
        return Ok(ExitCode::SUCCESS);
    }
    for p in &v.problems {
        println!("MISMATCH: {p}");
    }
    Ok(ExitCode::from(6))
}

/// A model folder with an OpenSSF signature and no OWM manifest: its signature, against its files.
fn signed_folder(dir: &Path, trusted: Option<&owm::share::PublicKey>) -> Result<ExitCode> {
    println!("model folder {} (no OWM manifest: its OpenSSF Model Signing signature is checked)", dir.display());
    match owm::share::check_signature(dir, trusted) {
        Ok(signatures) => {
            print_signatures(&signatures);
            println!("OK: every file matches the signed statement");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("MISMATCH: {e}");
            Ok(ExitCode::from(6))
        }
    }
}

/// A line per signature: its format, file, key and whether it was verified with the key given.
fn print_signatures(signatures: &[owm::share::Signed]) {
    for s in signatures {
        let (format, file, key) = (s.format, s.format.file(), &s.public_key);
        match (s.trusted, s.verified) {
            (true, _) => println!("signed ({format}, {file}, {} files) by the given key {key}", s.files),
            (false, true) => println!("signed ({format}, {file}, {} files) by key {key} (pass --key to require a key you trust)", s.files),
            (false, false) => println!(
                "signature {file} ({format}) by the key with SHA-256 {key}: its {} files match its statement, but the signature itself is checked only with that key: pass --key KEY.pub",
                s.files
            ),
        }
    }
}
