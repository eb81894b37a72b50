//! Replay: re-execute a run from its recorded config, seed and data and check every recorded record.

use std::path::{Path, PathBuf};

use owm_core::{BackendKind, Control, LayerStats, Result as CoreResult, StepRecord, TraceEvent, TraceSink, WeightsAt};
use owm_data::DataConfig;
use owm_trace::read_trace;
use serde::Serialize;

use crate::{Error, ExperimentConfig, Result, TrainOptions, files, train_with};

/// What to change when replaying (nothing, to check that the run reproduces).
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Replay on another backend: records are then compared by size of drift, not bit for bit.
    pub backend: Option<BackendKind>,
    /// Replay with another root seed (to see where a seed change shows).
    pub seed: Option<u64>,
    /// Replay on other data of the same kind (to see where a data change shows).
    pub data: Option<DataConfig>,
    /// Show a progress bar.
    pub progress: bool,
}

/// The first record a replay did not reproduce.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// Steps taken when it was recorded (0: before the first step).
    pub step: u64,
    /// The parameter it concerns, when it concerns one.
    pub path: Option<String>,
    /// What differs (`"batch"`, `"loss"`, `"grad_norm"`, `"weights digest"`, `"init"`, ...).
    pub what: String,
    /// The recorded value.
    pub recorded: String,
    /// The replayed value.
    pub replayed: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}", self.step)?;
        if let Some(path) = &self.path {
            write!(f, ", `{path}`")?;
        }
        write!(f, ": {} was {} in the run, {} in the replay", self.what, self.recorded, self.replayed)
    }
}

/// The largest difference of one statistic between run and replay (cross-backend replays).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    /// `"loss"` or a per-parameter statistic.
    pub stat: String,
    /// Largest |replayed − recorded| / max(|recorded|, 1e-12).
    pub max_relative: f64,
    /// Where it was largest.
    pub step: u64,
    /// The parameter, for per-parameter statistics.
    pub path: Option<String>,
}

/// What a replay found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplayReport {
    /// Whether records were compared bit for bit (same backend) rather than by drift.
    pub exact: bool,
    /// Recorded events compared.
    pub events: u64,
    /// Step and generation records compared.
    pub steps: u64,
    /// Weight digests compared (one per parameter and record).
    pub digests: u64,
    /// The first record not reproduced (exact replays stop there).
    pub divergence: Option<Divergence>,
    /// Cross-backend replays: the largest drift of each statistic.
    pub drift: Vec<Drift>,
    /// Whether the recorded trace is complete (ends with the run's stop); a killed run's is not.
    pub complete: bool,
    /// Whether the bundle's tensors are the final weights the trace recorded (`None`: no bundle).
    pub bundle_matches: Option<bool>,
}

impl ReplayReport {
    /// Whether the replay reproduced every record (and the bundle, when there is one).
    pub fn reproduced(&self) -> bool {
        self.divergence.is_none() && self.bundle_matches != Some(false)
    }
}

/// Re-executes the run in `run_dir` from the config and seed its trace records, on the data it names, and
/// compares every event the replay produces with the recorded one: batch digests, losses, every per-parameter
/// statistic, weight digests and histograms. On the recorded backend the comparison is bit for bit and stops
/// at the first difference; on another backend it measures how far the statistics drift.
///
/// The replay writes its own run into a temporary folder, removed afterwards.
///
/// # Errors
///
/// [`Error::Run`] if the folder has no readable trace or config; any error of the re-executed run.
pub fn replay(run_dir: &Path, options: ReplayOptions) -> Result<ReplayReport> {
    let run_err = |reason: String| Error::Run { dir: run_dir.to_path_buf(), reason };
    let trace = read_trace(run_dir.join(files::TRACE))?;
    let Some(TraceEvent::RunStarted { config, .. }) = trace.events.first() else {
        return Err(run_err("the trace does not start with the run's config".into()));
    };
    let mut config: ExperimentConfig = serde_json::from_value(config.clone()).map_err(|e| run_err(format!("the recorded config cannot be read: {e}")))?;
    let exact = options.backend.as_ref().is_none_or(|b| *b == config.backend);
    if let Some(backend) = options.backend {
        config.backend = backend;
    }
    config.seed = options.seed.unwrap_or(config.seed);
    if let Some(data) = options.data {
        config.data = data;
    }
    let complete = trace.events.iter().any(|e| matches!(e, TraceEvent::Stopped { .. }));
    let recorded: Vec<TraceEvent> = trace.events.into_iter().filter(|e| !matches!(e, TraceEvent::Resumed { .. })).collect();
    let mut checker = Checker::new(recorded, exact);
    let scratch = scratch_dir();
    let result = train_with(&config, &scratch, TrainOptions { progress: options.progress, sinks: vec![&mut checker], ..TrainOptions::default() });
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    let bundle_matches = bundle_matches(run_dir, &checker.recorded);
    Ok(ReplayReport {
        exact,
        events: checker.next as u64,
        steps: checker.steps,
        digests: checker.digests,
        divergence: checker.divergence,
        drift: checker.drift,
        complete,
        bundle_matches,
    })
}

