//! A local, content-addressed registry of bundles: a directory anyone can publish to and pull from.
//!
//! ```text
//! ROOT/blobs/sha256/HEX          every file of every bundle, and every tensor's raw bytes, stored once by digest
//! ROOT/names/NAME/VERSION.json   one entry per published version: its bundle digest, files and tensors
//! ```
//!
//! Publishing writes every blob first (each through a temporary file renamed into place, so a blob is
//! whole or absent) and then creates the version entry with a hard link, which fails if the entry exists:
//! several processes may publish at once, each version is listed once, and an entry never names a missing
//! blob. Pulling reassembles the bundle folder (the weights file byte for byte) and verifies it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, MANIFEST_FILE, Manifest, Result, WEIGHTS_FILE, load_bundle, tensor_digest, verify_bundle};

/// Environment variable naming the registry root when none is given.
pub const REGISTRY_ENV: &str = "OWM_REGISTRY";

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The name.
    pub name: String,
    /// The version.
    pub version: String,
    /// The bundle's `bundle_digest`.
    pub bundle_digest: String,
    /// Every file but the weights, by name, with its blob digest.
    pub files: BTreeMap<String, String>,
}

/// A registry rooted at a directory.
#[derive(Debug, Clone)]
pub struct Registry {
    root: PathBuf,
}

fn valid_part(kind: &str, s: &str) -> Result<()> {
    let ok = !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) && !s.starts_with('.');
    if ok { Ok(()) } else { Err(Error::Registry(format!("{kind} `{s}`: use letters, digits, `.`, `_` and `-` (not first)"))) }
}

/// Splits `name@version`.
///
/// # Errors
///
/// [`Error::Registry`] when there is no `@` or either side is not a valid name.
pub fn parse_ref(reference: &str) -> Result<(String, String)> {
    let (name, version) = reference.split_once('@').ok_or_else(|| Error::Registry(format!("`{reference}` is not NAME@VERSION")))?;
    valid_part("name", name)?;
    valid_part("version", version)?;
    Ok((name.to_string(), version.to_string()))
}

impl Registry {
    /// The registry at `root` (created on first publish), or at `$OWM_REGISTRY` when `root` is `None`.
    ///
    /// # Errors
    ///
    /// [`Error::Registry`] when neither is given.
    pub fn open(root: Option<&Path>) -> Result<Self> {
        let root = match root {
            Some(r) => r.to_path_buf(),
            None => std::env::var_os(REGISTRY_ENV)
                .map(PathBuf::from)
                .ok_or_else(|| Error::Registry(format!("no registry: pass --registry DIR or set {REGISTRY_ENV}")))?,
        };
        Ok(Self { root })
    }

    fn blob(&self, digest: &str) -> PathBuf {
        self.root.join("blobs").join("sha256").join(digest)
    }

    fn entry_path(&self, name: &str, version: &str) -> PathBuf {
        self.root.join("names").join(name).join(format!("{version}.json"))
    }

    fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
        move |source| Error::Io { op, path: path.to_path_buf(), source }
    }

    /// A uniquely named temporary file in `dir`.
    fn temp(dir: &Path) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        dir.join(format!(".tmp-{}-{nanos}-{n}", std::process::id()))
    }

    /// Stores `bytes` under their digest (once).
    fn put(&self, bytes: &[u8]) -> Result<String> {
        let digest = tensor_digest(bytes);
        let path = self.blob(&digest);
        if path.is_file() {
            return Ok(digest);
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(Self::io("create", &dir))?;
        let tmp = Self::temp(&dir);
        std::fs::write(&tmp, bytes).map_err(Self::io("write", &tmp))?;
        // Renaming over a blob another publisher just wrote replaces it with the same bytes.
        std::fs::rename(&tmp, &path).map_err(Self::io("rename", &path))?;
        Ok(digest)
    }

    fn get(&self, digest: &str) -> Result<Vec<u8>> {
        let path = self.blob(digest);
        let bytes = std::fs::read(&path).map_err(Self::io("read", &path))?;
        if tensor_digest(&bytes) != digest {
            return Err(Error::Registry(format!("blob `{}` does not hash to its name: the registry was altered", path.display())));
        }
        Ok(bytes)
    }

    /// Publishes the bundle in `dir` as `name@version` after verifying it.
    ///
    /// # Errors
    ///
    /// Any verification problem of the bundle; [`Error::Registry`] for an invalid name or version, or for a
    /// version already published with another bundle (publishing the same bundle again is a no-op).
    pub fn publish(&self, dir: &Path, name: &str, version: &str) -> Result<Entry> {
        valid_part("name", name)?;
        valid_part("version", version)?;
        // `load_bundle` checks every digest; the signature, when there is one, must hold too.
        let bundle = load_bundle(dir)?;
        crate::check_signature(dir, None)?;
        for data in bundle.tensors.values() {
            self.put(data.as_bytes())?;
        }
        let mut files = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(Self::io("read", dir))? {
            let path = entry.map_err(Self::io("read", dir))?.path();
            let file = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if path.is_file() && file != WEIGHTS_FILE {
                files.insert(file, self.put(&std::fs::read(&path).map_err(Self::io("read", &path))?)?);
            }
        }
        let entry = Entry { name: name.into(), version: version.into(), bundle_digest: bundle.manifest.bundle_digest.clone(), files };
        let path = self.entry_path(name, version);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        std::fs::create_dir_all(&dir).map_err(Self::io("create", &dir))?;
        let tmp = Self::temp(&dir);
        std::fs::write(&tmp, owm_core::json::to_vec_pretty(&entry)).map_err(Self::io("write", &tmp))?;
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(entry),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let existing = self.entry(name, version)?;
                if existing.bundle_digest == entry.bundle_digest {
                    Ok(existing)
                } else {
                    Err(Error::Registry(format!("{name}@{version} is already published with bundle digest {}", existing.bundle_digest)))
                }
            }
            Err(e) => Err(Self::io("link", &path)(e)),
        }
    }

    /// The entry of `name@version`.
    ///
    /// # Errors
    ///
    /// [`Error::Registry`] when it is not published or its entry does not parse.
    pub fn entry(&self, name: &str, version: &str) -> Result<Entry> {
        let path = self.entry_path(name, version);
        let bytes = std::fs::read(&path).map_err(|_| Error::Registry(format!("{name}@{version} is not published in {}", self.root.display())))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Registry(format!("`{}`: {e}", path.display())))
    }

    /// Reassembles `name@version` into the new folder `out` and verifies it.
    ///
    /// # Errors
    ///
    /// As [`Registry::entry`]; [`Error::Exists`] when `out` exists; [`Error::Registry`] for a missing or
    /// altered blob; any verification problem of the reassembled bundle.
    pub fn pull(&self, name: &str, version: &str, out: &Path) -> Result<Entry> {
        if out.exists() {
            return Err(Error::Exists(out.to_path_buf()));
        }
        let entry = self.entry(name, version)?;
        let manifest_digest = entry.files.get(MANIFEST_FILE).ok_or_else(|| Error::Registry(format!("{name}@{version} has no manifest")))?;
        let manifest: Manifest =
            serde_json::from_slice(&self.get(manifest_digest)?).map_err(|e| Error::Registry(format!("{name}@{version}: manifest: {e}")))?;
        let weights = manifest.tensors.iter().map(|(path, t)| Ok((path.clone(), t.shape.clone(), self.get(&t.sha256)?))).collect::<Result<Vec<_>>>()?;
        let tmp = Self::temp(out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
        std::fs::create_dir_all(&tmp).map_err(Self::io("create", &tmp))?;
        let result = (|| {
            std::fs::write(tmp.join(WEIGHTS_FILE), crate::bundle::weights_file(&weights, &out.join(WEIGHTS_FILE))?).map_err(Self::io("write", &tmp))?;
            for (file, digest) in &entry.files {
                std::fs::write(tmp.join(file), self.get(digest)?).map_err(Self::io("write", &tmp))?;
            }
            std::fs::rename(&tmp, out).map_err(Self::io("rename", out))
        })();
        if result.is_err() {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        result?;
        let v = verify_bundle(out, None)?;
        match v.problems.into_iter().next() {
            Some(problem) => Err(problem),
            None => Ok(entry),
        }
    }

    /// Every published version, by name then version.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the registry cannot be read; an entry that does not parse.
    pub fn list(&self) -> Result<Vec<Entry>> {
        let names = self.root.join("names");
        let mut out = Vec::new();
        let Ok(dirs) = std::fs::read_dir(&names) else { return Ok(out) };
        for d in dirs.flatten() {
            let name = d.file_name().to_string_lossy().into_owned();
            for f in std::fs::read_dir(d.path()).map_err(Self::io("read", &d.path()))?.flatten() {
                let file = f.file_name().to_string_lossy().into_owned();
                if let Some(version) = file.strip_suffix(".json").filter(|_| !file.starts_with('.')) {
                    out.push(self.entry(&name, version)?);
                }
            }
        }
        out.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        Ok(out)
    }

    /// The lineage tree of `name@version`: one line per model, indented by depth, each base found in the
    /// registry by its bundle digest (or marked as not published here).
    ///
    /// # Errors
    ///
    /// As [`Registry::entry`] and [`Registry::list`].
    pub fn lineage(&self, name: &str, version: &str) -> Result<Vec<String>> {
        let all = self.list()?;
        let short = |d: &str| d[..d.len().min(16)].to_string();
        let mut lines = Vec::new();
        // Depth-first in lineage order; a base not in the registry is a leaf.
        let mut stack: Vec<(usize, Option<Entry>, String)> = vec![(0, Some(self.entry(name, version)?), String::new())];
        while let Some((depth, entry, label)) = stack.pop() {
            let indent = "  ".repeat(depth);
            let Some(entry) = entry else {
                lines.push(format!("{indent}{label}, not published here)"));
                continue;
            };
            lines.push(format!("{indent}{}@{} ({})", entry.name, entry.version, short(&entry.bundle_digest)));
            let Some(manifest_digest) = entry.files.get(MANIFEST_FILE).filter(|_| depth < 32) else { continue };
            let manifest: Manifest = serde_json::from_slice(&self.get(manifest_digest)?).map_err(|e| Error::Registry(e.to_string()))?;
            for base in manifest.lineage.iter().rev() {
                let found = all.iter().find(|e| e.bundle_digest == base.bundle_digest).cloned();
                let label = format!("{} ({}", base.name, short(&base.bundle_digest));
                stack.push((depth + 1, found, label));
            }
        }
        Ok(lines)
    }
}
