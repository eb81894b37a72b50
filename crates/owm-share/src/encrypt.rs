//! Encrypted weights: a bundle whose `weights.safetensors` is replaced by an age file
//! (`weights.safetensors.age`, for X25519 recipients or a passphrase) while the manifest stays readable and
//! verifiable. `encryption.json` records the ciphertext's SHA-256, so anyone can check the ciphertext and
//! every provenance section without a key; a holder of an identity decrypts in memory and checks every
//! tensor against the manifest's digests. No plaintext tensor is written to disk, except by
//! [`decrypt_bundle`], which a user asks for.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, WEIGHTS_FILE, load_bundle, tensor_digest};

/// File name of the encrypted weights inside an encrypted bundle.
pub const ENCRYPTED_WEIGHTS_FILE: &str = "weights.safetensors.age";
/// File name of the encryption record inside an encrypted bundle.
pub const ENCRYPTION_FILE: &str = "encryption.json";
const FORMAT: &str = "owm-encryption/1";

/// Who may decrypt.
#[derive(Debug, Clone)]
pub enum Recipient {
    /// An age X25519 public key (`age1…`).
    Key(String),
    /// A passphrase (age's scrypt recipient).
    Passphrase(String),
}

/// What an encrypted bundle records about its ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionRecord {
    /// `owm-encryption/1`.
    pub format: String,
    /// `age`.
    pub scheme: String,
    /// The ciphertext file ([`ENCRYPTED_WEIGHTS_FILE`]).
    pub file: String,
    /// SHA-256 of the ciphertext.
    pub sha256: String,
    /// The recipients, as public keys, and `passphrase` for a passphrase.
    pub recipients: Vec<String>,
}

/// The keys that can open encrypted bundles: age identity files (as `age-keygen` or [`generate_age_key`]
/// write them) or a passphrase.
pub struct Identities(Vec<Box<dyn age::Identity>>);

impl Identities {
    /// The identities in an age identity file.
    ///
    /// # Errors
    ///
    /// [`Error::Key`] naming the file when it cannot be read or holds no identity.
    pub fn from_file(path: &Path) -> Result<Self> {
        let err = |source: owm_core::BoxError| Error::Key { path: path.to_path_buf(), source };
        let file = age::IdentityFile::from_file(path.display().to_string()).map_err(|e| err(e.into()))?;
        let ids = file.into_identities().map_err(|e| err(e.into()))?;
        if ids.is_empty() {
            return Err(err("no age identity in the file".into()));
        }
        Ok(Self(ids))
    }

    /// A passphrase.
    pub fn passphrase(passphrase: String) -> Self {
        Self(vec![Box::new(age::scrypt::Identity::new(SecretString::from(passphrase)))])
    }
}

/// Writes a new age X25519 identity to `path` (owner-only, never overwritten) and returns its public key.
///
/// # Errors
///
/// [`Error::Exists`] when `path` exists; file errors naming it.
pub fn generate_age_key(path: &Path) -> Result<String> {
    use age::secrecy::ExposeSecret;
    if path.exists() {
        return Err(Error::Exists(path.to_path_buf()));
    }
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    let text = format!("# public key: {public}\n{}\n", identity.to_string().expose_secret());
    crate::keys::write_secret(path, text.as_bytes())?;
    Ok(public)
}

fn encryption_error(path: &Path, reason: impl std::fmt::Display) -> Error {
    Error::Encryption { path: path.to_path_buf(), reason: reason.to_string() }
}

/// Writes an encrypted copy of the (verified) bundle `src` as the new folder `out`: the weights encrypted to
/// `recipients`, every other file as it is. A signature is left out (it covers the plaintext file): sign
/// the encrypted bundle again.
///
/// # Errors
///
/// What [`load_bundle`] finds wrong with `src`; [`Error::Exists`] for an existing `out`;
/// [`Error::Encryption`] for no recipient or a recipient that is not an age public key.
pub fn encrypt_bundle(src: &Path, out: &Path, recipients: &[Recipient]) -> Result<EncryptionRecord> {
    load_bundle(src)?;
    if out.exists() {
        return Err(Error::Exists(out.to_path_buf()));
    }
    if recipients.is_empty() {
        return Err(encryption_error(out, "no recipient: give a public key or a passphrase"));
    }
    let mut boxed: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    let mut named = Vec::new();
    for r in recipients {
        match r {
            Recipient::Key(k) => {
                let key: age::x25519::Recipient = k.trim().parse().map_err(|e| encryption_error(out, format!("recipient `{k}`: {e}")))?;
                named.push(key.to_string());
                boxed.push(Box::new(key));
            }
            Recipient::Passphrase(p) => {
                named.push("passphrase".into());
                boxed.push(Box::new(age::scrypt::Recipient::new(SecretString::from(p.clone()))));
            }
        }
    }
    let plain_path = src.join(WEIGHTS_FILE);
    let plain = std::fs::read(&plain_path).map_err(|source| Error::Io { op: "read", path: plain_path.clone(), source })?;
    let encryptor = age::Encryptor::with_recipients(boxed.iter().map(|r| r.as_ref() as &dyn age::Recipient)).map_err(|e| encryption_error(out, e))?;
    let mut cipher = Vec::with_capacity(plain.len() + 1024);
    let mut writer = encryptor.wrap_output(&mut cipher).map_err(|e| encryption_error(out, e))?;
    writer.write_all(&plain).and_then(|_| writer.finish().map(|_| ())).map_err(|e| encryption_error(out, e))?;
    drop(plain);
    let record = EncryptionRecord {
        format: FORMAT.into(),
        scheme: "age".into(),
        file: ENCRYPTED_WEIGHTS_FILE.into(),
        sha256: tensor_digest(&cipher),
        recipients: named,
    };
    let record_json = owm_core::json::to_vec_pretty(&record);
    let mut files: Vec<(String, Vec<u8>)> = vec![(ENCRYPTED_WEIGHTS_FILE.into(), cipher), (ENCRYPTION_FILE.into(), record_json)];
    files.extend(other_files(src, &[&[WEIGHTS_FILE][..], &crate::sign::SIGNATURE_FILES].concat())?);
    crate::bundle::write_folder(out, &files)?;
    Ok(record)
}

