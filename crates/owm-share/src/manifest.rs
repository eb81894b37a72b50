use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest format this crate writes.
pub const MANIFEST_FORMAT: &str = "owm-bundle/2";
/// The first format, still read: it has no `bundle_digest`, so its provenance sections are not bound.
pub const MANIFEST_FORMAT_V1: &str = "owm-bundle/1";

/// A file in the bundle besides the weights and the manifest (the trace, checkpoints) and its digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
    /// Its length in bytes.
    pub bytes: u64,
}

/// A model this one was built from (a transfer's source, a fine-tune's base).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseModel {
    /// How it is known (`digits-mlp@1.0`, a path).
    pub name: String,
    /// Its `bundle_digest`.
    pub bundle_digest: String,
}

/// One tensor's entry in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorEntry {
    /// Shape.
    pub shape: Vec<usize>,
    /// Element type (`"F32"`).
    pub dtype: String,
    /// SHA-256 (hex) of the raw little-endian values.
    pub sha256: String,
    /// The Burn module type that owns it (`Linear`, `Conv2d`, `BatchNorm`, ...): what decides its layout in
    /// other frameworks ([`crate::export_pytorch`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
}

/// Where the training trace is and what it hashes to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRef {
    /// Path of the trace file, relative to the bundle folder.
    pub file: String,
    /// SHA-256 (hex) of the trace file's bytes.
    pub sha256: String,
    /// Number of events in it.
    pub events: u64,
}

/// The provenance and integrity record of a bundle.
///
/// Sections a downstream crate owns (model, init, optimiser, data, evaluation) are kept as JSON values, so
/// this crate depends on none of them; `owm-train` fills them with its typed configs and reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// Version of OWM that wrote the bundle.
    pub owm_version: String,
    /// The root seed of the run.
    pub seed: u64,
    /// The backend the weights were trained on (`"flex"`, `"wgpu"`, ...).
    #[serde(default)]
    pub backend: String,
    /// The model config.
    #[serde(default)]
    pub model: serde_json::Value,
    /// The init plan and the per-parameter init records.
    #[serde(default)]
    pub init: serde_json::Value,
    /// The optimiser config.
    #[serde(default)]
    pub optimizer: serde_json::Value,
    /// The full experiment config.
    #[serde(default)]
    pub experiment: serde_json::Value,
    /// The dataset's name, shape, classes and split fingerprints.
    #[serde(default)]
    pub dataset: serde_json::Value,
    /// The input normalisation fitted on the training split.
    #[serde(default)]
    pub normalization: serde_json::Value,
    /// How raw records became inputs (tabular column preparation with feature names, text vocabulary,
    /// user and item names), fitted on the training records.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub preprocessing: serde_json::Value,
    /// What the model takes (a raw record's fields, the tensor its network reads) and a worked example: raw
    /// records with the outputs the model gave them on the CPU (`owm predict --check`).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub input: serde_json::Value,
    /// How training went: steps, epochs, stop reason, final loss.
    #[serde(default)]
    pub training: serde_json::Value,
    /// Evaluation on the held-out split.
    #[serde(default)]
    pub evaluation: serde_json::Value,
    /// The training trace.
    #[serde(default)]
    pub trace: Option<TraceRef>,
    /// Every tensor, by module path.
    #[serde(default)]
    pub tensors: BTreeMap<String, TensorEntry>,
    /// SHA-256 over the sorted paths, shapes and tensor digests ([`weights_digest`]).
    #[serde(default)]
    pub weights_digest: String,
    /// Every other file in the bundle (the trace, checkpoints), by name, with its digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, FileEntry>,
    /// The code that wrote the bundle: `owm` and `burn` versions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub code: BTreeMap<String, String>,
    /// Licence of each component (`code`, `weights`, `data`, ...): SPDX expressions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub licenses: BTreeMap<String, String>,
    /// The models this one was built from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lineage: Vec<BaseModel>,
    /// The privacy guarantee of the training, when there is one.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub privacy: serde_json::Value,
    /// SHA-256 over the canonical JSON of every other field ([`Manifest::digest`]): binds every section, the
    /// tensors (through their digests) and the listed files. Empty in `owm-bundle/1` manifests.
    #[serde(default)]
    pub bundle_digest: String,
}

