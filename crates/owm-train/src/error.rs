use std::path::PathBuf;

/// Errors raised by the pipeline, wrapping those of the crates it ties together.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Backend selection or a core seam failed.
    #[error(transparent)]
    Core(#[from] owm_core::Error),
    /// Reading or preparing data failed.
    #[error(transparent)]
    Data(#[from] owm_data::Error),
    /// The model config cannot be built.
    #[error(transparent)]
    Model(#[from] owm_models::Error),
    /// The init plan failed.
    #[error(transparent)]
    Init(#[from] owm_init::Error),
    /// The optimiser or convergence config is invalid.
    #[error(transparent)]
    Optim(#[from] owm_optim::Error),
    /// Writing or reading the trace failed.
    #[error(transparent)]
    Trace(#[from] owm_trace::Error),
    /// Writing, reading or verifying a bundle failed.
    #[error(transparent)]
    Share(#[from] owm_share::Error),
    /// Metrics could not be computed.
    #[error(transparent)]
    Eval(#[from] owm_eval::Error),
    /// Differentially private training that cannot be set up as configured.
    #[error("privacy: {0}")]
    Privacy(String),
    /// The batch size must be at least 1.
    #[error("batch_size must be at least 1")]
    BatchSize,
    /// A batch larger than the training split.
    #[error("batch_size {batch} is larger than the {items} training items of `{dataset}`: choose at most {items}")]
    BatchLarger {
        /// The batch size.
        batch: usize,
        /// Training items.
        items: usize,
        /// The dataset.
        dataset: String,
    },
    /// A training split with fewer than two classes: nothing to learn.
    #[error("the training split of `{dataset}` holds one class only ({class}): a classifier needs at least two")]
    OneClass {
        /// The dataset.
        dataset: String,
        /// The only class present (or `none` for an empty split).
        class: String,
    },
    /// A bundle's manifest lacks a section needed to rebuild the run.
    #[error("bundle `{dir}`: manifest section `{section}` is missing or invalid: {source}")]
    Manifest {
        /// The bundle.
        dir: PathBuf,
        /// The section.
        section: &'static str,
        /// Why it cannot be used: the parse error, or a message.
        source: owm_core::BoxError,
    },
    /// A criterion watches a validation metric, but the run evaluates no validation split.
    #[error(
        "early stopping watches `{metric}`, but the run has no validation split: set validation_fraction (--validation-fraction) or a validation file, or watch a train_* metric"
    )]
    NoValidation {
        /// The metric.
        metric: String,
    },
    /// A run needs at least one phase.
    #[error("a run needs at least one optimiser phase")]
    NoPhases,
    /// A checkpoint cannot be used.
    #[error("checkpoint `{path}`: {source}")]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong: the read, parse or state error, or a message.
        source: owm_core::BoxError,
    },
    /// A trace setting breaks a rule.
    #[error("trace settings: {0}")]
    TraceConfig(String),
    /// A run folder cannot be resumed, replayed or reported.
    #[error("run `{dir}`: {reason}")]
    Run {
        /// The run folder.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A configuration file is not valid.
    #[error("config `{path}`: {source}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong: the read, parse or rule error.
        source: owm_core::BoxError,
    },
}

/// `Result` with the pipeline [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;
