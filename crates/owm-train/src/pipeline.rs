use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use owm_core::{ParamMeta, ParamSet, StopReason, TraceEvent, TraceSink, Validate, param_infos, write_atomic};
use owm_data::{Dataset, Normalizer};
use owm_eval::ClassificationReport;
use owm_models::Classifier;
use owm_share::{Manifest, TraceRef, save_bundle_with};
use owm_trace::{JsonlSink, loss_chart, read_trace, update_ratio_chart};
use serde::{Deserialize, Serialize};

use crate::{Checkpoint, DatasetObjective, ExperimentConfig, Phase, PhaseSummary, Result, RunPhases, Tee, run_phases};

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
    pub evaluation: ClassificationReport,
    /// How training went.
    pub training: TrainingSummary,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
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
    /// Write `checkpoint.json` in the run folder every this many steps.
    pub checkpoint_every: Option<u64>,
    /// Continue from this checkpoint (written by a run of the same config).
    pub resume: Option<PathBuf>,
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
    train_with(config, run_dir, TrainOptions { progress, ..TrainOptions::default() })
}

/// [`train`] with user phases (optimisers), extra sinks, checkpoints or a resume.
///
/// # Errors
///
/// As [`train`], and [`crate::Error::Checkpoint`] for a checkpoint that cannot be used.
pub fn train_with(config: &ExperimentConfig, run_dir: &Path, options: TrainOptions<'_>) -> Result<RunReport> {
    let started = Instant::now();
    config.check()?;
    let device = config.backend.device()?;
    device.seed(config.seed);
    let autodiff = device.clone().autodiff();
    std::fs::create_dir_all(run_dir).map_err(|source| owm_core::Error::Io { op: "create", path: run_dir.into(), source })?;
    let resume = options.resume.map(|path| Checkpoint::load(&path).map(|c| (path, c))).transpose()?;

    let splits = config.data.load(config.seed)?;
    let norm = config.normalize.then(|| Normalizer::fit(&splits.train)).transpose()?;
    let (train_set, test_set) = (&splits.train, &splits.test);
    let model = config.model.init(train_set.shape, train_set.num_classes(), &autodiff)?;
    let (model, init_records) = config.init.apply(model, config.seed)?;

    let trace_path = run_dir.join(files::TRACE);
    let mut jsonl = JsonlSink::create(&trace_path)?;
    let mut extra = options.sinks;
    let mut sinks: Vec<&mut dyn TraceSink> = vec![&mut jsonl];
    sinks.extend(extra.iter_mut().map(|s| &mut **s as &mut dyn TraceSink));
    let mut sink = Tee(sinks);
    let params = param_infos(&model).into_iter().map(|p| ParamMeta { path: p.path, shape: p.shape }).collect();
    let config_json = serde_json::to_value(config).expect("configs serialise");
    let _ = sink.on_event(&TraceEvent::RunStarted { config: config_json.clone(), seed: config.seed, params })?;
    for record in &init_records {
        let _ = sink.on_event(&TraceEvent::ParamInit(record.clone()))?;
    }
    write_atomic(&run_dir.join(files::CONFIG), config.to_json().as_bytes())?;

    let mut phases = match options.phases {
        Some(phases) => phases,
        None => config.phases().iter().enumerate().map(|(i, p)| Phase::from_config(p, config.seed, i)).collect::<Result<_>>()?,
    };
    let start = ParamSet::of(&model);
    let mut objective = DatasetObjective::new(model, train_set, norm.as_ref(), &device, config.seed, config.batch_size);
    let bar = progress_bar(options.progress, &phases, train_set.len().div_ceil(config.batch_size.max(1)));
    let run = RunPhases {
        batch_size: config.batch_size,
        layer_stats: config.layer_stats,
        bar: &bar,
        checkpoint: options.checkpoint_every.map(|every| (run_dir.join(files::CHECKPOINT), every.max(1))),
        resume,
    };
    let outcome = run_phases(&mut objective, start, &mut phases, &mut sink, run)?;
    let stop_reason = outcome.stop_reason.clone();
    let _ = sink.on_event(&TraceEvent::Stopped { reason: stop_reason.clone(), steps: outcome.steps, epochs: outcome.epochs })?;
    drop(sink);
    let trace_events = jsonl.events();
    let trace_digest = jsonl.finish()?;
    bar.finish_with_message(format!("{stop_reason}"));

    let model = objective.model_with(&outcome.params)?;
    let predictions = predict(&model, test_set, norm.as_ref(), &device, 256);
    let evaluation = ClassificationReport::new(test_set.labels(), &predictions, test_set.num_classes())?;

    let training = TrainingSummary {
        stop_reason,
        steps: outcome.steps,
        epochs: outcome.epochs,
        final_train_loss: outcome.final_loss,
        batch_size: objective.batch_size(),
        train_items: train_set.len(),
        phases: outcome.phases,
    };
    let mut manifest = Manifest::new(config.seed);
    manifest.backend = config.backend.name().into();
    manifest.model = section(&config.model);
    manifest.init = serde_json::json!({ "plan": config.init, "params": init_records });
    manifest.optimizer = serde_json::json!({ "phases": training.phases.iter().map(|p| serde_json::json!({
        "optimizer": p.optimizer, "settings": p.settings, "stop_reason": p.stop_reason.to_string(),
    })).collect::<Vec<_>>() });
    manifest.experiment = config_json;
    manifest.dataset = section(&splits.info(config.data.name()));
    manifest.normalization = section(&norm);
    manifest.training = section(&training);
    manifest.evaluation = section(&evaluation);
    manifest.trace = Some(TraceRef { file: files::TRACE.into(), sha256: trace_digest, events: trace_events });
    let bundle_dir = run_dir.join(files::BUNDLE);
    let manifest = save_bundle_with(&bundle_dir, &model, manifest, &[(files::TRACE, &trace_path)])?;

    write_atomic(&run_dir.join(files::EVALUATION_JSON), &serde_json::to_vec_pretty(&evaluation).expect("reports serialise"))?;
    write_atomic(&run_dir.join(files::EVALUATION_MD), evaluation.to_markdown(&test_set.class_names).as_bytes())?;
    let trace = read_trace(&trace_path)?;
    let (loss_svg, ratio_svg) = (loss_chart(&trace), update_ratio_chart(&trace));
    write_atomic(&run_dir.join(files::LOSS_SVG), loss_svg.as_bytes())?;
    write_atomic(&run_dir.join(files::UPDATE_RATIO_SVG), ratio_svg.as_bytes())?;
    let charts = [loss_svg.as_str(), ratio_svg.as_str()];
    let html = crate::html_report(config, &training, &evaluation, &test_set.class_names, &manifest.weights_digest, &charts);
    write_atomic(&run_dir.join(files::REPORT_HTML), html.as_bytes())?;

    Ok(RunReport {
        run_dir: run_dir.to_path_buf(),
        bundle_dir,
        manifest,
        evaluation,
        training,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Predicted class of every item of `data`, in batches of `batch` on `device`.
pub fn predict(model: &Classifier, data: &Dataset, norm: Option<&Normalizer>, device: &Device, batch: usize) -> Vec<usize> {
    logits(model, data, norm, device, batch)
        .chunks(data.num_classes())
        .map(|row| row.iter().enumerate().fold(0, |best, (i, v)| if *v > row[best] { i } else { best }))
        .collect()
}

/// Logits of every item of `data`, row-major `[items, classes]`, computed in batches of `batch` on `device`.
pub fn logits(model: &Classifier, data: &Dataset, norm: Option<&Normalizer>, device: &Device, batch: usize) -> Vec<f32> {
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut out = Vec::with_capacity(data.len() * data.num_classes());
    for chunk in indices.chunks(batch.max(1)) {
        let (images, _) = data.batch(chunk, norm, device);
        let data = model.forward(images).into_data().convert::<f32>();
        out.extend(data.try_to_vec::<f32>().expect("f32 logits"));
    }
    out
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
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} steps  {msg}")
            .expect("valid template"),
    );
    bar
}

fn section<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("manifest sections serialise")
}
