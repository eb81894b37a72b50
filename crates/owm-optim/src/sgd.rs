use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{ChainConfig, ChainExtras, Error, Result, Transform};

/// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, as `torch.optim.SGD`.
///
/// `g ← ∇L + weight_decay·w`; `v ← momentum·v + (1 − dampening)·g` (with `v ← g` on the first step);
/// `w ← w − lr·(g + momentum·v)` with Nesterov, else `w ← w − lr·v`.
/// Defaults follow PyTorch: momentum 0, dampening 0, no Nesterov, weight decay 0.
/// Chain: `[weight_decay, momentum, lr]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SgdConfig {
    /// Learning rate (default 1e-3, as `torch.optim.SGD`).
    #[serde(default = "crate::sgd::default_lr")]
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
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr, momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0, extras: ChainExtras::default() }
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

    /// The transform chain.
    pub fn chain(&self) -> ChainConfig {
        sgd_chain(&self.extras, self.lr, self.weight_decay, self.momentum, self.dampening, self.nesterov)
    }
}

fn sgd_chain(extras: &ChainExtras, lr: f64, weight_decay: f64, momentum: f64, dampening: f64, nesterov: bool) -> ChainConfig {
    extras.wrap(lr, vec![Transform::WeightDecay { weight_decay }, Transform::Momentum { momentum, dampening, nesterov }, Transform::Lr])
}

impl Validate for SgdConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.chain().check()
    }
}

/// The `momentum` and `nesterov` presets: SGD with momentum 0.9 by default.
///
/// PyTorch: `torch.optim.SGD(params, lr, momentum=0.9, dampening=0, weight_decay=0, nesterov=False|True)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MomentumConfig {
    /// Learning rate (default 1e-3, as `torch.optim.SGD`).
    #[serde(default = "crate::sgd::default_lr")]
    pub lr: f64,
    /// Momentum factor (default 0.9).
    #[serde(default = "momentum")]
    pub momentum: f64,
    /// Dampening (default 0; must stay 0 for Nesterov).
    #[serde(default)]
    pub dampening: f64,
    /// L2 penalty added to the gradient (default 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

pub(crate) fn default_lr() -> f64 {
    1e-3
}

fn momentum() -> f64 {
    0.9
}

impl MomentumConfig {
    /// Momentum 0.9 at learning rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr, momentum: momentum(), dampening: 0.0, weight_decay: 0.0, extras: ChainExtras::default() }
    }

    /// The transform chain, with Nesterov momentum or heavy-ball.
    pub fn chain(&self, nesterov: bool) -> ChainConfig {
        sgd_chain(&self.extras, self.lr, self.weight_decay, self.momentum, self.dampening, nesterov)
    }

    /// Checks the rules, for Nesterov or heavy-ball momentum.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule broken.
    pub fn check(&self, nesterov: bool) -> Result<()> {
        self.chain(nesterov).check()
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
        let m = MomentumConfig { dampening: 0.5, ..MomentumConfig::new(0.1) };
        assert!(m.check(false).is_ok());
        assert!(matches!(m.check(true), Err(Error::Nesterov)));
    }

    #[test]
    fn weight_decay_must_be_non_negative() {
        assert!(matches!(SgdConfig::new(0.1).with_weight_decay(-1.0).check(), Err(Error::WeightDecay(_))));
    }

    #[test]
    fn momentum_preset_defaults_to_0_9() {
        let m: MomentumConfig = serde_json::from_str(r#"{"lr": 0.1}"#).unwrap();
        assert_eq!(m, MomentumConfig::new(0.1));
        assert_eq!(m.momentum, 0.9);
    }
}
