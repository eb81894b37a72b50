use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::DType;
use owm_core::{replace_state, state_data, write_atomic};
use safetensors::{Dtype, tensor::TensorView};

use crate::{Error, FileEntry, MANIFEST_FORMAT, MANIFEST_FORMAT_V1, Manifest, Result, TensorEntry, tensor_digest, weights_digest};

/// File name of the weights inside a bundle.
pub const WEIGHTS_FILE: &str = "weights.safetensors";
/// File name of the manifest inside a bundle.
pub const MANIFEST_FILE: &str = "manifest.json";

/// A bundle read back and verified.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Every tensor, by module path, verified against the manifest.
    pub tensors: BTreeMap<String, TensorData>,
}

/// Writes `module`'s parameters and buffers (batch-norm running statistics) and `manifest` (with its tensor
/// section and weights digest filled in) as a new
/// bundle folder `dir`; `extra_files` are copied in beside them (the trace, say).
///
/// The folder is assembled under a temporary name next to `dir` and renamed into place.
///
/// # Errors
///
/// [`Error::Exists`] if `dir` exists; [`Error::Io`] naming the file on a write failure.
pub fn save_bundle<M: Module>(dir: impl AsRef<Path>, module: &M, manifest: Manifest) -> Result<Manifest> {
    save_bundle_with(dir, module, manifest, &[])
}

/// [`save_bundle`], copying `extra_files` (`(name in bundle, source path)`) into the bundle too.
///
/// # Errors
///
/// As [`save_bundle`].
pub fn save_bundle_with<M: Module>(dir: impl AsRef<Path>, module: &M, mut manifest: Manifest, extra_files: &[(&str, &Path)]) -> Result<Manifest> {
    let dir = dir.as_ref();
    if dir.exists() {
        return Err(Error::Exists(dir.to_path_buf()));
    }
    let weights: Vec<(String, Vec<usize>, Vec<u8>)> = state_data(module)
        .into_iter()
        .map(|(path, data)| {
            let data = if data.dtype() == DType::F32 { data } else { data.convert::<f32>() };
            (path, data.shape().to_vec(), data.as_bytes().to_vec())
        })
        .collect();
    let owners: BTreeMap<String, String> = owm_core::param_infos(module).into_iter().map(|p| (p.path, p.owner)).collect();
    manifest.tensors = weights
        .iter()
        .map(|(path, shape, bytes)| {
            // Buffers are batch-norm statistics.
            let owner = owners.get(path).cloned().unwrap_or_else(|| "BatchNorm".into());
            (path.clone(), TensorEntry { shape: shape.clone(), dtype: "F32".into(), sha256: tensor_digest(bytes), owner })
        })
        .collect();
    manifest.weights_digest = weights_digest(&manifest.tensors);
    manifest.format = MANIFEST_FORMAT.into();
    // Extra files are read once: the bytes hashed are the bytes written.
    let mut extra = Vec::with_capacity(extra_files.len());
    for (name, source) in extra_files {
        let bytes = std::fs::read(source).map_err(io_error("read", source))?;
        manifest.files.insert(name.to_string(), FileEntry { sha256: tensor_digest(&bytes), bytes: bytes.len() as u64 });
        extra.push((*name, bytes));
    }
    // The model card is generated from the manifest and listed in it (its own digest aside).
    let name = manifest.experiment.get("name").and_then(|n| n.as_str()).unwrap_or("OWM model").to_string();
    manifest.files.insert(crate::CARD_FILE.into(), FileEntry { sha256: String::new(), bytes: 0 });
    let card = crate::model_card(&manifest, &name).into_bytes();
    manifest.files.insert(crate::CARD_FILE.into(), FileEntry { sha256: tensor_digest(&card), bytes: card.len() as u64 });
    extra.push((crate::CARD_FILE, card));
    manifest.bundle_digest = manifest.digest();

    let safetensors = weights_file(&weights, &dir.join(WEIGHTS_FILE))?;
    let manifest_json = owm_core::json::to_vec_pretty(&manifest);

    let mut files = vec![(WEIGHTS_FILE.to_string(), safetensors), (MANIFEST_FILE.to_string(), manifest_json)];
    files.extend(extra.into_iter().map(|(name, bytes)| (name.to_string(), bytes)));
    write_folder(dir, &files)?;
    Ok(manifest)
}

