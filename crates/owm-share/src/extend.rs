//! A file added to an existing bundle (an ONNX export beside the weights): listed in the manifest with its
//! SHA-256, so `verify_bundle` checks it, and bound by a new bundle digest.

use std::path::Path;

use owm_core::write_atomic;

use crate::{
    ENCRYPTED_WEIGHTS_FILE, ENCRYPTION_FILE, Error, FileEntry, MANIFEST_FILE, Manifest, OMS_SIGNATURE_FILE, Result, SIGNATURE_FILE, WEIGHTS_FILE,
    tensor_digest, verify_bundle,
};

/// Writes `bytes` as the file `name` of the bundle `dir` and lists it in the manifest, whose bundle digest
/// changes: the file first, then the manifest, each atomically, so a crash between leaves an unlisted file
/// and the bundle as it was. The bundle must verify first. A signed bundle is refused (its signature covers
/// the old digest: add the file, then sign again), and so is an encrypted one (its files are plaintext).
///
/// # Errors
///
/// [`Error::AddFile`] for a signed or encrypted bundle, a bundle that does not verify, or a name that is
/// not a plain file name or is one of the bundle's own files; a file error naming what could not be written.
pub fn add_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<Manifest> {
    let refused = |reason: String| Error::AddFile { dir: dir.to_path_buf(), name: name.to_string(), reason };
    let own = [WEIGHTS_FILE, MANIFEST_FILE, SIGNATURE_FILE, OMS_SIGNATURE_FILE, ENCRYPTED_WEIGHTS_FILE, ENCRYPTION_FILE, crate::CARD_FILE];
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') || own.contains(&name) {
        return Err(refused("a file of its own, or not a plain file name".into()));
    }
    let verification = verify_bundle(dir, None)?;
    if let Some(problem) = verification.problems.into_iter().next() {
        return Err(refused(format!("it does not verify: {problem}")));
    }
    if verification.encrypted {
        return Err(refused("its weights are encrypted, and the file would hold them in plaintext".into()));
    }
    if let Some(signature) = crate::sign::SIGNATURE_FILES.into_iter().find(|f| dir.join(f).exists()) {
        return Err(refused(format!(
            "it is signed, and its {signature} covers the files the new one would change: add it to an unsigned copy, then sign that"
        )));
    }
    let mut manifest = verification.manifest;
    write_atomic(&dir.join(name), bytes)?;
    manifest.files.insert(name.to_string(), FileEntry { sha256: tensor_digest(bytes), bytes: bytes.len() as u64 });
    manifest.bundle_digest = manifest.digest();
    write_atomic(&dir.join(MANIFEST_FILE), &owm_core::json::to_vec_pretty(&manifest))?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::prelude::*;

    #[test]
    fn an_added_file_should_be_listed_checked_and_refused_where_it_cannot_go() {
        let dir = owm_testkit::tempdir();
        let bundle = dir.path().join("b");
        let before = crate::save_bundle(&bundle, &LinearConfig::new(2, 2).init(&Device::flex()), Manifest::new(1)).unwrap();
        let after = add_file(&bundle, "model.onnx", b"onnx bytes").unwrap();
        assert_ne!(after.bundle_digest, before.bundle_digest);
        assert_eq!(after.files["model.onnx"].sha256, tensor_digest(b"onnx bytes"));
        assert!(verify_bundle(&bundle, None).unwrap().ok());
        std::fs::write(bundle.join("model.onnx"), b"altered").unwrap();
        assert!(!verify_bundle(&bundle, None).unwrap().ok(), "the file is checked");

        for name in [MANIFEST_FILE, "../x", ""] {
            assert!(matches!(add_file(&bundle, name, b"x"), Err(Error::AddFile { .. })), "{name}");
        }
        assert!(matches!(add_file(&bundle, "again.onnx", b"x"), Err(Error::AddFile { reason, .. }) if reason.contains("does not verify")));
    }
}