fn scratch_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!("owm-replay-{}-{nanos}", std::process::id()))
}

/// Compares the run's final weight digests with the bundle's tensor digests.
fn bundle_matches(run_dir: &Path, recorded: &[TraceEvent]) -> Option<bool> {
    let manifest = std::fs::read(run_dir.join(files::BUNDLE).join("manifest.json")).ok()?;
    let manifest: owm_share::Manifest = serde_json::from_slice(&manifest).ok()?;
    let last = recorded.iter().rev().find_map(|e| match e {
        TraceEvent::Weights(w) if w.at == WeightsAt::Final => Some(w),
        _ => None,
    })?;
    Some(last.digests.iter().all(|(path, d)| manifest.tensors.get(path).is_some_and(|t| &t.sha256 == d)))
}

/// The sink a replay runs into: checks each produced event against the next recorded one.
struct Checker {
    recorded: Vec<TraceEvent>,
    next: usize,
    exact: bool,
    step: u64,
    steps: u64,
    digests: u64,
    divergence: Option<Divergence>,
    drift: Vec<Drift>,
}

impl Checker {
    fn new(recorded: Vec<TraceEvent>, exact: bool) -> Self {
        Self { recorded, next: 0, exact, step: 0, steps: 0, digests: 0, divergence: None, drift: Vec::new() }
    }

    fn diverge(&mut self, path: Option<&str>, what: &str, recorded: impl std::fmt::Display, replayed: impl std::fmt::Display) {
        if self.divergence.is_none() {
            self.divergence = Some(Divergence {
                step: self.step,
                path: path.map(str::to_string),
                what: what.into(),
                recorded: recorded.to_string(),
                replayed: replayed.to_string(),
            });
        }
    }

    fn drift(&mut self, stat: &str, path: Option<&str>, recorded: f64, replayed: f64) {
        let relative =
            if recorded == replayed || recorded.is_nan() && replayed.is_nan() { 0.0 } else { (replayed - recorded).abs() / recorded.abs().max(1e-12) };
        let relative = if relative.is_nan() { f64::INFINITY } else { relative };
        match self.drift.iter_mut().find(|d| d.stat == stat) {
            Some(d) if d.max_relative >= relative => {}
            Some(d) => (d.max_relative, d.step, d.path) = (relative, self.step, path.map(str::to_string)),
            None => self.drift.push(Drift { stat: stat.into(), max_relative: relative, step: self.step, path: path.map(str::to_string) }),
        }
    }

    /// Compares a number: bit for bit (NaN equals NaN) when exact, else as drift.
    fn number(&mut self, path: Option<&str>, what: &str, recorded: f64, replayed: f64) {
        if self.exact {
            if !(recorded.to_bits() == replayed.to_bits() || recorded.is_nan() && replayed.is_nan()) {
                self.diverge(path, what, recorded, replayed);
            }
        } else {
            self.drift(what, path, recorded, replayed);
        }
    }

    fn step_record(&mut self, r: &StepRecord, p: &StepRecord) {
        self.steps += 1;
        if r.batch != p.batch {
            self.diverge(None, "batch", r.batch.as_deref().unwrap_or("-"), p.batch.as_deref().unwrap_or("-"));
        }
        for (rl, pl) in r.layers.iter().zip(&p.layers) {
            self.layer(rl, pl);
        }
        if r.layers.len() != p.layers.len() {
            self.diverge(None, "layers recorded", r.layers.len(), p.layers.len());
        }
        self.number(None, "loss", r.loss, p.loss);
        self.number(None, "lr", r.lr, p.lr);
        if r.notes != p.notes {
            self.diverge(None, "notes", r.notes.join("; "), p.notes.join("; "));
        }
    }

