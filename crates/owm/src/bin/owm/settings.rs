//! From parsed arguments to what the libraries take: `owm train`'s options become an [`ExperimentConfig`],
//! a device flag and a token file a [`BackendKind`]. No file is written and no process started here, so every
//! rule is unit-tested on `Cli::try_parse_from`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use owm::core::{BackendKind, Validate};
use owm::data::tabular::{ColumnKind, Encoding, Missing, Scaling, TabularOptions};
use owm::data::{DataConfig, DataSource};
use owm::models::ModelConfig;
use owm::optim::{PhaseConfig, Schedule, Setting};
use owm::train::ExperimentConfig;

use crate::cli::{EncodingArg, InitKind, MismatchArg, MissingArg, ModelKind, ScalingArg, TaskArgs, TaskKind, TrainArgs};

/// The experiment `owm train` runs: `--config` (or the default experiment) with every given option applied.
pub fn experiment(args: &TrainArgs) -> Result<ExperimentConfig> {
    let mut c = match &args.config {
        Some(path) => ExperimentConfig::load(path)?,
        None => ExperimentConfig::default(),
    };
    let d = &args.data;
    if let Some(task) = d.task {
        let path = PathBuf::from(d.data.as_deref().unwrap_or_default());
        c = c.on_task(DataConfig::new(task_source(task, path, d.test_data.clone(), d.validation_data.clone(), &args.task)?));
    } else if let Some(name) = &d.data {
        let dir = || d.data_dir.clone().context("--data-dir is required for this dataset");
        c.data = DataConfig::new(match name.as_str() {
            "digits" => DataSource::Digits,
            "mnist" => DataSource::Mnist { dir: dir()? },
            "fashion-mnist" => DataSource::FashionMnist { dir: dir()? },
            "cifar10" => DataSource::Cifar10 { dir: dir()? },
            other => bail!("unknown dataset `{other}`: digits, mnist, fashion-mnist or cifar10, or a file or folder with --task"),
        });
    } else if d.data_dir.is_some() {
        bail!("--data-dir needs --data mnist|fashion-mnist|cifar10");
    }
    c.data.test_fraction = d.test_fraction.unwrap_or(c.data.test_fraction);
    c.data.validation_fraction = d.validation_fraction.unwrap_or(c.data.validation_fraction);
    for (component, license) in [("weights", &d.weights_license), ("data", &d.data_license)] {
        if let Some(l) = license {
            c.licenses.insert(component.into(), l.clone());
        }
    }
    if let Some(spec) = &d.augment {
        c.data.augment = Some(augment(spec)?);
    }
    c.data.classes = d.classes.clone().or(c.data.classes.take());
    c.data.train_limit = d.train_limit.or(c.data.train_limit);
    c.data.test_limit = d.test_limit.or(c.data.test_limit);
    transfer(args, &mut c)?;
    privacy(args, &mut c)?;
    model(args, &mut c);
    // Budgets and criteria change only what is named: --epochs keeps a step budget, and the reverse.
    let b = &args.budget;
    let until = &mut c.convergence;
    until.max_epochs = b.epochs.or(until.max_epochs);
    until.max_steps = b.max_steps.or(until.max_steps);
    until.max_evaluations = b.max_evaluations.or(until.max_evaluations);
    until.max_seconds = b.max_seconds.or(until.max_seconds);
    if let Some(patience) = b.patience {
        until.plateau = Some(owm::optim::Plateau { patience, min_delta: 0.0 });
    }
    match b.early_stopping.as_deref() {
        Some("off") => until.early_stopping = None,
        Some(spec) => until.early_stopping = Some(owm::optim::EarlyStopping::parse(spec)?),
        // `--epochs N` alone asks for N epochs: the default's early stopping steps aside.
        None if b.epochs.is_some() && args.config.is_none() => until.early_stopping = None,
        None => {}
    }
    until.target_loss = b.target_loss.or(until.target_loss);
    c.batch_size = b.batch_size.unwrap_or(c.batch_size);
    c.seed = b.seed.unwrap_or(c.seed);
    optimizer(args, &mut c)?;
    if let Some(device) = &args.run.device {
        c.backend = device.parse::<BackendKind>()?;
    }
    c.backend = with_token(std::mem::take(&mut c.backend), args.run.token_file.as_deref())?;
    let (a, t) = (&args.trace, &mut c.trace);
    t.stats_every = a.stats_every.unwrap_or(t.stats_every);
    t.paths = a.trace_paths.clone().unwrap_or_else(|| t.paths.clone());
    t.histogram_every = a.histogram_every.unwrap_or(t.histogram_every);
    t.digest_every = a.digest_every.unwrap_or(t.digest_every);
    t.snapshot_paths = a.snapshot_paths.clone().unwrap_or_else(|| t.snapshot_paths.clone());
    t.snapshot_steps = a.snapshot_steps.clone().unwrap_or_else(|| t.snapshot_steps.clone());
    t.checkpoint_every = a.checkpoint_every.unwrap_or(t.checkpoint_every);
    c.check()?;
    if args.config.is_none() {
        let optimizers: Vec<&str> = c.phases().iter().map(|p| p.optimizer.name()).collect();
        c.name = format!("{}-{}-{}", c.data.name(), c.model.name(), optimizers.join("+"));
    }
    Ok(c)
}

