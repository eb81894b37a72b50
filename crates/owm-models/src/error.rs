/// Errors raised when a model config cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A classifier needs at least two classes.
    #[error("a classifier needs at least 2 classes, got {0}")]
    NoClasses(usize),
    /// A layer width of zero.
    #[error("hidden layer {layer} has width 0")]
    ZeroWidth {
        /// Index of the hidden layer.
        layer: usize,
    },
    /// The input is too small (or misshapen) for the architecture.
    #[error("input {input:?} does not fit: {reason}")]
    InputTooSmall {
        /// Input shape `[channels, height, width]`.
        input: [usize; 3],
        /// Why.
        reason: String,
    },
}

/// `Result` with the models [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
