//! Heart disease (present or absent) from the UCI Cleveland data — the original file (14 comma-separated
//! columns without a header, `?` for a missing value) or Orange's `heart_disease.tab` (fetched by
//! `cargo xtask data heart-disease`) — with an MLP over imputed, standardised and one-hot-encoded columns,
//! through the OWM pipeline.
//!
//! ```text
//! cargo run --release -p heart_disease -- --csv processed.cleveland.data
//! cargo run --release -p heart_disease -- --csv ~/.cache/owm-datasets/heart-disease/heart_disease.tab
//! ```
//!
//! An Orange file declares its column kinds and its class (`diameter narrowing`, 0 or 1) itself.
//! `num` (0 = no disease, 1–4 = disease) is mapped to `absent` / `present`; `cp`, `restecg`, `slope` and
//! `thal` are categories; missing values (`ca` and `thal` have a few) are imputed with the training median
//! or mode, and the cleaning report in the bundle lists every imputed row.

use std::path::{Path, PathBuf};

use owm::core::BackendKind;
use owm::data::tabular::{ColumnKind, Missing, TabularOptions};
use owm::data::{DataConfig, DataSource};
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::train::{ExperimentConfig, RunReport};

/// The 14 columns of `processed.cleveland.data`, in file order.
pub const COLUMNS: [&str; 14] = ["age", "sex", "cp", "trestbps", "chol", "fbs", "restecg", "thalach", "exang", "oldpeak", "slope", "ca", "thal", "num"];

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// The Cleveland file: `processed.cleveland.data` layout, or Orange's `.tab`.
    #[arg(long)]
    pub csv: PathBuf,
    /// Run folder.
    #[arg(long, default_value = "runs/heart-disease")]
    pub out: PathBuf,
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

/// How `file` is read and prepared: an Orange `.tab` file as its header declares, otherwise the Cleveland layout.
pub fn options_for(file: &Path) -> TabularOptions {
    if file.extension().is_some_and(|e| e.eq_ignore_ascii_case("tab")) {
        return TabularOptions { missing: Missing::Median, ..TabularOptions::default() };
    }
    options()
}

/// How the Cleveland layout is read and prepared.
pub fn options() -> TabularOptions {
    let mut o = TabularOptions {
        target: "num".into(),
        header: false,
        names: COLUMNS.map(String::from).to_vec(),
        missing: Missing::Median,
        ..TabularOptions::default()
    };
    o.target_map.insert("0".into(), "absent".into());
    for v in ["1", "2", "3", "4"] {
        o.target_map.insert(v.into(), "present".into());
    }
    for c in ["cp", "restecg", "slope", "thal"] {
        o.kinds.insert(c.into(), ColumnKind::Categorical);
    }
    o
}

/// The experiment this example runs.
pub fn experiment(config: &Config) -> ExperimentConfig {
    ExperimentConfig {
        name: "heart-disease".into(),
        seed: config.seed,
        backend: config.device.clone(),
        data: DataConfig::new(DataSource::Tabular { path: config.csv.clone(), test: None, validation: None, options: options_for(&config.csv) }),
        model: ModelConfig::Mlp { hidden: vec![16] },
        optimizer: OptimizerConfig::Adam(AdamConfig::new(3e-3)),
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
/// A CSV error naming file and line, or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<RunReport> {
    Ok(owm::train::train(&experiment(config), &config.out, !config.quiet)?)
}
