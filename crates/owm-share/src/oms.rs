//! OpenSSF Model Signing v1.0 (`model.sig`): a Sigstore bundle (`application/vnd.dev.sigstore.bundle.v0.3+json`)
//! whose DSSE envelope carries an in-toto Statement v1 with predicate type
//! `https://model_signing/signature/v1.0`. The predicate lists every file of the folder with its SHA-256
//! (serialization method `files`); the subject's digest is the SHA-256 of those digests in order. The envelope
//! is signed with ECDSA P-256 over SHA-256 of DSSE's pre-authentication encoding, the signature DER-encoded, and
//! the bundle names the key by the SHA-256 of its SPKI PEM. This is the format of the reference
//! `model_signing` tool's key method, which checks OWM's signatures and whose signatures OWM checks.
//!
//! OWM's own facts (bundle and weights digests, openness class, trace digest, privacy guarantee) go in as a
//! predicate field `owm`, which v1.0 verifiers ignore.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use owm_core::write_atomic;
use p256::ecdsa::signature::{Signer, Verifier};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::keys::{hex, unhex};
use crate::{Error, MANIFEST_FILE, Manifest, PublicKey, Result, SIGNATURE_FILE, SignatureFormat, Signed, canonical_json};

/// File name of an OpenSSF Model Signing signature (the reference tool's default).
pub const OMS_SIGNATURE_FILE: &str = "model.sig";
/// The predicate type of OpenSSF Model Signing v1.0.
pub const OMS_PREDICATE_TYPE: &str = "https://model_signing/signature/v1.0";
const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// What OWM's signatures leave out: the reference tool's default ignores (git's files, for a bundle in a
/// Hugging Face repository) and both signature files, so that each signature format can sit beside the other.
const IGNORED: [&str; 6] = [".git", ".gitattributes", ".github", ".gitignore", OMS_SIGNATURE_FILE, SIGNATURE_FILE];

/// The Sigstore bundle, as far as a key-signed model signature uses it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigstoreBundle {
    media_type: String,
    verification_material: Material,
    dsse_envelope: Envelope,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Material {
    /// Absent when a certificate signed instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_key: Option<KeyHint>,
    #[serde(default)]
    tlog_entries: Vec<Value>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyHint {
    #[serde(default)]
    hint: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    payload: String,
    payload_type: String,
    signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
struct EnvelopeSignature {
    sig: String,
    #[serde(default)]
    keyid: String,
}

/// DSSE v1's pre-authentication encoding of an in-toto payload: what the signature covers.
fn pae(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {PAYLOAD_TYPE} {} ", PAYLOAD_TYPE.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Whether `name` (relative, `/`-separated) is or lies under one of `ignored`.
fn is_ignored(name: &str, ignored: &[String]) -> bool {
    ignored.iter().any(|i| name == i || name.strip_prefix(i.as_str()).is_some_and(|rest| rest.starts_with('/')))
}

/// The SHA-256 of every file under `dir` but the ignored, by `/`-separated relative name, in the reference
/// tool's order (path components compared in turn). A symbolic link is refused unless `allow_symlinks`, when
/// it is followed.
fn hash_folder(dir: &Path, ignored: &[String], allow_symlinks: bool, sig: &Path) -> Result<Vec<(String, [u8; 32])>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { op: "read", path, source }
    };
    let mut out = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
            let path = entry.map_err(io(&folder))?.path();
            let name = format!("{prefix}{}", path.file_name().unwrap_or_default().to_string_lossy());
            if is_ignored(&name, ignored) {
                continue;
            }
            let kind = std::fs::symlink_metadata(&path).map_err(io(&path))?;
            if kind.file_type().is_symlink() && !allow_symlinks {
                let reason = format!("`{name}` is a symbolic link, which the signature does not allow");
                return Err(Error::Signature { path: sig.to_path_buf(), reason });
            }
            if std::fs::metadata(&path).map_err(io(&path))?.is_dir() {
                pending.push((path, format!("{name}/")));
            } else {
                // Streamed: a bundle's weights may be larger than memory.
                let mut hasher = Sha256::new();
                std::io::copy(&mut std::fs::File::open(&path).map_err(io(&path))?, &mut hasher).map_err(io(&path))?;
                out.push((name, hasher.finalize().into()));
            }
        }
    }
    out.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    Ok(out)
}

/// The subject digest: SHA-256 over the resource digests in their listed order.
fn root_digest<'a>(digests: impl IntoIterator<Item = &'a [u8; 32]>) -> String {
    let mut hasher = Sha256::new();
    for d in digests {
        hasher.update(d);
    }
    hex(&hasher.finalize())
}

