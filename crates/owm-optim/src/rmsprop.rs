use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::transform::{alpha, eps8};
use crate::{ChainConfig, ChainExtras, Error, Result, Transform};

/// RMSProp (Hinton, 2012), as `torch.optim.RMSprop`.
///
/// Defaults follow PyTorch: `lr` 0.01, α = 0.99, ε = 1e-8, weight decay 0, momentum 0, not centred.
/// Chain: `[weight_decay, rms_prop, lr]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmsPropConfig {
    /// Learning rate.
    #[serde(default = "lr")]
    pub lr: f64,
    /// Decay of the squared-gradient average (default 0.99).
    #[serde(default = "alpha")]
    pub alpha: f64,
    /// Added to the denominator (default 1e-8).
    #[serde(default = "eps8")]
    pub eps: f64,
    /// L2 penalty (default 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// Momentum (default 0).
    #[serde(default)]
    pub momentum: f64,
    /// Normalise by the variance rather than the second moment.
    #[serde(default)]
    pub centered: bool,
    /// Schedule, clipping, groups.
    #[serde(flatten)]
    pub extras: ChainExtras,
}

fn lr() -> f64 {
    0.01
}

impl RmsPropConfig {
    /// RMSProp at `lr` with PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        Self { lr, alpha: alpha(), eps: eps8(), weight_decay: 0.0, momentum: 0.0, centered: false, extras: ChainExtras::default() }
    }

    /// The transform chain.
    pub fn chain(&self) -> ChainConfig {
        let (alpha, eps, centered, momentum) = (self.alpha, self.eps, self.centered, self.momentum);
        self.extras.wrap(
            self.lr,
            vec![Transform::WeightDecay { weight_decay: self.weight_decay }, Transform::RmsProp { alpha, eps, centered, momentum }, Transform::Lr],
        )
    }
}

impl Validate for RmsPropConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        self.chain().check()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_must_lie_in_the_unit_interval() {
        let c = RmsPropConfig { alpha: 1.0, ..RmsPropConfig::new(0.01) };
        assert!(matches!(c.check(), Err(Error::Beta { name: "alpha", .. })));
    }

    #[test]
    fn momentum_must_lie_in_the_unit_interval() {
        let c = RmsPropConfig { momentum: -0.1, ..RmsPropConfig::new(0.01) };
        assert!(matches!(c.check(), Err(Error::Momentum(_))));
    }
}
