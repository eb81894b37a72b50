//! What a run records beyond what optimisers report: weight digests, histograms, snapshots, and which
//! parameters' statistics are kept.

use owm_core::{
    Control, DistributionRecord, ParamMeta, ParamSet, Result as CoreResult, SnapshotRecord, TraceEvent, TraceSink, Validate, WeightsAt, WeightsRecord,
    glob_match,
};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What the trace records and how often the run checkpoints; part of the experiment config, so that a
/// replay records exactly what the run recorded.
///
/// The default traces every parameter at every step (norms, update ratio, sign flips, zero gradients), a
/// 32-bin histogram of every parameter and a digest of all weights every 200 steps, and writes a checkpoint
/// every 200 steps: on a 10-epoch LeNet-5 run on CIFAR-10 that is about 15 MB of trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TraceConfig {
    /// Per-parameter statistics every this many steps (0: never).
    pub stats_every: u64,
    /// Globs over parameter paths whose statistics and histograms are kept (`["*"]`: all).
    pub paths: Vec<String>,
    /// A histogram of each kept parameter every this many steps, and of the initial and final weights
    /// (0: never).
    pub histogram_every: u64,
    /// Bins per histogram.
    pub histogram_bins: usize,
    /// A digest of every parameter every this many steps, besides the initial and final ones (0: only those).
    pub digest_every: u64,
    /// Globs over paths whose every value is written at `snapshot_steps`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshot_paths: Vec<String>,
    /// Steps (0: the initial weights) at which `snapshot_paths` are written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub snapshot_steps: Vec<u64>,
    /// Write `checkpoint.json` every this many steps (0: never); `owm resume` continues from it.
    pub checkpoint_every: u64,
    /// Evaluate the validation split every this many rounds (epochs, or generations of a search method), when
    /// the run has one; 0: never (then nothing can stop early on a validation metric).
    pub validation_every: u64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            stats_every: 1,
            paths: vec!["*".into()],
            histogram_every: 200,
            histogram_bins: 32,
            digest_every: 200,
            snapshot_paths: Vec::new(),
            snapshot_steps: Vec::new(),
            checkpoint_every: 200,
            validation_every: 1,
        }
    }
}

impl TraceConfig {
    /// Records nothing but the loss, learning rate and initial and final digests per step; no checkpoints.
    pub fn minimal() -> Self {
        Self { stats_every: 0, histogram_every: 0, digest_every: 0, checkpoint_every: 0, ..Self::default() }
    }

    fn kept(&self, path: &str) -> bool {
        self.paths.iter().any(|p| glob_match(p, path))
    }

    /// Whether step `step` (from 1) records per-parameter statistics.
    pub fn stats_at(&self, step: u64) -> bool {
        self.stats_every > 0 && step.is_multiple_of(self.stats_every)
    }

    /// Whether step `step` records a periodic weight digest.
    pub fn digest_at(&self, step: u64) -> bool {
        self.digest_every > 0 && step.is_multiple_of(self.digest_every)
    }

    /// Whether round `round` (from 1) of a phase is evaluated on the validation split.
    pub fn validation_at(&self, round: u64) -> bool {
        self.validation_every > 0 && round.is_multiple_of(self.validation_every)
    }

    /// Whether a checkpoint is written after step `step`.
    pub fn checkpoint_at(&self, step: u64) -> bool {
        self.checkpoint_every > 0 && step.is_multiple_of(self.checkpoint_every)
    }
}

impl Validate for TraceConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if self.histogram_every > 0 && self.histogram_bins == 0 {
            return Err(Error::TraceConfig("histogram_bins must be positive when histograms are on".into()));
        }
        if self.paths.is_empty() {
            return Err(Error::TraceConfig("paths must name at least one glob (\"*\" for all)".into()));
        }
        Ok(())
    }
}

/// SHA-256 of each parameter's values (little-endian `f32`, as the bundle manifest hashes tensors).
#[allow(clippy::expect_used, reason = "a ParamSet's host vector has its metas' length")]
pub fn weight_digests(params: &ParamSet) -> Vec<(String, String)> {
    host_digests(params.metas(), &params.to_host()).expect("a ParamSet's host vector fits its metas")
}

/// [`weight_digests`] of a flat host vector laid out as `metas`; `None` if its length does not fit.
pub fn host_digests(metas: &[ParamMeta], host: &[f32]) -> Option<Vec<(String, String)>> {
    if host.len() != metas.iter().map(|m| m.shape.iter().product::<usize>()).sum::<usize>() {
        return None;
    }
    let mut offset = 0;
    Some(
        metas
            .iter()
            .map(|m| {
                let n: usize = m.shape.iter().product();
                let bytes: Vec<u8> = host[offset..offset + n].iter().flat_map(|v| v.to_le_bytes()).collect();
                offset += n;
                (m.path.clone(), owm_share::tensor_digest(&bytes))
            })
            .collect(),
    )
}