/// OWM's facts about the bundle in `dir`, for the predicate's `owm` field (`null` for a folder without an
/// OWM manifest).
fn owm_facts(dir: &Path) -> Value {
    let Ok(bytes) = std::fs::read(dir.join(MANIFEST_FILE)) else { return Value::Null };
    let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else { return Value::Null };
    json!({
        "bundle_digest": m.bundle_digest,
        "weights_digest": m.weights_digest,
        "openness_class": crate::openness(&m).class.map(|c| c.to_string()),
        "trace_sha256": m.trace.as_ref().map(|t| t.sha256.clone()),
        "privacy": m.privacy,
    })
}

/// Signs the folder `dir` with `key`, writing [`OMS_SIGNATURE_FILE`] into it (replacing an earlier one).
pub(crate) fn sign(dir: &Path, key: &p256::ecdsa::SigningKey) -> Result<Signed> {
    let path = dir.join(OMS_SIGNATURE_FILE);
    let ignored: Vec<String> = IGNORED.iter().map(|s| s.to_string()).collect();
    let files = hash_folder(dir, &ignored, false, &path)?;
    let resources: Vec<Value> = files.iter().map(|(name, d)| json!({"name": name, "algorithm": "sha256", "digest": hex(d)})).collect();
    let name = dir.canonicalize().ok().and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_default();
    let statement = json!({
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": root_digest(files.iter().map(|(_, d)| d))}}],
        "predicateType": OMS_PREDICATE_TYPE,
        "predicate": {
            "serialization": {"method": "files", "hash_type": "sha256", "allow_symlinks": false, "ignore_paths": IGNORED},
            "resources": resources,
            "owm": owm_facts(dir),
        },
    });
    let payload = canonical_json(&statement);
    let signature: p256::ecdsa::Signature = key.sign(&pae(&payload));
    let public = PublicKey::EcdsaP256(*key.verifying_key());
    let bundle = SigstoreBundle {
        media_type: BUNDLE_MEDIA_TYPE.into(),
        verification_material: Material { public_key: Some(KeyHint { hint: Some(public.fingerprint()) }), tlog_entries: Vec::new() },
        dsse_envelope: Envelope {
            payload: STANDARD.encode(&payload),
            payload_type: PAYLOAD_TYPE.into(),
            signatures: vec![EnvelopeSignature { sig: STANDARD.encode(signature.to_der().as_bytes()), keyid: String::new() }],
        },
    };
    write_atomic(&path, &owm_core::json::to_vec_pretty(&bundle))?;
    Ok(Signed { format: SignatureFormat::Oms, public_key: public.fingerprint(), files: files.len(), verified: true, trusted: true })
}

/// The statement's parts a verifier uses.
#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "_type")]
    kind: String,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    subject: Vec<Subject>,
    predicate: Predicate,
}

#[derive(Deserialize)]
struct Subject {
    digest: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Predicate {
    serialization: Serialization,
    resources: Vec<Resource>,
    #[serde(default)]
    owm: Value,
}

#[derive(Deserialize)]
struct Serialization {
    method: String,
    #[serde(default)]
    hash_type: String,
    #[serde(default)]
    allow_symlinks: bool,
    #[serde(default)]
    ignore_paths: Vec<String>,
}

#[derive(Deserialize)]
struct Resource {
    name: String,
    algorithm: String,
    digest: String,
}

/// Checks `model.sig` of the folder `dir`: the signature over its statement, with `trusted` when that is the
/// ECDSA key it names (otherwise it is reported unverified), and the statement against the files as they
/// are. `Ok(None)` when there is no such file.
pub(crate) fn check(dir: &Path, trusted: Option<&PublicKey>) -> Result<Option<Signed>> {
    let path = dir.join(OMS_SIGNATURE_FILE);
    let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
    let err = |reason: String| Error::Signature { path: path.clone(), reason };
    let bundle: SigstoreBundle = serde_json::from_slice(&bytes).map_err(|e| err(format!("not a Sigstore bundle: {e}")))?;
    if bundle.media_type != BUNDLE_MEDIA_TYPE {
        return Err(err(format!("media type `{}`, expected `{BUNDLE_MEDIA_TYPE}`", bundle.media_type)));
    }
    let Some(key_hint) = bundle.verification_material.public_key else {
        return Err(err(
            "signed with a certificate or by Sigstore; OWM checks key-signed model signatures (`model_signing verify certificate` checks this one)".into(),
        ));
    };
    let envelope = bundle.dsse_envelope;
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(err(format!("payload type `{}`, expected `{PAYLOAD_TYPE}`", envelope.payload_type)));
    }
    let payload = STANDARD.decode(envelope.payload.as_bytes()).map_err(|e| err(format!("payload is not base64: {e}")))?;
    let [sig] = envelope.signatures.as_slice() else {
        return Err(err(format!("{} signatures in the envelope, expected one", envelope.signatures.len())));
    };
    let der = STANDARD.decode(sig.sig.as_bytes()).map_err(|e| err(format!("signature is not base64: {e}")))?;
    let signature = p256::ecdsa::Signature::from_der(&der).map_err(|_| err("the signature is not a DER-encoded ECDSA P-256 signature".into()))?;
    let hint = key_hint.hint.unwrap_or_default();
    let key = match trusted {
        Some(PublicKey::EcdsaP256(k)) if hint.is_empty() || hint == PublicKey::EcdsaP256(*k).fingerprint() => Some(k),
        _ => None,
    };
    if let Some(k) = key {
        k.verify(&pae(&payload), &signature).map_err(|_| err("the signature does not verify: the statement or the signature was altered".into()))?;
    }

