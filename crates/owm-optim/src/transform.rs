use std::collections::BTreeMap;

use burn::prelude::*;
use owm_core::{Control, Objective, ParamSet, StepRecord, TraceEvent, TraceSink, Validate, glob_match};
use serde::{Deserialize, Serialize};

use crate::search::{from_data, to_data};

use crate::{Error, Optimizer, PlateauState, Result, Schedule, StepContext, Stepped, check_beta, check_eps, check_lr, check_weight_decay, ensure, layer_stats};

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
    fn name(&self) -> &'static str {
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
        }
    }
}

impl Validate for Transform {
    type Error = Error;

    fn check(&self) -> Result<()> {
        match *self {
            Transform::SkipNonFinite | Transform::Lr => Ok(()),
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
}

impl ChainConfig {
    /// A chain of `transforms` at rate `lr`, constant schedule, no groups.
    pub fn new(lr: f64, transforms: Vec<Transform>) -> Self {
        Self { lr, transforms, schedule: Schedule::Constant, groups: Vec::new(), full_batch: false, privacy: None }
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

    /// Puts `transform` at the front of every chain (the default one and each group's own), e.g. clipping.
    pub fn prepend(mut self, transform: Transform) -> Self {
        self.transforms.insert(0, transform.clone());
        for g in &mut self.groups {
            if let Some(t) = &mut g.transforms {
                t.insert(0, transform.clone());
            }
        }
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
            return Err(Error::TransformOrder(t.name()));
        }
    }
    Ok(())
}

impl Validate for ChainConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        check_lr(self.lr)?;
        check_chain(&self.transforms)?;
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
            }
        }
        Ok(())
    }
}

/// The runtime of a [`ChainConfig`]: its state is keyed by parameter path and serialisable.
#[derive(Debug, Clone)]
pub struct Chain {
    config: ChainConfig,
    name: String,
    /// `"{group}/{transform}/{path}/{slot}"` → tensor.
    slots: BTreeMap<String, Tensor<1>>,
    /// `"{group}/{transform}"` → how many times it ran (Adam's step, accumulation count).
    counts: BTreeMap<String, u64>,
    /// Updates applied so far: the scheduler step.
    updates: u64,
    plateau: Option<PlateauState>,
}

/// What a chain of transforms decided for one group.
enum Flow {
    Apply(Vec<Tensor<1>>),
    Skip,
}

/// The serialised state of a [`Chain`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ChainState {
    updates: u64,
    counts: BTreeMap<String, u64>,
    slots: BTreeMap<String, Vec<f32>>,
    plateau: Option<PlateauState>,
}

impl Chain {
    /// Builds the runtime after checking the config; `name` is what reports call it (`"adam"`).
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks.
    pub fn new(name: impl Into<String>, config: ChainConfig) -> Result<Self> {
        config.check()?;
        let plateau = config.schedule.plateau_state(config.lr);
        Ok(Self { config, name: name.into(), slots: BTreeMap::new(), counts: BTreeMap::new(), updates: 0, plateau })
    }

    /// The config.
    pub fn config(&self) -> &ChainConfig {
        &self.config
    }

    /// The learning rate the next update uses for a group of base rate `base`.
    pub fn current_lr(&self, base: f64) -> f64 {
        match &self.plateau {
            Some(p) => p.lr * base / self.config.lr,
            None => self.config.schedule.lr(base, self.updates),
        }
    }

    /// Path → slot name → values: the optimiser state at this step, read back to the host.
    pub fn inspect(&self) -> BTreeMap<String, Vec<f32>> {
        self.slots.iter().map(|(k, t)| (k.clone(), host(t))).collect()
    }

    fn group_of(&self, path: &str) -> usize {
        self.config.groups.iter().position(|g| glob_match(&g.pattern, path)).map_or(0, |i| i + 1)
    }