/// The encryption record of the bundle in `dir`, when it is encrypted.
///
/// # Errors
///
/// [`Error::Encryption`] for a record that does not parse or has another format.
pub fn encryption_record(dir: &Path) -> Result<Option<EncryptionRecord>> {
    let path = dir.join(ENCRYPTION_FILE);
    let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
    let record: EncryptionRecord = serde_json::from_slice(&bytes).map_err(|e| encryption_error(&path, format!("not an encryption record: {e}")))?;
    if record.format != FORMAT || record.file != ENCRYPTED_WEIGHTS_FILE {
        return Err(encryption_error(&path, format!("format `{}` for `{}`, expected `{FORMAT}` for `{ENCRYPTED_WEIGHTS_FILE}`", record.format, record.file)));
    }
    Ok(Some(record))
}

/// The ciphertext of the encrypted bundle in `dir`, checked against its record.
///
/// # Errors
///
/// [`Error::FileTampered`] for a ciphertext that is not the recorded one; [`Error::Io`].
pub(crate) fn read_ciphertext(dir: &Path, record: &EncryptionRecord) -> Result<Vec<u8>> {
    let path = dir.join(ENCRYPTED_WEIGHTS_FILE);
    let cipher = std::fs::read(&path).map_err(|source| Error::Io { op: "read", path: path.clone(), source })?;
    let digest = tensor_digest(&cipher);
    if digest != record.sha256 {
        return Err(Error::FileTampered { path, reason: format!("hashes to {digest}, {ENCRYPTION_FILE} says {}", record.sha256) });
    }
    Ok(cipher)
}

/// Every file of the bundle in `dir` but those named in `skip`, as (name, bytes).
fn other_files(dir: &Path, skip: &[&str]) -> Result<Vec<(String, Vec<u8>)>> {
    use crate::bundle::io_error;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error("read", dir))? {
        let path = entry.map_err(io_error("read", dir))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_file() && !skip.contains(&name.as_str()) {
            files.push((name, std::fs::read(&path).map_err(io_error("read", &path))?));
        }
    }
    Ok(files)
}

/// The plaintext weights of the encrypted bundle in `dir`, decrypted in memory after the ciphertext is
/// checked against its record.
///
/// # Errors
///
/// [`Error::FileTampered`] for a ciphertext that is not the recorded one; [`Error::Encryption`] when no
/// identity opens it or the decryption fails (a tampered ciphertext with a recomputed record).
pub(crate) fn decrypt_weights(dir: &Path, record: &EncryptionRecord, identities: &Identities) -> Result<Vec<u8>> {
    let cipher = read_ciphertext(dir, record)?;
    let path = dir.join(ENCRYPTED_WEIGHTS_FILE);
    let decryptor = age::Decryptor::new(&cipher[..]).map_err(|e| encryption_error(&path, e))?;
    let mut reader = decryptor.decrypt(identities.0.iter().map(|i| i.as_ref() as &dyn age::Identity)).map_err(|e| encryption_error(&path, e))?;
    let mut plain = Vec::with_capacity(cipher.len());
    reader.read_to_end(&mut plain).map_err(|e| encryption_error(&path, e))?;
    Ok(plain)
}

/// Writes the decrypted bundle `src` as the new folder `out` (plaintext weights, no encryption record),
/// after checking every tensor against the manifest; nothing is written when anything fails.
///
/// # Errors
///
/// As [`crate::load_bundle_with`]; [`Error::Exists`] for an existing `out`.
pub fn decrypt_bundle(src: &Path, out: &Path, identities: &Identities) -> Result<PathBuf> {
    let record = encryption_record(src)?.ok_or_else(|| encryption_error(src, "the bundle is not encrypted"))?;
    if out.exists() {
        return Err(Error::Exists(out.to_path_buf()));
    }
    crate::load_bundle_with(src, Some(identities))?;
    let plain = decrypt_weights(src, &record, identities)?;
    let mut files: Vec<(String, Vec<u8>)> = vec![(WEIGHTS_FILE.into(), plain)];
    files.extend(other_files(src, &[&[ENCRYPTED_WEIGHTS_FILE, ENCRYPTION_FILE][..], &crate::sign::SIGNATURE_FILES].concat())?);
    crate::bundle::write_folder(out, &files)?;
    Ok(out.to_path_buf())
}
