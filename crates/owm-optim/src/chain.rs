//! The runtime of a gradient chain: each transform's state on the device, keyed by group, transform and
//! parameter path, and one [`Optimizer`] step that fetches the gradient, runs the chain and traces it.

use std::collections::BTreeMap;
use std::sync::Arc;

use burn::prelude::*;
use owm_core::serde_float::Packed;
use owm_core::{Control, LayerStats, Objective, ParamMeta, ParamSet, StepRecord, TableRows, TraceEvent, TraceSink, Validate, glob_match};
use serde::{Deserialize, Serialize};

use crate::gradient_transform::ChainSlots;
use crate::optimizer::{SUMS, read_sums, stats_of};
use crate::search::{from_data, to_data};
use crate::{ChainConfig, Error, Flow, GradientTransform, Optimizer, PlateauState, Result, StepContext, Stepped, Transform, TransformContext};

/// The runtime of a [`ChainConfig`]: its state is keyed by parameter path and serialisable.
#[derive(Debug, Clone)]
pub struct Chain {
    config: ChainConfig,
    name: String,
    /// The stages of the default chain (index 0) and of each path group (index `g + 1`; empty when frozen).
    stages: Vec<Vec<Arc<dyn GradientTransform>>>,
    /// `"{group}/{transform}/{path}/{slot}"` → tensor.
    slots: BTreeMap<String, Tensor<1>>,
    /// `"{group}/{transform}"` → how many times it ran (Adam's step, accumulation count).
    counts: BTreeMap<String, u64>,
    /// Updates applied so far: the scheduler step.
    updates: u64,
    plateau: Option<PlateauState>,
    /// ‖w‖² of each lazily updated table, carried from step to step (see [`Chain::layer_stats`]).
    norms: BTreeMap<String, f64>,
}

/// The serialised state of a [`Chain`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ChainState {
    updates: u64,
    counts: BTreeMap<String, u64>,
    slots: BTreeMap<String, Packed>,
    plateau: Option<PlateauState>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    norms: BTreeMap<String, f64>,
}

impl Chain {
    /// Builds the runtime after checking the config; `name` is what reports call it (`"adam"`).
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks.
    pub fn new(name: impl Into<String>, config: ChainConfig) -> Result<Self> {
        Self::with_transforms(name, config, Vec::new())
    }

