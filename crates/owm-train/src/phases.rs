use std::path::{Path, PathBuf};

use burn::prelude::*;
use indicatif::ProgressBar;
use owm_core::{
    BestRound, Control, EpochRecord, Objective, ParamSet, Result as CoreResult, StopReason, TraceEvent, TraceSink, ValidationRecord, WeightsAt, derive_seed,
    write_atomic,
};
use owm_data::Dataset;
use owm_optim::{Convergence, ConvergenceConfig, Optimizer, PhaseConfig, Progress, RoundEnd, StepContext};
use serde::{Deserialize, Serialize};

use crate::record::{PathFilter, Recorder};
use crate::{DataCursor, DatasetObjective, Error, Result, TraceConfig};

/// One phase of a run, ready to go: an optimiser (built-in or user-written) and the criteria that end it.
pub struct Phase {
    /// The optimiser.
    pub optimizer: Box<dyn Optimizer>,
    /// When the phase ends.
    pub until: ConvergenceConfig,
}

impl std::fmt::Debug for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phase").field("optimizer", &self.optimizer.name()).field("until", &self.until).finish()
    }
}

impl Phase {
    /// A phase of `optimizer` until `until` holds.
    pub fn new(optimizer: Box<dyn Optimizer>, until: ConvergenceConfig) -> Self {
        Self { optimizer, until }
    }

    /// Builds phase `index` (from 0) of a config; search methods draw from `derive_seed(seed, "optim/phase-{index}")`.
    ///
    /// # Errors
    ///
    /// The first rule the config breaks.
    pub fn from_config(config: &PhaseConfig, seed: u64, index: usize) -> Result<Self> {
        let optimizer = config.optimizer.build(derive_seed(seed, &format!("optim/phase-{index}")))?;
        Ok(Self::new(optimizer, config.until.clone()))
    }
}

/// How one phase went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// The optimiser's name.
    pub optimizer: String,
    /// The optimiser's settings.
    pub settings: serde_json::Value,
    /// Why the phase ended.
    pub stop_reason: StopReason,
    /// Steps (updates or generations) it took.
    pub steps: u64,
    /// Candidate evaluations it used.
    pub evaluations: u64,
    /// Loss of its last completed round (NaN if none).
    #[serde(with = "owm_core::serde_float")]
    pub final_loss: f64,
    /// The round whose weights the phase ended on instead of its last (early stopping's best), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restored: Option<BestRound>,
}

/// Running sums of the round in progress (an epoch of a gradient method).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundSums {
    loss: f64,
    items: u64,
    correct: u64,
    with_accuracy: bool,
}

/// Everything needed to continue a run exactly where it was: the phase, its step, the weights, the
/// optimiser's state, the convergence progress and the data position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`CHECKPOINT_FORMAT`].
    pub format: String,
    /// Index of the phase in progress (from 0).
    pub phase: usize,
    /// Steps taken in that phase.
    pub phase_step: u64,
    /// Steps taken in the whole run.
    pub total_steps: u64,
    /// Epochs completed in the whole run (gradient phases).
    pub total_epochs: u64,
    /// The weights, flat, in parameter order (packed: [`owm_core::serde_float::Packed`]).
    #[serde(with = "owm_core::serde_float::packed")]
    pub weights: Vec<f32>,
    /// The model's buffers (batch-norm running statistics), by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buffers: Vec<(String, Vec<f32>)>,
    /// The optimiser's state.
    pub optimizer: serde_json::Value,
    /// The phase's convergence progress.
    pub progress: Progress,
    /// The data position.
    pub cursor: DataCursor,
    /// Sums of the round in progress.
    pub round: RoundSums,
    /// Phases already finished.
    pub done: Vec<PhaseSummary>,
    /// Why the phase in progress ended at this very step, if it did (a resume then starts the next phase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<StopReason>,
    /// The best round of the phase in progress by its early-stopping metric, with its weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best: Option<BestWeights>,
}

/// The weights of a phase's best round so far, kept to end the phase on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestWeights {
    /// Which round, and its metric.
    pub round: BestRound,
    /// The weights, flat, in parameter order (packed: [`owm_core::serde_float::Packed`]).
    #[serde(with = "owm_core::serde_float::packed")]
    pub weights: Vec<f32>,
    /// The model's buffers then, by path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buffers: Vec<(String, Vec<f32>)>,
}

/// [`BestWeights`] while the phase runs (the weights still on the device).
struct Kept {
    round: BestRound,
    params: ParamSet,
    buffers: Vec<(String, Vec<f32>)>,
}

