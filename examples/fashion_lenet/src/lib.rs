//! LeNet-5 trained with Adam (lr 1e-3, batch 64, 5 epochs) on the real Fashion-MNIST, through the OWM
//! pipeline.
//!
//! ```text
//! sudo apt-get install dataset-fashion-mnist        # Debian: /usr/share/datasets/fashion-mnist
//! cargo run --release -p fashion_lenet
//! ```
//!
//! The 28×28 images are padded by 2 in the first convolution, giving LeNet-5's classic 32×32 geometry;
//! inputs are standardised per channel and weights start from PyTorch's default range `U(±1/√fan_in)`
//! (`InitPlan::torch_uniform`), as in `tools/torch_fashion_lenet.py`, the PyTorch reference of this recipe.

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::{DataConfig, DataSource, NormalizeBy};
use owm::init::InitPlan;
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::train::{ExperimentConfig, RunReport};

/// Where Debian's `dataset-fashion-mnist` puts the four IDX files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// Folder with the four Fashion-MNIST IDX files (raw or `.gz`).
    #[arg(long, default_value = DEBIAN_DIR)]
    pub data_dir: PathBuf,
    /// Run folder.
    #[arg(long, default_value = "runs/fashion-lenet")]
    pub out: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 5)]
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
    let source = DataSource::FashionMnist { dir: config.data_dir.clone() };
    ExperimentConfig {
        name: "fashion-lenet".into(),
        seed: config.seed,
        backend: config.device.clone(),
        // PyTorch's recipe (`tools/torch_fashion_lenet.py`) trains a fixed 5 epochs on all 60,000 images: no
        // validation split, so the two stay comparable.
        data: DataConfig { train_limit: config.train_limit, test_limit: config.test_limit, validation_fraction: 0.0, ..DataConfig::new(source) },
        model: ModelConfig::LeNet5 { conv1_padding: 2 },
        init: InitPlan::torch_uniform(),
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-3)),
        batch_size: 64,
        convergence: ConvergenceConfig::epochs(config.epochs),
        normalize: true,
        normalize_by: NormalizeBy::Channel,
        ..ExperimentConfig::default()
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