/// The data source of `--task` on `path`, read as the task's options say.
fn task_source(task: TaskKind, path: PathBuf, test: Option<PathBuf>, validation: Option<PathBuf>, args: &TaskArgs) -> Result<DataSource> {
    if validation.is_some() && !matches!(task, TaskKind::Tabular | TaskKind::Text) {
        bail!("--validation-data is for --task tabular and text; use --validation-fraction");
    }
    if !path.exists() {
        bail!("--data {}: no such file or folder", path.display());
    }
    Ok(match task {
        TaskKind::Tabular => {
            let mut o = TabularOptions { target: args.target.clone().context("--task tabular needs --target COLUMN")?, ..TabularOptions::default() };
            if let Some(names) = &args.columns {
                (o.header, o.names) = (false, names.clone());
            }
            for (cols, kind) in [(&args.categorical, ColumnKind::Categorical), (&args.numeric, ColumnKind::Numeric)] {
                o.kinds.extend(cols.iter().flatten().map(|c| (c.clone(), kind)));
            }
            o.ignore = args.ignore.clone().unwrap_or_default();
            o.missing = args.missing.map_or(o.missing, Missing::from);
            o.scaling = args.scaling.map_or(o.scaling, Scaling::from);
            o.encoding = args.encoding.map_or(o.encoding, Encoding::from);
            for pair in args.target_map.iter().flatten() {
                let (from, to) = pair.split_once('=').with_context(|| format!("--target-map {pair}: expected FROM=TO"))?;
                o.target_map.insert(from.to_string(), to.to_string());
            }
            DataSource::Tabular { path, test, validation, options: o }
        }
        TaskKind::Text => {
            let mut text = owm::data::TextSource::default();
            if let Some(tokenizer) = &args.tokenizer {
                text.options.tokenizer = tokenizer.clone();
            }
            text.max_len = args.max_len.unwrap_or(text.max_len);
            text.min_freq = args.min_freq.unwrap_or(text.min_freq);
            text.max_vocab = args.max_vocab.or(text.max_vocab);
            match args.text_columns.as_deref() {
                None => {}
                Some([label, body]) => text.csv_columns = Some([label.clone(), body.clone()]),
                Some(other) => bail!("--text-columns takes two column names, LABEL,TEXT; got {}", other.join(",")),
            }
            DataSource::Text { path, test, validation, text }
        }
        TaskKind::Recsys => {
            let mut options =
                owm::data::InteractionOptions { user_features: args.user_features.clone(), item_features: args.item_features.clone(), ..Default::default() };
            if args.chronological {
                options.split = owm::data::InteractionSplit::Chronological;
            }
            options.negatives = args.negatives.unwrap_or(options.negatives);
            options.click_threshold = args.click_threshold;
            DataSource::Interactions { path, options }
        }
        TaskKind::Image => {
            let has = |name: &str| path.join(name).is_file() || path.join(format!("{name}.gz")).is_file();
            if has("train-images-idx3-ubyte") {
                DataSource::Mnist { dir: path }
            } else if path.join("data_batch_1.bin").is_file() || path.join("cifar-10-batches-bin").is_dir() {
                DataSource::Cifar10 { dir: path }
            } else {
                DataSource::ImageFolder { dir: path, grayscale: args.grayscale }
            }
        }
    })
}

