//! Trace events and the sink trait every producer pushes them into.
//!
//! Producers (the training loop, optimisers, init plans) never print and never touch files: they push
//! [`TraceEvent`]s into a `&mut dyn TraceSink`, as ripgrep's searcher pushes matches into a `Sink`.
//! A sink may stop the run by returning [`Control::Stop`].
//! `owm-trace` provides the JSON Lines file sink and the reader; tests use `Vec<TraceEvent>`.

use serde::{Deserialize, Serialize};

use crate::Result;

/// Whether the producer should go on after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Control {
    /// Keep going.
    Continue,
    /// Stop the run after this event (the stop is recorded as [`StopReason::SinkRequested`]).
    Stop,
}

/// Receives trace events.
pub trait TraceSink {
    /// Records one event.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Sink`] or [`crate::Error::Io`] when the event cannot be recorded; producers abort the run
    /// rather than continue untraced.
    fn on_event(&mut self, event: &TraceEvent) -> Result<Control>;
}

/// Drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl TraceSink for NullSink {
    fn on_event(&mut self, _: &TraceEvent) -> Result<Control> {
        Ok(Control::Continue)
    }
}

/// Keeps every event in memory.
impl TraceSink for Vec<TraceEvent> {
    fn on_event(&mut self, event: &TraceEvent) -> Result<Control> {
        self.push(event.clone());
        Ok(Control::Continue)
    }
}

/// One line of a training trace.
///
/// Events carry no wall-clock time, so two runs with the same seed on a CPU backend produce byte-identical
/// traces and therefore identical trace digests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum TraceEvent {
    /// The run begins: its full configuration and parameter list.
    RunStarted {
        /// The experiment configuration, as saved.
        config: serde_json::Value,
        /// The root seed.
        seed: u64,
        /// Every float parameter, by path.
        params: Vec<ParamMeta>,
        /// Where the run ran: versions, backend, threads (not compared by a replay).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        env: Option<RunEnv>,
    },
    /// The run continues from a checkpoint written at `step` (events after that checkpoint were dropped).
    Resumed {
        /// The step of the checkpoint.
        step: u64,
    },
    /// One parameter was initialised.
    ParamInit(InitRecord),
    /// A phase of the run begins: which optimiser, stopped by which criteria.
    PhaseStarted {
        /// Phase number, from 1.
        phase: u64,
        /// The optimiser's short name.
        optimizer: String,
        /// The optimiser's settings, as data.
        settings: serde_json::Value,
        /// The stopping criteria, as data.
        criteria: serde_json::Value,
    },
    /// One optimisation step of a gradient method was applied.
    Step(StepRecord),
    /// One generation (or iteration) of a search method was evaluated.
    Generation(GenerationRecord),
    /// A phase ended.
    PhaseEnded {
        /// Phase number, from 1.
        phase: u64,
        /// Why it ended.
        reason: StopReason,
        /// Steps (or generations) the phase took.
        steps: u64,
        /// Candidate evaluations the phase used.
        evaluations: u64,
    },
    /// Digests of the weights: initial (step 0), every N steps, at each checkpoint and at the end.
    Weights(WeightsRecord),
    /// Distribution of one parameter's values (a histogram) at a step.
    Distribution(DistributionRecord),
    /// Every value of one parameter at a step.
    Snapshot(SnapshotRecord),
    /// An epoch ended.
    EpochEnd(EpochRecord),
    /// The model was evaluated on the validation split at the end of a round.
    Validation(ValidationRecord),
    /// A phase ended on weights other than its last: those of its best round by the watched metric.
    BestRestored(BestRound),
    /// The run stopped.
    Stopped {
        /// Why it stopped.
        reason: StopReason,
        /// Steps taken.
        steps: u64,
        /// Epochs completed.
        epochs: u64,
    },
}

/// Where a run ran; recorded for the reader, ignored when a replay compares traces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnv {
    /// OWM's version.
    pub owm: String,
    /// Burn's version.
    pub burn: String,
    /// The backend (`flex`, `ndarray`, `wgpu`).
    pub backend: String,
    /// Threads of the CPU thread pool.
    pub threads: usize,
    /// Processes training the run together (data-parallel ranks), when more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<usize>,
}

/// Why a [`WeightsRecord`] was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightsAt {
    /// Before the first step.
    Initial,
    /// On the digest interval.
    Periodic,
    /// Just before a checkpoint file was written (a resume truncates the trace after this line).
    Checkpoint,
    /// After the last step.
    Final,
}

