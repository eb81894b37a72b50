/// Errors raised by optimiser, schedule and convergence configs, by steps and by restored states.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The learning rate must be finite and positive.
    #[error("learning rate must be finite and > 0, got {0}")]
    LearningRate(f64),
    /// Momentum must lie in [0, 1).
    #[error("momentum must lie in [0, 1), got {0}")]
    Momentum(f64),
    /// Dampening must lie in [0, 1].
    #[error("dampening must lie in [0, 1], got {0}")]
    Dampening(f64),
    /// Nesterov momentum needs momentum > 0 and dampening 0 (as in PyTorch).
    #[error("nesterov momentum needs momentum > 0 and dampening = 0")]
    Nesterov,
    /// Weight decay must be finite and non-negative.
    #[error("weight decay must be finite and >= 0, got {0}")]
    WeightDecay(f64),
    /// A beta (or RMSProp's alpha) must lie in [0, 1).
    #[error("{name} must lie in [0, 1), got {value}")]
    Beta {
        /// `beta1`, `beta2` or `alpha`.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// Epsilon must be finite and positive.
    #[error("epsilon must be finite and > 0, got {0}")]
    Epsilon(f64),
    /// A setting outside its range (a schedule's gamma, a population size, a mutation rate, ...).
    #[error("{name} {rule}, got {value}")]
    Setting {
        /// The setting, as spelled in configs (`"gamma"`, `"population"`).
        name: &'static str,
        /// The rule it breaks, in words (`"must lie in (0, 1]"`).
        rule: &'static str,
        /// The value.
        value: f64,
    },
    /// A transform chain needs exactly one learning-rate step.
    #[error("a transform chain needs exactly one `lr` transform, found {0}")]
    LearningRateStep(usize),
    /// Skip-if-non-finite and accumulation must come before every other transform.
    #[error("`{0}` must come first in a transform chain (before any other kind of transform)")]
    TransformOrder(&'static str),
    /// Something only gradient methods do, asked of a search method.
    #[error("{method} searches over every weight without gradients: {what} needs a gradient optimiser")]
    GradientOnly {
        /// The search method.
        method: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// A user's optimiser named by a config, which records it but cannot build it.
    #[error("optimizer `{0}` is user code, recorded by name but not built by OWM: pass it to owm_train::train_with as TrainOptions::phases")]
    Custom(String),
    /// A user's transform recorded in a chain's config, whose implementation the chain was not given.
    #[error("transform `{0}` is user code, recorded by name and settings: give the chain its implementation with Chain::with_transforms")]
    CustomTransform(String),
    /// A user's transform with an empty name.
    #[error("a custom transform needs a name")]
    TransformName,
    /// A user's transform whose settings are not those the chain's config records for it.
    #[error("transform `{name}`: the implementation's settings {given} differ from the recorded {recorded}")]
    TransformSettings {
        /// The transform.
        name: String,
        /// The settings in the chain's config.
        recorded: String,
        /// The implementation's settings.
        given: String,
    },
    /// A path-group pattern that is empty.
    #[error("path group {0}: the pattern is empty")]
    EmptyPattern(usize),
    /// A run needs a budget so that it always ends.
    #[error("convergence needs max_epochs, max_steps, max_evaluations or max_seconds so that training always ends")]
    NoBudget,
    /// A budget of zero.
    #[error("{0} must be at least 1 when set")]
    ZeroBudget(&'static str),
    /// The target loss must be finite.
    #[error("target loss must be finite, got {0}")]
    TargetLoss(f64),
    /// The target accuracy must lie in (0, 1].
    #[error("target accuracy must lie in (0, 1], got {0}")]
    TargetAccuracy(f64),
    /// The wall-clock budget must be finite and positive.
    #[error("the wall-clock budget must be finite and > 0 seconds, got {0}")]
    WallClock(f64),
    /// The descent window must be at least 1 round.
    #[error("the loss-descent window must be at least 1 round")]
    DescentWindow,
    /// The minimum descent rate must be finite and non-negative.
    #[error("the minimum loss-descent rate must be finite and >= 0, got {0}")]
    DescentRate(f64),
    /// Plateau patience must be at least 1 round.
    #[error("plateau patience must be at least 1 round")]
    Patience,
    /// Early stopping names no metric.
    #[error("early stopping needs a metric to watch (val_loss, val_accuracy, val_macro_f1, train_loss, ...)")]
    EarlyStoppingMetric,
    /// Early stopping's `min_delta` must be finite and non-negative.
    #[error("early stopping's min_delta must be finite and >= 0, got {0}")]
    MinDelta(f64),
    /// An early-stopping spec that does not parse.
    #[error("--early-stopping `{spec}`: {why} (expected METRIC[:patience=N,min_delta=X,mode=min|max,restore=true|false])")]
    EarlyStoppingSpec {
        /// The spec.
        spec: String,
        /// What is wrong.
        why: String,
    },
    /// An `any` or `all` group with nothing in it.
    #[error("an `{0}` criterion group needs at least one criterion")]
    EmptyGroup(&'static str),
    /// A command-line optimiser spec that cannot be read.
    #[error("optimizer spec `{spec}`: {reason}")]
    Spec {
        /// The spec as written.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// A command-line schedule spec (`kind[:key=value...]`) that cannot be read or breaks a rule.
    #[error("schedule `{spec}`: {reason}")]
    ScheduleSpec {
        /// The spec as written.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// A transform whose lazy form (rows a batch reads, alone) would differ from its dense form by more than
    /// leaving the other rows' state as it is.
    #[error("lazy updates: `{transform}` {why}")]
    Lazy {
        /// The transform's kind.
        transform: &'static str,
        /// Why, and what to do instead.
        why: &'static str,
    },
    /// A saved optimiser state that does not fit this optimiser.
    #[error("optimizer state: {0}")]
    State(String),
    /// A candidate or weight vector of the wrong length.
    #[error("expected {expected} weights, got {got}")]
    Dimension {
        /// The parameter count.
        expected: usize,
        /// What was given.
        got: usize,
    },
    /// A trace sink or the objective failed.
    #[error(transparent)]
    Core(#[from] owm_core::Error),
}

/// `Result` with the optim [`enum@Error`].
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn check_lr(lr: f64) -> Result<()> {
    if lr.is_finite() && lr > 0.0 { Ok(()) } else { Err(Error::LearningRate(lr)) }
}

pub(crate) fn check_weight_decay(wd: f64) -> Result<()> {
    if wd.is_finite() && wd >= 0.0 { Ok(()) } else { Err(Error::WeightDecay(wd)) }
}

pub(crate) fn check_beta(name: &'static str, value: f64) -> Result<()> {
    if (0.0..1.0).contains(&value) { Ok(()) } else { Err(Error::Beta { name, value }) }
}

pub(crate) fn check_eps(eps: f64) -> Result<()> {
    if eps.is_finite() && eps > 0.0 { Ok(()) } else { Err(Error::Epsilon(eps)) }
}

/// `Err(Error::Setting)` unless `ok`.
pub(crate) fn ensure(ok: bool, name: &'static str, rule: &'static str, value: f64) -> Result<()> {
    if ok { Ok(()) } else { Err(Error::Setting { name, rule, value }) }
}
