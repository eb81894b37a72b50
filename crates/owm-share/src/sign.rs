//! Bundle signatures, in two formats, chosen by the key:
//!
//! - OpenSSF Model Signing v1.0 (`model.sig`, ECDSA P-256; [`crate::oms`]), which the reference
//!   `model_signing` verifier and OWM both check; the default, as `owm keygen` makes ECDSA keys;
//! - OWM's own `signature.json` (Ed25519): a *statement* of the bundle digest and the SHA-256 of every file,
//!   signed over its canonical JSON, with the public key inside, so that it checks without a key given.
//!
//! Each leaves the other's file out, so a bundle can carry both; [`check_signature`] checks every one there.

use std::collections::BTreeMap;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier};
use owm_core::write_atomic;
use serde::{Deserialize, Serialize};

use crate::keys::{hex, unhex};
use crate::{Error, KeyAlgorithm, MANIFEST_FILE, Manifest, OMS_SIGNATURE_FILE, PublicKey, Result, SecretKey, WEIGHTS_FILE, canonical_json, tensor_digest};

/// Every signature file a bundle may carry.
pub(crate) const SIGNATURE_FILES: [&str; 2] = [OMS_SIGNATURE_FILE, SIGNATURE_FILE];

/// A signature format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFormat {
    /// OpenSSF Model Signing v1.0: `model.sig`, ECDSA P-256.
    Oms,
    /// OWM's `signature.json`, Ed25519.
    Owm,
}

impl SignatureFormat {
    /// The format a key signs in: OMS for ECDSA P-256, OWM's for Ed25519.
    pub fn of(algorithm: KeyAlgorithm) -> Self {
        match algorithm {
            KeyAlgorithm::EcdsaP256 => SignatureFormat::Oms,
            KeyAlgorithm::Ed25519 => SignatureFormat::Owm,
        }
    }

    /// The signature's file name in the bundle folder.
    pub fn file(self) -> &'static str {
        match self {
            SignatureFormat::Oms => OMS_SIGNATURE_FILE,
            SignatureFormat::Owm => SIGNATURE_FILE,
        }
    }
}

impl std::fmt::Display for SignatureFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SignatureFormat::Oms => "OpenSSF Model Signing v1.0",
            SignatureFormat::Owm => "OWM Ed25519",
        })
    }
}

impl std::str::FromStr for SignatureFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "oms" => Ok(SignatureFormat::Oms),
            "owm" => Ok(SignatureFormat::Owm),
            other => Err(format!("unknown signature format `{other}` (oms, owm)")),
        }
    }
}

/// A signature found (or written) on a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// Its format.
    pub format: SignatureFormat,
    /// The signer's key, as [`PublicKey::fingerprint`] writes it (for OMS, the key hint in the signature).
    pub public_key: String,
    /// How many files it covers.
    pub files: usize,
    /// Whether the signature itself was checked with a key: always for OWM's format (its key is inside);
    /// for OMS only when the key was given, since the signature names only the key's digest. The files are
    /// checked against the signed statement either way.
    pub verified: bool,
    /// Whether it was checked with the key the caller gave.
    pub trusted: bool,
}

/// Signs the bundle in `dir` with `key` in `format` (see [`SignatureFormat::of`]), writing its file into the
/// folder (replacing an earlier one of that format).
///
/// # Errors
///
/// [`Error::Key`] for a key of another algorithm than the format's; [`Error::Signature`] for a folder that is
/// not an `owm-bundle/2` bundle (a re-saved format-1 bundle can be signed); file errors naming the file.
pub fn sign_bundle(dir: &Path, key: &SecretKey, format: SignatureFormat) -> Result<Signed> {
    check_signable(dir, format)?;
    match (format, key) {
        (SignatureFormat::Oms, SecretKey::EcdsaP256(k)) => crate::oms::sign(dir, k),
        (SignatureFormat::Owm, SecretKey::Ed25519(k)) => sign_owm(dir, k),
        (format, key) => {
            let needs = match format {
                SignatureFormat::Oms => "ECDSA P-256 (`owm keygen`)",
                SignatureFormat::Owm => "Ed25519 (`owm keygen --ed25519`)",
            };
            let reason = format!("{format} signatures are made with {needs} keys; this key is {}", key.algorithm());
            Err(Error::Key { path: dir.join(format.file()), source: reason.into() })
        }
    }
}

