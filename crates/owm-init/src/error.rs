/// Errors raised by init plans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The strategy needs fan-in/fan-out, which a tensor of rank below 2 does not have.
    #[error("parameter `{path}` with shape {shape:?}: {strategy} needs a tensor of at least 2 dimensions")]
    NeedsMatrix {
        /// Parameter path.
        path: String,
        /// Its shape.
        shape: Vec<usize>,
        /// The strategy name.
        strategy: &'static str,
    },
    /// `low` must be below `high`, both finite.
    #[error("uniform bounds must be finite with low < high, got [{low}, {high})")]
    UniformBounds {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// A standard deviation must be finite and non-negative.
    #[error("standard deviation must be finite and >= 0, got {0}")]
    Std(f64),
    /// A mean or constant must be finite.
    #[error("value must be finite, got {0}")]
    NonFinite(f64),
    /// A gain must be finite and positive.
    #[error("gain must be finite and > 0, got {0}")]
    Gain(f64),
    /// A rule pattern is empty.
    #[error("rule {0} has an empty pattern")]
    EmptyPattern(usize),
    /// A pretrained tensor that cannot be used.
    #[error("parameter `{path}` from source `{name}`: {reason}")]
    Source {
        /// The parameter.
        path: String,
        /// The source's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A transfer path rule that cannot be used.
    #[error("transfer rule {rule}: {reason}")]
    PathRule {
        /// The rule's index.
        rule: usize,
        /// Why.
        reason: String,
    },
    /// A transfer that cannot be done.
    #[error("transfer into `{path}`: {reason}")]
    Transfer {
        /// The module tensor (empty when the problem is not one tensor's).
        path: String,
        /// Why.
        reason: String,
    },
    /// Writing the values into the module failed.
    #[error(transparent)]
    Core(#[from] owm_core::Error),
}

/// `Result` with the init [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