impl Manifest {
    /// An empty manifest for a run with root seed `seed`; [`crate::save_bundle`] fills the tensor section.
    pub fn new(seed: u64) -> Self {
        Self {
            format: MANIFEST_FORMAT.into(),
            owm_version: env!("CARGO_PKG_VERSION").into(),
            seed,
            backend: String::new(),
            model: serde_json::Value::Null,
            init: serde_json::Value::Null,
            optimizer: serde_json::Value::Null,
            experiment: serde_json::Value::Null,
            dataset: serde_json::Value::Null,
            normalization: serde_json::Value::Null,
            preprocessing: serde_json::Value::Null,
            input: serde_json::Value::Null,
            training: serde_json::Value::Null,
            evaluation: serde_json::Value::Null,
            trace: None,
            tensors: BTreeMap::new(),
            weights_digest: String::new(),
            files: BTreeMap::new(),
            code: [("owm".to_string(), env!("CARGO_PKG_VERSION").to_string()), ("burn".to_string(), owm_core::BURN_VERSION.to_string())].into(),
            licenses: [("code".to_string(), env!("CARGO_PKG_LICENSE").to_string())].into(),
            lineage: Vec::new(),
            privacy: serde_json::Value::Null,
            bundle_digest: String::new(),
        }
    }

    /// SHA-256 (hex) of the canonical JSON (object keys sorted, no whitespace) of this manifest without its
    /// `bundle_digest`: what `bundle_digest` must equal, and what a signature signs.
    pub fn digest(&self) -> String {
        let mut value = owm_core::json::to_value(self);
        if let serde_json::Value::Object(map) = &mut value {
            map.remove("bundle_digest");
        }
        format!("{:x}", Sha256::digest(canonical_json(&value)))
    }
}

/// JSON with object keys sorted at every level and no whitespace: the same bytes for the same value, whatever
/// order the fields were written in.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    fn write(v: &serde_json::Value, out: &mut Vec<u8>) {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push(b'{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend(owm_core::json::to_vec(k));
                    out.push(b':');
                    write(&map[k], out);
                }
                out.push(b'}');
            }
            serde_json::Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out);
                }
                out.push(b']');
            }
            scalar => out.extend(owm_core::json::to_vec(scalar)),
        }
    }
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

/// SHA-256 (hex) of a tensor's raw bytes.
pub fn tensor_digest(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The digest of a set of tensors: SHA-256 over, for each path in sorted order, the path, a zero byte, the rank
/// and dimensions as little-endian `u64`, and the tensor's hex digest.
pub fn weights_digest(tensors: &BTreeMap<String, TensorEntry>) -> String {
    let mut h = Sha256::new();
    for (path, entry) in tensors {
        h.update(path.as_bytes());
        h.update([0]);
        h.update((entry.shape.len() as u64).to_le_bytes());
        for &d in &entry.shape {
            h.update((d as u64).to_le_bytes());
        }
        h.update(entry.dtype.as_bytes());
        h.update(entry.sha256.as_bytes());
    }
    format!("{:x}", h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_digest_should_bind_every_section_and_ignore_key_order() {
        let mut m = Manifest::new(7);
        let d = m.digest();
        m.bundle_digest = d.clone();
        assert_eq!(m.digest(), d, "the digest leaves itself out");
        m.evaluation = serde_json::json!({"accuracy": 0.9});
        assert_ne!(m.digest(), d);
        let a = canonical_json(&serde_json::json!({"b": 1, "a": [true, {"d": null, "c": 2.5}]}));
        assert_eq!(String::from_utf8(a).unwrap(), r#"{"a":[true,{"c":2.5,"d":null}],"b":1}"#);
    }

    #[test]
    fn should_change_the_weights_digest_with_any_tensor() {
        let entry = |sha: &str| TensorEntry { shape: vec![2], dtype: "F32".into(), sha256: sha.into(), owner: String::new() };
        let a: BTreeMap<_, _> = [("w".to_string(), entry("aa"))].into();
        let b: BTreeMap<_, _> = [("w".to_string(), entry("ab"))].into();
        let c: BTreeMap<_, _> = [("v".to_string(), entry("aa"))].into();
        assert_ne!(weights_digest(&a), weights_digest(&b));
        assert_ne!(weights_digest(&a), weights_digest(&c));
        assert_eq!(weights_digest(&a), weights_digest(&a.clone()));
    }

    #[test]
    fn should_match_sha256_of_known_bytes() {
        // python3 -c "import hashlib, struct; print(hashlib.sha256(struct.pack('<2f', 1.0, -2.0)).hexdigest())"
        let bytes: Vec<u8> = [1.0f32, -2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(tensor_digest(&bytes), "ee4ac73c2bd27756ab82780f27c73a7bc4d3f0bb6acb37e008bc27eccd7e588b");
    }
}