    #[allow(clippy::too_many_arguments)]
    #[allow(clippy::expect_used, reason = "an accumulation reads back the sums it stored just above")]
    fn run_group(
        &mut self,
        group: usize,
        transforms: &[Transform],
        base_lr: f64,
        paths: &[&str],
        params: &[Tensor<1>],
        mut updates: Vec<Tensor<1>>,
        notes: &mut Vec<String>,
    ) -> Flow {
        for (ti, t) in transforms.iter().enumerate() {
            let key = format!("{group}/{ti}");
            let slot = |path: &str, name: &str| format!("{group}/{ti}/{path}/{name}");
            match *t {
                Transform::SkipNonFinite => {
                    let bad: i64 = updates.iter().map(count_non_finite).sum();
                    if bad > 0 {
                        notes.push(format!("skipped: {bad} non-finite gradient values"));
                        return Flow::Skip;
                    }
                }
                Transform::Accumulate { steps } => {
                    let count = self.counts.entry(key).or_insert(0);
                    *count += 1;
                    let n = *count;
                    for (p, u) in paths.iter().zip(&updates) {
                        let s = slot(p, "sum");
                        let sum = match self.slots.remove(&s) {
                            Some(acc) => acc + u.clone(),
                            None => u.clone(),
                        };
                        self.slots.insert(s, sum);
                    }
                    if !n.is_multiple_of(steps) {
                        notes.push(format!("accumulating {}/{steps}", n % steps));
                        return Flow::Skip;
                    }
                    updates = paths.iter().map(|p| self.slots.remove(&slot(p, "sum")).expect("accumulated").div_scalar(steps as f64)).collect();
                }
                Transform::ClipByValue { max } => {
                    updates = updates.into_iter().map(|u| u.clamp(-max, max)).collect();
                }
                Transform::ClipByGlobalNorm { max_norm } => {
                    let total = updates.iter().map(|u| u.clone().square().sum()).reduce(|a, b| a + b);
                    let norm = total.map_or(0.0, |t| scalar(t).sqrt());
                    let coef = max_norm / (norm + 1e-6);
                    if coef < 1.0 {
                        notes.push(format!("clipped global norm {norm:.6} to {max_norm}"));
                        updates = updates.into_iter().map(|u| u.mul_scalar(coef)).collect();
                    }
                }
                Transform::WeightDecay { weight_decay } => {
                    if weight_decay > 0.0 {
                        updates = updates.into_iter().zip(params).map(|(u, w)| u + w.clone().mul_scalar(weight_decay)).collect();
                    }
                }
                Transform::Momentum { momentum, dampening, nesterov } => {
                    if momentum > 0.0 {
                        updates = paths
                            .iter()
                            .zip(updates)
                            .map(|(p, g)| {
                                let s = slot(p, "momentum");
                                let buf = match self.slots.remove(&s) {
                                    Some(b) => b.mul_scalar(momentum) + g.clone().mul_scalar(1.0 - dampening),
                                    None => g.clone(),
                                };
                                self.slots.insert(s, buf.clone());
                                if nesterov { g + buf.mul_scalar(momentum) } else { buf }
                            })
                            .collect();
                    }
                }
                Transform::Adam { beta1, beta2, eps } => {
                    let count = self.counts.entry(key).or_insert(0);
                    *count += 1;
                    let step = *count as i32;
                    let (bc1, bc2) = (1.0 - beta1.powi(step), 1.0 - beta2.powi(step));
                    let scalars =
                        crate::fused::AdamScalars { one_minus_beta1: 1.0 - beta1, beta2, one_minus_beta2: 1.0 - beta2, bc2_sqrt: bc2.sqrt(), bc1, eps };
                    updates = paths
                        .iter()
                        .zip(updates)
                        .map(|(p, g)| {
                            let (sm, sv) = (slot(p, "m"), slot(p, "v"));
                            let moments = self.slots.remove(&sm).zip(self.slots.remove(&sv));
                            // m ← m + (g − m)(1 − β₁), v ← β₂v + (1 − β₂)g², update m̂ / (√v̂ + ε).
                            let (update, m, v) = crate::fused::adam(g, moments, scalars);
                            self.slots.insert(sm, m);
                            self.slots.insert(sv, v);
                            update
                        })
                        .collect();
                }
                Transform::RmsProp { alpha, eps, centered, momentum } => {
                    updates = paths
                        .iter()
                        .zip(updates)
                        .map(|(p, g)| {
                            let (sv, sg, sb) = (slot(p, "square_avg"), slot(p, "grad_avg"), slot(p, "momentum"));
                            let g2 = g.clone().square().mul_scalar(1.0 - alpha);
                            let v = match self.slots.remove(&sv) {
                                Some(v) => v.mul_scalar(alpha) + g2,
                                None => g2,
                            };
                            self.slots.insert(sv, v.clone());
                            let avg = if centered {
                                let ga = match self.slots.remove(&sg) {
                                    Some(a) => a.clone() + (g.clone() - a).mul_scalar(1.0 - alpha),
                                    None => g.clone().mul_scalar(1.0 - alpha),
                                };
                                self.slots.insert(sg, ga.clone());
                                (v - ga.square()).sqrt().add_scalar(eps)
                            } else {
                                v.sqrt().add_scalar(eps)
                            };
                            if momentum > 0.0 {
                                let step = g / avg;
                                let buf = match self.slots.remove(&sb) {
                                    Some(b) => b.mul_scalar(momentum) + step,
                                    None => step,
                                };
                                self.slots.insert(sb, buf.clone());
                                buf
                            } else {
                                g / avg
                            }
                        })
                        .collect();
                }
                Transform::AdaGrad { eps, initial_accumulator_value } => {
                    updates = paths
                        .iter()
                        .zip(updates)
                        .map(|(p, g)| {
                            let s = slot(p, "sum");
                            let sum = match self.slots.remove(&s) {
                                Some(acc) => acc + g.clone().square(),
                                None => g.clone().square().add_scalar(initial_accumulator_value),
                            };
                            self.slots.insert(s, sum.clone());
                            g / sum.sqrt().add_scalar(eps)
                        })
                        .collect();
                }
                Transform::Lr => {
                    let lr = self.current_lr(base_lr);
                    updates = updates.into_iter().map(|u| u.mul_scalar(-lr)).collect();
                }
            }
        }
        Flow::Apply(updates)
    }
}