/// Writes `files` (name, bytes) as the new folder `dir`: assembled under a temporary name beside it and
/// renamed into place, so a crash never leaves half a bundle.
pub(crate) fn write_folder(dir: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_error("create", parent))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bundle".into());
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir(&tmp).map_err(io_error("create", &tmp))?;
    let result = (|| {
        for (name, bytes) in files {
            write_atomic(&tmp.join(name), bytes)?;
        }
        std::fs::rename(&tmp, dir).map_err(io_error("rename", dir))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// The bytes of `weights.safetensors` for `(path, shape, little-endian f32 bytes)` tensors: the same bytes for
/// the same tensors, whoever writes them (a bundle, or a registry reassembling one).
pub(crate) fn weights_file(weights: &[(String, Vec<usize>, Vec<u8>)], path: &Path) -> Result<Vec<u8>> {
    let views = weights
        .iter()
        .map(|(name, shape, bytes)| {
            TensorView::new(Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
                .map_err(|e| Error::Weights { path: path.to_path_buf(), source: format!("tensor `{name}`: {e}").into() })
        })
        .collect::<Result<Vec<_>>>()?;
    // A single metadata entry keeps the header, and so the file bytes, deterministic.
    let metadata = Some([("owm_layout".to_string(), "burn".to_string())].into());
    safetensors::tensor::serialize(views, metadata).map_err(|e| Error::Weights { path: path.to_path_buf(), source: e.into() })
}

pub(crate) fn io_error<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { op, path: path.to_path_buf(), source }
}

/// What [`verify_bundle`] found: the manifest, how much it checked, and every part that does not match.
#[derive(Debug)]
pub struct Verification {
    /// The manifest as read.
    pub manifest: Manifest,
    /// Whether it is an `owm-bundle/1` manifest, whose provenance sections no digest binds.
    pub legacy: bool,
    /// Whether its weights are encrypted (their tensors are checked only when an identity was given).
    pub encrypted: bool,
    /// Tensors whose data, shape and dtype were checked.
    pub tensors_checked: usize,
    /// Files (trace, checkpoints) whose digests were checked.
    pub files_checked: usize,
    /// Its signatures that hold (`model.sig`, `signature.json`); see [`crate::Signed`].
    pub signatures: Vec<crate::Signed>,
    /// Every mismatch, each naming the file and the part.
    pub problems: Vec<Error>,
}

impl Verification {
    /// Whether everything matched.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks every digest of the bundle in `dir` — the manifest's `bundle_digest` over all its sections, the
/// weights digest, each tensor's data, shape and dtype, each listed file — and its signature (against
/// `trusted` when given, which then must have signed it), listing every mismatch rather than stopping at the
/// first.
///
/// # Errors
///
/// Only when there is nothing to check against: [`Error::Io`] for a missing manifest, [`Error::Manifest`]
/// for one that does not parse or has an unknown format.
pub fn verify_bundle(dir: impl AsRef<Path>, trusted: Option<&crate::PublicKey>) -> Result<Verification> {
    verify_bundle_with(dir, trusted, None)
}

/// [`verify_bundle`] of a bundle whose weights may be encrypted: with `identities`, the weights are
/// decrypted in memory and every tensor checked; without, the ciphertext is checked against its record.
///
/// # Errors
///
/// As [`verify_bundle`].
pub fn verify_bundle_with(dir: impl AsRef<Path>, trusted: Option<&crate::PublicKey>, identities: Option<&crate::Identities>) -> Result<Verification> {
    let dir = dir.as_ref();
    let (mut v, _) = check(dir, false, identities)?;
    match crate::check_signature(dir, trusted) {
        Ok(signed) => v.signatures = signed,
        Err(e) => v.problems.push(e),
    }
    Ok(v)
}

/// Verifies the bundle; with `keep`, also copies every tensor out for loading.
fn check(dir: &Path, keep: bool, identities: Option<&crate::Identities>) -> Result<(Verification, BTreeMap<String, TensorData>)> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let weights_path = dir.join(WEIGHTS_FILE);
    let read = |path: &Path| std::fs::read(path).map_err(|source| Error::Io { op: "read", path: path.to_path_buf(), source });
    let manifest: Manifest = serde_json::from_slice(&read(&manifest_path)?).map_err(|e| Error::Manifest { path: manifest_path.clone(), source: e.into() })?;
    let legacy = manifest.format == MANIFEST_FORMAT_V1;
    if !legacy && manifest.format != MANIFEST_FORMAT {
        let reason = format!("format `{}`, expected `{MANIFEST_FORMAT}` or `{MANIFEST_FORMAT_V1}`", manifest.format);
        return Err(Error::Manifest { path: manifest_path, source: reason.into() });
    }
    let mut problems = Vec::new();
    let manifest_problem = |reason: &str| Error::Manifest { path: manifest_path.clone(), source: reason.into() };
    if !legacy && manifest.digest() != manifest.bundle_digest {
        problems.push(manifest_problem("bundle_digest does not match the manifest's sections (edited after the bundle was written?)"));
    }
    if weights_digest(&manifest.tensors) != manifest.weights_digest {
        problems.push(manifest_problem("weights_digest does not match the tensor entries"));
    }
    let mut tensors = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    let tampered = |tensor: &str, reason: String| Error::Tampered { path: weights_path.clone(), tensor: tensor.into(), reason };
    // Encrypted weights: the ciphertext is checked against its record; the tensors only with an identity.
    let mut encrypted = false;
    let weights = match crate::encryption_record(dir) {
        Err(e) => Err(e),
        Ok(None) => crate::stream::read_tensors(&weights_path, keep).map(Some),
        Ok(Some(record)) => {
            encrypted = true;
            match identities {
                Some(ids) => crate::encrypt::decrypt_weights(dir, &record, ids).and_then(|plain| {
                    let name = dir.join(crate::ENCRYPTED_WEIGHTS_FILE);
                    crate::stream::read_tensors_from(std::io::Cursor::new(&plain), plain.len() as u64, &name, keep).map(Some)
                }),
                None => crate::encrypt::read_ciphertext(dir, &record).map(|_| None),
            }
        }
    };
    match weights {
        Err(e) => problems.push(e),
        Ok(None) => {}
        Ok(Some(streamed)) => {
            for t in streamed {
                let Some(entry) = manifest.tensors.get(&t.name) else {
                    problems.push(tampered(&t.name, "not listed in the manifest".into()));
                    continue;
                };
                if t.dtype != Dtype::F32 {
                    problems.push(tampered(&t.name, format!("dtype {:?}, manifest says {}", t.dtype, entry.dtype)));
                } else if t.shape != entry.shape {
                    problems.push(tampered(&t.name, format!("shape {:?}, manifest says {:?}", t.shape, entry.shape)));
                } else if t.sha256 != entry.sha256 {
                    problems.push(tampered(&t.name, format!("data hashes to {}, manifest says {}", t.sha256, entry.sha256)));
                }
                seen.insert(t.name.clone());
                if let Some(data) = t.data {
                    tensors.insert(t.name, TensorData::from_bytes_vec(data, t.shape, DType::F32));
                }
            }
            for missing in manifest.tensors.keys().filter(|k| !seen.contains(*k)) {
                problems.push(tampered(missing, "listed in the manifest but absent from the weights".into()));
            }
        }
    }
    // Files: every listed one (format 2); the trace alone in format 1, when present.
    let mut listed: Vec<(String, String, bool)> = manifest.files.iter().map(|(n, f)| (n.clone(), f.sha256.clone(), true)).collect();
    if legacy && let Some(trace) = &manifest.trace {
        listed.push((trace.file.clone(), trace.sha256.clone(), false));
    }
    let mut files_checked = 0;
    for (name, expected, required) in listed {
        let path = dir.join(&name);
        match std::fs::read(&path) {
            Ok(bytes) => {
                files_checked += 1;
                let digest = tensor_digest(&bytes);
                if digest != expected {
                    problems.push(Error::FileTampered { path, reason: format!("hashes to {digest}, manifest says {expected}") });
                }
            }
            Err(_) if !required => {}
            Err(source) => problems.push(Error::Io { op: "read", path, source }),
        }
    }
    let tensors_checked = seen.len();
    Ok((Verification { manifest, legacy, encrypted, tensors_checked, files_checked, signatures: Vec::new(), problems }, tensors))
}

/// Reads a bundle folder after verifying it with [`verify_bundle`].
///
/// # Errors
///
/// [`Error::Io`] for a missing file; [`Error::Manifest`] for a manifest that does not parse, has another
/// format, or whose `bundle_digest` or `weights_digest` does not match; [`Error::Weights`] for a corrupt
/// safetensors file; [`Error::Tampered`] naming a tensor whose data, shape or dtype differs from the manifest,
/// or that is on one side only; [`Error::FileTampered`] for a listed file (the trace) that was altered. The
/// first problem found is returned.
pub fn load_bundle(dir: impl AsRef<Path>) -> Result<Bundle> {
    load_bundle_with(dir, None)
}

/// [`load_bundle`] of a bundle whose weights may be encrypted, decrypting them in memory with `identities`.
///
/// # Errors
///
/// As [`load_bundle`]; [`Error::Encryption`] for encrypted weights without identities, or when none of them
/// opens the weights.
pub fn load_bundle_with(dir: impl AsRef<Path>, identities: Option<&crate::Identities>) -> Result<Bundle> {
    let dir = dir.as_ref().to_path_buf();
    let (mut verification, tensors) = check(&dir, true, identities)?;
    if !verification.problems.is_empty() {
        return Err(verification.problems.remove(0));
    }
    if verification.encrypted && identities.is_none() {
        return Err(Error::Encryption {
            path: dir.join(crate::ENCRYPTED_WEIGHTS_FILE),
            reason: "the weights are encrypted: give an identity (--identity FILE)".into(),
        });
    }
    Ok(Bundle { dir, manifest: verification.manifest, tensors })
}

impl Bundle {
    /// Loads the bundle's tensors into `module`, which must have exactly the same parameter paths and shapes.
    ///
    /// # Errors
    ///
    /// [`Error::Mismatch`] naming a parameter the bundle lacks, a tensor the module lacks, or a shape mismatch.
    pub fn load_into<M: Module>(&self, module: M) -> Result<M> {
        let mut used = 0usize;
        let module = replace_state(module, |path, shape| {
            let data = self
                .tensors
                .get(path)
                .ok_or_else(|| owm_core::Error::Param { path: path.into(), reason: "the bundle has no tensor for this parameter".into() })?;
            if data.shape().as_slice() != shape {
                return Err(owm_core::Error::Param {
                    path: path.into(),
                    reason: format!("module has shape {shape:?}, bundle has {:?}", data.shape().as_slice()),
                });
            }
            used += 1;
            Ok(Some(data.clone()))
        })
        .map_err(|e| Error::Mismatch(e.to_string()))?;
        if used != self.tensors.len() {
            let names: Vec<String> = state_data(&module).into_iter().map(|(p, _)| p).collect();
            let unused: Vec<&String> = self.tensors.keys().filter(|k| !names.contains(k)).collect();
            return Err(Error::Mismatch(format!("the module has no parameter for bundle tensors {unused:?}")));
        }
        Ok(module)
    }
}

/// A verified bundle is a source of pretrained tensors, named by its folder as given to [`load_bundle`].
impl owm_core::TensorSource for Bundle {
    fn name(&self) -> &str {
        self.dir.to_str().unwrap_or_default()
    }

    fn digest(&self) -> &str {
        &self.manifest.bundle_digest
    }

    fn paths(&self) -> Vec<String> {
        self.tensors.keys().cloned().collect()
    }

    fn tensor(&self, path: &str) -> Option<(Vec<usize>, Vec<f32>)> {
        let data = self.tensors.get(path)?;
        Some((data.shape().to_vec(), data.clone().try_into_vec::<f32>().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Net {
        fc: Linear,
    }

    #[derive(Module, Debug)]
    struct Wide {
        fc: Linear,
        extra: Linear,
    }

    fn net(device: &Device) -> Net {
        Net { fc: LinearConfig::new(3, 2).init(device) }
    }

    #[test]
    fn should_restore_identical_weights() {
        let device = Device::flex();
        let dir = owm_testkit::tempdir();
        let original = net(&device);
        let saved = save_bundle(dir.path().join("b"), &original, Manifest::new(1)).unwrap();
        let bundle = load_bundle(dir.path().join("b")).unwrap();
        assert_eq!(bundle.manifest, saved);
        let restored = bundle.load_into(net(&device)).unwrap();
        assert_eq!(owm_core::param_data(&restored), owm_core::param_data(&original));
        assert!(!dir.path().read_dir().unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains("partial")));
    }

    #[test]
    fn should_write_identical_bytes_for_identical_weights() {
        let device = Device::flex();
        let dir = owm_testkit::tempdir();
        let n = net(&device);
        save_bundle(dir.path().join("a"), &n, Manifest::new(1)).unwrap();
        save_bundle(dir.path().join("b"), &n, Manifest::new(1)).unwrap();
        let read = |d: &str| std::fs::read(dir.path().join(d).join(WEIGHTS_FILE)).unwrap();
        assert_eq!(read("a"), read("b"));
    }

    #[test]
    fn should_detect_a_tampered_tensor_and_name_it() {
        let dir = owm_testkit::tempdir();
        save_bundle(dir.path().join("b"), &net(&Device::flex()), Manifest::new(1)).unwrap();
        let path = dir.path().join("b").join(WEIGHTS_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40; // flip a bit of the last value
        std::fs::write(&path, bytes).unwrap();
        let err = load_bundle(dir.path().join("b")).unwrap_err();
        assert!(matches!(err, Error::Tampered { ref tensor, .. } if tensor.starts_with("fc.")), "{err}");
    }

    #[test]
    fn should_detect_an_edited_manifest() {
        let dir = owm_testkit::tempdir();
        save_bundle(dir.path().join("b"), &net(&Device::flex()), Manifest::new(1)).unwrap();
        let path = dir.path().join("b").join(MANIFEST_FILE);
        let mut m: Manifest = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        m.tensors.get_mut("fc.bias").unwrap().sha256 = "0".repeat(64);
        std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        assert!(matches!(load_bundle(dir.path().join("b")), Err(Error::Manifest { .. })));
    }

    #[test]
    fn should_report_a_truncated_weights_file() {
        let dir = owm_testkit::tempdir();
        save_bundle(dir.path().join("b"), &net(&Device::flex()), Manifest::new(1)).unwrap();
        let path = dir.path().join("b").join(WEIGHTS_FILE);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_bundle(dir.path().join("b")).unwrap_err();
        assert!(matches!(err, Error::Weights { .. }) && err.to_string().contains("weights.safetensors"), "{err}");
    }

    #[test]
    fn should_refuse_to_overwrite_a_bundle() {
        let dir = owm_testkit::tempdir();
        let n = net(&Device::flex());
        save_bundle(dir.path().join("b"), &n, Manifest::new(1)).unwrap();
        assert!(matches!(save_bundle(dir.path().join("b"), &n, Manifest::new(1)), Err(Error::Exists(_))));
    }

    #[test]
    fn should_reject_a_module_of_another_shape() {
        let device = Device::flex();
        let dir = owm_testkit::tempdir();
        save_bundle(dir.path().join("b"), &net(&device), Manifest::new(1)).unwrap();
        let bundle = load_bundle(dir.path().join("b")).unwrap();
        let other = Net { fc: LinearConfig::new(4, 2).init(&device) };
        assert!(matches!(bundle.load_into(other), Err(Error::Mismatch(ref m)) if m.contains("fc.weight")));
        let wide = Wide { fc: LinearConfig::new(3, 2).init(&device), extra: LinearConfig::new(2, 2).init(&device) };
        assert!(matches!(bundle.load_into(wide), Err(Error::Mismatch(ref m)) if m.contains("extra")));
    }
}
