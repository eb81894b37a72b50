/// Errors raised when a model config cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A model needs at least one output.
    #[error("a model needs at least one output (a class, or one logit for a binary task), got {0}")]
    NoClasses(usize),
    /// The model cannot read the dataset's inputs.
    #[error("model `{model}` cannot read {input:?}: {reason}")]
    WrongInput {
        /// The model.
        model: &'static str,
        /// The dataset's input.
        input: owm_core::InputSpec,
        /// Why.
        reason: String,
    },
    /// A recommender scores one logit per pair, so it serves binary tasks only.
    #[error("model `{model}` gives one logit (a binary task), not {outputs}")]
    OneOutput {
        /// The model.
        model: &'static str,
        /// Outputs asked for.
        outputs: usize,
    },
    /// A user's model, which OWM records but cannot build from a config (replay, `owm eval`, `owm resume`).
    #[error(
        "model `{0}` is user code, recorded by name but not built by OWM: build it in Rust and pass it to owm_train::train_model (resume, replay) or owm_train::evaluate_bundle_into (evaluation)"
    )]
    Custom(String),
    /// A layer the PyTorch module generator does not write.
    #[error("cannot write the PyTorch module: {0}")]
    Unsupported(String),
    /// A model without categorical fields.
    #[error("a model over categorical ids needs at least one field")]
    NoFields,
    /// A ResNet depth that is not `6n + 2`.
    #[error("a CIFAR ResNet has depth 6n + 2 (8, 14, 20, 32, ...), got {0}")]
    Depth(usize),
    /// Sequences too short for the architecture.
    #[error("{what} does not fit in sequences of {len} tokens")]
    TooShort {
        /// What does not fit.
        what: String,
        /// Tokens per sequence.
        len: usize,
    },
    /// A layer width of zero.
    #[error("hidden layer {layer} has width 0")]
    ZeroWidth {
        /// Index of the hidden layer.
        layer: usize,
    },
    /// A size in the config that must be positive is zero.
    #[error("model `{model}`: `{field}` must be positive, got 0")]
    ZeroSize {
        /// The model.
        model: &'static str,
        /// The config field.
        field: String,
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