    /// Builds the runtime of a chain whose config records user transforms ([`Transform::custom`]): each
    /// [`Transform::Custom`] runs the implementation in `custom` of that name, which must have the recorded
    /// settings.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks;
    /// [`Error::CustomTransform`] for a recorded transform with no implementation, and
    /// [`Error::TransformSettings`] for one whose settings differ from the record.
    pub fn with_transforms(name: impl Into<String>, config: ChainConfig, custom: Vec<Arc<dyn GradientTransform>>) -> Result<Self> {
        config.check()?;
        let resolve = |transforms: &[Transform]| -> Result<Vec<Arc<dyn GradientTransform>>> { transforms.iter().map(|t| stage(t, &custom)).collect() };
        let mut stages = vec![resolve(&config.transforms)?];
        for g in &config.groups {
            stages.push(if g.freeze { Vec::new() } else { resolve(g.transforms.as_deref().unwrap_or(&config.transforms))? });
        }
        let plateau = config.schedule.plateau_state(config.lr);
        Ok(Self { config, name: name.into(), stages, slots: BTreeMap::new(), counts: BTreeMap::new(), updates: 0, plateau, norms: BTreeMap::new() })
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

    /// Runs group `group`'s stages over its updates.
    fn run_group(
        &mut self,
        group: usize,
        base_lr: f64,
        members: (&[&str], &[Tensor<1>], &[Option<TableRows>]),
        mut updates: Vec<Tensor<1>>,
        notes: &mut Vec<String>,
    ) -> Result<Flow> {
        let lr = self.current_lr(base_lr);
        for (i, stage) in self.stages[group].iter().enumerate() {
            let state = ChainSlots { slots: &mut self.slots, counts: &mut self.counts, notes };
            match stage.update(updates, &mut TransformContext::new(group, i, members, lr, state))? {
                Flow::Apply(next) => updates = next,
                Flow::Skip => return Ok(Flow::Skip),
            }
        }
        Ok(Flow::Apply(updates))
    }
}

impl Chain {
    /// The step's per-layer statistics. `values` and `ws` are the weights before the step, whole and as the
    /// chain worked on them; `gs` and `new_ws` the gradient and the weights after, as the chain worked on
    /// them. A lazy table's sums come from its rows alone, but for its weight norm, which is carried: measured
    /// in full when the chain has none, then moved by the rows that changed.
    fn layer_stats(
        &mut self,
        metas: &[ParamMeta],
        rows: &[Option<TableRows>],
        (values, ws): (&[Tensor<1>], &[Tensor<1>]),
        gs: &[Option<Tensor<1>>],
        new_ws: &[Tensor<1>],
    ) -> Result<Vec<LayerStats>> {
        if metas.is_empty() {
            return Ok(Vec::new());
        }
        let mut sums: Vec<Tensor<1>> = (0..metas.len()).map(|i| crate::fused::layer_sums(&ws[i], gs[i].as_ref(), &new_ws[i])).collect();
        let unmeasured: Vec<usize> = (0..metas.len()).filter(|&i| rows[i].is_some() && !self.norms.contains_key(&metas[i].path)).collect();
        sums.extend(unmeasured.iter().map(|&i| crate::fused::layer_sums(&values[i], Some(&values[i]), &values[i])));
        let mut v = read_sums(sums, &metas[0].path)?;
        let (v, measured) = v.split_at_mut(metas.len() * SUMS);
        for (&i, m) in unmeasured.iter().zip(measured.chunks_exact(SUMS)) {
            self.norms.insert(metas[i].path.clone(), m[3]);
        }
        let mut stats = Vec::with_capacity(metas.len());
        for (i, (meta, v)) in metas.iter().zip(v.chunks_exact_mut(SUMS)).enumerate() {
            if rows[i].is_some() {
                // ‖w‖² of the whole table: the carried value, less the read rows' old squares, plus their new ones.
                let before = self.norms.get(&meta.path).copied().unwrap_or(0.0);
                let after = (before - v[3] + v[1]).max(0.0);
                (v[1], v[3]) = (after, before);
                self.norms.insert(meta.path.clone(), after);
            }
            stats.push(stats_of(meta.path.clone(), v, meta.shape.iter().product()));
        }
        Ok(stats)
    }
}

/// The stage that runs `t`: itself when built in, the implementation of its name in `custom` otherwise.
fn stage(t: &Transform, custom: &[Arc<dyn GradientTransform>]) -> Result<Arc<dyn GradientTransform>> {
    let Transform::Custom { name, settings } = t else {
        return Ok(Arc::new(t.clone()));
    };
    let found = custom.iter().find(|c| c.name() == *name).ok_or_else(|| Error::CustomTransform(name.clone()))?;
    let given = found.settings();
    if given != *settings {
        return Err(Error::TransformSettings { name: name.clone(), recorded: settings.to_string(), given: given.to_string() });
    }
    Ok(Arc::clone(found))
}

/// Each slot's values packed for the state's JSON.
fn packed(slots: BTreeMap<String, Vec<f32>>) -> BTreeMap<String, Packed> {
    slots.into_iter().map(|(k, v)| (k, Packed(v))).collect()
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
        let device = params.device().unwrap_or_else(Device::flex);
        // What the chain works on: each weight and gradient whole, or, lazily, a table's rows the batch read.
        let (rows, gs) = if self.config.lazy {
            let rows = gradient.table_rows(&metas, &device)?;
            // A table whose batch read no rows has nothing to update.
            let named = |i: usize| matches!(gradient.rows.get(i), Some(Some(_)));
            let gs = gradient.grads.iter().enumerate().map(|(i, g)| g.clone().filter(|_| rows[i].is_some() || !named(i))).collect();
            (rows, gs)
        } else {
            (vec![None; metas.len()], gradient.dense(&metas, &device)?)
        };
        let values = params.into_tensors();
        let ws: Vec<Tensor<1>> = values.iter().zip(&rows).map(|(w, r)| r.as_ref().map_or_else(|| w.clone(), |r| r.gather(w))).collect();
        let mut new_ws = ws.clone();
        let mut notes = Vec::new();
        let lr = self.current_lr(self.config.lr);
        let mut applied = false;
        let group_of: Vec<usize> = metas.iter().map(|m| self.group_of(&m.path)).collect();
        for group in 0..self.stages.len() {
            if self.stages[group].is_empty() {
                continue;
            }
            let base_lr = if group == 0 { self.config.lr } else { self.config.groups[group - 1].lr.unwrap_or(self.config.lr) };
            let members: Vec<usize> = (0..metas.len()).filter(|&i| gs[i].is_some() && group_of[i] == group).collect();
            if members.is_empty() {
                continue;
            }
            let paths: Vec<&str> = members.iter().map(|&i| metas[i].path.as_str()).collect();
            let member_ws: Vec<Tensor<1>> = members.iter().map(|&i| ws[i].clone()).collect();
            let member_rows: Vec<_> = members.iter().map(|&i| rows[i].clone()).collect();
            let member_gs: Vec<Tensor<1>> = members.iter().filter_map(|&i| gs[i].clone()).collect();
            if let Flow::Apply(updates) = self.run_group(group, base_lr, (&paths, &member_ws, &member_rows), member_gs, &mut notes)? {
                applied = true;
                for (&i, u) in members.iter().zip(updates) {
                    new_ws[i] = ws[i].clone() + u;
                }
            }
        }
        if applied {
            self.updates += 1;
        }
        let layers = if ctx.layer_stats {
            self.layer_stats(&metas, &rows, (&values, &ws), &gs, &new_ws)?
        } else {
            // A table's carried norm holds only while every step adds to it: it is measured afresh next time.
            metas.iter().zip(&rows).filter(|(_, r)| r.is_some()).for_each(|(m, _)| _ = self.norms.remove(&m.path));
            Vec::new()
        };
        // A lazy table gets its new rows written back, in place where nothing else holds it.
        drop(ws);
        let new_values: Vec<Tensor<1>> = values
            .into_iter()
            .zip(new_ws)
            .zip(&rows)
            .map(|((full, new), r)| match r {
                Some(r) => r.scatter(full, new),
                None => new,
            })
            .collect();
        let group_lrs =
            self.config.groups.iter().map(|g| (g.pattern.clone(), if g.freeze { 0.0 } else { self.current_lr(g.lr.unwrap_or(self.config.lr)) })).collect();
        let record = StepRecord { group_lrs, layers, notes, privacy, ..StepRecord::from_gradient(ctx.step, &gradient, lr) };
        let control = sink.on_event(&TraceEvent::Step(record))?;
        Ok(Stepped::from_gradient(ParamSet::new(metas, new_values)?, &gradient, applied, control))
    }

    fn end_round(&mut self, loss: f64) {
        if let Some(p) = &mut self.plateau {
            p.observe(&self.config.schedule, loss);
        }
    }

    fn state(&self) -> serde_json::Value {
        let state = ChainState {
            updates: self.updates,
            counts: self.counts.clone(),
            slots: packed(self.inspect()),
            plateau: self.plateau.clone(),
            norms: self.norms.clone(),
        };
        to_data(&state)
    }

    fn load_state(&mut self, state: &serde_json::Value, params: &ParamSet) -> Result<()> {
        let state: ChainState = from_data(state)?;
        let device = params.device().unwrap_or_else(Device::flex);
        let mut slots = BTreeMap::new();
        for (key, Packed(values)) in state.slots {
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
        self.norms = state.norms;
        Ok(())
    }
}
