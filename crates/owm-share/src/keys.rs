//! Signing keys: ECDSA P-256 (the OpenSSF Model Signing format, keys as PKCS#8 and SPKI PEM, the files
//! `openssl` and the reference `model_signing` tool read) and Ed25519 (OWM's own `signature.json`, keys as
//! hex). A key file says which it is; the secret file is readable by its owner only.

use std::path::{Path, PathBuf};

use owm_core::write_atomic;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// The signature algorithm of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256: OpenSSF Model Signing v1.0 signatures (`model.sig`).
    EcdsaP256,
    /// Ed25519: OWM's own `signature.json`.
    Ed25519,
}

impl std::fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
            KeyAlgorithm::Ed25519 => "Ed25519",
        })
    }
}

/// A secret signing key ([`read_secret_key`]).
#[derive(Clone)]
pub enum SecretKey {
    /// ECDSA P-256.
    EcdsaP256(p256::ecdsa::SigningKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({}, public {})", self.algorithm(), self.public_key().fingerprint())
    }
}

impl SecretKey {
    /// Its algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            SecretKey::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            SecretKey::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        match self {
            SecretKey::EcdsaP256(k) => PublicKey::EcdsaP256(*k.verifying_key()),
            SecretKey::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
        }
    }
}

/// A public key that signatures are checked against ([`read_public_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// ECDSA P-256.
    EcdsaP256(p256::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl PublicKey {
    /// Its algorithm.
    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            PublicKey::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            PublicKey::Ed25519(_) => KeyAlgorithm::Ed25519,
        }
    }

    /// How signatures name the key: an Ed25519 key in hex; for ECDSA, the SHA-256 of its SPKI PEM, the key
    /// hint of a Sigstore bundle.
    pub fn fingerprint(&self) -> String {
        match self {
            PublicKey::EcdsaP256(k) => hex(&Sha256::digest(spki_pem(k).as_bytes())),
            PublicKey::Ed25519(k) => hex(k.as_bytes()),
        }
    }
}

/// The SPKI PEM of an ECDSA key, as OpenSSL and Python's `cryptography` write it (64-column lines, LF).
pub(crate) fn spki_pem(key: &p256::ecdsa::VerifyingKey) -> String {
    // Encoding a valid curve point into a fixed ASN.1 structure cannot fail.
    #[allow(clippy::expect_used)]
    key.to_public_key_pem(LineEnding::LF).expect("a P-256 point encodes as SPKI")
}

fn key_err(path: &Path, source: impl Into<owm_core::BoxError>) -> Error {
    Error::Key { path: path.to_path_buf(), source: source.into() }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
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

/// Writes a new key pair: the secret key to `path` (owner-only permissions on Unix) and the public key to
/// `path.pub`; returns both paths. The secret comes from the operating system's generator (`/dev/urandom`).
/// ECDSA keys are PKCS#8 and SPKI PEM; Ed25519 keys are the 32-byte seed and public key in hex.
///
/// # Errors
///
/// [`Error::Key`] when a file exists already or randomness cannot be read; [`Error::Io`] on a write failure.
pub fn generate_keypair(path: &Path, algorithm: KeyAlgorithm) -> Result<(PathBuf, PathBuf)> {
    let public = PathBuf::from(format!("{}.pub", path.display()));
    for p in [path, &public] {
        if p.exists() {
            return Err(key_err(p, "exists already; keys are never overwritten"));
        }
    }
    let urandom = Path::new("/dev/urandom");
    let mut random = std::fs::File::open(urandom).map_err(|e| key_err(urandom, e))?;
    let mut seed = [0u8; 32];
    let (secret, public_text) = loop {
        std::io::Read::read_exact(&mut random, &mut seed).map_err(|e| key_err(urandom, e))?;
        match algorithm {
            KeyAlgorithm::Ed25519 => {
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                break (format!("{}\n", hex(&seed)).into_bytes(), format!("{}\n", hex(key.verifying_key().as_bytes())));
            }
            // 32 random bytes are a valid scalar unless zero or at least the group order (p < 2^-32): draw again.
            KeyAlgorithm::EcdsaP256 => {
                if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(&seed.into()) {
                    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| key_err(path, e.to_string()))?;
                    break (pem.as_bytes().to_vec(), spki_pem(key.verifying_key()));
                }
            }
        }
    };
    write_secret(path, &secret)?;
    write_atomic(&public, public_text.as_bytes())?;
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

/// Reads a secret key: an ECDSA P-256 key as PKCS#8 PEM (`BEGIN PRIVATE KEY`, what `owm keygen` and
/// `openssl genpkey` write) or SEC1 PEM (`BEGIN EC PRIVATE KEY`, `openssl ecparam -genkey`), or an Ed25519
/// seed as 64 hex digits.
///
/// # Errors
///
/// [`Error::Key`] naming the file when it cannot be read or is none of these (an encrypted PEM key, another
/// curve).
pub fn read_secret_key(path: &Path) -> Result<SecretKey> {
    let text = read_text(path)?;
    if text.trim_start().starts_with("-----BEGIN") {
        let ecdsa = if text.contains("BEGIN EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(&text).map(p256::ecdsa::SigningKey::from).map_err(|e| e.to_string())
        } else {
            p256::ecdsa::SigningKey::from_pkcs8_pem(&text).map_err(|e| e.to_string())
        };
        return ecdsa.map(SecretKey::EcdsaP256).map_err(|e| key_err(path, format!("not an unencrypted ECDSA P-256 private key in PEM: {e}")));
    }
    let seed = unhex::<32>(&text).ok_or_else(|| key_err(path, "not a secret key (ECDSA P-256 PEM, or an Ed25519 seed as 64 hex digits)"))?;
    Ok(SecretKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&seed)))
}