impl Kept {
    fn to_checkpoint(&self) -> BestWeights {
        BestWeights { round: self.round.clone(), weights: self.params.to_host(), buffers: self.buffers.clone() }
    }
}

/// Checkpoint file format tag: version 2 packs its long vectors ([`owm_core::serde_float::Packed`]); version
/// 1, with arrays of numbers, is still read.
pub const CHECKPOINT_FORMAT: &str = "owm-checkpoint/2";

impl Checkpoint {
    /// Reads a checkpoint file.
    ///
    /// # Errors
    ///
    /// [`Error::Checkpoint`] naming the file when it cannot be read or is not a checkpoint.
    pub fn load(path: &Path) -> Result<Self> {
        let err = |source: owm_core::BoxError| Error::Checkpoint { path: path.to_path_buf(), source };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.into()))?;
        let c: Self = serde_json::from_str(&text).map_err(|e| err(e.into()))?;
        if c.format != CHECKPOINT_FORMAT && c.format != "owm-checkpoint/1" {
            return Err(err(format!("format `{}`, expected `{CHECKPOINT_FORMAT}`", c.format).into()));
        }
        Ok(c)
    }
}

/// Sends every event to several sinks; stops when any of them asks to.
pub struct Tee<'a>(pub Vec<&'a mut dyn TraceSink>);

impl TraceSink for Tee<'_> {
    fn on_event(&mut self, event: &TraceEvent) -> CoreResult<Control> {
        let mut control = Control::Continue;
        for sink in &mut self.0 {
            if sink.on_event(event)? == Control::Stop {
                control = Control::Stop;
            }
        }
        Ok(control)
    }
}

/// What [`run_phases`] produced.
#[derive(Debug)]
pub struct PhasesOutcome {
    /// The final weights.
    pub params: ParamSet,
    /// Why the run stopped: the last phase's reason, or the failure that ended it early.
    pub stop_reason: StopReason,
    /// Steps over all phases.
    pub steps: u64,
    /// Epochs completed over all gradient phases.
    pub epochs: u64,
    /// Loss of the last completed round.
    pub final_loss: f64,
    /// Each phase.
    pub phases: Vec<PhaseSummary>,
}

/// Options of [`run_phases`].
pub struct RunPhases<'a> {
    /// Mini-batch size of gradient phases (full-batch phases use the whole split).
    pub batch_size: usize,
    /// What to record beyond the optimisers' own records, and the checkpoint interval.
    pub trace: &'a TraceConfig,
    /// Progress bar.
    pub bar: &'a ProgressBar,
    /// Write checkpoints to this file, every `trace.checkpoint_every` steps.
    pub checkpoint: Option<PathBuf>,
    /// Continue from this checkpoint.
    pub resume: Option<(PathBuf, Checkpoint)>,
    /// Evaluate on this split at the end of rounds ([`TraceConfig::validation_every`]): its metrics go in the
    /// trace ([`TraceEvent::Validation`]) and to the phase's criteria (early stopping).
    pub validation: Option<&'a Dataset>,
}

