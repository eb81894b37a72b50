//! Test helpers shared by the OWM crates, as a dev-dependency only.
//!
//! # Key design decision: std only
//!
//! A test-only dependency that pulls in other crates (`tempfile` brings `rustix` and `getrandom`) changes the
//! features those crates are built with, and through feature unification the hashes of Burn's whole
//! dependency tree; `cargo run -p owm` after `cargo test` would then rebuild Burn.
//! This crate uses only `std`, so test and run builds share every compiled dependency.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh folder under the system temporary directory, removed with its content on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// The folder.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Creates a new, empty, uniquely named scratch folder.
///
/// # Panics
///
/// If the folder cannot be created (a broken test environment).
pub fn tempdir() -> TempDir {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let name = format!("owm-test-{}-{nanos}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let path = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create scratch folder {}: {e}", path.display()));
    TempDir(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn should_create_distinct_folders_and_remove_them() {
        let (a, b) = (super::tempdir(), super::tempdir());
        assert_ne!(a.path(), b.path());
        std::fs::write(a.path().join("f"), "x").unwrap();
        let kept = a.path().to_path_buf();
        drop(a);
        assert!(!kept.exists());
    }
}
