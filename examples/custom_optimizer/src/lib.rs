//! A user-written optimiser plugged into OWM's pipeline through the library API.
//!
//! [`Lion`] (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms", arXiv:2302.06675) is not one
//! of OWM's built-ins. It is written as an [`UpdateRule`]: the new value of one parameter from its value,
//! gradient and momentum. [`RuleOptimizer`] runs it like a built-in optimiser: it fetches the gradients,
//! keeps the momentum keyed by parameter path (so it serialises and resumes), computes the per-layer
//! statistics and writes the step records. [`run`] hands it to [`owm::train::train_with`] as a phase; the
//! run folder, trace, evaluation and bundle come out as for any built-in optimiser, and the manifest and the
//! recorded config name Lion.

use std::path::Path;

use owm::burn::prelude::*;
use owm::optim::{ConvergenceConfig, RuleOptimizer, Slots, UpdateRule};
use owm::train::{ExperimentConfig, Phase, RunReport, TrainOptions, train_with};
use serde::Serialize;

/// Lion: `c = β₁·m + (1 − β₁)·g`, `w ← w − lr·(sign(c) + λ·w)`, `m ← β₂·m + (1 − β₂)·g`.
#[derive(Debug, Clone, Serialize)]
pub struct Lion {
    /// Learning rate.
    pub lr: f64,
    /// Interpolation factor of the update direction (the paper's 0.9).
    pub beta1: f64,
    /// Decay of the momentum (the paper's 0.99).
    pub beta2: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
}

impl UpdateRule for Lion {
    fn update(&self, w: Tensor<1>, g: Tensor<1>, state: &mut Slots<'_>) -> Tensor<1> {
        let m = state.take("momentum");
        let direction = (m.clone().mul_scalar(self.beta1) + g.clone().mul_scalar(1.0 - self.beta1)).sign();
        state.put("momentum", m.mul_scalar(self.beta2) + g.mul_scalar(1.0 - self.beta2));
        w.clone() - (direction + w.mul_scalar(self.weight_decay)).mul_scalar(self.lr)
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
    let lion = Lion { lr: 3e-4, beta1: 0.9, beta2: 0.99, weight_decay: 0.01 };
    let phases = vec![Phase::new(Box::new(RuleOptimizer::new(lion)), until)];
    Ok(train_with(&config, run_dir, TrainOptions { progress: true, phases: Some(phases), ..TrainOptions::default() })?)
}