/// `--transfer-from` and its rules.
fn transfer(args: &TrainArgs, c: &mut ExperimentConfig) -> Result<()> {
    let a = &args.transfer;
    if let Some(from) = &a.transfer_from {
        let mut t = owm::init::Transfer::from(bundle_dir(from).display().to_string()).freeze(a.freeze_transferred);
        for spec in a.transfer_map.iter().flatten() {
            t = t.rule(owm::init::PathRule::parse(spec)?);
        }
        t.exclude = a.transfer_exclude.clone().unwrap_or_default();
        t.on_mismatch = a.on_mismatch.map_or(owm::init::OnMismatch::Error, owm::init::OnMismatch::from);
        c.transfer = Some(t);
    }
    Ok(())
}

/// `--dp-*`: DP-SGD; no input standardisation fitted on the private data, but one from public bounds and
/// private estimates when asked (`--feature-bounds`, `--dp-normalize`).
fn privacy(args: &TrainArgs, c: &mut ExperimentConfig) -> Result<()> {
    let a = &args.privacy;
    if a.dp_epsilon.is_some() || a.dp_noise.is_some() {
        // δ and the clip norm default to the config's, then to PrivacyConfig's defaults.
        let mut p = c.privacy.take().unwrap_or_else(|| owm::train::PrivacyConfig::epsilon(1.0));
        (p.epsilon, p.noise_multiplier) = (a.dp_epsilon, a.dp_noise);
        p.delta = a.dp_delta.unwrap_or(p.delta);
        p.clip = a.dp_clip.unwrap_or(p.clip);
        c.privacy = Some(p);
    } else if a.dp_delta.is_some() || a.dp_clip.is_some() {
        bail!("--dp-delta and --dp-clip need --dp-epsilon or --dp-noise");
    }
    if let Some(bounds) = &a.feature_bounds {
        let Some(p) = c.privacy.as_mut() else { bail!("--feature-bounds and --dp-normalize are for private training: add --dp-epsilon or --dp-noise") };
        let (estimate, epsilon) = match a.dp_normalize.as_deref() {
            None => (owm::data::Estimate::Bounds, None),
            Some(spec) => private_estimate(spec)?,
        };
        p.normalizer = Some(owm::train::PrivateNormalizer { bounds: bounds.parse()?, estimate, epsilon });
    }
    if c.privacy.is_some() && c.normalize && c.transfer.is_none() {
        // A normaliser fitted on the training data would leak it outside the guarantee.
        if c.privacy.as_ref().is_none_or(|p| p.normalizer.is_none()) {
            eprintln!(
                "owm: private training: inputs are not standardised with the training split's statistics (--feature-bounds and --dp-normalize do it privately)"
            );
        }
        c.normalize = false;
    }
    Ok(())
}

/// `--dp-normalize center|standard[:epsilon=E]`.
fn private_estimate(spec: &str) -> Result<(owm::data::Estimate, Option<f64>)> {
    let (kind, rest) = spec.split_once(':').map_or((spec, None), |(k, r)| (k, Some(r)));
    let estimate = match kind {
        "center" => owm::data::Estimate::Center,
        "standard" => owm::data::Estimate::Standard,
        "bounds" => owm::data::Estimate::Bounds,
        other => bail!("--dp-normalize `{other}`: center, standard or bounds, then optionally `:epsilon=E`"),
    };
    let epsilon = match rest.map(|r| r.split_once('=')) {
        None => None,
        Some(Some(("epsilon", e))) => Some(e.parse::<f64>().map_err(|_| anyhow::anyhow!("--dp-normalize: `{e}` is not a number"))?),
        Some(_) => bail!("--dp-normalize `{spec}`: after the estimate, only `:epsilon=E`"),
    };
    Ok((estimate, epsilon))
}

