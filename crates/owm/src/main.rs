//! The `owm` command line: `owm train`, `owm eval BUNDLE`, `owm inspect BUNDLE`, `owm bench`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use owm::core::BackendKind;
use owm::data::{DataConfig, DataSource};
use owm::models::ModelConfig;
use owm::optim::{AdamConfig, ConvergenceConfig, GdConfig, OptimizerConfig, SgdConfig};
use owm::train::{ExperimentConfig, evaluate_bundle, lenet_throughput, train};

#[derive(Parser)]
#[command(name = "owm", version, about = "Open Weight Model: train, evaluate and share verifiable neural-network weights")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model; with no options, an MLP on the embedded 8×8 digits on the CPU.
    Train(TrainArgs),
    /// Verify a bundle, rebuild its test split and evaluate it again.
    Eval {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
        /// Backend to evaluate on.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Evaluate on another data folder of the same kind.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Verify a bundle and print its provenance.
    Inspect {
        /// The bundle folder (a run's `bundle/`) or its run folder.
        bundle: PathBuf,
    },
    /// Measure LeNet-5 training throughput (CIFAR-shaped input, Adam) and print one JSON line.
    Bench {
        /// Backend to measure.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Images per step.
        #[arg(long, default_value_t = 64)]
        batch_size: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 50)]
        steps: usize,
        /// Untimed warm-up steps.
        #[arg(long, default_value_t = 5)]
        warmup: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DataKind {
    Digits,
    Mnist,
    FashionMnist,
    Cifar10,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModelKind {
    Mlp,
    Lenet,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptimKind {
    Gd,
    Sgd,
    Adam,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Start from an experiment config (JSON); the options below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Dataset.
    #[arg(long, value_enum)]
    data: Option<DataKind>,
    /// Folder with the dataset's files (MNIST IDX or CIFAR-10 binary batches).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Model.
    #[arg(long, value_enum)]
    model: Option<ModelKind>,
    /// Hidden widths of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Optimiser.
    #[arg(long, value_enum)]
    optimizer: Option<OptimKind>,
    /// Learning rate (default: gd 0.5, sgd 0.05, adam 0.001).
    #[arg(long)]
    lr: Option<f64>,
    /// SGD momentum (default 0.9).
    #[arg(long)]
    momentum: Option<f64>,
    /// Epoch budget.
    #[arg(long)]
    epochs: Option<u64>,
    /// Step budget.
    #[arg(long)]
    max_steps: Option<u64>,
    /// Stop once the epoch loss is at or below this.
    #[arg(long)]
    target_loss: Option<f64>,
    /// Mini-batch size.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Root seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Backend: cpu (flex), ndarray or wgpu.
    #[arg(long)]
    device: Option<String>,
    /// Use only the first N training items.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Use only the first N test items.
    #[arg(long)]
    test_limit: Option<usize>,
    /// Run folder (default: runs/NAME-sSEED, numbered if taken).
    #[arg(long)]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Train(args) => train_command(args),
        Command::Eval { bundle, device, data_dir } => eval_command(&bundle_dir(&bundle), &device, data_dir),
        Command::Inspect { bundle } => inspect_command(&bundle_dir(&bundle)),
        Command::Bench { device, batch_size, steps, warmup } => {
            let result = lenet_throughput(device.parse()?, batch_size, steps, warmup)?;
            println!("{}", serde_json::to_string(&result)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn train_command(args: TrainArgs) -> Result<ExitCode> {
    let config = experiment(&args)?;
    let run_dir = match &args.out {
        Some(dir) => dir.clone(),
        None => free_dir(&Path::new("runs").join(format!("{}-s{}", config.name, config.seed))),
    };
    eprintln!(
        "owm: training {} on {} with {} ({}), seed {} -> {}",
        config.model.name(),
        config.data.name(),
        config.optimizer.name(),
        config.backend,
        config.seed,
        run_dir.display()
    );
    let report = train(&config, &run_dir, !args.quiet)?;
    let e = &report.evaluation;
    println!("stopped: {}", report.training.stop_reason);
    println!(
        "test accuracy {:.4}  macro F1 {:.4}  ({} items, {} steps, {:.1} s)",
        e.accuracy, e.macro_f1, e.total, report.training.steps, report.seconds
    );
    println!("weights digest {}", report.manifest.weights_digest);
    println!("run folder {}  (report.html, trace.jsonl, loss.svg, update_ratio.svg, evaluation.md)", report.run_dir.display());
    println!("bundle {}", report.bundle_dir.display());
    Ok(if report.training.stop_reason.is_failure() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn experiment(args: &TrainArgs) -> Result<ExperimentConfig> {
    let mut c = match &args.config {
        Some(path) => ExperimentConfig::load(path)?,
        None => ExperimentConfig::default(),
    };
    if let Some(kind) = args.data {
        let dir = || args.data_dir.clone().context("--data-dir is required for this dataset");
        c.data = DataConfig::new(match kind {
            DataKind::Digits => DataSource::Digits,
            DataKind::Mnist => DataSource::Mnist { dir: dir()? },
            DataKind::FashionMnist => DataSource::FashionMnist { dir: dir()? },
            DataKind::Cifar10 => DataSource::Cifar10 { dir: dir()? },
        });
    } else if args.data_dir.is_some() {
        bail!("--data-dir needs --data mnist|fashion-mnist|cifar10");
    }
    c.data.train_limit = args.train_limit.or(c.data.train_limit);
    c.data.test_limit = args.test_limit.or(c.data.test_limit);
    let small_images = matches!(c.data.source, DataSource::Mnist { .. } | DataSource::FashionMnist { .. });
    match args.model {
        Some(ModelKind::Lenet) => c.model = ModelConfig::LeNet5 { conv1_padding: if small_images { 2 } else { 0 } },
        Some(ModelKind::Mlp) => c.model = ModelConfig::Mlp { hidden: vec![128] },
        None => {}
    }
    if let (Some(hidden), ModelConfig::Mlp { hidden: h }) = (&args.hidden, &mut c.model) {
        *h = hidden.clone();
    }
    if args.optimizer.is_some() || args.lr.is_some() || args.momentum.is_some() {
        let kind = args.optimizer.unwrap_or(match c.optimizer {
            OptimizerConfig::Gd(_) => OptimKind::Gd,
            OptimizerConfig::Sgd(_) => OptimKind::Sgd,
            _ => OptimKind::Adam,
        });
        c.optimizer = match kind {
            OptimKind::Gd => OptimizerConfig::Gd(GdConfig::new(args.lr.unwrap_or(0.5))),
            OptimKind::Sgd => {
                OptimizerConfig::Sgd(SgdConfig::new(args.lr.unwrap_or(0.05)).with_momentum(args.momentum.unwrap_or(0.9)))
            }
            OptimKind::Adam => OptimizerConfig::Adam(AdamConfig::new(args.lr.unwrap_or(1e-3))),
        };
    }
    if args.epochs.is_some() || args.max_steps.is_some() {
        c.convergence = ConvergenceConfig { max_epochs: args.epochs, max_steps: args.max_steps, ..c.convergence };
    }
    c.convergence.target_loss = args.target_loss.or(c.convergence.target_loss);
    c.batch_size = args.batch_size.unwrap_or(c.batch_size);
    c.seed = args.seed.unwrap_or(c.seed);
    if let Some(device) = &args.device {
        c.backend = device.parse::<BackendKind>()?;
    }
    if args.config.is_none() {
        c.name = format!("{}-{}-{}", c.data.name(), c.model.name(), c.optimizer.name());
    }
    Ok(c)
}

fn eval_command(bundle: &Path, device: &str, data_dir: Option<PathBuf>) -> Result<ExitCode> {
    let backend: BackendKind = device.parse()?;
    let data = match data_dir {
        None => None,
        Some(dir) => {
            let experiment: ExperimentConfig = serde_json::from_value(owm::share::load_bundle(bundle)?.manifest.experiment)
                .context("bundle manifest has no usable experiment section")?;
            let source = match experiment.data.source {
                DataSource::Digits => bail!("--data-dir does not apply to the embedded digits"),
                DataSource::Mnist { .. } => DataSource::Mnist { dir },
                DataSource::FashionMnist { .. } => DataSource::FashionMnist { dir },
                DataSource::Cifar10 { .. } => DataSource::Cifar10 { dir },
            };
            Some(DataConfig { source, ..experiment.data })
        }
    };
    let result = evaluate_bundle(bundle, backend, data)?;
    let r = &result.report;
    println!("bundle {} verified: {} tensors, weights digest {}", bundle.display(), result.bundle.tensors.len(), result.bundle.manifest.weights_digest);
    println!("test accuracy {:.4}  macro F1 {:.4}  on {} items ({})", r.accuracy, r.macro_f1, r.total, backend);
    let trained_on = result.bundle.manifest.backend.as_str();
    match &result.recorded {
        Some(rec) if trained_on != backend.name() => println!(
            "trained on {trained_on}, evaluated on {backend}: recorded accuracy {:.4} (kernels may round differently)",
            rec.accuracy
        ),
        Some(rec) if result.same_test_data && rec.accuracy == r.accuracy => {
            println!("matches the accuracy recorded at training time ({:.4})", rec.accuracy)
        }
        Some(rec) if result.same_test_data => {
            println!("differs from the accuracy recorded at training time ({:.4})", rec.accuracy);
            return Ok(ExitCode::from(3));
        }
        Some(rec) => println!("other test data than at training time (recorded accuracy {:.4})", rec.accuracy),
        None => println!("the manifest records no evaluation"),
    }
    Ok(ExitCode::SUCCESS)
}

fn inspect_command(bundle: &Path) -> Result<ExitCode> {
    let b = owm::share::load_bundle(bundle)?;
    let m = &b.manifest;
    println!("bundle {} ({}, written by owm {})", bundle.display(), m.format, m.owm_version);
    println!("verified: {} tensors match their SHA-256; weights digest {}", m.tensors.len(), m.weights_digest);
    println!("seed {}  backend {}", m.seed, m.backend);
    println!("model {}", m.model);
    println!("optimizer {}", m.optimizer);
    if let Some(t) = &m.trace {
        println!("trace {} ({} events, sha256 {})", t.file, t.events, t.sha256);
    }
    println!("dataset {}", m.dataset);
    println!("training {}", m.training);
    if let Some(acc) = m.evaluation.get("accuracy") {
        println!("recorded test accuracy {acc}  macro F1 {}", m.evaluation["macro_f1"]);
    }
    println!("tensors:");
    for (path, t) in &m.tensors {
        println!("  {path:<20} {:<14} {}", format!("{:?}", t.shape), &t.sha256[..16]);
    }
    Ok(ExitCode::SUCCESS)
}

/// Accepts a run folder for its `bundle/`.
fn bundle_dir(path: &Path) -> PathBuf {
    let inner = path.join("bundle");
    if !path.join("manifest.json").exists() && inner.join("manifest.json").exists() { inner } else { path.to_path_buf() }
}

/// `base`, or `base-2`, `base-3`, ... whichever does not exist yet.
fn free_dir(base: &Path) -> PathBuf {
    std::iter::once(base.to_path_buf())
        .chain((2..).map(|i| PathBuf::from(format!("{}-{i}", base.display()))))
        .find(|p| !p.exists())
        .expect("an unused name exists")
}
