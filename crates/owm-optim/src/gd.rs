use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, check_lr};

/// Full-batch gradient descent: `w ← w − lr·∇L(w)`, the gradient taken over the whole training split.
///
/// The update is SGD's without momentum; what makes it gradient descent is that the pipeline computes each
/// gradient over every training item ([`crate::Optimizer::full_batch`] is `true`), so one epoch is one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GdConfig {
    /// Learning rate.
    pub lr: f64,
}

impl GdConfig {
    /// Gradient descent with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr }
    }
}

impl Validate for GdConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        check_lr(self.lr)
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