/// `--model`, `--dim`, `--hidden`, `--depth` and `--init`.
fn model(args: &TrainArgs, c: &mut ExperimentConfig) {
    let a = &args.model;
    match a.init {
        Some(InitKind::HeUniform) => c.init = owm::init::InitPlan::he_uniform(),
        Some(InitKind::TorchUniform) => c.init = owm::init::InitPlan::torch_uniform(),
        // Under DP-SGD's noise, PyTorch's smaller init trains better (docs/applications.md, "Privacy").
        None if c.privacy.is_some() && c.init == owm::init::InitPlan::he_uniform() => {
            eprintln!("owm: private training: PyTorch's default weight init (--init torch-uniform), which trains better under the noise");
            c.init = owm::init::InitPlan::torch_uniform();
        }
        None => {}
    }
    let small_images = matches!(c.data.source, DataSource::Mnist { .. } | DataSource::FashionMnist { .. });
    if let Some(kind) = a.model {
        c.model = kind.config(a.dim, a.depth, small_images);
    } else if let (Some(d), ModelConfig::EmbeddingBag { dim } | ModelConfig::MatrixFactorization { dim } | ModelConfig::FactorizationMachine { dim }) =
        (a.dim, &mut c.model)
    {
        *dim = d;
    }
    match (&a.hidden, a.depth, &mut c.model) {
        (Some(hidden), _, ModelConfig::Mlp { hidden: h }) => *h = hidden.clone(),
        (_, Some(d), ModelConfig::ResNet { depth, .. }) => *depth = d,
        _ => {}
    }
}

impl ModelKind {
    /// The model `--model` names, `dim` wide (embeddings and factors) or `depth` deep (residual network);
    /// LeNet-5 pads its first convolution for 28×28 images, as the original did.
    fn config(self, dim: Option<usize>, depth: Option<usize>, small_images: bool) -> ModelConfig {
        let dim = dim.unwrap_or(match self {
            ModelKind::Mf | ModelKind::Fm => 16,
            _ => 64,
        });
        match self {
            ModelKind::Lenet => ModelConfig::LeNet5 { conv1_padding: if small_images { 2 } else { 0 } },
            ModelKind::Resnet => ModelConfig::ResNet { depth: depth.unwrap_or(20), width: 16 },
            ModelKind::Mlp => ModelConfig::Mlp { hidden: vec![128] },
            ModelKind::Logistic => ModelConfig::Logistic,
            ModelKind::EmbeddingBag => ModelConfig::EmbeddingBag { dim },
            ModelKind::TextCnn => ModelConfig::TextCnn { dim, filters: 64, widths: vec![2, 3, 4] },
            ModelKind::Mf => ModelConfig::MatrixFactorization { dim },
            ModelKind::Fm => ModelConfig::FactorizationMachine { dim },
        }
    }
}

/// `--augment [SPEC]`: `cifar` (what the flag alone gives) or `crop=N,flip=BOOL`, each key defaulting to
/// CIFAR-10's (padding 4, flip).
fn augment(spec: &str) -> Result<owm::data::Augment> {
    let mut a = owm::data::Augment::cifar();
    if spec == "cifar" {
        return Ok(a);
    }
    for part in spec.split(',') {
        let bad = || anyhow::anyhow!("--augment `{spec}`: `{part}` is not crop=N or flip=true|false");
        match part.split_once('=') {
            Some(("crop", v)) => a.crop_padding = v.trim().parse().map_err(|_| bad())?,
            Some(("flip", v)) => a.flip = v.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        }
    }
    Ok(a)
}

