use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use owm_core::InputSpec;
use owm_core::{ParamMeta, ParamSet, RunEnv, StopReason, TraceEvent, TraceSink, Validate, param_infos, write_atomic};
use owm_data::{Dataset, Normalizer, PreprocessingSection};
use owm_eval::Evaluation;
use owm_models::{Model, ModelConfig};
use owm_share::{Manifest, TraceRef, save_bundle_with};
use owm_trace::{JsonlSink, find_checkpoint, read_trace, truncate_after_checkpoint};
use serde::{Deserialize, Serialize};

use crate::{
    Checkpoint, DatasetObjective, ExperimentConfig, Phase, PhaseSummary, ReportEvaluation, Result, RunPhases, Tee, evaluate_model, host_digests, run_phases,
    write_report_with,
};

/// File names inside a run folder.
pub mod files {
    /// The experiment config.
    pub const CONFIG: &str = "config.json";
    /// The JSON Lines trace.
    pub const TRACE: &str = "trace.jsonl";
    /// Loss chart.
    pub const LOSS_SVG: &str = "loss.svg";
    /// Per-layer update-ratio chart.
    pub const UPDATE_RATIO_SVG: &str = "update_ratio.svg";
    /// Evaluation report (JSON).
    pub const EVALUATION_JSON: &str = "evaluation.json";
    /// Evaluation report (Markdown).
    pub const EVALUATION_MD: &str = "evaluation.md";
    /// One-page HTML summary.
    pub const REPORT_HTML: &str = "report.html";
    /// The bundle folder.
    pub const BUNDLE: &str = "bundle";
    /// What a transfer applied, adapted, skipped (Markdown), when the run had one.
    pub const TRANSFER_MD: &str = "transfer.md";
    /// The latest checkpoint, when checkpoints are on.
    pub const CHECKPOINT: &str = "checkpoint.json";
}

/// How training went, as recorded in the manifest's `training` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Why training stopped.
    pub stop_reason: StopReason,
    /// Optimisation steps taken.
    pub steps: u64,
    /// Epochs completed.
    pub epochs: u64,
    /// Mean training loss of the last completed epoch (NaN if none completed).
    #[serde(with = "owm_core::serde_float")]
    pub final_train_loss: f64,
    /// Items per gradient step.
    pub batch_size: usize,
    /// Items in the training split.
    pub train_items: usize,
    /// Each phase: optimiser, settings, why it ended, steps and evaluations.
    #[serde(default)]
    pub phases: Vec<PhaseSummary>,
    /// Items in the validation split (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub validation_items: usize,
    /// The validation split's metrics at the end of rounds, in order: the validation curves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validation: Vec<owm_core::ValidationRecord>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What [`train`] produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The bundle folder inside it.
    pub bundle_dir: PathBuf,
    /// The bundle's manifest.
    pub manifest: Manifest,
    /// Evaluation on the held-out split.
    pub evaluation: Evaluation,
    /// Class names, by class index.
    pub class_names: Vec<String>,
    /// How training went.
    pub training: TrainingSummary,
    /// What the config's transfer did, when it had one.
    pub transfer: Option<owm_init::TransferReport>,
    /// The differential-privacy guarantee the run spent, when it was private.
    pub privacy: Option<crate::PrivacyGuarantee>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Wall-clock seconds of its optimisation loop alone (every phase, with its tracing and checkpoints;
    /// without loading, evaluation, bundle and report). Not in the manifest, which stays deterministic.
    pub train_seconds: f64,
}

/// Options of [`train_with`] beyond the config.
#[derive(Default)]
pub struct TrainOptions<'a> {
    /// Show a progress bar on standard error.
    pub progress: bool,
    /// Run these phases instead of the config's (for user-written optimisers); the config's `optimizer`
    /// fields are then only descriptive.
    pub phases: Option<Vec<Phase>>,
    /// Extra trace sinks, beside the run's `trace.jsonl`; any of them may stop the run.
    pub sinks: Vec<&'a mut dyn TraceSink>,
    /// Continue from this checkpoint (written by a run of the same config). When it is the run folder's own
    /// `checkpoint.json`, the folder's trace is cut back to the checkpoint and continued.
    pub resume: Option<PathBuf>,
    /// Keys for the encrypted bundles the config starts from (a transfer's base, `Pretrained` sources):
    /// their weights are decrypted in memory.
    pub identities: Option<&'a owm_share::Identities>,
    /// Train together with the other ranks of this group (data-parallel gradients, shared populations; see
    /// [`DatasetObjective`]). Every rank calls [`train_with`] with the same config; rank 0 writes `run_dir`,
    /// the others their copy of the run into a scratch folder they remove. `None` or a group of one: alone.
    pub collective: Option<std::sync::Arc<dyn owm_core::Collective>>,
}

