//! A CIFAR ResNet (He et al., depth 6n + 2, batch norm) trained with SGD + Nesterov momentum, weight decay
//! and a cosine schedule on CIFAR-10 binary batches, with the classic augmentation (random crop with 4 pixels
//! of zero padding, horizontal flip) and per-channel standardisation, through the OWM pipeline.
//!
//! ```text
//! cargo run --release -p cifar10_resnet -- --data-dir data/cifar-10-batches-bin --depth 20
//! ```
//!
//! The batch norms' running statistics are buffers: not trained, not traced, but kept in the bundle and in
//! checkpoints, so the bundle evaluates as the run did and a resumed run ends as the uninterrupted one.

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::{Augment, DataConfig, DataSource, NormalizeBy};
use owm::init::InitPlan;
use owm::models::ModelConfig;
use owm::optim::{ConvergenceConfig, PhaseConfig};
use owm::train::{ExperimentConfig, RunReport};

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// `cifar-10-batches-bin` or its parent.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Run folder.
    #[arg(long, default_value = "runs/cifar10-resnet")]
    pub out: PathBuf,
    /// Depth, 6n + 2 (8, 14, 20, 32, ...).
    #[arg(long, default_value_t = 20)]
    pub depth: usize,
    /// Channels of the first stage.
    #[arg(long, default_value_t = 16)]
    pub width: usize,
    /// Epochs.
    #[arg(long, default_value_t = 30)]
    pub epochs: u64,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// No crop/flip augmentation.
    #[arg(long)]
    pub no_augment: bool,
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
///
/// # Errors
///
/// An optimiser spec that does not parse (a bug in this example).
pub fn experiment(config: &Config) -> anyhow::Result<ExperimentConfig> {
    let source = DataSource::Cifar10 { dir: config.data_dir.clone() };
    let data = DataConfig {
        train_limit: config.train_limit,
        test_limit: config.test_limit,
        augment: (!config.no_augment).then(Augment::cifar),
        ..DataConfig::new(source)
    };
    let until = ConvergenceConfig::epochs(config.epochs);
    let steps = config.epochs * (config.train_limit.unwrap_or(50_000).div_ceil(config.batch_size)) as u64;
    let spec = format!("nesterov:lr={}:momentum=0.9:weight_decay=5e-4:schedule.kind=cosine:schedule.t_max={}", config.lr, steps.max(1));
    let phases = PhaseConfig::parse_list(&spec, &until)?;
    let mut experiment = ExperimentConfig {
        name: format!("cifar10-resnet{}", config.depth),
        seed: config.seed,
        backend: config.device.clone(),
        data,
        model: ModelConfig::ResNet { depth: config.depth, width: config.width },
        init: InitPlan::he_uniform(),
        batch_size: config.batch_size,
        normalize: true,
        normalize_by: NormalizeBy::Channel,
        ..ExperimentConfig::default()
    };
    experiment.set_phases(phases);
    Ok(experiment)
}

/// Trains and evaluates, writing the run folder and bundle.
///
/// # Errors
///
/// Missing or malformed data files (named with the byte offset), or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config)?, &config.out, !config.quiet)?)
}
