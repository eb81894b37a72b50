//! Transfer learning on the embedded digits: an MLP trained on digits 0–4 gives its hidden layer to a model
//! for digits 5–9, whose head starts fresh (zeros) and whose transferred body stays frozen; the same model
//! trained from scratch for the same number of steps is the baseline, at several step budgets.
//!
//! ```text
//! cargo run --release -p transfer_digits -- --budgets 10,20,40,80
//! ```
//!
//! Writes `base/`, `transfer-N/` and `scratch-N/` run folders (each transfer's `transfer.md` lists every
//! tensor applied, skipped and missing), then `comparison.md` and `comparison.svg` (test accuracy against
//! the step budget, both ways) under `--out`.
//!
//! What it shows, measured (seed 42 and five other seeds alike): the transferred body gives a head start —
//! far ahead of scratch after 10–20 steps — and scratch, which trains every layer, catches up by 40–80 steps
//! on a task this easy.

use std::path::PathBuf;

use owm::core::BackendKind;
use owm::data::DataConfig;
use owm::init::{InitPlan, InitRule, InitStrategy, Transfer};
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, OptimizerConfig};
use owm::trace::{Series, line_chart};
use owm::train::{ExperimentConfig, RunReport};

/// The example's settings.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    /// Folder for the three runs and the comparison.
    #[arg(long, default_value = "runs/transfer-digits")]
    pub out: PathBuf,
    /// Epochs of the base model on digits 0–4.
    #[arg(long, default_value_t = 20)]
    pub base_epochs: u64,
    /// Step budgets of the digits 5–9 runs (each trained twice: transfer and scratch), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10,20,40,80")]
    pub budgets: Vec<u64>,
    /// Hidden width of the MLP.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Adam's learning rate, in every run.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Backend: cpu, ndarray or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: BackendKind,
    /// Root seed of every run.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Hide the progress bars.
    #[arg(long)]
    pub quiet: bool,
}

/// The head of the MLP (its last layer), which the transfer leaves to the init plan.
pub const HEAD: &str = "layers.1.*";

fn digits(classes: std::ops::Range<u8>) -> DataConfig {
    DataConfig { classes: Some(classes.map(|c| c.to_string()).collect()), ..DataConfig::digits() }
}

fn experiment(config: &Config, name: &str, data: DataConfig, until: ConvergenceConfig, transfer: Option<Transfer>) -> ExperimentConfig {
    let mut experiment = ExperimentConfig {
        name: name.into(),
        seed: config.seed,
        backend: config.device.clone(),
        data,
        model: ModelConfig::Mlp { hidden: vec![config.hidden] },
        init: InitPlan::he_uniform(),
        transfer,
        optimizer: OptimizerConfig::Adam(AdamConfig::new(config.lr)),
        ..ExperimentConfig::default()
    };
    experiment.set_phases(vec![owm::optim::PhaseConfig { optimizer: experiment.optimizer.clone(), until }]);
    experiment
}

/// The base model: digits 0–4 for `base_epochs` epochs.
pub fn base(config: &Config) -> ExperimentConfig {
    experiment(config, "digits-0-4", digits(0..5), ConvergenceConfig::epochs(config.base_epochs), None)
}

/// A digits 5–9 model trained for `steps` steps, starting from `transfer` when given, with a new head of
/// zeros then (a linear probe's usual start: every class equally likely until the head learns).
pub fn target(config: &Config, steps: u64, transfer: Option<Transfer>) -> ExperimentConfig {
    let name = if transfer.is_some() { "digits-5-9-transfer" } else { "digits-5-9-scratch" };
    let mut e = experiment(config, name, digits(5..10), ConvergenceConfig::steps(steps), transfer);
    if e.transfer.is_some() {
        e.init.rules.insert(0, InitRule { pattern: HEAD.into(), strategy: InitStrategy::Zeros });
    }
    e
}

/// The transfer from the base bundle at `bundle`: everything but the head, body frozen.
pub fn transfer_from(bundle: &std::path::Path) -> Transfer {
    Transfer::from(bundle.display().to_string()).exclude(HEAD).freeze(true)
}

/// Both digits 5–9 runs at one step budget.
#[derive(Debug, Clone)]
pub struct Pair {
    /// The budget.
    pub steps: u64,
    /// From the base's body.
    pub transfer: RunReport,
    /// From random weights.
    pub scratch: RunReport,
}

/// Every run.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Digits 0–4.
    pub base: RunReport,
    /// Digits 5–9, one pair per budget.
    pub pairs: Vec<Pair>,
}

impl Comparison {
    /// A Markdown table of accuracy and macro F1 per budget, then the (first) transfer's report.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Digits 5–9: transfer from digits 0–4 against scratch\n\nBase model (digits 0–4, {} steps): test accuracy {:.4}.\n\n| steps | transfer accuracy | scratch accuracy | transfer macro F1 | scratch macro F1 |\n|---:|---:|---:|---:|---:|\n",
            self.base.training.steps, self.base.evaluation.report.accuracy
        );
        for p in &self.pairs {
            let (t, s) = (&p.transfer.evaluation.report, &p.scratch.evaluation.report);
            out += &format!("| {} | {:.4} | {:.4} | {:.4} | {:.4} |\n", p.steps, t.accuracy, s.accuracy, t.macro_f1, s.macro_f1);
        }
        if let Some(t) = self.pairs.first().and_then(|p| p.transfer.transfer.as_ref()) {
            out += "\n";
            out += &t.to_markdown();
        }
        out
    }
}

/// Trains the base, then a transfer and a scratch model per budget, and writes the comparison.
///
/// # Errors
///
/// A run folder that already holds a trace, or a file that cannot be written.
pub fn run(config: &Config) -> anyhow::Result<Comparison> {
    let progress = !config.quiet;
    let base = owm::train::train(&self::base(config), &config.out.join("base"), progress)?;
    let mut pairs = Vec::new();
    for &steps in &config.budgets {
        let transfer = target(config, steps, Some(transfer_from(&base.bundle_dir)));
        let transfer = owm::train::train(&transfer, &config.out.join(format!("transfer-{steps}")), progress)?;
        let scratch = owm::train::train(&target(config, steps, None), &config.out.join(format!("scratch-{steps}")), progress)?;
        pairs.push(Pair { steps, transfer, scratch });
    }
    let comparison = Comparison { base, pairs };
    let curve = |name: &str, pick: fn(&Pair) -> &RunReport| Series {
        name: name.into(),
        points: comparison.pairs.iter().map(|p| (p.steps as f64, pick(p).evaluation.report.accuracy)).collect(),
    };
    let series = [curve("transfer (body frozen)", |p| &p.transfer), curve("scratch", |p| &p.scratch)];
    let chart = line_chart("Digits 5–9: test accuracy at equal steps", "steps", "test accuracy", &series, false);
    owm::core::write_atomic(&config.out.join("comparison.svg"), chart.as_bytes())?;
    owm::core::write_atomic(&config.out.join("comparison.md"), comparison.to_markdown().as_bytes())?;
    Ok(comparison)
}
