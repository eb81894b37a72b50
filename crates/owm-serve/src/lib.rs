//! OWM (Open Weight Model): verified bundles served over the Open Inference Protocol (KServe v2 REST), the
//! protocol KServe, Triton, MLServer and TorchServe speak, so their clients work unchanged.
//!
//! ```text
//! GET  /v2/health/live | /v2/health/ready | /v2
//! GET  /v2/models/{name}[/versions/{version}]          inputs, outputs (datatype, shape; -1: any), parameters
//! GET  /v2/models/{name}[/versions/{version}]/ready
//! POST /v2/models/{name}[/versions/{version}]/infer    {"inputs": [{name, shape, datatype, data}], ...}
//! ```
//!
//! A request sends either the model's input tensor as given (one input named `input`), or raw records, one
//! input per field (a table's columns, `text`, or `user` and `item`; `parameters.content_type = "pd"` as
//! MLServer's pandas codec writes it), which are prepared exactly as the bundle's training data was. The answer
//! has `label` (BYTES, the class names) and `probabilities` (FP32, `[records, classes]`), and its `parameters`
//! name the bundle digest and whether its signature verified. Errors are `{"error": "..."}` with a 4xx status
//! (5xx only for the server's own faults), and the server keeps serving.
//!
//! # Key design decision: one worker per model, batching what waits
//!
//! A model is owned by one worker thread; the HTTP side (axum on tokio) only parses and queues. Each pass of
//! the worker takes every request waiting, up to the batch limit, and runs the model once over all their
//! records: under load, concurrent requests share forward passes; when idle, a request never waits for a
//! batching timer. The queue is bounded, and a full queue answers 503 at once rather than piling up work.
//!
//! Only bundles that verify are served: every digest is checked when the model is loaded, a signature must
//! verify, and [`Access::trusted`] demands one by a given key.
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod batch;
mod model;
mod protocol;
mod server;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::StatusCode;
use owm_core::BackendKind;
use owm_share::{Identities, PublicKey};
use owm_train::Predictor;

pub use model::{LABEL_OUTPUT, PROBABILITIES_OUTPUT, ServedModel, TENSOR_INPUT};
pub use protocol::{Datatype, InferRequest, InferResponse, Input, ModelMetadata, OutputTensor, TensorMetadata};
pub use server::{serve, stop_signal};

