use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{Error, GradientTransform, Result, Schedule, check_beta, check_eps, check_lr, check_weight_decay, ensure};

/// One gradient transformation of a [`ChainConfig`], applied in order to the updates (which start as the
/// gradients), in the manner of Optax.
///
/// Where [`Transform::WeightDecay`] sits decides its meaning: before a moment transform (`adam`, `rmsprop`,
/// ...) it is coupled L2 decay (`torch.optim.Adam(weight_decay=...)`), after it decoupled decay
/// (`torch.optim.AdamW`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transform {
    /// Skip the whole step (weights and state unchanged) when any gradient is NaN or infinite; must come first.
    SkipNonFinite,
    /// Sum gradients over `steps` calls and apply the rest of the chain to their mean on every `steps`-th call
    /// (Optax's `MultiSteps`); must come first or right after `skip_non_finite`.
    Accumulate {
        /// Calls per applied update.
        steps: u64,
    },
    /// Clamp every component to `[-max, max]` (`torch.nn.utils.clip_grad_value_`).
    ClipByValue {
        /// The bound.
        max: f64,
    },
    /// Scale all updates of the group by `max_norm / (‖g‖ + 1e-6)` when their joint L2 norm exceeds `max_norm`
    /// (`torch.nn.utils.clip_grad_norm_`).
    ClipByGlobalNorm {
        /// The bound.
        max_norm: f64,
    },
    /// Add `weight_decay · w` to the update.
    WeightDecay {
        /// The factor.
        weight_decay: f64,
    },
    /// Heavy-ball or Nesterov momentum, as `torch.optim.SGD`.
    Momentum {
        /// Momentum factor.
        momentum: f64,
        /// Dampening.
        #[serde(default)]
        dampening: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
    /// Adam's bias-corrected moment ratio `m̂ / (√v̂ + ε)`, as `torch.optim.Adam`.
    Adam {
        /// First-moment decay.
        #[serde(default = "beta1")]
        beta1: f64,
        /// Second-moment decay.
        #[serde(default = "beta2")]
        beta2: f64,
        /// Denominator guard.
        #[serde(default = "eps8")]
        eps: f64,
    },
    /// RMSProp's `g / (√E[g²] + ε)`, optionally centred and with momentum, as `torch.optim.RMSprop`.
    RmsProp {
        /// Decay of the squared-gradient average.
        #[serde(default = "alpha")]
        alpha: f64,
        /// Denominator guard.
        #[serde(default = "eps8")]
        eps: f64,
        /// Subtract the squared mean gradient.
        #[serde(default)]
        centered: bool,
        /// Momentum on the scaled gradient.
        #[serde(default)]
        momentum: f64,
    },
    /// AdaGrad's `g / (√Σg² + ε)`, as `torch.optim.Adagrad`.
    AdaGrad {
        /// Denominator guard.
        #[serde(default = "eps10")]
        eps: f64,
        /// Starting value of the sum of squares.
        #[serde(default)]
        initial_accumulator_value: f64,
    },
    /// Multiply by `−lr(t)`: the learning rate of the step from the schedule. Exactly one per chain.
    Lr,
    /// A user's [`GradientTransform`], recorded by its name and settings ([`Transform::custom`]); the chain
    /// gets its implementation from [`crate::Chain::with_transforms`].
    Custom {
        /// [`GradientTransform::name`].
        name: String,
        /// [`GradientTransform::settings`].
        #[serde(default)]
        settings: serde_json::Value,
    },
}

pub(crate) fn beta1() -> f64 {
    0.9
}
pub(crate) fn beta2() -> f64 {
    0.999
}
pub(crate) fn eps8() -> f64 {
    1e-8
}
pub(crate) fn eps10() -> f64 {
    1e-10
}
pub(crate) fn alpha() -> f64 {
    0.99
}

impl Transform {
    /// The record of a user's transform in a [`ChainConfig`].
    pub fn custom(transform: &dyn GradientTransform) -> Self {
        Transform::Custom { name: transform.name(), settings: transform.settings() }
    }

    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Transform::SkipNonFinite => "skip_non_finite",
            Transform::Accumulate { .. } => "accumulate",
            Transform::ClipByValue { .. } => "clip_by_value",
            Transform::ClipByGlobalNorm { .. } => "clip_by_global_norm",
            Transform::WeightDecay { .. } => "weight_decay",
            Transform::Momentum { .. } => "momentum",
            Transform::Adam { .. } => "adam",
            Transform::RmsProp { .. } => "rms_prop",
            Transform::AdaGrad { .. } => "ada_grad",
            Transform::Lr => "lr",
            Transform::Custom { .. } => "custom",
        }
    }
}

impl Validate for Transform {
    type Error = Error;

