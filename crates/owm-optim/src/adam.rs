use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::transform::{beta1, beta2, eps8};
use crate::{ChainConfig, ChainExtras, Error, Result, Transform};

/// Adam (Kingma and Ba, 2015) with coupled L2 weight decay, as `torch.optim.Adam`.
///
/// Defaults follow PyTorch: `lr` 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, weight decay 0.
/// Chain: `[weight_decay, adam, lr]` (decay before the moments: L2).
///
/// ## References
///
/// Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, arXiv:1412.6980.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    #[serde(default = "lr")]
    pub lr: f64,
    /// Decay of the first-moment average (default 0.9).
    #[serde(default = "beta1")]
    pub beta1: f64,
    /// Decay of the second-moment average (default 0.999).
    #[serde(default = "beta2")]
    pub beta2: f64,
    /// Added to the denominator for stability (default 1e-8).
    #[serde(default = "eps8")]
    pub eps: f64,
    /// L2 penalty added to the gradient (default 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

pub(crate) fn lr() -> f64 {
    1e-3
}

impl AdamConfig {
    /// Adam with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Self { lr, beta1: beta1(), beta2: beta2(), eps: eps8(), weight_decay: 0.0, extras: ChainExtras::default() }
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The transform chain.
    pub fn chain(&self) -> ChainConfig {
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps);
        self.extras.wrap(self.lr, vec![Transform::WeightDecay { weight_decay: self.weight_decay }, Transform::Adam { beta1, beta2, eps }, Transform::Lr])
    }
}

impl Validate for AdamConfig {
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
        assert!(matches!(AdamConfig::new(0.0).check(), Err(Error::LearningRate(_))));
    }

    #[test]
    fn betas_must_lie_in_the_unit_interval() {
        let c = AdamConfig { beta2: 1.0, ..AdamConfig::new(1e-3) };
        assert!(matches!(c.check(), Err(Error::Beta { name: "beta2", .. })));
    }

    #[test]
    fn epsilon_must_be_positive() {
        let c = AdamConfig { eps: 0.0, ..AdamConfig::new(1e-3) };
        assert!(matches!(c.check(), Err(Error::Epsilon(_))));
    }

    #[test]
    fn weight_decay_must_be_non_negative() {
        assert!(matches!(AdamConfig::new(1e-3).with_weight_decay(f64::NAN).check(), Err(Error::WeightDecay(_))));
    }
}