/// SHA-256 of each parameter's values at a step (little-endian `f32` bytes, as a bundle manifest hashes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightsRecord {
    /// Steps taken so far (0: the initial weights).
    pub step: u64,
    /// Why this record was written.
    pub at: WeightsAt,
    /// `(path, sha256)` in module order.
    pub digests: Vec<(String, String)>,
}

/// A histogram of one parameter's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DistributionRecord {
    /// Steps taken so far.
    pub step: u64,
    /// Dotted module path.
    pub path: String,
    /// Smallest value.
    #[serde(with = "crate::serde_float::f32")]
    pub min: f64,
    /// Largest value.
    #[serde(with = "crate::serde_float::f32")]
    pub max: f64,
    /// Mean.
    #[serde(with = "crate::serde_float::f32")]
    pub mean: f64,
    /// Standard deviation.
    #[serde(with = "crate::serde_float::f32")]
    pub std: f64,
    /// Counts of equal-width bins from `min` to `max`.
    pub counts: Vec<u64>,
}

/// Every value of one parameter at a step (for the paths and steps a user chose).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    /// Steps taken so far.
    pub step: u64,
    /// Dotted module path.
    pub path: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f32>,
}

/// A parameter's path and shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParamMeta {
    /// Dotted module path.
    pub path: String,
    /// Shape.
    pub shape: Vec<usize>,
}

impl ParamMeta {
    /// Number of values.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// How one parameter was initialised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitRecord {
    /// Dotted module path.
    pub path: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// The plan rule that matched (`None`: no rule matched and the module's own init was kept).
    pub rule: Option<String>,
    /// The strategy, as data (`{"kind": "kaiming_uniform", ...}`), or `"module_default"`.
    pub strategy: serde_json::Value,
    /// The seed this parameter's values were drawn with.
    pub seed: u64,
    /// Mean of the values.
    #[serde(with = "crate::serde_float")]
    pub mean: f64,
    /// Standard deviation of the values.
    #[serde(with = "crate::serde_float")]
    pub std: f64,
}

/// One optimisation step, per layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step number, from 1.
    pub step: u64,
    /// Epoch number, from 1.
    pub epoch: u64,
    /// Loss of the batch the gradient came from.
    #[serde(with = "crate::serde_float")]
    pub loss: f64,
    /// Learning rate used (of the default parameter group).
    pub lr: f64,
    /// Learning rate of each other parameter group, by the group's first path pattern.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub group_lrs: std::collections::BTreeMap<String, f64>,
    /// Digest of the training-item indices of the batch, in order (first 16 hex digits of a SHA-256).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Per-parameter statistics, in module order (empty when layer statistics are off).
    pub layers: Vec<LayerStats>,
    /// What the gradient transforms did beyond the plain update, in words ("clipped global norm 3.1 to 1",
    /// "skipped: non-finite gradient", "accumulating 1/4").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What a differentially private step did, when the step was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy: Option<StepPrivacy>,
}

/// The private part of a DP-SGD step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepPrivacy {
    /// Items the Poisson sample drew.
    pub items: usize,
    /// Fraction of them whose gradient was clipped.
    pub clip_fraction: f64,
    /// Standard deviation of the Gaussian noise added to the summed gradient (noise multiplier × clip).
    pub noise_std: f64,
}

impl StepRecord {
    /// The record of step `step` from `gradient` at learning rate `lr`: epoch, loss and batch digest filled,
    /// no layer statistics, groups or notes.
    pub fn from_gradient(step: u64, gradient: &crate::Gradient, lr: f64) -> Self {
        Self {
            step,
            epoch: gradient.epoch,
            loss: gradient.loss,
            lr,
            group_lrs: std::collections::BTreeMap::new(),
            batch: gradient.batch.clone(),
            layers: Vec::new(),
            notes: Vec::new(),
            privacy: None,
        }
    }
}

