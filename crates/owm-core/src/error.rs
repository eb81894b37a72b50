use std::path::PathBuf;

/// Errors raised by the core seams.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A backend was requested that this build does not include.
    #[error("backend `{backend}` is not compiled in: rebuild with the cargo feature `{feature}`")]
    BackendNotCompiled {
        /// The backend that was asked for.
        backend: &'static str,
        /// The cargo feature that enables it.
        feature: &'static str,
    },
    /// A compiled-in backend could not start (no GPU adapter or Vulkan driver, say).
    #[error("backend `{backend}` is unavailable: {reason} (without a GPU, install a Vulkan driver such as Mesa's lavapipe, or use --device cpu)")]
    BackendUnavailable {
        /// The backend.
        backend: &'static str,
        /// The failure reported by the backend.
        reason: String,
    },
    /// A backend name could not be parsed.
    #[error("unknown backend `{0}`: expected one of cpu, flex, ndarray, wgpu, remote:ws://HOST:PORT")]
    UnknownBackend(String),
    /// A remote device's address is not `ws://HOST:PORT`.
    #[error("remote device `{url}`: {reason}")]
    RemoteUrl {
        /// The address as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A remote device's server could not be reached, refused the client, or failed.
    #[error("remote device `{url}`: {reason}")]
    Remote {
        /// The server's address.
        url: String,
        /// What happened.
        reason: String,
    },
    /// A device failed while running or reading back an operation.
    #[error("the device failed: {0} (on a remote device, its server may have stopped: `owm resume RUN` continues from the last checkpoint)")]
    Device(String),
    /// A token file holds no usable token.
    #[error("token file `{path}`: {reason}")]
    RemoteToken {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A parameter replacement did not match the module.
    #[error("parameter `{path}`: {reason}")]
    Param {
        /// Module path of the parameter.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A trace sink failed to record an event.
    #[error("trace sink failed: {0}")]
    Sink(String),
    /// The ranks of a distributed run can no longer work together (one died, or they disagree).
    #[error("distributed run: {0}")]
    Collective(String),
    /// An objective cannot provide what an optimiser asks of it.
    #[error("the objective cannot provide {0}")]
    Unsupported(&'static str),
    /// A file-system operation failed.
    #[error("{op} `{path}`: {source}")]
    Io {
        /// What was being done (`"write"`, `"rename"`, ...).
        op: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `OWM_MAX_MEMORY` is not a size.
    #[error("{env}=`{value}` is not a size such as 512M, 8G or 1073741824")]
    MemoryBudget {
        /// The variable.
        env: &'static str,
        /// Its value.
        value: String,
    },
    /// A request would not fit in the memory budget ([`crate::memory_budget`]).
    #[error("{what} needs about {} MiB, more than the {} MiB budget ({why}): {hint}", needs >> 20, budget >> 20)]
    TooLarge {
        /// What asked.
        what: String,
        /// Bytes it needs (an estimate, stated where it is made).
        needs: u64,
        /// Bytes allowed.
        budget: u64,
        /// Where the budget comes from.
        why: String,
        /// What to do.
        hint: String,
    },
}

/// A cause kept as the error it was (an `io::Error`, a `serde_json::Error`, or a message), reachable through
/// `std::error::Error::source` and `downcast_ref`, never flattened to text.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with the core [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, then a rename.
///
/// A crash leaves either the old file or the new one, never a half-written file.
///
/// # Errors
///
/// [`Error::Io`] naming the file when the write, flush or rename fails.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |op, source| Error::Io { op, path: path.to_path_buf(), source };
    let mut file = std::fs::File::create(&tmp).map_err(|e| io("create", e))?;
    // A failed write (a full disk, a file-size limit) removes its temporary file: the old file stays as it was.
    let written = file.write_all(bytes).map_err(|e| io("write", e)).and_then(|()| file.sync_all().map_err(|e| io("sync", e)));
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path).map_err(|e| io("rename", e))) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the folder's entry.
    if let Ok(folder) = std::fs::File::open(dir) {
        let _ = folder.sync_all();
    }
    Ok(())
}
