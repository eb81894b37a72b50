//! Click-through recommendation from `user,item,click[,timestamp]` files: unseen items drawn as non-clicks,
//! biased matrix factorisation (or a factorisation machine over users, items and item side features, or
//! logistic regression over one-hot ids)
//! trained on binary cross-entropy, evaluated by ROC AUC, log loss and NDCG/HitRate/Recall/MAP@10 per user
//! beside a popularity baseline, through the OWM pipeline.
//!
//! ```text
//! cargo run --release -p ctr_recommender -- --interactions clicks.csv
//! ```

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::{DataConfig, DataSource, InteractionOptions, InteractionSplit};
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::train::{ExperimentConfig, RunReport};

/// Which recommender to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Recommender {
    /// Biased matrix factorisation.
    Mf,
    /// A factorisation machine.
    Fm,
    /// Logistic regression over one-hot user and item ids.
    Logistic,
}

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// The interactions file.
    #[arg(long)]
    pub interactions: PathBuf,
    /// The model.
    #[arg(long, value_enum, default_value = "mf")]
    pub model: Recommender,
    /// Factor width.
    #[arg(long, default_value_t = 16)]
    pub dim: usize,
    /// Non-clicks drawn per click.
    #[arg(long, default_value_t = 4)]
    pub negatives: usize,
    /// Test each user's latest interactions (needs timestamps) instead of a random split.
    #[arg(long)]
    pub chronological: bool,
    /// Item side features: a CSV whose first column names the item, one category per other column (read by
    /// the factorisation machine and logistic regression; matrix factorisation reads users and items only).
    #[arg(long)]
    pub item_features: Option<PathBuf>,
    /// Run folder.
    #[arg(long, default_value = "runs/ctr-recommender")]
    pub out: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 20)]
    pub epochs: u64,
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
    let options = InteractionOptions {
        split: if config.chronological { InteractionSplit::Chronological } else { InteractionSplit::Random },
        negatives: config.negatives,
        item_features: config.item_features.clone(),
        user_features: None,
        click_threshold: None,
    };
    let model = match config.model {
        Recommender::Mf => ModelConfig::MatrixFactorization { dim: config.dim },
        Recommender::Fm => ModelConfig::FactorizationMachine { dim: config.dim },
        Recommender::Logistic => ModelConfig::Logistic,
    };
    ExperimentConfig {
        name: "ctr-recommender".into(),
        seed: config.seed,
        backend: config.device.clone(),
        data: DataConfig::new(DataSource::Interactions { path: config.interactions.clone(), options }),
        model,
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-2)),
        batch_size: 256,
        convergence: ConvergenceConfig::epochs(config.epochs),
        normalize: false,
        ..ExperimentConfig::default()
    }
}

/// Trains and evaluates, writing the run folder and bundle.
///
/// # Errors
///
/// An interactions-file error naming file and line, or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config), &config.out, !config.quiet)?)
}
