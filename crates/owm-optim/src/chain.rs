//! The runtime of a gradient chain: each transform's state on the device, keyed by group, transform and
//! parameter path, and one [`Optimizer`] step that fetches the gradient, runs the chain and traces it.

use std::collections::BTreeMap;

use burn::prelude::*;
use owm_core::{Control, Objective, ParamSet, StepRecord, TraceEvent, TraceSink, Validate, glob_match};
use serde::{Deserialize, Serialize};

use crate::search::{from_data, to_data};
use crate::{ChainConfig, Error, Optimizer, PlateauState, Result, StepContext, Stepped, Transform, layer_stats};

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

/// A state tensor on the host, for `Optimizer::state` (which cannot fail).
pub(crate) fn host(t: &Tensor<1>) -> Vec<f32> {
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