/// `--optimizer`, then each setting on every phase that has it; a setting no phase has is an error.
fn optimizer(args: &TrainArgs, c: &mut ExperimentConfig) -> Result<()> {
    let a = &args.optimizer;
    if let Some(spec) = &a.optimizer {
        c.set_phases(PhaseConfig::parse_list(spec, &c.convergence)?);
    }
    let mut settings: Vec<Setting> = Vec::new();
    settings.extend(a.lr.map(Setting::Lr));
    settings.extend(a.momentum.map(Setting::Momentum));
    settings.extend(a.weight_decay.map(Setting::WeightDecay));
    settings.extend(a.population.map(Setting::Population));
    settings.extend(a.sigma.map(Setting::Sigma));
    settings.extend(a.t0.map(Setting::T0));
    settings.extend(a.clip_norm.map(Setting::ClipNorm));
    settings.extend(a.schedule.as_deref().map(Schedule::parse).transpose()?.map(Setting::Schedule));
    settings.extend(a.lazy.map(Setting::Lazy));
    let mut phases = c.phases();
    for setting in &settings {
        // Every phase is tried: `|` does not stop at the first that takes it.
        let applied = phases.iter_mut().fold(false, |any, p| p.optimizer.apply(setting) | any);
        if !applied {
            bail!("--{} does not apply to any phase ({})", setting.name().replace('_', "-"), c.optimizer_names());
        }
    }
    if a.lazy.is_none() && args.config.is_none() && c.reads_tables() {
        // Tables train lazily by default, in every gradient phase whose settings allow it (no coupled weight
        // decay, say): `--optimizer` phases too, and never against another setting.
        for phase in &mut phases {
            let mut lazy = phase.optimizer.clone();
            let allowed = lazy.apply(&Setting::Lazy(true)) && lazy.check().is_ok();
            phase.optimizer.apply(&Setting::Lazy(allowed));
        }
    }
    for phase in &phases {
        phase.optimizer.check()?;
    }
    c.set_phases(phases);
    Ok(())
}

/// `backend` reached with the token in `token_file`, which only a remote device takes.
pub fn with_token(backend: BackendKind, token_file: Option<&Path>) -> Result<BackendKind> {
    Ok(match (backend, token_file) {
        (BackendKind::Remote(remote), Some(file)) => BackendKind::Remote(remote.with_token_file(file)?),
        (local, Some(_)) => bail!("--token-file is for a remote device (--device remote:ws://HOST:PORT), not {local}"),
        (backend, None) => backend,
    })
}

/// `data` with its files read from `dir` instead (`owm eval` and `owm replay` with `--data-dir`).
pub fn data_from(data: DataConfig, dir: PathBuf) -> Result<DataConfig> {
    let source = match data.source {
        DataSource::Digits => bail!("--data-dir does not apply to the embedded digits"),
        DataSource::Mnist { .. } => DataSource::Mnist { dir },
        DataSource::FashionMnist { .. } => DataSource::FashionMnist { dir },
        DataSource::Cifar10 { .. } => DataSource::Cifar10 { dir },
        // File sources: the file is evaluated as the test side; the training side refits the preprocessing.
        DataSource::Tabular { path, options, .. } => DataSource::Tabular { path, test: Some(dir), validation: None, options },
        DataSource::Text { path, text, .. } => DataSource::Text { path, test: Some(dir), validation: None, text },
        DataSource::Interactions { options, .. } => DataSource::Interactions { path: dir, options },
        DataSource::ImageFolder { grayscale, .. } => DataSource::ImageFolder { dir, grayscale },
    };
    Ok(DataConfig { source, ..data })
}

/// Accepts a run folder for its `bundle/`.
pub fn bundle_dir(path: &Path) -> PathBuf {
    let inner = path.join("bundle");
    if !path.join("manifest.json").exists() && inner.join("manifest.json").exists() { inner } else { path.to_path_buf() }
}

impl From<MissingArg> for Missing {
    fn from(m: MissingArg) -> Self {
        match m {
            MissingArg::Drop => Missing::Drop,
            MissingArg::Mean => Missing::Mean,
            MissingArg::Median => Missing::Median,
        }
    }
}

impl From<ScalingArg> for Scaling {
    fn from(s: ScalingArg) -> Self {
        match s {
            ScalingArg::Standard => Scaling::Standard,
            ScalingArg::MinMax => Scaling::MinMax,
            ScalingArg::Robust => Scaling::Robust,
            ScalingArg::None => Scaling::None,
        }
    }
}

impl From<EncodingArg> for Encoding {
    fn from(e: EncodingArg) -> Self {
        match e {
            EncodingArg::OneHot => Encoding::OneHot,
            EncodingArg::Ordinal => Encoding::Ordinal,
        }
    }
}