// A read that fails (a remote device whose server stopped) counts as non-finite or NaN here, without a panic; the
// step's next read returns the device's error.
fn count_non_finite(t: &Tensor<1>) -> i64 {
    let n = t.clone().is_nan().int().sum() + t.clone().is_inf().int().sum();
    owm_core::device_scalar(n).map_or(1, |v| v as i64)
}

fn scalar(t: Tensor<1>) -> f64 {
    owm_core::device_scalar(t).unwrap_or(f64::NAN)
}

fn host(t: &Tensor<1>) -> Vec<f32> {
    owm_core::host_f32(t.clone().into_data())
}

impl Optimizer for Chain {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn settings(&self) -> serde_json::Value {
        to_data(&self.config)
    }

    fn full_batch(&self) -> bool {
        self.config.full_batch
    }

    fn step(&mut self, params: ParamSet, objective: &mut dyn Objective, ctx: StepContext, sink: &mut dyn TraceSink) -> Result<Stepped> {
        let (gradient, privacy) = match &self.config.privacy {
            Some(dp) => dp.gradient(&params, objective, ctx.step).map(|(g, p)| (g, Some(p)))?,
            None => (objective.gradient(&params)?, None),
        };
        if gradient.grads.len() != params.len() {
            return Err(Error::Dimension { expected: params.len(), got: gradient.grads.len() });
        }
        if !gradient.loss.is_finite() {
            return Ok(Stepped::from_gradient(params, &gradient, false, Control::Continue));
        }
        let metas = params.metas().to_vec();
        let values = params.tensors().to_vec();
        let mut new_values = values.clone();
        let mut notes = Vec::new();
        let lr = self.current_lr(self.config.lr);
        let mut applied = false;
        let group_of: Vec<usize> = metas.iter().map(|m| self.group_of(&m.path)).collect();
        for group in 0..=self.config.groups.len() {
            let (transforms, base_lr) = match group {
                0 => (self.config.transforms.clone(), self.config.lr),
                g => {
                    let pg = &self.config.groups[g - 1];
                    if pg.freeze {
                        continue;
                    }
                    (pg.transforms.clone().unwrap_or_else(|| self.config.transforms.clone()), pg.lr.unwrap_or(self.config.lr))
                }
            };
            let members: Vec<usize> = (0..metas.len()).filter(|&i| gradient.grads[i].is_some() && group_of[i] == group).collect();
            if members.is_empty() {
                continue;
            }
            let paths: Vec<&str> = members.iter().map(|&i| metas[i].path.as_str()).collect();
            let ws: Vec<Tensor<1>> = members.iter().map(|&i| values[i].clone()).collect();
            let gs: Vec<Tensor<1>> = members.iter().filter_map(|&i| gradient.grads[i].clone()).collect();
            if let Flow::Apply(updates) = self.run_group(group, &transforms, base_lr, &paths, &ws, gs, &mut notes) {
                applied = true;
                for (&i, u) in members.iter().zip(updates) {
                    new_values[i] = values[i].clone() + u;
                }
            }
        }
        if applied {
            self.updates += 1;
        }
        let layers = if ctx.layer_stats {
            let named = |v: &[Tensor<1>]| metas.iter().zip(v).map(|(m, t)| (m.path.clone(), t.clone())).collect::<Vec<_>>();
            let grads = metas.iter().zip(&gradient.grads).map(|(m, g)| (m.path.clone(), g.clone())).collect();
            layer_stats(named(&values), grads, named(&new_values))?
        } else {
            Vec::new()
        };
        let group_lrs =
            self.config.groups.iter().map(|g| (g.pattern.clone(), if g.freeze { 0.0 } else { self.current_lr(g.lr.unwrap_or(self.config.lr)) })).collect();
        let record = StepRecord { group_lrs, layers, notes, privacy, ..StepRecord::from_gradient(ctx.step, &gradient, lr) };
        let control = sink.on_event(&TraceEvent::Step(record))?;
        Ok(Stepped::from_gradient(params.with_tensors(new_values)?, &gradient, applied, control))
    }

