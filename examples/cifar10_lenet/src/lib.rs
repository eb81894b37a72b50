//! The reference recipe: LeNet-5 trained with Adam (lr 0.001, batch 64, 10 epochs) on CIFAR-10 binary
//! batches, through the OWM pipeline.
//!
//! ```text
//! cargo run --release -p cifar10_lenet -- --data-dir data/cifar-10-batches-bin
//! ```

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::{DataConfig, DataSource};
use owm::init::InitPlan;
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::train::{ExperimentConfig, RunReport};

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// `cifar-10-batches-bin` or its parent folder.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Run folder.
    #[arg(long, default_value = "runs/cifar10-lenet")]
    pub out: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: u64,
    /// Use only the first N training images.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Use only the first N test images.
    #[arg(long)]
    pub test_limit: Option<usize>,
    /// Backend: cpu, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: BackendKind,
    /// Root seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The experiment this example runs: the reference recipe.
pub fn experiment(config: &Config) -> ExperimentConfig {
    ExperimentConfig {
        name: "cifar10-lenet".into(),
        seed: config.seed,
        backend: config.device.clone(),
        data: DataConfig {
            train_limit: config.train_limit,
            test_limit: config.test_limit,
            ..DataConfig::new(DataSource::Cifar10 { dir: config.data_dir.clone() })
        },
        model: ModelConfig::LeNet5 { conv1_padding: 0 },
        init: InitPlan::he_uniform(),
        transfer: None,
        privacy: None,
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-3)),
        batch_size: 64,
        convergence: ConvergenceConfig::epochs(config.epochs),
        then: Vec::new(),
        normalize: true,
        normalize_by: owm::data::NormalizeBy::Feature,
        trace: owm::train::TraceConfig::default(),
        licenses: Default::default(),
    }
}

/// Trains and evaluates, writing the run folder and bundle.
///
/// # Errors
///
/// Missing or malformed batch files (named with the byte offset), or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config), &config.out, !config.quiet)?)
}