/// Runs `config` into the new folder `run_dir`: train, evaluate, write the trace, plots, evaluation and bundle.
///
/// With `progress`, a progress bar on standard error shows steps and the running loss.
/// A run that meets a NaN or infinite loss stops before applying that step and still writes its bundle, with
/// the reason in `training.stop_reason`.
///
/// # Errors
///
/// Any config rule broken, a data or file error naming the file, or an existing `run_dir` trace.
pub fn train(config: &ExperimentConfig, run_dir: &Path, progress: bool) -> Result<RunReport> {
    on_pool(|| train_with(config, run_dir, TrainOptions { progress, ..TrainOptions::default() }))
}

/// Runs `f` on a thread of rayon's global pool (inline when the caller is already one), and returns its result.
///
/// The CPU backends split every large tensor operation across that pool. Called from a thread outside
/// it, each operation hands its work to the pool and puts the caller to sleep until it is done; called
/// from a pool thread, the caller works on its own share while the other threads take the rest. A training
/// step runs a few hundred such operations: on the 2-core development machine, running the loop on a pool
/// thread made LeNet-5 steps about 25% faster and MLP steps about 15% faster (`docs/benchmarks.md`).
/// [`train`] and the `owm` command line run there; call [`train_with`] through it too.
///
/// It also primes the allocator once per process: glibc serves allocations above its mmap threshold (128 KiB
/// at start) with fresh pages, zeroed by the kernel on first touch, and raises the threshold to the size of
/// the largest such block freed (up to 32 MiB). A step allocates a few buffers of megabytes and frees them
/// again; until a large block has been freed once, each of them costs page faults. Freeing one 30 MiB block
/// (never touched, so never resident) raises the threshold at once: LeNet-5 steps ran 2–2.6× faster in
/// `owm bench` with it (a run that had loaded a dataset was already primed by freeing its buffers). glibc
/// still hands back the freed top of its heap beyond its trim threshold (64 MiB at most), which larger steps
/// free every time (the residual network at batch 128): OWM's binaries use mimalloc (`owm::Allocator`), which
/// keeps it.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static PRIMED: std::sync::Once = std::sync::Once::new();
    PRIMED.call_once(|| drop(std::hint::black_box(vec![0u8; 30 << 20])));
    rayon::join(f, || ()).0
}