/// Reads a public key: ECDSA P-256 as SPKI PEM (`BEGIN PUBLIC KEY`), or Ed25519 as 64 hex digits.
///
/// # Errors
///
/// [`Error::Key`] naming the file when it cannot be read or is neither valid key.
pub fn read_public_key(path: &Path) -> Result<PublicKey> {
    let text = read_text(path)?;
    if text.trim_start().starts_with("-----BEGIN") {
        return p256::ecdsa::VerifyingKey::from_public_key_pem(&text)
            .map(PublicKey::EcdsaP256)
            .map_err(|e| key_err(path, format!("not an ECDSA P-256 public key in SPKI PEM: {e}")));
    }
    let bytes = unhex::<32>(&text).ok_or_else(|| key_err(path, "not a public key (ECDSA P-256 SPKI PEM, or Ed25519 as 64 hex digits)"))?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map(PublicKey::Ed25519).map_err(|e| key_err(path, format!("not a valid Ed25519 public key: {e}")))
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

    #[test]
    fn keys_of_both_algorithms_should_read_back_as_written() {
        let dir = owm_testkit::tempdir();
        for (name, algorithm) in [("ec", KeyAlgorithm::EcdsaP256), ("ed", KeyAlgorithm::Ed25519)] {
            let (secret, public) = generate_keypair(&dir.path().join(name), algorithm).unwrap();
            let secret = read_secret_key(&secret).unwrap();
            assert_eq!(secret.algorithm(), algorithm);
            assert_eq!(read_public_key(&public).unwrap(), secret.public_key());
        }
        assert!(std::fs::read_to_string(dir.path().join("ec")).unwrap().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(std::fs::read_to_string(dir.path().join("ec.pub")).unwrap().starts_with("-----BEGIN PUBLIC KEY-----\n"));
    }

    /// A throwaway key from `openssl ecparam -name prime256v1 -genkey -noout`, its public key from
    /// `openssl ec -pubout`, and that file's `sha256sum` (the key hint OpenSSF's reference tool writes).
    const OPENSSL_SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIC2nOTLzgdCkADti50utOWUGwikliSPR9fUPh7+N6CqcoAoGCCqGSM49
AwEHoUQDQgAEQlzb0kZ+Fkr1n0Bc+eTjYT6O1BHhVlc9zcaLSLclKRq81Ks82M44
FNAMR9xt4gftEoFxvy64RS2gWVW/saTtOg==
-----END EC PRIVATE KEY-----
";
    const OPENSSL_SPKI: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEQlzb0kZ+Fkr1n0Bc+eTjYT6O1BHh
Vlc9zcaLSLclKRq81Ks82M44FNAMR9xt4gftEoFxvy64RS2gWVW/saTtOg==
-----END PUBLIC KEY-----
";
    const OPENSSL_SPKI_SHA256: &str = "0a75c43c41dc0a62a68e5186d309da23e763ca0957b82fd73aecedf9a5504dc3";

    #[test]
    fn an_openssl_key_should_read_and_name_itself_as_openssl_does() {
        let dir = owm_testkit::tempdir();
        let (secret, public) = (dir.path().join("k.pem"), dir.path().join("k.pub"));
        std::fs::write(&secret, OPENSSL_SEC1).unwrap();
        std::fs::write(&public, OPENSSL_SPKI).unwrap();
        let key = read_secret_key(&secret).unwrap();
        assert_eq!(key.public_key(), read_public_key(&public).unwrap());
        assert_eq!(key.public_key().fingerprint(), OPENSSL_SPKI_SHA256);
        let PublicKey::EcdsaP256(k) = key.public_key() else { panic!("an ECDSA key") };
        assert_eq!(spki_pem(&k), OPENSSL_SPKI, "the same PEM bytes as OpenSSL");
    }

    #[test]
    fn a_key_file_of_neither_kind_should_be_refused_naming_it() {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("k");
        for text in ["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "abc", ""] {
            std::fs::write(&path, text).unwrap();
            let e = read_secret_key(&path).unwrap_err().to_string();
            assert!(e.contains("key `") && e.contains("/k`"), "{e}");
            assert!(read_public_key(&path).is_err());
        }
    }
}