/// Refuses to sign a folder whose manifest does not bind the bundle: no `bundle_digest`, or no weights.
fn check_signable(dir: &Path, format: SignatureFormat) -> Result<()> {
    let statement = current_statement(dir)?;
    if statement.bundle_digest.is_empty() || !(statement.files.contains_key(WEIGHTS_FILE) || statement.files.contains_key(crate::ENCRYPTED_WEIGHTS_FILE)) {
        return Err(Error::Signature { path: dir.join(format.file()), reason: "not an owm-bundle/2 folder: nothing binds its manifest".into() });
    }
    Ok(())
}

/// Checks every signature of the bundle in `dir` (see [`Signed`]) against the files as they are; with
/// `trusted`, one of them must be that key's. An unsigned bundle gives an empty list when no key is required.
///
/// # Errors
///
/// [`Error::Signature`] naming the signature file and what fails: no signature when a key is given, none by
/// that key, a signature that does not verify, a file added, removed or changed since signing.
pub fn check_signature(dir: &Path, trusted: Option<&PublicKey>) -> Result<Vec<Signed>> {
    let found: Vec<Signed> = [check_owm(dir, trusted)?, crate::oms::check(dir, trusted)?].into_iter().flatten().collect();
    let Some(key) = trusted else { return Ok(found) };
    let Some(first) = found.first() else {
        return Err(Error::Signature { path: dir.join(SignatureFormat::of(key.algorithm()).file()), reason: "the bundle is not signed".into() });
    };
    if found.iter().any(|s| s.trusted) {
        return Ok(found);
    }
    let by: Vec<String> = found.iter().map(|s| format!("key {} ({})", s.public_key, s.format.file())).collect();
    let reason = format!("signed by {}, not by the key given ({} key {})", by.join(" and "), key.algorithm(), key.fingerprint());
    Err(Error::Signature { path: dir.join(first.format.file()), reason })
}

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

/// The statement of the bundle in `dir` as it is now: its manifest's `bundle_digest` and the digest of every
/// file in the folder except the signatures.
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
        if path.is_file() && !SIGNATURE_FILES.contains(&name.as_str()) {
            files.insert(name, tensor_digest(&std::fs::read(&path).map_err(io(&path))?));
        }
    }
    Ok(Statement { bundle_digest: manifest.bundle_digest, files })
}

/// Signs the bundle in `dir` in OWM's format, writing [`SIGNATURE_FILE`].
fn sign_owm(dir: &Path, key: &SigningKey) -> Result<Signed> {
    let statement = current_statement(dir)?;
    let bytes = canonical_json(&owm_core::json::to_value(&statement));
    let files = statement.files.len();
    let signature = BundleSignature {
        format: SIGNATURE_FORMAT.into(),
        statement,
        public_key: hex(key.verifying_key().as_bytes()),
        signature: hex(&key.sign(&bytes).to_bytes()),
    };
    write_atomic(&dir.join(SIGNATURE_FILE), &owm_core::json::to_vec_pretty(&signature))?;
    Ok(Signed { format: SignatureFormat::Owm, public_key: signature.public_key, files, verified: true, trusted: true })
}

/// Checks `signature.json` of the bundle in `dir`: the signature over its statement with the key it names
/// (trusted when that is `trusted`), and the statement against the files as they are. `Ok(None)` when there
/// is no such file.
fn check_owm(dir: &Path, trusted: Option<&PublicKey>) -> Result<Option<Signed>> {
    let path = dir.join(SIGNATURE_FILE);
    let err = |reason: String| Error::Signature { path: path.clone(), reason };
    let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
    let sig: BundleSignature = serde_json::from_slice(&bytes).map_err(|e| err(format!("not a signature file: {e}")))?;
    if sig.format != SIGNATURE_FORMAT {
        return Err(err(format!("format `{}`, expected `{SIGNATURE_FORMAT}`", sig.format)));
    }
    let named =
        unhex::<32>(&sig.public_key).and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok()).ok_or_else(|| err("its public key is not valid".into()))?;
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
    let trusted = trusted == Some(&PublicKey::Ed25519(named));
    Ok(Some(Signed { format: SignatureFormat::Owm, public_key: sig.public_key, files: sig.statement.files.len(), verified: true, trusted }))
}
