//! Chinese news classification from `label<TAB>text` files (the THUCNews layout), with jieba word
//! segmentation (or characters / character bigrams), a vocabulary fitted on the training texts, and a
//! fastText-style embedding bag (or a 1-D CNN), through the OWM pipeline.
//!
//! ```text
//! cargo run --release -p news_text -- --train cnews.train.txt --test cnews.test.txt
//! ```

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::text::{TextOptions, Tokenizer};
use owm::data::{DataConfig, DataSource, TextSource};
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::train::{ExperimentConfig, RunReport};

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// Training texts, one `label<TAB>text` per line.
    #[arg(long)]
    pub train: PathBuf,
    /// Test texts (default: a stratified 20% of `--train`).
    #[arg(long)]
    pub test: Option<PathBuf>,
    /// Tokeniser: jieba, chars, char-bigrams or words.
    #[arg(long, default_value = "jieba")]
    pub tokenizer: Tokenizer,
    /// Tokens per text (truncated or padded).
    #[arg(long, default_value_t = 128)]
    pub max_len: usize,
    /// Use a 1-D CNN instead of the embedding bag.
    #[arg(long)]
    pub cnn: bool,
    /// Embedding width.
    #[arg(long, default_value_t = 64)]
    pub dim: usize,
    /// Run folder.
    #[arg(long, default_value = "runs/news-text")]
    pub out: PathBuf,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
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
    let text =
        TextSource { options: TextOptions { tokenizer: config.tokenizer.clone(), ..TextOptions::default() }, max_len: config.max_len, ..TextSource::default() };
    let model =
        if config.cnn { ModelConfig::TextCnn { dim: config.dim, filters: 64, widths: vec![2, 3, 4] } } else { ModelConfig::EmbeddingBag { dim: config.dim } };
    ExperimentConfig {
        name: "news-text".into(),
        seed: config.seed,
        backend: config.device.clone(),
        data: DataConfig::new(DataSource::Text { path: config.train.clone(), test: config.test.clone(), validation: None, text }),
        model,
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-2)),
        batch_size: 32,
        convergence: ConvergenceConfig::epochs(config.epochs),
        normalize: false,
        ..ExperimentConfig::default()
    }
}

/// Trains and evaluates, writing the run folder and bundle.
///
/// # Errors
///
/// A text-file error naming file and line, or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config), &config.out, !config.quiet)?)
}
