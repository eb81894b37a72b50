//! Malignant or benign, from the 30 measurements of the Wisconsin diagnostic breast-cancer data, with logistic
//! regression (or an MLP) over standardised columns, through the OWM pipeline.
//!
//! ```text
//! python3 tools/export_breast_cancer.py data/breast_cancer.csv   # scikit-learn's copy, as CSV
//! cargo run --release -p breast_cancer -- --csv data/breast_cancer.csv
//! ```
//!
//! The split is stratified (20% held out); scaling is fitted on the training rows and recorded in the bundle
//! with the feature names, so `layers.0.weight` row `i` is the weight of column `i`.

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::tabular::{Scaling, TabularOptions};
use owm::data::{DataConfig, DataSource};
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::train::{ExperimentConfig, RunReport};

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// The CSV written by `tools/export_breast_cancer.py` (30 feature columns, then `diagnosis`).
    #[arg(long)]
    pub csv: PathBuf,
    /// Run folder.
    #[arg(long, default_value = "runs/breast-cancer")]
    pub out: PathBuf,
    /// Hidden widths of an MLP (none: logistic regression).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Vec<usize>,
    /// Epochs.
    #[arg(long, default_value_t = 60)]
    pub epochs: u64,
    /// Backend: cpu, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: BackendKind,
    /// Root seed (split, init and batches).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Hide the progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// The experiment this example runs.
pub fn experiment(config: &Config) -> ExperimentConfig {
    let options = TabularOptions { target: "diagnosis".into(), scaling: Scaling::Standard, ..TabularOptions::default() };
    let model = if config.hidden.is_empty() { ModelConfig::Logistic } else { ModelConfig::Mlp { hidden: config.hidden.clone() } };
    ExperimentConfig {
        name: "breast-cancer".into(),
        seed: config.seed,
        backend: config.device.clone(),
        data: DataConfig::new(DataSource::Tabular { path: config.csv.clone(), test: None, validation: None, options }),
        model,
        optimizer: OptimizerConfig::Adam(AdamConfig::new(1e-2)),
        batch_size: 32,
        convergence: ConvergenceConfig::epochs(config.epochs),
        // The columns are already standardised by the tabular preparation.
        normalize: false,
        ..ExperimentConfig::default()
    }
}

/// Trains and evaluates, writing the run folder and bundle.
///
/// # Errors
///
/// A CSV error naming file and line, or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config), &config.out, !config.quiet)?)
}
