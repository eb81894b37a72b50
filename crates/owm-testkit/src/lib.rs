//! Test helpers shared by the OWM crates, as a dev-dependency only: scratch folders, running a program and
//! showing its output, and real datasets that are used when installed and skipped loudly (or required, in
//! CI) when not.
//!
//! # Key design decision: std only
//!
//! A test-only dependency that pulls in other crates (`tempfile` brings `rustix` and `getrandom`) changes the
//! features those crates are built with, and through feature unification the hashes of Burn's whole
//! dependency tree; `cargo run -p owm` after `cargo test` would then rebuild Burn.
//! This crate uses only `std`, so test and run builds share every compiled dependency.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
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

/// Runs `command` to its end and returns what it wrote and how it exited.
///
/// # Panics
///
/// If the program cannot be started (a test binary that was not built).
pub fn output(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot start {:?}: {e}", command.get_program()))
}

/// A command's standard output followed by its standard error, as text: what a failed assertion shows.
pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// A real dataset a test trains on, or `None` after a loud `SKIPPED` line when it is absent.
///
/// `path` is the file or folder; `install` says how to get it. When `CI` or `OWM_REQUIRE_DATASETS` is set
/// (`.ci/run` sets the latter after installing the datasets), an absent dataset fails the test instead.
///
/// # Panics
///
/// When the dataset is absent and required.
pub fn real_dataset(path: &Path, install: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let required = std::env::var_os("OWM_REQUIRE_DATASETS").is_some() || std::env::var_os("CI").is_some();
    assert!(!required, "{} is missing and real-data tests are required here: {install}", path.display());
    eprintln!("\n*** SKIPPED: {} is missing, so this real-data test did not run ({install}) ***\n", path.display());
    None
}

/// The path named by environment variable `var`, else `default`.
pub fn dataset_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
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

    #[test]
    fn text_should_show_standard_output_then_standard_error() {
        let out = super::output(std::process::Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]));
        assert_eq!((super::text(&out).as_str(), out.status.code()), ("out\nerr\n", Some(3)));
    }
}
