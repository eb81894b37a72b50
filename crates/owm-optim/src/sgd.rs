use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, check_lr, check_weight_decay};

/// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, as `torch.optim.SGD`.
///
/// `g ← ∇L + weight_decay·w`; `v ← momentum·v + (1 − dampening)·g` (with `v ← g` on the first step);
/// `w ← w − lr·(g + momentum·v)` with Nesterov, else `w ← w − lr·v`.
/// Defaults follow PyTorch: momentum 0, dampening 0 (Burn's `MomentumConfig` defaults to 0.1), no Nesterov,
/// weight decay 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (default 0: plain SGD).
    #[serde(default)]
    pub momentum: f64,
    /// Dampening of the momentum (default 0).
    #[serde(default)]
    pub dampening: f64,
    /// Nesterov momentum (default false).
    #[serde(default)]
    pub nesterov: bool,
    /// L2 penalty added to the gradient (default 0).
    #[serde(default)]
    pub weight_decay: f64,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }

    /// Sets the momentum factor.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets Nesterov momentum.
    pub fn with_nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the L2 weight decay.
    pub fn with_weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    pub(crate) fn to_burn(&self) -> burn::optim::SgdConfig {
        let mut config = burn::optim::SgdConfig::new();
        if self.momentum > 0.0 {
            config = config.with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(self.momentum)
                    .with_dampening(self.dampening)
                    .with_nesterov(self.nesterov),
            ));
        }
        if self.weight_decay > 0.0 {
            config = config.with_weight_decay(Some(WeightDecayConfig::new(self.weight_decay as f32)));
        }
        config
    }
}

impl Validate for SgdConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(Error::Momentum(self.momentum));
        }
        if !(0.0..=1.0).contains(&self.dampening) {
            return Err(Error::Dampening(self.dampening));
        }
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(Error::Nesterov);
        }
        check_weight_decay(self.weight_decay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rate_must_be_positive() {
        assert!(matches!(SgdConfig::new(-0.1).check(), Err(Error::LearningRate(_))));
    }

    #[test]
    fn momentum_must_lie_in_the_unit_interval() {
        assert!(matches!(SgdConfig::new(0.1).with_momentum(1.0).check(), Err(Error::Momentum(_))));
    }

    #[test]
    fn dampening_must_lie_in_the_unit_interval() {
        let c = SgdConfig { dampening: 1.5, ..SgdConfig::new(0.1) };
        assert!(matches!(c.check(), Err(Error::Dampening(_))));
    }

    #[test]
    fn nesterov_needs_momentum_without_dampening() {
        assert!(matches!(SgdConfig::new(0.1).with_nesterov(true).check(), Err(Error::Nesterov)));
        let c = SgdConfig { dampening: 0.1, ..SgdConfig::new(0.1).with_momentum(0.9).with_nesterov(true) };
        assert!(matches!(c.check(), Err(Error::Nesterov)));
        assert!(SgdConfig::new(0.1).with_momentum(0.9).with_nesterov(true).check().is_ok());
    }

    #[test]
    fn weight_decay_must_be_non_negative() {
        assert!(matches!(SgdConfig::new(0.1).with_weight_decay(-1.0).check(), Err(Error::WeightDecay(_))));
    }
}