/// The scratch run folder of a rank other than 0, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(rank: usize) -> Self {
        // Unique within the process too: ranks may be threads of one process (`ThreadGroup`).
        static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("owm-rank-{rank}-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        Self(path)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// [`train`] with user phases (optimisers), extra sinks, checkpoints or a resume.
///
/// # Errors
///
/// As [`train`], and [`crate::Error::Checkpoint`] for a checkpoint that cannot be used.
pub fn train_with(config: &ExperimentConfig, run_dir: &Path, options: TrainOptions<'_>) -> Result<RunReport> {
    run(config, run_dir, options, |config, input, outputs, device| {
        // Refused before any value is allocated.
        check_model_memory(config.model.label(), config.model.stored_values(input, outputs).unwrap_or(0))?;
        Ok(config.model.init(input, outputs, device)?)
    })
}

/// [`train_with`] for a model of your own: any Burn module that implements [`Model`], built by `build` from
/// the training split's [`InputSpec`] and number of outputs (classes, or 1 for a binary task) on the
/// autodiff device it is given.
///
/// Everything else is as for a built-in model: the init plan (by parameter path), every phase, the trace
/// with per-layer statistics, checkpoints and [`TrainOptions::resume`], the evaluation and the bundle. The run
/// records the model as [`ModelConfig::Custom`] (its Rust type) in `config.json`, and the manifest's `model`
/// section holds its module tree and parameter shapes ([`owm_models::CustomModel`]); whatever `config.model`
/// says is not used. OWM cannot rebuild user code: `owm replay` and `owm resume` say so by name; resume here
/// with the same `build`, and re-evaluate with [`crate::evaluate_bundle_into`].
///
/// # Errors
///
/// As [`train_with`].
pub fn train_model<M: Model>(
    config: &ExperimentConfig,
    run_dir: &Path,
    options: TrainOptions<'_>,
    build: impl FnOnce(&InputSpec, usize, &Device) -> M,
) -> Result<RunReport> {
    let config = ExperimentConfig { model: ModelConfig::Custom { name: std::any::type_name::<M>().to_string() }, ..config.clone() };
    run(&config, run_dir, options, |config, input, outputs, device| {
        let model = build(input, outputs, device);
        // Built already, but its gradients and optimiser state are not.
        check_model_memory(config.model.label(), model.num_params() as u128)?;
        Ok(model)
    })
}

/// Refuses a model of `values` stored values whose weights, gradients and up to two optimiser slots (in
/// f32) would not fit the memory budget.
fn check_model_memory(name: &str, values: u128) -> Result<()> {
    owm_core::check_memory(
        || format!("model `{name}` ({values} values, with gradients and optimiser state)"),
        values.saturating_mul(16),
        "choose a smaller model, or set OWM_MAX_MEMORY if the budget is wrong",
    )?;
    Ok(())
}

/// The pipeline for any model `build` makes (on the autodiff device, for the training split's input and
/// outputs).
fn run<M: Model>(
    config: &ExperimentConfig,
    run_dir: &Path,
    options: TrainOptions<'_>,
    build: impl FnOnce(&ExperimentConfig, &InputSpec, usize, &Device) -> Result<M>,
) -> Result<RunReport> {
    let started = Instant::now();
    config.check()?;
    let collective = options.collective.filter(|c| c.world() > 1);
    if collective.is_some() && config.privacy.is_some() {
        return Err(crate::Error::Privacy("differentially private training runs in one process".into()));
    }
    // Ranks other than 0 run the same steps into a scratch folder, removed when this function returns.
    let scratch = match &collective {
        Some(c) if c.rank() > 0 => Some(Scratch::new(c.rank())),
        _ => None,
    };
    let run_dir = scratch.as_ref().map_or(run_dir, |s| s.0.as_path());
    let device = config.backend.device()?;
    device.seed(config.seed);
    let autodiff = device.clone().autodiff();
    let resume = options.resume.map(|path| Checkpoint::load(&path).map(|c| (path, c))).transpose()?;

    let splits = config.data.load(config.seed)?;
    let identities = options.identities;
    let transfer_base = config.transfer.as_ref().map(|t| owm_share::load_bundle_with(&t.source, identities)).transpose()?;
    // Transferred layers expect inputs scaled as their own training data was: keep the base's statistics
    // when they fit these inputs (Hugging Face reuses a checkpoint's preprocessor the same way).
    let inherited = transfer_base
        .as_ref()
        .and_then(|b| serde_json::from_value::<Normalizer>(b.manifest.normalization.clone()).ok())
        .filter(|n| n.check(&splits.train).is_ok());
    // A private run's normaliser comes from public bounds and private estimates, inside the guarantee.
    let private_norm = config.privacy.as_ref().map(|p| p.fit_normalizer(&splits, config.seed)).transpose()?.flatten();
    let fits_own = config.normalize && splits.train.is_numeric() && inherited.is_none() && private_norm.is_none();
    if config.privacy.is_some() && fits_own {
        return Err(crate::Error::Privacy(
            "the normaliser would be fitted on the private training data, outside the guarantee: set normalize to false, give the privacy config a normalizer (public bounds, private estimates), or inherit a transfer base's".into(),
        ));
    }
    let norm = match private_norm {
        Some(n) => Some(n),
        None => (config.normalize && splits.train.is_numeric())
            .then(|| inherited.map_or_else(|| Normalizer::fit_by(&splits.train, config.normalize_by), Ok))
            .transpose()?,
    };
    let (train_set, test_set) = (&splits.train, &splits.test);
    check_training_split(train_set, config.batch_size)?;
    check_watched_metrics(config, options.phases.as_deref(), splits.validation.is_some())?;
    let outputs = train_set.task.outputs(train_set.num_classes());
    let model = build(config, &train_set.input_spec(), outputs, &autodiff)?;
    // Bundles named by `Pretrained` rules, verified before any tensor is taken from them.
    let mut bases: Vec<owm_share::Bundle> = config
        .init
        .rules
        .iter()
        .filter_map(|r| match &r.strategy {
            owm_init::InitStrategy::Pretrained { source, .. } => Some(source.clone()),
            _ => None,
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|source| owm_share::load_bundle_with(source, identities))
        .collect::<std::result::Result<_, _>>()?;
    let sources: Vec<&dyn owm_core::TensorSource> = bases.iter().map(|b| b as &dyn owm_core::TensorSource).collect();
    if config.privacy.is_some() && owm_core::state_data(&model).iter().any(|(path, _)| owm_core::is_buffer(path)) {
        return Err(crate::Error::Privacy(format!(
            "{} keeps batch-norm running statistics, computed from the private data outside the guarantee; use a model without batch norm",
            config.model.label()
        )));
    }
    let (model, mut init_records) = config.init.apply_with(model, config.seed, &sources)?;
    // A transfer overwrites what the plan drew with a (verified) bundle's tensors.
    let (model, transfer) = match (&config.transfer, transfer_base) {
        (Some(t), Some(base)) => {
            let (model, report) = t.apply(model, &base)?;
            report.annotate(&mut init_records, &model)?;
            bases.push(base);
            (model, Some(report))
        }
        _ => (model, None),
    };

    let trace_path = run_dir.join(files::TRACE);
    let metas: Vec<ParamMeta> = param_infos(&model).into_iter().map(|p| ParamMeta { path: p.path, shape: p.shape }).collect();
    let continuing = match &resume {
        Some((path, c)) => {
            verify_checkpoint(path, c, &metas)?;
            same_dir(path.parent(), run_dir) && trace_path.exists()
        }
        None => false,
    };
    // What the run records of itself: user phases as what they are, not the config's optimiser.
    let recorded = match &options.phases {
        Some(phases) if !phases.is_empty() => with_user_phases(config, phases),
        _ => config.clone(),
    };
    // Everything above only reads: a config, data or model that fails leaves no run folder behind.
    std::fs::create_dir_all(run_dir).map_err(|source| owm_core::Error::Io { op: "create", path: run_dir.into(), source })?;
    // The config first: a run killed at any later moment can be resumed (or restarted) from its folder.
    write_atomic(&run_dir.join(files::CONFIG), recorded.to_json().as_bytes())?;
    let mut jsonl = match &resume {
        Some((_, c)) if continuing => {
            let _ = truncate_after_checkpoint(&trace_path, c.total_steps)?;
            JsonlSink::append(&trace_path)?
        }
        _ => JsonlSink::create(&trace_path)?,
    };
    let mut extra = options.sinks;
    let mut sinks: Vec<&mut dyn TraceSink> = vec![&mut jsonl];
    sinks.extend(extra.iter_mut().map(|s| &mut **s as &mut dyn TraceSink));
    let mut sink = Tee(sinks);
    let config_json = owm_core::json::to_value(&recorded);
    if !continuing {
        let env = RunEnv {
            owm: env!("CARGO_PKG_VERSION").into(),
            burn: owm_core::BURN_VERSION.into(),
            backend: config.backend.name().into(),
            threads: rayon::current_num_threads(),
            processes: collective.as_ref().map(|c| c.world()),
        };
        let started = TraceEvent::RunStarted { config: config_json.clone(), seed: config.seed, params: metas, env: Some(env) };
        let _ = sink.on_event(&started)?;
        for record in &init_records {
            let _ = sink.on_event(&TraceEvent::ParamInit(record.clone()))?;
        }
    }
    if let Some((_, c)) = &resume {
        let _ = sink.on_event(&TraceEvent::Resumed { step: c.total_steps })?;
    }

    let mut dp = None;
    let mut phases = match options.phases {
        Some(phases) => phases,
        None => {
            let mut configs = config.phases();
            if let Some(p) = &config.privacy {
                dp = Some(p.apply(&mut configs, train_set.len(), config.batch_size, config.seed)?);
            }
            if let Some(report) = transfer.as_ref().filter(|_| config.transfer.as_ref().is_some_and(|t| t.freeze)) {
                let frozen = report.transferred();
                for p in &mut configs {
                    p.optimizer.freeze(&frozen)?;
                }
            }
            configs.iter().enumerate().map(|(i, p)| Phase::from_config(p, config.seed, i)).collect::<Result<_>>()?
        }
    };
    let start = ParamSet::of(&model);
    let mut objective = DatasetObjective::new(model, train_set, norm.as_ref(), &device, config.seed, config.batch_size)
        .with_augment(config.data.augment)
        .with_collective(collective.clone());
    let bar = progress_bar(options.progress && scratch.is_none(), &phases, train_set.len().div_ceil(config.batch_size.max(1)));
    let run = RunPhases {
        batch_size: config.batch_size,
        trace: &config.trace,
        bar: &bar,
        checkpoint: Some(run_dir.join(files::CHECKPOINT)),
        resume,
        validation: splits.validation.as_ref(),
    };
    let loop_started = Instant::now();
    let outcome = run_phases(&mut objective, start, &mut phases, &mut sink, run)?;
    let train_seconds = loop_started.elapsed().as_secs_f64();
    let stop_reason = outcome.stop_reason.clone();
    let _ = sink.on_event(&TraceEvent::Stopped { reason: stop_reason.clone(), steps: outcome.steps, epochs: outcome.epochs })?;
    drop(sink);
    let trace_events = jsonl.events();
    let trace_digest = jsonl.finish()?;
    bar.finish_with_message(format!("{stop_reason}"));
    // Read back whole: a resumed run's trace holds the records from before its checkpoint too.
    let trace = read_trace(&trace_path)?;

    let model = objective.model_with(&outcome.params)?;
    let evaluation = evaluate_model(&model, test_set, Some(train_set), norm.as_ref(), &device, config.seed)?;

    let training = TrainingSummary {
        stop_reason,
        steps: outcome.steps,
        epochs: outcome.epochs,
        final_train_loss: outcome.final_loss,
        batch_size: objective.batch_size(),
        train_items: train_set.len(),
        phases: outcome.phases,
        validation_items: splits.validation.as_ref().map_or(0, Dataset::len),
        validation: trace.validations().cloned().collect(),
    };
    let mut manifest = Manifest::new(config.seed);
    manifest.backend = config.backend.name().into();
    manifest.model = match &config.model {
        ModelConfig::Custom { .. } => section(&owm_models::describe(&model)),
        built_in => section(built_in),
    };
    manifest.init = serde_json::json!({ "plan": config.init, "params": init_records });
    if let Some(report) = &transfer {
        manifest.init["transfer"] = owm_core::json::to_value(report);
    }
    manifest.optimizer = serde_json::json!({ "phases": training.phases.iter().map(|p| serde_json::json!({
        "optimizer": p.optimizer, "settings": p.settings, "stop_reason": p.stop_reason.to_string(),
    })).collect::<Vec<_>>() });
    manifest.experiment = config_json;
    let info = splits.info(config.data.name());
    manifest.dataset = section(&info);
    manifest.normalization = section(&norm);
    manifest.preprocessing = section(&splits.preprocessing.clone().map(PreprocessingSection::new));
    manifest.input = section(&crate::example::stored_input(&model, test_set, splits.preprocessing.as_ref(), &config.data.source, &info, norm.as_ref()));
    manifest.training = section(&training);
    manifest.licenses.extend(config.licenses.clone());
    let mut seen = std::collections::BTreeSet::new();
    manifest.lineage = bases
        .iter()
        .filter(|b| seen.insert(&b.manifest.bundle_digest))
        .map(|b| owm_share::BaseModel { name: b.dir.display().to_string(), bundle_digest: b.manifest.bundle_digest.clone() })
        .collect();
    let privacy = match (&config.privacy, &dp) {
        (Some(p), Some(dp)) => Some(crate::PrivacyGuarantee::spent(p, dp, outcome.steps)?),
        _ => None,
    };
    manifest.privacy = section(&privacy);
    manifest.evaluation = section(&evaluation);
    manifest.trace = Some(TraceRef { file: files::TRACE.into(), sha256: trace_digest, events: trace_events });
    let bundle_dir = run_dir.join(files::BUNDLE);
    // The trace and the last checkpoint (intermediate parameters, when the run wrote one) travel with the
    // weights, each listed with its digest.
    let checkpoint_path = run_dir.join(files::CHECKPOINT);
    let mut extra = vec![(files::TRACE, trace_path.as_path())];
    if checkpoint_path.is_file() {
        extra.push((files::CHECKPOINT, checkpoint_path.as_path()));
    }
    let manifest = save_bundle_with(&bundle_dir, &model, manifest, &extra)?;

    write_atomic(&run_dir.join(files::EVALUATION_JSON), &owm_core::json::to_vec_pretty(&evaluation))?;
    write_atomic(&run_dir.join(files::EVALUATION_MD), evaluation.to_markdown(&test_set.class_names).as_bytes())?;
    if let Some(report) = &transfer {
        write_atomic(&run_dir.join(files::TRANSFER_MD), report.to_markdown().as_bytes())?;
    }
    let evaluated = ReportEvaluation { evaluation: &evaluation, class_names: &test_set.class_names };
    write_report_with(run_dir, &trace, Some(evaluated))?;

    Ok(RunReport {
        run_dir: run_dir.to_path_buf(),
        bundle_dir,
        manifest,
        evaluation,
        class_names: test_set.class_names.clone(),
        training,
        transfer,
        privacy,
        seconds: started.elapsed().as_secs_f64(),
        train_seconds,
    })
}

/// `config` with `phases` (user optimisers) in place of its own, each recorded by its name and settings
/// ([`owm_optim::OptimizerConfig::Custom`]).
fn with_user_phases(config: &ExperimentConfig, phases: &[Phase]) -> ExperimentConfig {
    let mut recorded = config.clone();
    recorded.set_phases(
        phases
            .iter()
            .map(|p| owm_optim::PhaseConfig {
                optimizer: owm_optim::OptimizerConfig::Custom { name: p.optimizer.name(), settings: p.optimizer.settings() },
                until: p.until.clone(),
            })
            .collect(),
    );
    recorded
}

/// Refuses criteria that watch a validation metric (`val_*`) in a run without a validation split, or that
/// would never see one (validation evaluated never), naming the metric.
fn check_watched_metrics(config: &ExperimentConfig, user: Option<&[Phase]>, has_validation: bool) -> Result<()> {
    let phases: Vec<owm_optim::ConvergenceConfig> = match user {
        Some(phases) if !phases.is_empty() => phases.iter().map(|p| p.until.clone()).collect(),
        _ => config.phases().into_iter().map(|p| p.until).collect(),
    };
    for until in &phases {
        for metric in until.metrics() {
            if metric.starts_with("val_") && !(has_validation && config.trace.validation_every > 0) {
                return Err(crate::Error::NoValidation { metric: metric.to_string() });
            }
        }
    }
    Ok(())
}

/// What the data must hold for the config to make sense: at least two classes, and a batch no larger than
/// the split (PyTorch would quietly train on one short batch per epoch; a mistyped batch size is likelier).
fn check_training_split(train: &Dataset, batch: usize) -> Result<()> {
    let mut present = train.labels().to_vec();
    present.sort_unstable();
    present.dedup();
    if present.len() < 2 {
        let class = present.first().and_then(|&c| train.class_names.get(c)).map_or_else(|| "none".to_string(), Clone::clone);
        return Err(crate::Error::OneClass { dataset: train.name.clone(), class });
    }
    if batch > train.len() {
        return Err(crate::Error::BatchLarger { batch, items: train.len(), dataset: train.name.clone() });
    }
    Ok(())
}

fn progress_bar(show: bool, phases: &[Phase], steps_per_epoch: usize) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let budget = |p: &Phase| {
        let epochs = p.until.max_epochs.map(|e| e * if p.optimizer.is_search() { 1 } else { steps_per_epoch as u64 });
        match (epochs, p.until.max_steps) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    };
    let total = phases.iter().map(budget).sum::<Option<u64>>();
    let bar = ProgressBar::with_draw_target(total, indicatif::ProgressDrawTarget::stderr());
    #[allow(clippy::expect_used, reason = "a constant, valid template")]
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps  {msg}").expect("valid template"));
    bar
}

/// Checks a checkpoint's weights against the digests its run's trace recorded just before writing it (when
/// that trace is beside it), so an altered checkpoint is refused rather than silently continued.
fn verify_checkpoint(path: &Path, c: &Checkpoint, metas: &[ParamMeta]) -> Result<()> {
    let err = |reason: String| crate::Error::Checkpoint { path: path.to_path_buf(), source: reason.into() };
    let digests = host_digests(metas, &c.weights)
        .ok_or_else(|| err(format!("{} weights, the model has {}", c.weights.len(), metas.iter().map(ParamMeta::numel).sum::<usize>())))?;
    let Some(trace) = path.parent().map(|d| d.join(files::TRACE)).filter(|t| t.exists()) else { return Ok(()) };
    let (record, _) = find_checkpoint(&trace, c.total_steps)?;
    for ((path, digest), (_, recorded)) in digests.iter().zip(&record.digests) {
        if digest != recorded {
            return Err(err(format!("the weights of `{path}` are not those the trace recorded at step {} (altered after it was written?)", c.total_steps)));
        }
    }
    Ok(())
}

fn same_dir(a: Option<&Path>, b: &Path) -> bool {
    match (a.map(std::fs::canonicalize), std::fs::canonicalize(b)) {
        (Some(Ok(a)), Ok(b)) => a == b,
        _ => false,
    }
}

fn section<T: Serialize>(value: &T) -> serde_json::Value {
    owm_core::json::to_value(value)
}
