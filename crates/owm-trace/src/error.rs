use std::path::PathBuf;

/// Errors raised while writing or reading traces.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed.
    #[error("{op} `{path}`: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A complete line is not a valid event.
    #[error("`{path}` line {line}: not a trace event: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parser's error, or a message.
        source: owm_core::BoxError,
    },
    /// A trace holds no checkpoint record for the step a checkpoint file claims.
    #[error("`{path}` has no checkpoint record for step {step}: the checkpoint belongs to another run or the trace was cut")]
    NoCheckpoint {
        /// The trace.
        path: PathBuf,
        /// The checkpoint's step.
        step: u64,
    },
    /// The trace file already exists (traces are never overwritten).
    #[error("trace `{0}` already exists")]
    Exists(PathBuf),
}

/// `Result` with the trace [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
