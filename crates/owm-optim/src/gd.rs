use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{ChainConfig, ChainExtras, Error, Result, Transform};

/// Full-batch gradient descent: `w ← w − lr·∇L(w)`, the gradient taken over the whole training split.
///
/// PyTorch: `torch.optim.SGD(params, lr)` stepped once per epoch on the full-batch loss.
/// The chain is just `[lr]`; what makes it gradient descent is `full_batch`, so one epoch is one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GdConfig {
    /// Learning rate (default 1e-3, as `torch.optim.SGD`).
    #[serde(default = "crate::sgd::default_lr")]
    pub lr: f64,
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

impl GdConfig {
    /// Gradient descent with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr, extras: ChainExtras::default() }
    }

    /// The transform chain.
    pub fn chain(&self) -> ChainConfig {
        ChainConfig { full_batch: true, ..self.extras.wrap(self.lr, vec![Transform::Lr]) }
    }
}

impl Validate for GdConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.chain().check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_must_be_positive() {
        assert!(matches!(GdConfig::new(0.0).check(), Err(Error::LearningRate(_))));
        assert!(matches!(GdConfig::new(f64::NAN).check(), Err(Error::LearningRate(_))));
        assert!(GdConfig::new(0.1).check().is_ok());
    }
}
