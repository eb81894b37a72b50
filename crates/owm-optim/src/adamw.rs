use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::adam::lr;
use crate::transform::{beta1, beta2, eps8};
use crate::{ChainConfig, ChainExtras, Error, Result, Transform};

/// AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay, as `torch.optim.AdamW`.
///
/// Defaults follow PyTorch: `lr` 1e-3, β₁ = 0.9, β₂ = 0.999, ε = 1e-8, weight decay 0.01.
/// Chain: `[adam, weight_decay, lr]` (decay after the moments: `w ← w − lr·(m̂/(√v̂+ε) + λ·w)`).
///
/// ## References
///
/// Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR 2019, arXiv:1711.05101.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdamWConfig {
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
    /// Decoupled weight decay (default 0.01).
    #[serde(default = "weight_decay")]
    pub weight_decay: f64,
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

fn weight_decay() -> f64 {
    0.01
}

impl AdamWConfig {
    /// AdamW with learning rate `lr` and PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Self { lr, beta1: beta1(), beta2: beta2(), eps: eps8(), weight_decay: weight_decay(), extras: ChainExtras::default() }
    }

    /// The transform chain.
    pub fn chain(&self) -> ChainConfig {
        let (beta1, beta2, eps) = (self.beta1, self.beta2, self.eps);
        self.extras.wrap(self.lr, vec![Transform::Adam { beta1, beta2, eps }, Transform::WeightDecay { weight_decay: self.weight_decay }, Transform::Lr])
    }
}

impl Validate for AdamWConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.chain().check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_pytorch() {
        let c: AdamWConfig = serde_json::from_str("{}").unwrap();
        assert_eq!((c.lr, c.weight_decay, c.beta1, c.beta2, c.eps), (1e-3, 0.01, 0.9, 0.999, 1e-8));
    }

    #[test]
    fn weight_decay_must_be_non_negative() {
        let c = AdamWConfig { weight_decay: -0.1, ..AdamWConfig::new(1e-3) };
        assert!(matches!(c.check(), Err(Error::WeightDecay(_))));
    }
}