/// Emits the executor's own records into a sink, per the [`TraceConfig`].
#[derive(Debug, Clone)]
pub(crate) struct Recorder {
    config: TraceConfig,
    /// The step whose values were last written (so the final weights are not written twice).
    written: Option<u64>,
}

impl Recorder {
    pub(crate) fn new(config: TraceConfig) -> Self {
        Self { config, written: None }
    }

    /// The digests record of `params` after `step` steps.
    pub(crate) fn weights(&self, step: u64, at: WeightsAt, params: &ParamSet, sink: &mut dyn TraceSink) -> CoreResult<Control> {
        sink.on_event(&TraceEvent::Weights(WeightsRecord { step, at, digests: weight_digests(params) }))
    }

    /// Histograms and snapshots due at `step`; `always` forces the histograms (initial and final weights).
    /// Values already written at `step` are not written again.
    pub(crate) fn values(&mut self, step: u64, always: bool, params: &ParamSet, sink: &mut dyn TraceSink) -> CoreResult<Control> {
        let c = &self.config;
        let histogram = c.histogram_every > 0 && (always || step.is_multiple_of(c.histogram_every));
        let snapshot = c.snapshot_steps.contains(&step);
        if (!histogram && !snapshot) || self.written == Some(step) {
            return Ok(Control::Continue);
        }
        self.written = Some(step);
        let host = params.to_host();
        let mut control = Control::Continue;
        let mut offset = 0;
        for m in params.metas() {
            let n: usize = m.shape.iter().product();
            let values = &host[offset..offset + n];
            offset += n;
            if histogram && self.config.kept(&m.path) {
                let record = distribution(step, &m.path, values, c.histogram_bins);
                control = worst(control, sink.on_event(&TraceEvent::Distribution(record))?);
            }
            if snapshot && c.snapshot_paths.iter().any(|p| glob_match(p, &m.path)) {
                let record = SnapshotRecord { step, path: m.path.clone(), shape: m.shape.clone(), values: values.to_vec() };
                control = worst(control, sink.on_event(&TraceEvent::Snapshot(record))?);
            }
        }
        Ok(control)
    }
}

fn worst(a: Control, b: Control) -> Control {
    if a == Control::Stop || b == Control::Stop { Control::Stop } else { Control::Continue }
}

/// Min, max, mean, std and an equal-width histogram of `values`.
fn distribution(step: u64, path: &str, values: &[f32], bins: usize) -> DistributionRecord {
    let finite = || values.iter().filter(|v| v.is_finite()).map(|&v| f64::from(v));
    let (min, max) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let n = finite().count().max(1) as f64;
    let mean = finite().sum::<f64>() / n;
    let std = (finite().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut counts = vec![0u64; bins];
    let width = (max - min) / bins as f64;
    for v in finite() {
        let bin = if width > 0.0 { (((v - min) / width) as usize).min(bins - 1) } else { 0 };
        counts[bin] += 1;
    }
    let f = |v: f64| f64::from(v as f32);
    DistributionRecord { step, path: path.into(), min: f(min), max: f(max), mean: f(mean), std: f(std), counts }
}

/// Drops the per-parameter statistics of paths the [`TraceConfig`] does not keep, then passes the event on.
pub(crate) struct PathFilter<'a> {
    pub(crate) config: &'a TraceConfig,
    pub(crate) inner: &'a mut dyn TraceSink,
}

impl TraceSink for PathFilter<'_> {
    fn on_event(&mut self, event: &TraceEvent) -> CoreResult<Control> {
        match event {
            TraceEvent::Step(s) if s.layers.iter().any(|l| !self.config.kept(&l.path)) => {
                let mut s = s.clone();
                s.layers.retain(|l| self.config.kept(&l.path));
                self.inner.on_event(&TraceEvent::Step(s))
            }
            _ => self.inner.on_event(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_bin_values_between_min_and_max() {
        let d = distribution(3, "w", &[0.0, 1.0, 2.0, 3.0, f32::NAN], 3);
        assert_eq!((d.min, d.max, d.mean), (0.0, 3.0, 1.5));
        assert_eq!(d.counts, [1, 1, 2]);
        assert!((d.std - 1.25f64.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn histograms_need_bins() {
        let c = TraceConfig { histogram_bins: 0, ..TraceConfig::default() };
        assert!(matches!(c.check(), Err(Error::TraceConfig(_))));
    }

    #[test]
    fn paths_must_not_be_empty() {
        let c = TraceConfig { paths: Vec::new(), ..TraceConfig::default() };
        assert!(matches!(c.check(), Err(Error::TraceConfig(_))));
    }
}
