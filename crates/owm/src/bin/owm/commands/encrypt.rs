//! `owm encrypt` and `owm decrypt`: a bundle's weights for age recipients or a passphrase, and back.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::cli::{DecryptArgs, EncryptArgs};
use crate::settings::bundle_dir;

/// `owm encrypt`.
pub fn encrypt(args: EncryptArgs) -> Result<ExitCode> {
    let EncryptArgs { bundle, out, recipient, passphrase_file } = args;
    let mut recipients = Vec::new();
    for r in recipient {
        let key = if Path::new(&r).is_file() { std::fs::read_to_string(&r).with_context(|| format!("reading {r}"))? } else { r };
        recipients.push(owm::share::Recipient::Key(key.trim().to_string()));
    }
    if let Some(p) = &passphrase_file {
        recipients.push(owm::share::Recipient::Passphrase(super::read_passphrase(p)?));
    }
    let record = owm::share::encrypt_bundle(&bundle_dir(&bundle), &out, &recipients)?;
    println!(
        "wrote {} (weights encrypted for {}; ciphertext SHA-256 {}); sign it again if it was signed",
        out.display(),
        record.recipients.join(", "),
        record.sha256
    );
    Ok(ExitCode::SUCCESS)
}

/// `owm decrypt`.
pub fn decrypt(args: DecryptArgs) -> Result<ExitCode> {
    let DecryptArgs { bundle, out, identity, passphrase_file } = args;
    let ids = super::identities(identity.as_deref(), passphrase_file.as_deref())?.context("give --identity FILE or --passphrase-file FILE")?;
    owm::share::decrypt_bundle(&bundle_dir(&bundle), &out, &ids)?;
    println!("wrote {} (every tensor checked against the manifest)", out.display());
    Ok(ExitCode::SUCCESS)
}
