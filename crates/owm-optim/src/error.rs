/// Errors raised by optimiser and convergence configs and by steps.
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
    /// A beta must lie in [0, 1).
    #[error("{name} must lie in [0, 1), got {value}")]
    Beta {
        /// `beta1` or `beta2`.
        name: &'static str,
        /// The value.
        value: f64,
    },
    /// Epsilon must be finite and positive.
    #[error("epsilon must be finite and > 0, got {0}")]
    Epsilon(f64),
    /// A run needs an epoch or step budget so that it always ends.
    #[error("convergence needs max_epochs or max_steps so that training always ends")]
    NoBudget,
    /// A budget of zero.
    #[error("{0} must be at least 1 when set")]
    ZeroBudget(&'static str),
    /// The target loss must be finite.
    #[error("target loss must be finite, got {0}")]
    TargetLoss(f64),
    /// The descent window must be at least 1 epoch.
    #[error("the loss-descent window must be at least 1 epoch")]
    DescentWindow,
    /// The minimum descent rate must be finite and non-negative.
    #[error("the minimum loss-descent rate must be finite and >= 0, got {0}")]
    DescentRate(f64),
    /// A trace sink failed.
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