/// One generation of a search method: fitness statistics of its candidates and where the best came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationRecord {
    /// Generation (step) number, from 1.
    pub step: u64,
    /// Candidate evaluations so far in this phase.
    pub evaluations: u64,
    /// Lowest loss among this generation's candidates.
    #[serde(with = "crate::serde_float")]
    pub best_loss: f64,
    /// Mean loss of the candidates.
    #[serde(with = "crate::serde_float")]
    pub mean_loss: f64,
    /// Standard deviation of the candidates' losses.
    #[serde(with = "crate::serde_float")]
    pub std_loss: f64,
    /// Highest loss.
    #[serde(with = "crate::serde_float")]
    pub worst_loss: f64,
    /// Loss of the weights the search now holds (its best so far, or the annealer's current point).
    #[serde(with = "crate::serde_float")]
    pub loss: f64,
    /// Method-specific scalars: `temperature`, `acceptance_rate`, `sigma`, `scale`, ...
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub stats: std::collections::BTreeMap<String, f64>,
    /// Where the best candidate came from, for methods that breed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
}

/// The parents and operators that made one candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// The candidate's id (unique within the run).
    pub id: u64,
    /// Ids of its parents (empty for an initial candidate).
    pub parents: Vec<u64>,
    /// Operators applied, in order (`"tournament(3)"`, `"sbx(15)"`, `"gaussian(0.1)"`, `"elite"`).
    pub operators: Vec<String>,
    /// Generation the candidate was born in (0: initial population).
    pub born: u64,
}

/// What one step did to one parameter (all norms are L2 over the whole tensor).
///
/// Values are computed in `f32` on the device and written with `f32` precision, which keeps traces small.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Dotted module path.
    pub path: String,
    /// ‖g‖ of the gradient (`NaN` when the parameter got none).
    #[serde(with = "crate::serde_float::f32")]
    pub grad_norm: f64,
    /// ‖w‖ after the step.
    #[serde(with = "crate::serde_float::f32")]
    pub weight_norm: f64,
    /// ‖w_after − w_before‖.
    #[serde(with = "crate::serde_float::f32")]
    pub update_norm: f64,
    /// ‖Δw‖ / ‖w_before‖: the relative size of the step (about 1e-3 is the usual healthy range).
    #[serde(with = "crate::serde_float::f32")]
    pub update_ratio: f64,
    /// Fraction of the weights whose sign changed in the step.
    #[serde(with = "crate::serde_float::f32", default = "nan")]
    pub sign_flips: f64,
    /// Fraction of gradient entries that are exactly zero (for a bias: units that got no gradient from any
    /// item of the batch, such as dead ReLU units; `NaN` when the parameter got no gradient).
    #[serde(with = "crate::serde_float::f32", default = "nan")]
    pub zero_grads: f64,
}

impl LayerStats {
    /// Each statistic by its field name, in causal order: the gradient, the update, then the weights.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("grad_norm", self.grad_norm),
            ("update_norm", self.update_norm),
            ("weight_norm", self.weight_norm),
            ("update_ratio", self.update_ratio),
            ("sign_flips", self.sign_flips),
            ("zero_grads", self.zero_grads),
        ]
    }
}

fn nan() -> f64 {
    f64::NAN
}

/// End-of-epoch summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: u64,
    /// Steps taken so far.
    pub steps: u64,
    /// Mean training loss over the epoch's batches.
    #[serde(with = "crate::serde_float")]
    pub train_loss: f64,
    /// Fraction of the epoch's training items classified correctly (as the weights were when each batch was
    /// seen), when the task has a notion of correctness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_accuracy: Option<f64>,
}

/// The validation split's metrics at the end of a round (an epoch, or a generation of a search method).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationRecord {
    /// Phase number, from 1.
    pub phase: u64,
    /// The phase's round, from 1.
    pub round: u64,
    /// Steps taken in the run so far.
    pub steps: u64,
    /// Metrics by name (`val_loss`, `val_accuracy`, `val_macro_f1`, and `val_roc_auc` for a binary task);
    /// values the data leaves undefined are left out.
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// The round of a phase whose weights scored best on a watched metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestRound {
    /// Phase number, from 1.
    pub phase: u64,
    /// The round, from 1.
    pub round: u64,
    /// Steps taken in the run when it ended.
    pub steps: u64,
    /// The metric watched (`val_loss`).
    pub metric: String,
    /// Its value then.
    pub value: f64,
}