/// The executor: runs `phases` in order on `objective` from `params`, each until its criteria hold, tracing
/// into `sink`. A non-finite loss or a sink's stop ends the whole run; otherwise each phase hands its weights
/// to the next.
///
/// Besides the optimisers' step and generation records, it records the weight digests (initial, periodic,
/// before each checkpoint, final), histograms and snapshots that `opts.trace` asks for, and the validation
/// split's metrics at the end of rounds. A phase whose criteria watch a metric with early stopping keeps the
/// weights (and buffers) of its best round and ends on them, recorded as [`TraceEvent::BestRestored`].
///
/// # Errors
///
/// An optimiser, objective, sink or checkpoint-file error.
pub fn run_phases<M: owm_models::Model>(
    objective: &mut DatasetObjective<'_, M>,
    mut params: ParamSet,
    phases: &mut [Phase],
    sink: &mut dyn TraceSink,
    opts: RunPhases<'_>,
) -> Result<PhasesOutcome> {
    if phases.is_empty() {
        return Err(Error::NoPhases);
    }
    let device = params.device().unwrap_or_else(Device::flex);
    let (mut total_steps, mut total_epochs) = (0u64, 0u64);
    let mut done: Vec<PhaseSummary> = Vec::new();
    let mut start_phase = 0;
    let mut resume = opts.resume;
    if let Some((path, c)) = &resume {
        let err = |source: owm_core::BoxError| Error::Checkpoint { path: path.clone(), source };
        if c.phase >= phases.len() {
            return Err(err(format!("it is in phase {} but the run has {}", c.phase + 1, phases.len()).into()));
        }
        params = params.with_host(&c.weights, &device).map_err(|e| err(e.into()))?;
        objective.set_buffers(&c.buffers).map_err(|e| err(e.into()))?;
        (total_steps, total_epochs, start_phase, done) = (c.total_steps, c.total_epochs, c.phase, c.done.clone());
        objective.seek(c.cursor);
    }
    let mut recorder = Recorder::new(opts.trace.clone());
    // A sink that stops on the initial records (a replay that already diverged) stops before the first step.
    let mut halted = false;
    if resume.is_none() {
        halted |= recorder.weights(0, WeightsAt::Initial, &params, sink)? == Control::Stop;
        halted |= recorder.values(0, true, &params, sink)? == Control::Stop;
    }
    let mut failure = None;
    for (index, phase) in phases.iter_mut().enumerate().skip(start_phase) {
        let optimizer = &mut phase.optimizer;
        let full = optimizer.full_batch();
        objective.set_batch_size(if full { objective.train_items() } else { opts.batch_size });
        let mut convergence = Convergence::new(phase.until.clone())?;
        let (mut step, mut round, mut evaluations, mut last_loss) = (0u64, RoundSums::default(), 0u64, f64::NAN);
        // A checkpoint written at the step that ended its phase ends the phase again, without another step.
        let mut ended = None;
        let mut kept: Option<Kept> = None;
        match resume.take() {
            Some((path, c)) => {
                let err = |e: owm_optim::Error| Error::Checkpoint { path: path.clone(), source: e.into() };
                optimizer.load_state(&c.optimizer, &params).map_err(err)?;
                if let Some(b) = c.best {
                    let params = params.with_host(&b.weights, &device).map_err(|e| Error::Checkpoint { path: path.clone(), source: e.into() })?;
                    kept = Some(Kept { round: b.round, params, buffers: b.buffers });
                }
                ended = c.ended;
                convergence = convergence.with_progress(c.progress.clone());
                (step, round, evaluations) = (c.phase_step, c.round, c.progress.evaluations);
                last_loss = c.progress.round_losses.last().copied().unwrap_or(f64::NAN);
            }
            None => {
                let settings = optimizer.settings();
                let criteria = owm_core::json::to_value(&phase.until);
                let event = TraceEvent::PhaseStarted { phase: index as u64 + 1, optimizer: optimizer.name(), settings, criteria };
                let _ = sink.on_event(&event)?;
            }
        }
        let reason = loop {
            if let Some(reason) = ended.take() {
                break reason;
            }
            if halted {
                failure = Some(StopReason::SinkRequested);
                break StopReason::SinkRequested;
            }
            let ctx = StepContext { step: total_steps + 1, layer_stats: opts.trace.stats_at(total_steps + 1) };
            // The weights are handed over, not shared: an optimiser may then write them in place (a lazy
            // table's rows). A step whose loss is not finite leaves them as they were (`Optimizer::step`).
            let stepped = optimizer.step(params, objective, ctx, &mut PathFilter { config: opts.trace, inner: sink })?;
            params = stepped.params;
            if let Some(reason) = convergence.check_loss(total_steps + 1, stepped.loss) {
                failure = Some(reason.clone());
                break reason;
            }
            step += 1;
            total_steps += 1;
            evaluations += stepped.evaluations;
            opts.bar.inc(1);
            let round_end = if stepped.items > 0 {
                round.loss += stepped.loss * stepped.items as f64;
                round.items += stepped.items;
                if let Some(a) = stepped.accuracy {
                    round.correct += (a * stepped.items as f64).round() as u64;
                    round.with_accuracy = true;
                }
                stepped.epoch_end.then(|| {
                    let loss = round.loss / round.items.max(1) as f64;
                    let accuracy = round.with_accuracy.then(|| round.correct as f64 / round.items.max(1) as f64);
                    round = RoundSums::default();
                    (loss, accuracy)
                })
            } else {
                stepped.epoch_end.then_some((stepped.loss, stepped.accuracy))
            };
            let mut control = stepped.control;
            if let Some((loss, accuracy)) = round_end {
                last_loss = loss;
                optimizer.end_round(loss);
                if stepped.items > 0 {
                    total_epochs += 1;
                    let record = EpochRecord { epoch: total_epochs, steps: total_steps, train_loss: loss, train_accuracy: accuracy };
                    if sink.on_event(&TraceEvent::EpochEnd(record))? == Control::Stop {
                        control = Control::Stop;
                    }
                }
                opts.bar.set_message(format!("{} phase {}: loss {loss:.4}", optimizer.name(), index + 1));
            }
            // Validated before the step's weight records: a checkpoint at this step comes after its validation.
            let round_end = match round_end {
                Some((loss, accuracy)) => {
                    let mut end = RoundEnd::new(loss, accuracy);
                    let round = convergence.rounds() + 1;
                    if let Some(data) = opts.validation.filter(|_| opts.trace.validation_at(round)) {
                        end.metrics = objective.validation(&params, data)?;
                        let record = ValidationRecord { phase: index as u64 + 1, round, steps: total_steps, metrics: end.metrics.clone() };
                        if sink.on_event(&TraceEvent::Validation(record))? == Control::Stop {
                            control = Control::Stop;
                        }
                    }
                    Some(end)
                }
                None => None,
            };
            if recorder.values(total_steps, false, &params, sink)? == Control::Stop {
                control = Control::Stop;
            }
            let checkpoint = opts.checkpoint.as_ref().filter(|_| opts.trace.checkpoint_at(total_steps));
            let digest = match checkpoint {
                Some(_) => Some(WeightsAt::Checkpoint),
                None => opts.trace.digest_at(total_steps).then_some(WeightsAt::Periodic),
            };
            if let Some(at) = digest
                && recorder.weights(total_steps, at, &params, sink)? == Control::Stop
            {
                control = Control::Stop;
            }
            let ends_round = round_end.is_some();
            let converged = convergence.observe(stepped.evaluations, round_end);
            // Only a round's end can make a new best.
            if ends_round && let (Some(best), Some(e)) = (convergence.best().filter(|b| b.latest), phase.until.watched()) {
                let round = BestRound { phase: index as u64 + 1, round: best.round, steps: total_steps, metric: e.metric.clone(), value: best.value };
                kept = Some(Kept { round, params: params.clone(), buffers: objective.buffers() });
            }
            let mut stop = converged.clone();
            if control == Control::Stop {
                failure = Some(StopReason::SinkRequested);
                stop = Some(StopReason::SinkRequested);
            }
            if let Some(path) = checkpoint {
                let checkpoint = Checkpoint {
                    format: CHECKPOINT_FORMAT.into(),
                    phase: index,
                    phase_step: step,
                    total_steps,
                    total_epochs,
                    weights: params.to_host(),
                    buffers: objective.buffers(),
                    optimizer: optimizer.state(),
                    progress: convergence.progress(),
                    cursor: objective.cursor(),
                    round: round.clone(),
                    done: done.clone(),
                    ended: converged,
                    best: kept.as_ref().map(Kept::to_checkpoint),
                };
                write_atomic(path, owm_core::json::to_string(&checkpoint).as_bytes())?;
            }
            if let Some(reason) = stop {
                break reason;
            }
        };
        // The phase ends on its best round's weights when any step came after it (later rounds, or a budget
        // that ended the phase within a round).
        let restored = match kept.take() {
            Some(k) if k.round.steps != total_steps => {
                params = k.params;
                objective.set_buffers(&k.buffers)?;
                let _ = sink.on_event(&TraceEvent::BestRestored(k.round.clone()))?;
                opts.bar.set_message(format!("restored round {} ({} {:.4})", k.round.round, k.round.metric, k.round.value));
                Some(k.round)
            }
            _ => None,
        };
        let _ = sink.on_event(&TraceEvent::PhaseEnded { phase: index as u64 + 1, reason: reason.clone(), steps: step, evaluations })?;
        done.push(PhaseSummary {
            optimizer: optimizer.name(),
            settings: optimizer.settings(),
            stop_reason: reason,
            steps: step,
            evaluations,
            final_loss: last_loss,
            restored,
        });
        if failure.is_some() {
            break;
        }
    }
    let _ = recorder.weights(total_steps, WeightsAt::Final, &params, sink)?;
    let _ = recorder.values(total_steps, true, &params, sink)?;
    #[allow(clippy::expect_used, reason = "a config always has its first phase")]
    let last = done.last().expect("at least one phase ran");
    Ok(PhasesOutcome {
        params,
        stop_reason: failure.unwrap_or_else(|| last.stop_reason.clone()),
        steps: total_steps,
        epochs: total_epochs,
        final_loss: last.final_loss,
        phases: done,
    })
}
