//! Ed25519 signatures of bundles, in the spirit of the OpenSSF model-signing format: a *statement* lists the
//! bundle digest and the SHA-256 of every file, and the signature covers the statement's canonical JSON.
//! Keys are 32-byte Ed25519 seeds and public keys, stored as hex (the secret file readable by its owner only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use owm_core::write_atomic;
use serde::{Deserialize, Serialize};

use crate::{Error, MANIFEST_FILE, Manifest, Result, WEIGHTS_FILE, canonical_json, tensor_digest};

/// File name of a bundle's signature.
pub const SIGNATURE_FILE: &str = "signature.json";
/// The signature format this crate writes and reads.
pub const SIGNATURE_FORMAT: &str = "owm-signature/1";

/// What is signed: the bundle digest and the digest of every file in the bundle (the signature file aside).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// The manifest's `bundle_digest`.
    pub bundle_digest: String,
    /// SHA-256 of each file, by name.
    pub files: BTreeMap<String, String>,
}

/// `signature.json`: a statement, the public key that signed it and the signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleSignature {
    /// Always [`SIGNATURE_FORMAT`].
    pub format: String,
    /// What was signed.
    pub statement: Statement,
    /// The signer's Ed25519 public key (hex).
    pub public_key: String,
    /// Ed25519 signature of the statement's canonical JSON (hex).
    pub signature: String,
}

fn key_err(path: &Path, source: impl Into<owm_core::BoxError>) -> Error {
    Error::Key { path: path.to_path_buf(), source: source.into() }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    if text.len() != 2 * N || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Writes a new key pair: the secret seed to `path` (owner-only permissions on Unix) and the public key to
/// `path.pub`; returns both paths. The seed comes from the operating system's generator (`/dev/urandom`).
///
/// # Errors
///
/// [`Error::Key`] when a file exists already or randomness cannot be read; [`Error::Io`] on a write failure.
pub fn generate_keypair(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let public = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, &public] {
        if p.exists() {
            return Err(key_err(p, "exists already; keys are never overwritten"));
        }
    }
    let mut seed = [0u8; 32];
    let urandom = Path::new("/dev/urandom");
    std::io::Read::read_exact(&mut std::fs::File::open(urandom).map_err(|e| key_err(urandom, e))?, &mut seed).map_err(|e| key_err(urandom, e))?;
    let key = SigningKey::from_bytes(&seed);
    write_secret(path, format!("{}\n", hex(&seed)).as_bytes())?;
    write_atomic(&public, format!("{}\n", hex(key.verifying_key().as_bytes())).as_bytes())?;
    Ok((path.to_path_buf(), public))
}

/// Writes a secret (atomically) and makes it readable by its owner only, on Unix.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| Error::Io { op: "chmod", path: path.into(), source })?;
    }
    Ok(())
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| key_err(path, e))
}

/// Reads a secret key written by [`generate_keypair`].
///
/// # Errors
///
/// [`Error::Key`] naming the file when it cannot be read or is not 64 hex digits.
pub fn read_secret_key(path: &Path) -> Result<SigningKey> {
    let seed = unhex::<32>(&read_text(path)?).ok_or_else(|| key_err(path, "not an OWM secret key (64 hex digits)"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a public key written by [`generate_keypair`].
///
/// # Errors
///
/// [`Error::Key`] naming the file when it cannot be read or is not a valid Ed25519 public key.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey> {
    let bytes = unhex::<32>(&read_text(path)?).ok_or_else(|| key_err(path, "not an OWM public key (64 hex digits)"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| key_err(path, format!("not a valid Ed25519 public key: {e}")))
}

/// The statement of the bundle in `dir` as it is now: its manifest's `bundle_digest` and the digest of every
/// file in the folder except the signature.
fn current_statement(dir: &Path) -> Result<Statement> {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::Io { op: "read", path: path.to_path_buf(), source }
    }
    let manifest_path = dir.join(MANIFEST_FILE);
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(&manifest_path).map_err(io(&manifest_path))?)
        .map_err(|e| Error::Manifest { path: manifest_path.clone(), source: e.into() })?;
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if path.is_file() && name != SIGNATURE_FILE {
            files.insert(name, tensor_digest(&std::fs::read(&path).map_err(io(&path))?));
        }
    }
    Ok(Statement { bundle_digest: manifest.bundle_digest, files })
}

