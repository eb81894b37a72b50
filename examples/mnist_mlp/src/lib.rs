//! An MLP (784 → 256 → 128 → 10) trained with Adam on MNIST IDX files, through the OWM pipeline.
//!
//! ```text
//! cargo run --release -p mnist_mlp -- --data-dir data/mnist
//! ```
//!
//! `data/mnist` holds `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`,
//! `t10k-images-idx3-ubyte[.gz]` and `t10k-labels-idx1-ubyte[.gz]` (Fashion-MNIST files work too, with
//! `--fashion`).

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
    /// Folder with the four MNIST IDX files.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Read the files as Fashion-MNIST.
    #[arg(long)]
    pub fashion: bool,
    /// Run folder.
    #[arg(long, default_value = "runs/mnist-mlp")]
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

/// The experiment this example runs.
pub fn experiment(config: &Config) -> ExperimentConfig {
    let dir = config.data_dir.clone();
    let source = if config.fashion { DataSource::FashionMnist { dir } } else { DataSource::Mnist { dir } };
    ExperimentConfig {
        name: "mnist-mlp".into(),
        seed: config.seed,
        backend: config.device.clone(),
        data: DataConfig { train_limit: config.train_limit, test_limit: config.test_limit, ..DataConfig::new(source) },
        model: ModelConfig::Mlp { hidden: vec![256, 128] },
        init: InitPlan::he_uniform(),
        transfer: None,
        privacy: None,
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-3)),
        batch_size: 128,
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
/// Missing or malformed data files (named with the byte offset), or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config), &config.out, !config.quiet)?)
}