impl From<MismatchArg> for owm::init::OnMismatch {
    fn from(m: MismatchArg) -> Self {
        match m {
            MismatchArg::Error => owm::init::OnMismatch::Error,
            MismatchArg::Skip => owm::init::OnMismatch::Skip,
            MismatchArg::Adapt => owm::init::OnMismatch::Adapt,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn train(args: &[&str]) -> Result<ExperimentConfig> {
        let cli = Cli::try_parse_from([&["owm", "train"], args].concat())?;
        let Command::Train(args) = cli.command else { unreachable!("parsed `owm train`") };
        experiment(&args)
    }

    fn refused(args: &[&str]) -> String {
        match train(args) {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn no_options_should_give_the_default_experiment_named_after_it() {
        let c = train(&[]).unwrap();
        assert_eq!(c.name, "digits-mlp-adam");
        assert_eq!(ExperimentConfig { name: c.name.clone(), ..ExperimentConfig::default() }, c);
    }

    #[test]
    fn settings_should_reach_every_phase_that_has_them_and_no_other() {
        let c = train(&["--optimizer", "ga:generations=3,adam,sa", "--lr", "0.01", "--population", "12", "--t0", "2"]).unwrap();
        let phases = c.phases();
        assert_eq!(phases.iter().map(|p| p.optimizer.name()).collect::<Vec<_>>(), ["ga", "adam", "sa"]);
        assert_eq!(phases[1].optimizer.lr(), Some(0.01));
        let json = |i: usize| serde_json::to_value(&phases[i].optimizer).unwrap();
        assert_eq!((json(0)["population"].as_u64(), json(2)["t0"].as_f64()), (Some(12), Some(2.0)));
        assert_eq!(refused(&["--optimizer", "adam", "--momentum", "0.9"]), "--momentum does not apply to any phase (adam)");
        assert_eq!(refused(&["--optimizer", "ga", "--schedule", "cosine:t_max=10"]), "--schedule does not apply to any phase (ga)");
    }

    #[test]
    fn a_schedule_should_be_parsed_by_the_library() {
        let c = train(&["--optimizer", "sgd", "--schedule", "step:step_size=30:gamma=0.1"]).unwrap();
        assert_eq!(serde_json::to_value(&c.optimizer).unwrap()["schedule"]["step_size"], 30);
        assert!(refused(&["--schedule", "step:30"]).contains("`30` is not key=value"));
    }

    #[test]
    fn augmentation_should_default_to_cifars_and_take_a_spec() {
        assert_eq!(train(&["--augment"]).unwrap().data.augment, Some(owm::data::Augment::cifar()));
        let digits = train(&["--augment", "crop=2,flip=false"]).unwrap().data.augment.unwrap();
        assert_eq!((digits.crop_padding, digits.flip), (2, false));
        assert!(refused(&["--augment", "rotate=10"]).contains("`rotate=10` is not crop=N"));
    }

    #[test]
    fn tables_should_train_lazily_by_default_where_the_settings_allow() {
        let lazy = |c: &ExperimentConfig| c.phases().iter().map(|p| serde_json::to_value(&p.optimizer).unwrap()["lazy"] == true).collect::<Vec<_>>();
        let text = ["--task", "text", "--data", "."];
        assert_eq!(lazy(&train(&text).unwrap()), [true]);
        assert_eq!(lazy(&train(&[&text[..], &["--optimizer", "sgd,ga"]].concat()).unwrap()), [true, false]);
        assert_eq!(lazy(&train(&[&text[..], &["--lazy", "false"]].concat()).unwrap()), [false]);
        // Coupled weight decay would decay only the rows read: the default steps aside, an explicit ask is refused.
        assert_eq!(lazy(&train(&[&text[..], &["--weight-decay", "0.01"]].concat()).unwrap()), [false]);
        assert!(refused(&[&text[..], &["--weight-decay", "0.01", "--lazy", "true"]].concat()).contains("lazy updates: `weight_decay`"));
        assert_eq!(lazy(&train(&[]).unwrap()), [false], "images and tables have no tables to read by row");
    }

    #[test]
    fn task_options_should_need_a_task() {
        let err = refused(&["--target", "y"]);
        assert!(err.contains("--task"), "{err}");
        assert!(refused(&["--tokenizer", "jieba"]).contains("--task"));
        assert!(refused(&["--task", "tabular"]).contains("--data"));
    }

    #[test]
    fn enumerated_options_should_be_checked_by_the_parser() {
        let err = refused(&["--task", "tabular", "--data", ".", "--target", "y", "--scaling", "log"]);
        assert!(err.contains("invalid value 'log'") && err.contains("min-max"), "{err}");
        assert!(refused(&["--model", "transformer"]).contains("resnet"));
    }

    #[test]
    fn a_model_flag_should_pick_the_model_and_its_shape() {
        let resnet = train(&["--model", "resnet", "--depth", "8"]).unwrap();
        assert_eq!(resnet.model, ModelConfig::ResNet { depth: 8, width: 16 });
        let mlp = train(&["--hidden", "32,16"]).unwrap();
        assert_eq!(mlp.model, ModelConfig::Mlp { hidden: vec![32, 16] });
        let lenet = train(&["--data", "mnist", "--data-dir", "mnist", "--model", "lenet"]).unwrap();
        assert_eq!(lenet.model, ModelConfig::LeNet5 { conv1_padding: 2 });
    }

    #[test]
    fn resume_should_take_no_experiment_option() {
        let err = Cli::try_parse_from(["owm", "train", "--resume", "run", "--epochs", "3"]).err().unwrap().to_string();
        assert!(err.contains("cannot be used with"), "{err}");
        assert!(Cli::try_parse_from(["owm", "resume", "run", "--epochs", "3"]).is_err());
        assert!(Cli::try_parse_from(["owm", "resume", "run", "--quiet", "--json", "--device", "remote:ws://h:1"]).is_ok());
    }

    #[test]
    fn epochs_alone_should_run_that_many_epochs_and_early_stopping_should_be_parsed_by_the_library() {
        let default = train(&[]).unwrap().convergence;
        assert_eq!((default.max_epochs, default.early_stopping.as_ref().map(|e| (e.metric.as_str(), e.patience))), (Some(200), Some(("val_loss", 10))));
        assert_eq!(train(&["--epochs", "5"]).unwrap().convergence, owm::optim::ConvergenceConfig::epochs(5));
        let watched = train(&["--epochs", "5", "--early-stopping", "val_accuracy:patience=2"]).unwrap().convergence;
        assert_eq!(watched.early_stopping, Some(owm::optim::EarlyStopping::new("val_accuracy", 2)));
        assert_eq!(train(&["--early-stopping", "off"]).unwrap().convergence, owm::optim::ConvergenceConfig::epochs(200));
        assert!(refused(&["--early-stopping", "val_loss:wait=3"]).contains("unknown key `wait`"));
    }

    #[test]
    fn validation_options_should_reach_the_data_config() {
        assert_eq!(train(&[]).unwrap().data.validation_fraction, 0.1);
        assert_eq!(train(&["--validation-fraction", "0.25"]).unwrap().data.validation_fraction, 0.25);
        assert!(refused(&["--validation-fraction", "1"]).contains("validation_fraction must lie in [0, 1)"));
        let c = train(&["--task", "tabular", "--data", ".", "--target", "y", "--validation-data", "val.csv"]).unwrap();
        assert!(matches!(&c.data.source, DataSource::Tabular { validation: Some(v), .. } if v == Path::new("val.csv")), "{:?}", c.data.source);
        assert!(refused(&["--task", "recsys", "--data", ".", "--validation-data", "v.csv"]).contains("--validation-data is for --task tabular and text"));
        assert!(refused(&["--validation-data", "v.csv"]).contains("--task"));
    }

    #[test]
    fn a_token_file_should_be_refused_for_a_local_device() {
        let err = with_token(BackendKind::Flex, Some(Path::new("token"))).unwrap_err().to_string();
        assert!(err.contains("--token-file is for a remote device"), "{err}");
    }

    #[test]
    fn data_dir_should_need_a_dataset_with_files() {
        assert_eq!(refused(&["--data-dir", "x"]), "--data-dir needs --data mnist|fashion-mnist|cifar10");
        assert_eq!(refused(&["--data", "cifar10"]), "--data-dir is required for this dataset");
    }
}