/// Signs the bundle in `dir` with `key`, writing [`SIGNATURE_FILE`] into it (replacing an earlier one).
///
/// # Errors
///
/// [`Error::Signature`] for a bundle without a `bundle_digest` (format 1: sign a re-saved bundle); file
/// errors naming the file.
pub fn sign_bundle(dir: &Path, key: &SigningKey) -> Result<BundleSignature> {
    let statement = current_statement(dir)?;
    if statement.bundle_digest.is_empty() || !(statement.files.contains_key(WEIGHTS_FILE) || statement.files.contains_key(crate::ENCRYPTED_WEIGHTS_FILE)) {
        return Err(Error::Signature { path: dir.join(SIGNATURE_FILE), reason: "not an owm-bundle/2 folder: nothing binds its manifest".into() });
    }
    let bytes = canonical_json(&owm_core::json::to_value(&statement));
    let signature = BundleSignature {
        format: SIGNATURE_FORMAT.into(),
        statement,
        public_key: hex(key.verifying_key().as_bytes()),
        signature: hex(&key.sign(&bytes).to_bytes()),
    };
    write_atomic(&dir.join(SIGNATURE_FILE), &owm_core::json::to_vec_pretty(&signature))?;
    Ok(signature)
}

/// Who signed a bundle, as [`check_signature`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The signer's public key (hex).
    pub public_key: String,
    /// Whether it is the key the caller trusts (`false`: no key was given to compare with).
    pub trusted: bool,
}

/// Checks `signature.json` of the bundle in `dir`: the signature over its statement (with the key it names,
/// or with `trusted` when given, which must be that key), and the statement against the files as they are.
/// Returns `Ok(None)` for an unsigned bundle when no key is required.
///
/// # Errors
///
/// [`Error::Signature`] naming what fails: no signature when a key is given, a signature that does not
/// verify, another signer's key, a file added, removed or changed since signing.
pub fn check_signature(dir: &Path, trusted: Option<&VerifyingKey>) -> Result<Option<Signed>> {
    let path = dir.join(SIGNATURE_FILE);
    let err = |reason: String| Error::Signature { path: path.clone(), reason };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(_) if trusted.is_none() => return Ok(None),
        Err(_) => return Err(err("the bundle is not signed".into())),
    };
    let sig: BundleSignature = serde_json::from_slice(&bytes).map_err(|e| err(format!("not a signature file: {e}")))?;
    if sig.format != SIGNATURE_FORMAT {
        return Err(err(format!("format `{}`, expected `{SIGNATURE_FORMAT}`", sig.format)));
    }
    let named = unhex::<32>(&sig.public_key).and_then(|b| VerifyingKey::from_bytes(&b).ok()).ok_or_else(|| err("its public key is not valid".into()))?;
    if let Some(t) = trusted
        && t != &named
    {
        return Err(err(format!("signed by key {}, not by the key given ({})", sig.public_key, hex(t.as_bytes()))));
    }
    let signature = unhex::<64>(&sig.signature).map(|b| Signature::from_bytes(&b)).ok_or_else(|| err("the signature is not 64 bytes of hex".into()))?;
    let statement_bytes = canonical_json(&owm_core::json::to_value(&sig.statement));
    named.verify(&statement_bytes, &signature).map_err(|_| err("the signature does not verify: the statement or the signature was altered".into()))?;
    let now = current_statement(dir)?;
    if now.bundle_digest != sig.statement.bundle_digest {
        return Err(err("the manifest's bundle_digest is not the one signed".into()));
    }
    for (name, digest) in &sig.statement.files {
        match now.files.get(name) {
            None => return Err(err(format!("`{name}` was signed but is missing"))),
            Some(d) if d != digest => return Err(err(format!("`{name}` changed since it was signed"))),
            Some(_) => {}
        }
    }
    if let Some(extra) = now.files.keys().find(|n| !sig.statement.files.contains_key(*n)) {
        return Err(err(format!("`{extra}` was added after signing")));
    }
    Ok(Some(Signed { public_key: sig.public_key, trusted: trusted.is_some() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_should_round_trip_and_reject_bad_text() {
        let bytes = [0u8, 1, 0xab, 0xff];
        assert_eq!(unhex::<4>(&hex(&bytes)), Some(bytes));
        assert_eq!(unhex::<4>("00zz00ff"), None);
        assert_eq!(unhex::<4>("00"), None);
    }
}