/// Why an optimisation run stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// The epoch budget was spent.
    MaxEpochs {
        /// The budget.
        max_epochs: u64,
    },
    /// The step budget was spent.
    MaxSteps {
        /// The budget.
        max_steps: u64,
    },
    /// The loss reached the target.
    TargetLoss {
        /// The loss that reached it.
        #[serde(with = "crate::serde_float")]
        loss: f64,
        /// The target.
        target: f64,
    },
    /// The loss fell by less than `min_rate` per epoch (relative) over the last `window` epochs.
    DescentStalled {
        /// The measured relative decrease per epoch.
        #[serde(with = "crate::serde_float")]
        rate: f64,
        /// The threshold.
        min_rate: f64,
        /// The window, in epochs.
        window: u64,
    },
    /// The loss became NaN or infinite.
    NonFiniteLoss {
        /// The step at which it happened.
        step: u64,
        /// The value.
        #[serde(with = "crate::serde_float")]
        loss: f64,
    },
    /// The budget of candidate evaluations was spent.
    MaxEvaluations {
        /// The budget.
        max_evaluations: u64,
    },
    /// The wall-clock budget was spent.
    WallClock {
        /// The budget, in seconds.
        seconds: f64,
    },
    /// The training accuracy reached the target.
    TargetAccuracy {
        /// The accuracy that reached it.
        accuracy: f64,
        /// The target.
        target: f64,
    },
    /// The loss did not improve by `min_delta` for `patience` rounds (epochs or generations).
    Plateau {
        /// Rounds without improvement.
        patience: u64,
        /// The best loss seen.
        #[serde(with = "crate::serde_float")]
        best: f64,
    },
    /// A watched metric (a validation metric, or a training one) did not improve on its best by more than
    /// `min_delta` for `patience` rounds.
    EarlyStopped {
        /// The metric.
        metric: String,
        /// Its best value.
        best: f64,
        /// The round (of the phase) that reached it.
        best_round: u64,
        /// Rounds without improvement.
        patience: u64,
    },
    /// Every criterion of an "all of" group held.
    AllOf {
        /// The criteria that held.
        reasons: Vec<StopReason>,
    },
    /// A trace sink asked to stop.
    SinkRequested,
}

impl StopReason {
    /// Whether the run ended in a failure (the weights should not be trusted).
    pub fn is_failure(&self) -> bool {
        matches!(self, StopReason::NonFiniteLoss { .. })
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::MaxEpochs { max_epochs } => write!(f, "reached the epoch budget ({max_epochs})"),
            StopReason::MaxSteps { max_steps } => write!(f, "reached the step budget ({max_steps})"),
            StopReason::TargetLoss { loss, target } => write!(f, "loss {loss:.6} reached the target {target}"),
            StopReason::DescentStalled { rate, min_rate, window } => {
                write!(f, "loss fell {:.4}% per epoch over the last {window} epochs, below the {:.4}% threshold", rate * 100.0, min_rate * 100.0)
            }
            StopReason::NonFiniteLoss { step, loss } => write!(f, "loss became {loss} at step {step}"),
            StopReason::MaxEvaluations { max_evaluations } => {
                write!(f, "reached the evaluation budget ({max_evaluations})")
            }
            StopReason::WallClock { seconds } => write!(f, "reached the wall-clock budget ({seconds} s)"),
            StopReason::TargetAccuracy { accuracy, target } => {
                write!(f, "training accuracy {accuracy:.4} reached the target {target}")
            }
            StopReason::Plateau { patience, best } => {
                write!(f, "loss did not improve on {best:.6} for {patience} rounds")
            }
            StopReason::EarlyStopped { metric, best, best_round, patience } => {
                write!(f, "{metric} did not improve on {best:.6} (round {best_round}) for {patience} rounds")
            }
            StopReason::AllOf { reasons } => {
                f.write_str("all of: ")?;
                for (i, r) in reasons.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
            StopReason::SinkRequested => f.write_str("a trace sink asked to stop"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_round_trip_non_finite_losses_through_json() {
        let event = TraceEvent::Stopped { reason: StopReason::NonFiniteLoss { step: 3, loss: f64::NAN }, steps: 3, epochs: 0 };
        let line = serde_json::to_string(&event).unwrap();
        assert!(line.contains("\"NaN\""), "{line}");
        match serde_json::from_str::<TraceEvent>(&line).unwrap() {
            TraceEvent::Stopped { reason: StopReason::NonFiniteLoss { loss, .. }, .. } => assert!(loss.is_nan()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn should_tag_events_by_name() {
        let event = TraceEvent::EpochEnd(EpochRecord { epoch: 1, steps: 10, train_loss: 0.5, train_accuracy: None });
        assert_eq!(serde_json::to_string(&event).unwrap(), r#"{"event":"epoch_end","epoch":1,"steps":10,"train_loss":0.5}"#);
    }
}
