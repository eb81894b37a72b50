use burn::optim::decay::WeightDecayConfig;
use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, check_lr, check_weight_decay};

/// Adam (Kingma and Ba, 2015) with L2 weight decay, as `torch.optim.Adam`.
///
/// Defaults follow PyTorch: β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (Burn's default is 1e-5), weight decay 0.
///
/// ## References
///
/// Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, arXiv:1412.6980.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first-moment average (default 0.9).
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Decay of the second-moment average (default 0.999).
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// Added to the denominator for stability (default 1e-8).
    #[serde(default = "default_eps")]
    pub eps: f64,
    /// L2 penalty added to the gradient (default 0).
    #[serde(default)]
    pub weight_decay: f64,
}

fn default_beta1() -> f64 {
    0.9
}
fn default_beta2() -> f64 {
    0.999
}
fn default_eps() -> f64 {
    1e-8
}

impl AdamConfig {
    /// Adam with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Self { lr, beta1: default_beta1(), beta2: default_beta2(), eps: default_eps(), weight_decay: 0.0 }
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    pub(crate) fn to_burn(&self) -> burn::optim::AdamConfig {
        let config = burn::optim::AdamConfig::new()
            .with_beta_1(self.beta1 as f32)
            .with_beta_2(self.beta2 as f32)
            .with_epsilon(self.eps as f32);
        if self.weight_decay > 0.0 {
            config.with_weight_decay(Some(WeightDecayConfig::new(self.weight_decay as f32)))
        } else {
            config
        }
    }
}

impl Validate for AdamConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        for (name, value) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&value) {
                return Err(Error::Beta { name, value });
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0) {
            return Err(Error::Epsilon(self.eps));
        }
        check_weight_decay(self.weight_decay)
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
