//! A user-written optimiser plugged into OWM's pipeline through the library API.
//!
//! [`Lion`] (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675) is not one
//! of OWM's built-ins. It implements [`owm::optim::Optimizer`] outside the crate: it asks the objective for a
//! mini-batch gradient, updates the weights path by path, keeps its momentum keyed by parameter path (so it
//! serialises and resumes), and traces each step like the built-ins do. [`run`] hands it to
//! [`owm::train::train_with`] as a phase; the run folder, trace, evaluation and bundle come out as for any
//! built-in optimiser.

use std::collections::BTreeMap;
use std::path::Path;

use owm::burn::prelude::*;
use owm::core::{Objective, ParamSet, StepRecord, TraceEvent, TraceSink};
use owm::optim::{ConvergenceConfig, Optimizer, StepContext, Stepped};
use owm::train::{ExperimentConfig, Phase, RunReport, TrainOptions, train_with};

/// Lion: `c = β₁·m + (1 − β₁)·g`, `w ← w − lr·(sign(c) + λ·w)`, `m ← β₂·m + (1 − β₂)·g`.
pub struct Lion {
    /// Learning rate.
    pub lr: f64,
    /// Interpolation factor of the update direction.
    pub beta1: f64,
    /// Decay of the momentum.
    pub beta2: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    momentum: BTreeMap<String, Tensor<1>>,
}

impl Lion {
    /// Lion with the paper's defaults for β (0.9, 0.99).
    pub fn new(lr: f64, weight_decay: f64) -> Self {
        Self { lr, beta1: 0.9, beta2: 0.99, weight_decay, momentum: BTreeMap::new() }
    }
}

impl Optimizer for Lion {
    fn name(&self) -> String {
        "lion".into()
    }

    fn settings(&self) -> serde_json::Value {
        serde_json::json!({ "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "weight_decay": self.weight_decay })
    }

    fn step(&mut self, params: ParamSet, objective: &mut dyn Objective, ctx: StepContext, sink: &mut dyn TraceSink) -> owm::optim::Result<Stepped> {
        let gradient = objective.gradient(&params)?;
        let mut values = params.tensors().to_vec();
        if gradient.loss.is_finite() {
            for ((meta, w), g) in params.metas().iter().zip(&mut values).zip(&gradient.grads) {
                let Some(g) = g else { continue };
                let m = self.momentum.remove(&meta.path).unwrap_or_else(|| g.zeros_like());
                let direction = (m.clone().mul_scalar(self.beta1) + g.clone().mul_scalar(1.0 - self.beta1)).sign();
                *w = w.clone() - (direction + w.clone().mul_scalar(self.weight_decay)).mul_scalar(self.lr);
                self.momentum.insert(meta.path.clone(), m.mul_scalar(self.beta2) + g.clone().mul_scalar(1.0 - self.beta2));
            }
        }
        let record = StepRecord::from_gradient(ctx.step, &gradient, self.lr);
        let control = sink.on_event(&TraceEvent::Step(record))?;
        Ok(Stepped::from_gradient(params.with_tensors(values)?, &gradient, gradient.loss.is_finite(), control))
    }

    fn state(&self) -> serde_json::Value {
        let host = |t: &Tensor<1>| t.clone().into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default();
        serde_json::json!(self.momentum.iter().map(|(k, t)| (k.clone(), host(t))).collect::<BTreeMap<_, _>>())
    }

    fn load_state(&mut self, state: &serde_json::Value, params: &ParamSet) -> owm::optim::Result<()> {
        let saved: BTreeMap<String, Vec<f32>> = serde_json::from_value(state.clone()).map_err(|e| owm::optim::Error::State(e.to_string()))?;
        let device = params.device().unwrap_or_else(Device::flex);
        let mut momentum = BTreeMap::new();
        for (path, v) in saved {
            // A saved state is untrusted input: each momentum must belong to a weight of its size.
            let meta = params.metas().iter().find(|m| m.path == path && m.shape.iter().product::<usize>() == v.len());
            if meta.is_none() {
                return Err(owm::optim::Error::State(format!("momentum `{path}` fits no parameter")));
            }
            let n = v.len();
            momentum.insert(path, Tensor::<1>::from_data(TensorData::new(v, [n]), &device));
        }
        self.momentum = momentum;
        Ok(())
    }
}

/// Trains the default MLP on the embedded digits with Lion for `epochs` epochs into `run_dir`, on the CPU.
///
/// # Errors
///
/// Any pipeline error.
pub fn run(run_dir: &Path, epochs: u64) -> anyhow::Result<RunReport> {
    run_on(run_dir, epochs, owm::core::BackendKind::Flex)
}

/// [`run`] on `backend`.
///
/// # Errors
///
/// Any pipeline error, or a backend that is not compiled in.
pub fn run_on(run_dir: &Path, epochs: u64, backend: owm::core::BackendKind) -> anyhow::Result<RunReport> {
    let until = ConvergenceConfig::epochs(epochs);
    let config = ExperimentConfig { name: "digits-mlp-lion".into(), backend, convergence: until.clone(), ..ExperimentConfig::default() };
    let phases = vec![Phase::new(Box::new(Lion::new(3e-4, 0.01)), until)];
    Ok(train_with(&config, run_dir, TrainOptions { progress: true, phases: Some(phases), ..TrainOptions::default() })?)
}
