//! A model and an optimiser that are not OWM's, trained through OWM's pipeline with everything a built-in
//! model gets.
//!
//! [`ResidualMlp`] is an ordinary `#[derive(Module)]` struct (a linear stem, one residual block with layer
//! norm, a linear head) that implements [`owm::models::Model`]. [`Signum`] (signSGD with momentum, Bernstein
//! et al., 2018, "signSGD: Compressed Optimisation for Non-Convex Problems", arXiv:1802.04434) is an
//! [`owm::optim::UpdateRule`]. [`run`] trains one with the other through [`owm::train::train_model`]: the
//! init plan by parameter path, per-layer statistics at every step, checkpoints and resume, the evaluation
//! and a bundle that `owm verify` checks and `owm eval` accepts (the manifest records the module tree and
//! parameter shapes; OWM cannot rebuild user code, so re-evaluation goes through
//! [`owm::train::evaluate_bundle_into`]).

use std::path::{Path, PathBuf};

// Burn's derive names `burn::…`: the facade's re-export serves, so the example needs no Burn dependency.
use owm::burn;
use owm::burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use owm::burn::prelude::*;
use owm::burn::tensor::activation::relu;
use owm::core::{BackendKind, Input, InputSpec};
use owm::optim::{ConvergenceConfig, RuleOptimizer, Slots, UpdateRule};
use owm::train::{ExperimentConfig, Phase, RunReport, TrainOptions, train_model};
use serde::Serialize;

/// `x → stem → ReLU → x + block(LayerNorm(x)) → head`: an MLP with one residual block.
#[derive(Module, Debug)]
pub struct ResidualMlp {
    /// Input features to the hidden width.
    pub stem: Linear,
    /// Normalises the block's input.
    pub norm: LayerNorm,
    /// The residual branch.
    pub block: Linear,
    /// Hidden width to logits.
    pub head: Linear,
}

impl ResidualMlp {
    /// A network from `inputs` features through `hidden` units to `outputs` logits, on `device`.
    pub fn new(inputs: usize, hidden: usize, outputs: usize, device: &Device) -> Self {
        Self {
            stem: LinearConfig::new(inputs, hidden).init(device),
            norm: LayerNormConfig::new(hidden).init(device),
            block: LinearConfig::new(hidden, hidden).init(device),
            head: LinearConfig::new(hidden, outputs).init(device),
        }
    }
}

impl owm::models::Model for ResidualMlp {
    fn forward(&self, input: Input) -> Tensor<2> {
        let x = match input {
            Input::Dense(x) => x,
            Input::Image(x) => x.flatten(1, 3),
            other => panic!("ResidualMlp reads features or images, not {}", other.kind()),
        };
        let x = relu(self.stem.forward(x));
        let x = x.clone() + relu(self.block.forward(self.norm.forward(x)));
        self.head.forward(x)
    }
}

/// signSGD with momentum: `m ← β·m + (1 − β)·g`, `w ← w − lr·sign(m)`.
#[derive(Debug, Clone, Serialize)]
pub struct Signum {
    /// Learning rate.
    pub lr: f64,
    /// Momentum.
    pub beta: f64,
}

impl UpdateRule for Signum {
    fn update(&self, w: Tensor<1>, g: Tensor<1>, state: &mut Slots<'_>) -> Tensor<1> {
        let m = state.take("momentum").mul_scalar(self.beta) + g.mul_scalar(1.0 - self.beta);
        state.put("momentum", m.clone());
        w - m.sign().mul_scalar(self.lr)
    }
}

/// What to train and where.
#[derive(Debug, Clone)]
pub struct Config {
    /// The run folder.
    pub out: PathBuf,
    /// Hidden units.
    pub hidden: usize,
    /// Epoch budget.
    pub epochs: u64,
    /// A checkpoint every this many steps.
    pub checkpoint_every: u64,
    /// Continue the run in `out` from its checkpoint (a run that was killed).
    pub resume: bool,
    /// Backend.
    pub device: BackendKind,
    /// Root seed.
    pub seed: u64,
    /// No progress bar.
    pub quiet: bool,
}

impl Default for Config {
    fn default() -> Self {
        let out = "runs/digits-residual-mlp-signum".into();
        Self { out, hidden: 64, epochs: 15, checkpoint_every: 50, resume: false, device: BackendKind::Flex, seed: 42, quiet: false }
    }
}

/// The experiment: the embedded digits, `config.epochs` of Signum (lr 3e-3, β 0.9), batch 32.
pub fn experiment(config: &Config) -> ExperimentConfig {
    let mut experiment = ExperimentConfig {
        name: "digits-residual-mlp-signum".into(),
        seed: config.seed,
        backend: config.device.clone(),
        convergence: ConvergenceConfig::epochs(config.epochs),
        ..ExperimentConfig::default()
    };
    experiment.trace.checkpoint_every = config.checkpoint_every;
    experiment
}

/// Trains [`ResidualMlp`] with [`Signum`] on the embedded digits into `config.out` (or continues it there).
///
/// # Errors
///
/// Any pipeline error, e.g. a run folder that exists (without `resume`) or a checkpoint that does not fit.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    let experiment = experiment(config);
    let signum = Signum { lr: 3e-3, beta: 0.9 };
    let phases = vec![Phase::new(Box::new(RuleOptimizer::new(signum)), experiment.convergence.clone())];
    let checkpoint = config.out.join(owm::train::files::CHECKPOINT);
    let resume = (config.resume && checkpoint.is_file()).then_some(checkpoint);
    if config.resume && resume.is_none() && config.out.exists() {
        // Killed before its first checkpoint: nothing to continue from, so the run starts again.
        std::fs::remove_dir_all(&config.out)?;
    }
    let hidden = config.hidden;
    let build = |input: &InputSpec, outputs: usize, device: &Device| ResidualMlp::new(input.item_len(), hidden, outputs, device);
    // On the tensor kernels' pool, as `owm train` runs (see `owm::train::on_pool`).
    Ok(owm::train::on_pool(|| {
        let options = TrainOptions { progress: !config.quiet, phases: Some(phases), resume, ..TrainOptions::default() };
        train_model(&experiment, &config.out, options, build)
    })?)
}

/// Evaluates the bundle of a run of [`run`] again, on `device`: the weights loaded into a fresh
/// [`ResidualMlp`] of `hidden` units.
///
/// # Errors
///
/// A bundle that does not verify or does not fit the model, or a data error.
pub fn evaluate(bundle: &Path, hidden: usize, device: &BackendKind) -> anyhow::Result<owm::train::BundleEvaluation> {
    let device = device.device()?;
    let model = ResidualMlp::new(64, hidden, 10, &device);
    Ok(owm::train::evaluate_bundle_into(bundle, model, &device, None, None)?)
}
