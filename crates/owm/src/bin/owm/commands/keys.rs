//! `owm keygen` and `owm sign`: signing keys (ECDSA P-256 or Ed25519; or age keys for encryption) and bundle
//! signatures.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use owm::share::{KeyAlgorithm, SignatureFormat};

use crate::cli::{KeygenArgs, SignArgs};
use crate::settings::bundle_dir;

/// `owm keygen`.
pub fn keygen(args: KeygenArgs) -> Result<ExitCode> {
    let KeygenArgs { out, age, ecdsa: _, ed25519 } = args;
    if age {
        let public = owm::share::generate_age_key(&out)?;
        let public_file = PathBuf::from(format!("{}.agepub", out.display()));
        owm::core::write_atomic(&public_file, format!("{public}\n").as_bytes())?;
        println!("age identity {} (keep it private)\nrecipient {public} (also in {})", out.display(), public_file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let algorithm = if ed25519 { KeyAlgorithm::Ed25519 } else { KeyAlgorithm::EcdsaP256 };
    let (secret, public) = owm::share::generate_keypair(&out, algorithm)?;
    println!("{algorithm} secret key {} (keep it private)\npublic key {}", secret.display(), public.display());
    Ok(ExitCode::SUCCESS)
}

/// `owm sign`.
pub fn sign(args: SignArgs) -> Result<ExitCode> {
    let SignArgs { bundle, key, format } = args;
    let dir = bundle_dir(&bundle);
    let key = owm::share::read_secret_key(&key)?;
    let format = format.unwrap_or(SignatureFormat::of(key.algorithm()));
    let signed = owm::share::sign_bundle(&dir, &key, format)?;
    println!(
        "signed {} ({} files) in {format} format ({}) with {} key {}",
        dir.display(),
        signed.files,
        dir.join(format.file()).display(),
        key.algorithm(),
        signed.public_key
    );
    Ok(ExitCode::SUCCESS)
}