    fn check(&self) -> Result<()> {
        match *self {
            Transform::SkipNonFinite | Transform::Lr => Ok(()),
            Transform::Custom { ref name, .. } => {
                if name.is_empty() {
                    return Err(Error::TransformName);
                }
                Ok(())
            }
            Transform::Accumulate { steps } => ensure(steps >= 1, "steps", "must be at least 1", steps as f64),
            Transform::ClipByValue { max } => ensure(max.is_finite() && max > 0.0, "max", "must be finite and > 0", max),
            Transform::ClipByGlobalNorm { max_norm } => ensure(max_norm.is_finite() && max_norm > 0.0, "max_norm", "must be finite and > 0", max_norm),
            Transform::WeightDecay { weight_decay } => check_weight_decay(weight_decay),
            Transform::Momentum { momentum, dampening, nesterov } => {
                if !(0.0..1.0).contains(&momentum) {
                    return Err(Error::Momentum(momentum));
                }
                if !(0.0..=1.0).contains(&dampening) {
                    return Err(Error::Dampening(dampening));
                }
                if nesterov && (momentum == 0.0 || dampening != 0.0) {
                    return Err(Error::Nesterov);
                }
                Ok(())
            }
            Transform::Adam { beta1, beta2, eps } => {
                check_beta("beta1", beta1)?;
                check_beta("beta2", beta2)?;
                check_eps(eps)
            }
            Transform::RmsProp { alpha, eps, momentum, .. } => {
                check_beta("alpha", alpha)?;
                check_eps(eps)?;
                if !(0.0..1.0).contains(&momentum) {
                    return Err(Error::Momentum(momentum));
                }
                Ok(())
            }
            Transform::AdaGrad { eps, initial_accumulator_value } => {
                check_eps(eps)?;
                ensure(
                    initial_accumulator_value.is_finite() && initial_accumulator_value >= 0.0,
                    "initial_accumulator_value",
                    "must be finite and >= 0",
                    initial_accumulator_value,
                )
            }
        }
    }
}

/// A different treatment for the parameters whose path matches `pattern` (`*` matches any run of
/// characters): frozen, another learning rate, or another chain. The first matching group wins; other
/// parameters follow the chain's own transforms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathGroup {
    /// Glob over parameter paths, e.g. `"layers.0.*"`.
    pub pattern: String,
    /// Never update these parameters.
    #[serde(default)]
    pub freeze: bool,
    /// Base learning rate for this group (default: the chain's).
    #[serde(default)]
    pub lr: Option<f64>,
    /// Transforms for this group (default: the chain's).
    #[serde(default)]
    pub transforms: Option<Vec<Transform>>,
}

impl PathGroup {
    /// A group that freezes the parameters matching `pattern`.
    pub fn freeze(pattern: impl Into<String>) -> Self {
        Self { pattern: pattern.into(), freeze: true, lr: None, transforms: None }
    }
}

/// A gradient optimiser as a chain of [`Transform`]s with a learning-rate [`Schedule`] and per-path groups.
///
/// Every preset ([`crate::OptimizerConfig`]'s `gd`, `sgd`, `adam`, ...) builds one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainConfig {
    /// Base learning rate.
    pub lr: f64,
    /// Transforms, in order; exactly one [`Transform::Lr`].
    pub transforms: Vec<Transform>,
    /// How the rate changes with the step.
    #[serde(default)]
    pub schedule: Schedule,
    /// Per-path treatments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<PathGroup>,
    /// Take each gradient over the whole training data (gradient descent proper).
    #[serde(default)]
    pub full_batch: bool,
    /// Train with differential privacy (DP-SGD): per-example clipping, Poisson sampling, Gaussian noise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::DpSgd>,
    /// Update the tables a model reads by row (embeddings, [`owm_core::Lookup`]) lazily: a step moves and
    /// traces only the rows its batch read, and every stage's state of the other rows waits (as
    /// `torch.optim.SparseAdam` and TensorFlow's `LazyAdam`; for plain SGD it is the dense update exactly).
    /// Other parameters, and gradients without rows (DP-SGD's noise reaches every row), update densely. A
    /// table's weight norm in the trace is then carried from step to step rather than re-measured.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lazy: bool,
}

impl ChainConfig {
    /// A chain of `transforms` at rate `lr`, constant schedule, no groups.
    pub fn new(lr: f64, transforms: Vec<Transform>) -> Self {
        Self { lr, transforms, schedule: Schedule::Constant, groups: Vec::new(), full_batch: false, privacy: None, lazy: false }
    }

