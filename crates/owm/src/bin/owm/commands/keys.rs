//! `owm keygen` and `owm sign`: Ed25519 signing keys (or age keys for encryption) and bundle signatures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{KeygenArgs, SignArgs};
use crate::settings::bundle_dir;

/// `owm keygen`.
pub fn keygen(args: KeygenArgs) -> Result<ExitCode> {
    let KeygenArgs { out, age } = args;
    if age {
        let public = owm::share::generate_age_key(&out)?;
        let public_file = PathBuf::from(format!("{}.agepub", out.display()));
        owm::core::write_atomic(&public_file, format!("{public}\n").as_bytes())?;
        println!("age identity {} (keep it private)\nrecipient {public} (also in {})", out.display(), public_file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let (secret, public) = owm::share::generate_keypair(&out)?;
    println!("secret key {} (keep it private)\npublic key {}", secret.display(), public.display());
    Ok(ExitCode::SUCCESS)
}

/// `owm sign`.
pub fn sign(args: SignArgs) -> Result<ExitCode> {
    let SignArgs { bundle, key } = args;
    let dir = bundle_dir(&bundle);
    let signature = owm::share::sign_bundle(&dir, &owm::share::read_secret_key(&key)?)?;
    println!(
        "signed {} ({} files, bundle digest {}) with key {}",
        dir.display(),
        signature.statement.files.len(),
        signature.statement.bundle_digest,
        signature.public_key
    );
    Ok(ExitCode::SUCCESS)
}
