use std::path::PathBuf;

/// Errors raised while writing, reading or applying bundles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed.
    #[error("{op} `{path}`: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bundle folder already exists (bundles are never overwritten).
    #[error("bundle `{0}` already exists")]
    Exists(PathBuf),
    /// `manifest.json` is not a valid manifest.
    #[error("`{path}`: not a valid OWM manifest: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong: the read or parse error, or a message.
        source: owm_core::BoxError,
    },
    /// `weights.safetensors` is not a valid safetensors file.
    #[error("`{path}`: not a valid safetensors file: {source}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// What is wrong: the read or parse error, or a message.
        source: owm_core::BoxError,
    },
    /// A tensor does not match the manifest (changed data, dtype or shape, or a tensor missing on one side).
    #[error("`{path}`: tensor `{tensor}` does not match the manifest: {reason}")]
    Tampered {
        /// The weights file.
        path: PathBuf,
        /// The tensor's module path.
        tensor: String,
        /// What differs.
        reason: String,
    },
    /// A file of the bundle (the trace, a checkpoint) is not the one the manifest records.
    #[error("bundle file `{path}` was altered: {reason}")]
    FileTampered {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// A key file that cannot be used.
    #[error("key `{path}`: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong: the read or parse error, or a message.
        source: owm_core::BoxError,
    },
    /// A bundle signature that does not hold.
    #[error("signature `{path}`: {reason}")]
    Signature {
        /// The signature file.
        path: PathBuf,
        /// What fails.
        reason: String,
    },
    /// Encrypted weights that cannot be written or opened.
    #[error("encrypted weights `{path}`: {reason}")]
    Encryption {
        /// The file concerned.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file that cannot be added to a bundle.
    #[error("bundle `{dir}`: cannot add `{name}`: {reason}")]
    AddFile {
        /// The bundle.
        dir: PathBuf,
        /// The file's name in it.
        name: String,
        /// Why.
        reason: String,
    },
    /// A registry operation that cannot be done.
    #[error("registry: {0}")]
    Registry(String),
    /// The bundle's tensors do not fit the module they are loaded into.
    #[error("bundle does not fit the module: {0}")]
    Mismatch(String),
    /// A parameter could not be read or written.
    #[error(transparent)]
    Core(#[from] owm_core::Error),
}

/// `Result` with the share [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
