use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::transform::eps10;
use crate::{ChainConfig, ChainExtras, Error, Result, Transform};

/// AdaGrad (Duchi, Hazan and Singer, 2011), as `torch.optim.Adagrad` with `lr_decay` 0.
///
/// Defaults follow PyTorch: `lr` 0.01, ε = 1e-10, weight decay 0, initial accumulator 0.
/// Chain: `[weight_decay, ada_grad, lr]`. PyTorch's `lr_decay` (`lr / (1 + t·lr_decay)`) is not supported:
/// it is not one of the [`crate::Schedule`] kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaGradConfig {
    /// Learning rate.
    #[serde(default = "lr")]
    pub lr: f64,
    /// Added to the denominator (default 1e-10).
    #[serde(default = "eps10")]
    pub eps: f64,
    /// L2 penalty (default 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients (default 0).
    #[serde(default)]
    pub initial_accumulator_value: f64,
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

fn lr() -> f64 {
    0.01
}

impl AdaGradConfig {
    /// AdaGrad at `lr` with PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Self { lr, eps: eps10(), weight_decay: 0.0, initial_accumulator_value: 0.0, extras: ChainExtras::default() }
    }

    /// The transform chain.
    pub fn chain(&self) -> ChainConfig {
        self.extras.wrap(
            self.lr,
            vec![
                Transform::WeightDecay { weight_decay: self.weight_decay },
                Transform::AdaGrad { eps: self.eps, initial_accumulator_value: self.initial_accumulator_value },
                Transform::Lr,
            ],
        )
    }
}

impl Validate for AdaGradConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.chain().check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsilon_must_be_positive() {
        let c = AdaGradConfig { eps: -1.0, ..AdaGradConfig::new(0.01) };
        assert!(matches!(c.check(), Err(Error::Epsilon(_))));
    }

    #[test]
    fn accumulator_must_be_non_negative() {
        let c = AdaGradConfig { initial_accumulator_value: -1.0, ..AdaGradConfig::new(0.01) };
        assert!(matches!(c.check(), Err(Error::Setting { name: "initial_accumulator_value", .. })));
    }
}
