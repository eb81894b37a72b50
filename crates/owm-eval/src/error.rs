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
    /// F-beta needs a finite, non-negative beta.
    #[error("beta must be finite and at least 0, got {0}")]
    Beta(f64),
    /// A score or relevance is NaN or infinite.
    #[error("value {value} at index {index} is not finite")]
    NonFinite {
        /// Position in the input.
        index: usize,
        /// The value.
        value: f64,
    },
    /// ROC AUC and average precision need both classes among the true labels.
    #[error("the true labels hold only one class: ROC AUC and average precision are undefined")]
    OneClass,
    /// A row of class probabilities is not one.
    #[error("probabilities of item {index}: {reason}")]
    Probability {
        /// Position in the input.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A bootstrap setting breaks a rule, or no resample had a value.
    #[error("bootstrap: {0}")]
    Bootstrap(String),
    /// Ranking metrics need a cut-off of at least 1.
    #[error("k must be at least 1")]
    ZeroK,
}

/// `Result` with the eval [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