    fn end_round(&mut self, loss: f64) {
        if let Some(p) = &mut self.plateau {
            p.observe(&self.config.schedule, loss);
        }
    }

    fn state(&self) -> serde_json::Value {
        let state = ChainState { updates: self.updates, counts: self.counts.clone(), slots: self.inspect(), plateau: self.plateau.clone() };
        to_data(&state)
    }

    fn load_state(&mut self, state: &serde_json::Value, params: &ParamSet) -> Result<()> {
        let state: ChainState = from_data(state)?;
        let device = params.device().unwrap_or_else(Device::flex);
        let mut slots = BTreeMap::new();
        for (key, values) in state.slots {
            // Keys are `{group}/{transform}/{path}/{slot}`; the path must be one of these weights, the length its size.
            let path = key.splitn(3, '/').nth(2).and_then(|rest| rest.rsplit_once('/')).map(|(path, _)| path);
            let numel = path.and_then(|p| params.metas().iter().find(|m| m.path == p)).map(|m| m.shape.iter().product::<usize>());
            if numel != Some(values.len()) {
                return Err(Error::State(format!("slot `{key}` ({} values) matches no parameter of that size", values.len())));
            }
            let n = values.len();
            slots.insert(key, Tensor::<1>::from_data(TensorData::new(values, [n]), &device));
        }
        self.slots = slots;
        self.counts = state.counts;
        self.updates = state.updates;
        self.plateau = state.plateau;
        Ok(())
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
        ChainConfig { lr, transforms, schedule: self.schedule.clone(), groups: self.groups.clone(), full_batch: false, privacy: self.privacy.clone() }
    }
}