    fn layer(&mut self, r: &LayerStats, p: &LayerStats) {
        if r.path != p.path {
            self.diverge(Some(&r.path), "path", &r.path, &p.path);
            return;
        }
        let path = Some(r.path.as_str());
        // In causal order (gradient, then update, then weights), narrowed to f32 as traced.
        let f = |v: f64| f64::from(v as f32);
        for ((what, a), (_, b)) in r.named().into_iter().zip(p.named()) {
            self.number(path, what, f(a), f(b));
        }
    }

    fn compare(&mut self, recorded: &TraceEvent, produced: &TraceEvent) {
        match (recorded, produced) {
            (TraceEvent::RunStarted { params: a, .. }, TraceEvent::RunStarted { params: b, .. }) if a != b => {
                self.diverge(None, "parameters", format!("{a:?}"), format!("{b:?}"));
            }
            (TraceEvent::RunStarted { .. }, TraceEvent::RunStarted { .. }) => {}
            (TraceEvent::ParamInit(a), TraceEvent::ParamInit(b)) => {
                if a.seed != b.seed {
                    self.diverge(Some(&a.path), "init seed", a.seed, b.seed);
                }
                self.number(Some(&a.path), "init mean", a.mean, b.mean);
                self.number(Some(&a.path), "init std", a.std, b.std);
            }
            (TraceEvent::Step(a), TraceEvent::Step(b)) => {
                self.step = a.step;
                self.step_record(a, b);
            }
            (TraceEvent::Weights(a), TraceEvent::Weights(b)) => {
                self.step = a.step;
                for ((path, da), (_, db)) in a.digests.iter().zip(&b.digests) {
                    self.digests += 1;
                    if da != db && self.exact {
                        let short = |d: &String| d.get(..16).unwrap_or(d).to_string();
                        self.diverge(Some(path), "weights digest", short(da), short(db));
                    }
                }
            }
            (TraceEvent::Generation(a), TraceEvent::Generation(b)) => {
                self.step = a.step;
                self.steps += 1;
                self.number(None, "best loss", a.best_loss, b.best_loss);
                self.number(None, "loss", a.loss, b.loss);
                if self.exact && a != b {
                    self.diverge(None, "generation record", json(a), json(b));
                }
            }
            (TraceEvent::Validation(a), TraceEvent::Validation(b)) if a.metrics.len() == b.metrics.len() => {
                for ((name, &x), (_, &y)) in a.metrics.iter().zip(&b.metrics) {
                    self.number(None, name, x, y);
                }
            }
            (TraceEvent::Distribution(a), TraceEvent::Distribution(b)) => {
                self.number(Some(&a.path), "histogram mean", a.mean, b.mean);
                self.number(Some(&a.path), "histogram std", a.std, b.std);
                if self.exact && a.counts != b.counts {
                    self.diverge(Some(&a.path), "histogram", format!("{:?}", a.counts), format!("{:?}", b.counts));
                }
            }
            (a, b) if self.exact && a != b => self.diverge(None, &kind(a), json(a), json(b)),
            (a, b) if std::mem::discriminant(a) != std::mem::discriminant(b) => {
                self.diverge(None, "event", kind(a), kind(b));
            }
            _ => {}
        }
    }
}

fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The event's name as the trace writes it (`"step"`, `"weights"`, ...).
fn kind(e: &TraceEvent) -> String {
    serde_json::to_value(e).ok().and_then(|v| v["event"].as_str().map(str::to_string)).unwrap_or_default()
}

impl TraceSink for Checker {
    fn on_event(&mut self, event: &TraceEvent) -> CoreResult<Control> {
        let Some(recorded) = self.recorded.get(self.next).cloned() else {
            // The recorded trace ended (a killed run): everything it holds was checked.
            return Ok(Control::Stop);
        };
        self.next += 1;
        self.compare(&recorded, event);
        let stop = self.divergence.is_some() || std::mem::discriminant(&recorded) != std::mem::discriminant(event);
        Ok(if stop || self.next == self.recorded.len() { Control::Stop } else { Control::Continue })
    }
}