/// What can go wrong while serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request that does not fit the protocol or the model (400).
    #[error("{0}")]
    Request(String),
    /// A missing or wrong bearer token (401).
    #[error("{0}")]
    Unauthorized(&'static str),
    /// No such model, version or route (404).
    #[error("{0}")]
    NotFound(String),
    /// A body or a batch over the server's limits (413).
    #[error("{0}")]
    TooLarge(String),
    /// The model's queue is full, or its answer did not come in time (503).
    #[error("{0}; try again")]
    Busy(String),
    /// The model failed on records it accepted (500).
    #[error("the model failed: {0}")]
    Model(String),
    /// A limit of [`Options`] set to zero.
    #[error("{0} must be at least 1")]
    ZeroLimit(&'static str),
    /// A model argument that is neither a bundle folder, `NAME=FOLDER`, nor `NAME@VERSION`.
    #[error("model `{spec}`: {reason}")]
    Spec {
        /// The argument.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// A bundle that does not verify or load.
    #[error("bundle {dir}: {source}")]
    Load {
        /// Its folder.
        dir: PathBuf,
        /// Why.
        #[source]
        source: Box<owm_train::Error>,
    },
    /// A registry entry that cannot be pulled.
    #[error(transparent)]
    Registry(#[from] owm_share::Error),
    /// The server cannot start.
    #[error("cannot start: {0}")]
    Start(String),
}

impl Error {
    /// The HTTP status a request that met this error gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Request(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The server's token and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Requests must carry `Authorization: Bearer TOKEN` (but for `/v2/health/*`, which probes call). Default: none.
    pub token: Option<String>,
    /// Largest request body, in bytes (larger: 413). Default 16 MiB.
    pub max_body_bytes: usize,
    /// Most records in one request (more: 413), and in one pass of a model's worker. Default 1024.
    pub max_batch: usize,
    /// Most requests waiting for one model (more: 503 at once). Default 256.
    pub max_queue: usize,
    /// Longest wait for a model's answer, queue included (longer: 503). Default 30 s.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { token: None, max_body_bytes: 16 << 20, max_batch: 1024, max_queue: 256, timeout: Duration::from_secs(30) }
    }
}

impl Options {
    /// Checks every limit.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroLimit`] naming a limit that is zero.
    pub fn check(&self) -> Result<()> {
        let limits = [("max_body_bytes", self.max_body_bytes), ("max_batch", self.max_batch), ("max_queue", self.max_queue)];
        if let Some((name, _)) = limits.iter().find(|(_, v)| *v == 0) {
            return Err(Error::ZeroLimit(name));
        }
        if self.timeout.is_zero() {
            return Err(Error::ZeroLimit("timeout"));
        }
        Ok(())
    }
}

/// How the served bundles are opened.
#[derive(Default)]
pub struct Access {
    /// Where the models run.
    pub backend: BackendKind,
    /// Keys for encrypted weights.
    pub identities: Option<Identities>,
    /// Serve only bundles signed by this key.
    pub trusted: Option<PublicKey>,
    /// The registry `NAME@VERSION` is pulled from (`None`: `$OWM_REGISTRY`).
    pub registry: Option<PathBuf>,
}

/// Where a served model comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// A bundle folder (or the run folder holding it), with the name to serve it under (default: the folder's
    /// name, or its run folder's); its version is the first 12 hex digits of its bundle digest.
    Folder {
        /// The name to serve it under, when given.
        name: Option<String>,
        /// The folder.
        dir: PathBuf,
    },
    /// A registry entry, served under its name and version.
    Registry {
        /// Its name.
        name: String,
        /// Its version.
        version: String,
    },
}

impl ModelSpec {
    /// `NAME=FOLDER`, a folder that exists, or `NAME@VERSION` of the registry.
    ///
    /// # Errors
    ///
    /// [`Error::Spec`] for an empty name, or an argument that is none of these.
    pub fn parse(spec: &str) -> Result<Self> {
        let err = |reason: &str| Error::Spec { spec: spec.into(), reason: reason.into() };
        if let Some((name, dir)) = spec.split_once('=') {
            if name.is_empty() || name.contains('/') {
                return Err(err("NAME=FOLDER needs a name without `/`"));
            }
            return Ok(ModelSpec::Folder { name: Some(name.into()), dir: dir.into() });
        }
        if Path::new(spec).exists() {
            return Ok(ModelSpec::Folder { name: None, dir: spec.into() });
        }
        match owm_share::parse_ref(spec) {
            Ok((name, version)) => Ok(ModelSpec::Registry { name, version }),
            Err(_) => Err(err("no such folder, and not a registry NAME@VERSION")),
        }
    }

    /// Verifies and loads the model (a registry entry is pulled into a temporary folder, which is removed once
    /// the model is in memory).
    ///
    /// # Errors
    ///
    /// [`Error::Load`] for a bundle that does not verify, is not signed by [`Access::trusted`], or whose model
    /// cannot be built; [`Error::Registry`] for an entry that cannot be pulled.
    pub fn load(&self, access: &Access) -> Result<ServedModel> {
        let load = |dir: &Path| {
            let dir = if dir.join("bundle").join(owm_share::MANIFEST_FILE).is_file() { dir.join("bundle") } else { dir.to_path_buf() };
            Predictor::load_trusting(&dir, access.backend.clone(), access.identities.as_ref(), access.trusted.as_ref())
                .map_err(|e| Error::Load { dir: dir.clone(), source: Box::new(e) })
        };
        match self {
            ModelSpec::Folder { name, dir } => {
                let predictor = load(dir)?;
                let name = name.clone().unwrap_or_else(|| folder_name(dir));
                let version = predictor.bundle_digest().chars().take(12).collect::<String>();
                Ok(ServedModel::new(name, version, predictor))
            }
            ModelSpec::Registry { name, version } => {
                let registry = owm_share::Registry::open(access.registry.as_deref())?;
                let tmp = std::env::temp_dir().join(format!("owm-serve-{}-{name}-{version}", std::process::id()));
                let _ = std::fs::remove_dir_all(&tmp);
                let pulled = registry.pull(name, version, &tmp).map_err(Error::from).and_then(|_| load(&tmp));
                let _ = std::fs::remove_dir_all(&tmp);
                Ok(ServedModel::new(name.clone(), version.clone(), pulled?))
            }
        }
    }
}

/// A bundle folder's name to serve it under: its own, or its run folder's when it is a run's `bundle/`.
fn folder_name(dir: &Path) -> String {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    match name(&dir) {
        Some(n) if n == "bundle" => dir.parent().and_then(name).unwrap_or(n),
        Some(n) => n,
        None => "model".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_should_refuse_each_zero_limit() {
        assert!(Options::default().check().is_ok());
        let zero = [
            Options { max_body_bytes: 0, ..Options::default() },
            Options { max_batch: 0, ..Options::default() },
            Options { max_queue: 0, ..Options::default() },
            Options { timeout: Duration::ZERO, ..Options::default() },
        ];
        for (options, name) in zero.iter().zip(["max_body_bytes", "max_batch", "max_queue", "timeout"]) {
            assert!(matches!(options.check(), Err(Error::ZeroLimit(n)) if n == name), "{name}");
        }
    }

    #[test]
    fn specs_should_name_a_folder_or_a_registry_entry() {
        assert_eq!(ModelSpec::parse("iris=runs/x").unwrap(), ModelSpec::Folder { name: Some("iris".into()), dir: "runs/x".into() });
        assert_eq!(ModelSpec::parse(".").unwrap(), ModelSpec::Folder { name: None, dir: ".".into() });
        assert_eq!(ModelSpec::parse("iris@1.0").unwrap(), ModelSpec::Registry { name: "iris".into(), version: "1.0".into() });
        for bad in ["=runs/x", "a/b=runs/x", "no-such-folder", "bad@"] {
            assert!(matches!(ModelSpec::parse(bad), Err(Error::Spec { .. })), "{bad}");
        }
    }
}