    let statement: Statement = serde_json::from_slice(&payload).map_err(|e| err(format!("the payload is not an in-toto statement: {e}")))?;
    if statement.kind != STATEMENT_TYPE || statement.predicate_type != OMS_PREDICATE_TYPE {
        return Err(err(format!(
            "statement `{}` of predicate `{}`, expected `{STATEMENT_TYPE}` of `{OMS_PREDICATE_TYPE}`",
            statement.kind, statement.predicate_type
        )));
    }
    let serialization = &statement.predicate.serialization;
    if serialization.method != "files" || serialization.hash_type != "sha256" {
        let got = format!("{} with {}", serialization.method, serialization.hash_type);
        return Err(err(format!("serialization `{got}`: OWM checks the `files` method with `sha256` (sign with `--ignore-paths` only, no shards)")));
    }
    let mut signed = BTreeMap::new();
    for r in &statement.predicate.resources {
        let digest = unhex::<32>(&r.digest).filter(|_| r.algorithm == "sha256").ok_or_else(|| err(format!("resource `{}` has no SHA-256 digest", r.name)))?;
        signed.insert(r.name.as_str(), digest);
    }
    let [subject] = statement.subject.as_slice() else { return Err(err("expected one subject".into())) };
    if subject.digest.get("sha256").map(String::as_str)
        != Some(root_digest(statement.predicate.resources.iter().filter_map(|r| signed.get(r.name.as_str()))).as_str())
    {
        return Err(err("the subject digest does not match the listed resources".into()));
    }
    let mut ignored = serialization.ignore_paths.clone();
    ignored.push(OMS_SIGNATURE_FILE.into());
    let now: BTreeMap<String, [u8; 32]> = hash_folder(dir, &ignored, serialization.allow_symlinks, &path)?.into_iter().collect();
    for (name, digest) in &signed {
        match now.get(*name) {
            None => return Err(err(format!("`{name}` was signed but is missing"))),
            Some(d) if d != digest => return Err(err(format!("`{name}` changed since it was signed"))),
            Some(_) => {}
        }
    }
    if let Some(extra) = now.keys().find(|n| !signed.contains_key(n.as_str())) {
        return Err(err(format!("`{extra}` was added after signing")));
    }
    if let Some(claimed) = statement.predicate.owm.get("bundle_digest").and_then(Value::as_str)
        && owm_facts(dir).get("bundle_digest").and_then(Value::as_str) != Some(claimed)
    {
        return Err(err("the bundle digest in the signed statement is not the manifest's".into()));
    }
    let verified = key.is_some();
    Ok(Some(Signed { format: SignatureFormat::Oms, public_key: hint, files: signed.len(), verified, trusted: verified }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_should_follow_dsse_v1() {
        assert_eq!(pae(b"{}"), b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec());
    }

    #[test]
    fn ignored_paths_should_cover_folders_but_not_name_prefixes() {
        let ignored = vec![".git".to_string(), "model.sig".to_string()];
        assert!(is_ignored(".git", &ignored) && is_ignored(".git/HEAD", &ignored) && is_ignored("model.sig", &ignored));
        assert!(!is_ignored(".gitkeep", &ignored) && !is_ignored("sub/.git", &ignored));
    }

    #[test]
    fn files_should_be_listed_in_path_component_order() {
        let dir = owm_testkit::tempdir();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        for f in ["a.txt", "a/b", "b", ".git"] {
            std::fs::write(dir.path().join(f), f).unwrap();
        }
        let names: Vec<String> = hash_folder(dir.path(), &[".git".into()], false, Path::new("x")).unwrap().into_iter().map(|(n, _)| n).collect();
        // As Python's pathlib orders them (the reference tool's order): `a/b` before `a.txt`.
        assert_eq!(names, ["a/b", "a.txt", "b"]);
    }
}
