/// Errors raised when metrics cannot be computed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There are no predictions.
    #[error("no predictions to evaluate")]
    Empty,
    /// True and predicted labels differ in number.
    #[error("{truth} true labels but {predicted} predictions")]
    LengthMismatch {
        /// Number of true labels.
        truth: usize,
        /// Number of predictions.
        predicted: usize,
    },
    /// A label is outside `0..num_classes`.
    #[error("{which} label {label} at index {index} is outside 0..{num_classes}")]
    UnknownLabel {
        /// `"true"` or `"predicted"`.
        which: &'static str,
        /// Position in the input.
        index: usize,
        /// The label.
        label: usize,
        /// Number of classes.
        num_classes: usize,
    },
}

/// `Result` with the eval [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