    /// Sets the schedule.
    pub fn with_schedule(mut self, schedule: Schedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// Adds a path group.
    pub fn with_group(mut self, group: PathGroup) -> Self {
        self.groups.push(group);
        self
    }
}

fn check_chain(transforms: &[Transform]) -> Result<()> {
    let lrs = transforms.iter().filter(|t| matches!(t, Transform::Lr)).count();
    if lrs != 1 {
        return Err(Error::LearningRateStep(lrs));
    }
    for (i, t) in transforms.iter().enumerate() {
        t.check()?;
        let leading = transforms[..i].iter().all(|p| matches!(p, Transform::SkipNonFinite | Transform::Accumulate { .. }));
        if matches!(t, Transform::SkipNonFinite | Transform::Accumulate { .. }) && !leading {
            return Err(Error::TransformOrder(t.kind()));
        }
    }
    Ok(())
}

impl Validate for ChainConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_chain(&self.transforms)?;
        if self.lazy {
            crate::lazy::check_lazy(&self.transforms)?;
        }
        self.schedule.check()?;
        if let Some(dp) = &self.privacy {
            dp.check()?;
        }
        for (i, g) in self.groups.iter().enumerate() {
            if g.pattern.is_empty() {
                return Err(Error::EmptyPattern(i));
            }
            if let Some(lr) = g.lr {
                check_lr(lr)?;
            }
            if let Some(t) = &g.transforms {
                check_chain(t)?;
                if self.lazy {
                    crate::lazy::check_lazy(t)?;
                }
            }
        }
        Ok(())
    }
}

/// Settings every gradient preset accepts besides its own, written as extra fields of the preset
/// (`{"kind": "adam", "lr": 0.001, "clip_norm": 1.0, "schedule": {"kind": "cosine", "t_max": 1000}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ChainExtras {
    /// Learning-rate schedule (default constant).
    #[serde(default, skip_serializing_if = "is_constant")]
    pub schedule: Schedule,
    /// Clip the gradients' global norm to this (`clip_grad_norm_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
    /// Clip each gradient component to ±this (`clip_grad_value_`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_value: Option<f64>,
    /// Accumulate gradients over this many mini-batches per update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accumulate: Option<u64>,
    /// Skip a step whose gradient holds a NaN or an infinity.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_non_finite: bool,
    /// Per-path groups (freeze, another rate, another chain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<PathGroup>,
    /// Differential privacy (DP-SGD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<crate::DpSgd>,
    /// Lazy updates of embedding tables ([`ChainConfig::lazy`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lazy: bool,
}

fn is_constant(s: &Schedule) -> bool {
    *s == Schedule::Constant
}

impl ChainExtras {
    /// `core` (the preset's own transforms, ending in [`Transform::Lr`]) wrapped in these extras.
    pub fn wrap(&self, lr: f64, core: Vec<Transform>) -> ChainConfig {
        let mut transforms = Vec::new();
        if self.skip_non_finite {
            transforms.push(Transform::SkipNonFinite);
        }
        if let Some(steps) = self.accumulate {
            transforms.push(Transform::Accumulate { steps });
        }
        if let Some(max) = self.clip_value {
            transforms.push(Transform::ClipByValue { max });
        }
        if let Some(max_norm) = self.clip_norm {
            transforms.push(Transform::ClipByGlobalNorm { max_norm });
        }
        transforms.extend(core);
        ChainConfig {
            lr,
            transforms,
            schedule: self.schedule.clone(),
            groups: self.groups.clone(),
            full_batch: false,
            privacy: self.privacy.clone(),
            lazy: self.lazy,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_needs_one_lr_step() {
        let c = ChainConfig::new(0.1, vec![Transform::Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }]);
        assert!(matches!(c.check(), Err(Error::LearningRateStep(0))));
        let c = ChainConfig::new(0.1, vec![Transform::Lr, Transform::Lr]);
        assert!(matches!(c.check(), Err(Error::LearningRateStep(2))));
    }

    #[test]
    fn skipping_and_accumulating_come_first() {
        let c = ChainConfig::new(0.1, vec![Transform::Lr, Transform::SkipNonFinite]);
        assert!(matches!(c.check(), Err(Error::TransformOrder("skip_non_finite"))));
        let c = ChainConfig::new(0.1, vec![Transform::SkipNonFinite, Transform::Accumulate { steps: 2 }, Transform::Lr]);
        assert!(c.check().is_ok());
    }

    #[test]
    fn group_patterns_must_not_be_empty() {
        let c = ChainConfig::new(0.1, vec![Transform::Lr]).with_group(PathGroup::freeze(""));
        assert!(matches!(c.check(), Err(Error::EmptyPattern(0))));
    }

    #[test]
    fn clip_bounds_must_be_positive() {
        assert!(matches!(Transform::ClipByGlobalNorm { max_norm: 0.0 }.check(), Err(Error::Setting { name: "max_norm", .. })));
        assert!(matches!(Transform::ClipByValue { max: f64::NAN }.check(), Err(Error::Setting { name: "max", .. })));
    }

    #[test]
    fn accumulation_needs_a_step() {
        assert!(matches!(Transform::Accumulate { steps: 0 }.check(), Err(Error::Setting { name: "steps", .. })));
    }

    #[test]
    fn adagrad_accumulator_must_be_non_negative() {
        let t = Transform::AdaGrad { eps: 1e-10, initial_accumulator_value: -1.0 };
        assert!(matches!(t.check(), Err(Error::Setting { name: "initial_accumulator_value", .. })));
    }
}
