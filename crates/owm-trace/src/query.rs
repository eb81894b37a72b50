//! Querying a trace by step range, parameter path and statistic, and exporting the rows as CSV.

use std::io::Write;
use std::ops::RangeInclusive;

use owm_core::{LayerStats, TraceEvent, glob_match};

use crate::Trace;

/// A statistic of the step (and generation) records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Stat {
    /// Loss of the step's batch (or of the weights a search holds after a generation).
    Loss,
    /// Learning rate of the default group.
    Lr,
    /// ‖g‖ per parameter.
    GradNorm,
    /// ‖w‖ per parameter, after the step.
    WeightNorm,
    /// ‖Δw‖ per parameter.
    UpdateNorm,
    /// ‖Δw‖/‖w‖ per parameter.
    UpdateRatio,
    /// Fraction of weights that changed sign, per parameter.
    SignFlips,
    /// Fraction of exactly-zero gradient entries, per parameter.
    ZeroGrads,
}

impl Stat {
    /// Every statistic.
    pub const ALL: [Stat; 8] = [Stat::Loss, Stat::Lr, Stat::GradNorm, Stat::WeightNorm, Stat::UpdateNorm, Stat::UpdateRatio, Stat::SignFlips, Stat::ZeroGrads];

    /// The name used in CSV files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Stat::Loss => "loss",
            Stat::Lr => "lr",
            Stat::GradNorm => "grad_norm",
            Stat::WeightNorm => "weight_norm",
            Stat::UpdateNorm => "update_norm",
            Stat::UpdateRatio => "update_ratio",
            Stat::SignFlips => "sign_flips",
            Stat::ZeroGrads => "zero_grads",
        }
    }

    fn of_layer(self, l: &LayerStats) -> Option<f64> {
        Some(match self {
            Stat::GradNorm => l.grad_norm,
            Stat::WeightNorm => l.weight_norm,
            Stat::UpdateNorm => l.update_norm,
            Stat::UpdateRatio => l.update_ratio,
            Stat::SignFlips => l.sign_flips,
            Stat::ZeroGrads => l.zero_grads,
            Stat::Loss | Stat::Lr => return None,
        })
    }
}

impl std::str::FromStr for Stat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Stat::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| format!("unknown statistic `{s}`; one of {}", Stat::ALL.map(Stat::name).join(", ")))
    }
}

/// One value of a query's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Step (or generation) number.
    pub step: u64,
    /// Epoch (for generations, the generation).
    pub epoch: u64,
    /// The parameter, for per-parameter statistics.
    pub path: Option<String>,
    /// The statistic.
    pub stat: Stat,
    /// Its value.
    pub value: f64,
}

/// Selects rows of a trace: steps in a range, parameters matching globs, some statistics.
///
/// ```
/// use owm_trace::{Query, Stat};
/// # let trace = owm_trace::Trace { events: Vec::new(), torn_tail: false };
/// let rows = Query::new().steps(100..=200).path("layers.0.*").stat(Stat::UpdateRatio).run(&trace);
/// # assert!(rows.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Query {
    steps: RangeInclusive<u64>,
    paths: Vec<String>,
    stats: Vec<Stat>,
}

impl Default for Query {
    fn default() -> Self {
        Self::new()
    }
}

impl Query {
    /// Every step, parameter and statistic.
    pub fn new() -> Self {
        Self { steps: 0..=u64::MAX, paths: Vec::new(), stats: Vec::new() }
    }

    /// Only steps in `range`.
    pub fn steps(mut self, range: RangeInclusive<u64>) -> Self {
        self.steps = range;
        self
    }

    /// Only parameters matching `glob` (may be given several times; per-step statistics such as the loss
    /// are kept).
    pub fn path(mut self, glob: impl Into<String>) -> Self {
        self.paths.push(glob.into());
        self
    }

    /// Only `stat` (may be given several times).
    pub fn stat(mut self, stat: Stat) -> Self {
        self.stats.push(stat);
        self
    }

    fn wants(&self, stat: Stat) -> bool {
        self.stats.is_empty() || self.stats.contains(&stat)
    }

    fn wants_path(&self, path: &str) -> bool {
        self.paths.is_empty() || self.paths.iter().any(|g| glob_match(g, path))
    }

    /// The selected rows, in trace order.
    pub fn run(&self, trace: &Trace) -> Vec<Row> {
        let mut rows = Vec::new();
        for event in &trace.events {
            match event {
                TraceEvent::Step(s) if self.steps.contains(&s.step) => {
                    for (stat, value) in [(Stat::Loss, s.loss), (Stat::Lr, s.lr)] {
                        if self.wants(stat) {
                            rows.push(Row { step: s.step, epoch: s.epoch, path: None, stat, value });
                        }
                    }
                    for l in s.layers.iter().filter(|l| self.wants_path(&l.path)) {
                        for stat in Stat::ALL.into_iter().filter(|&x| self.wants(x)) {
                            if let Some(value) = stat.of_layer(l) {
                                rows.push(Row { step: s.step, epoch: s.epoch, path: Some(l.path.clone()), stat, value });
                            }
                        }
                    }
                }
                TraceEvent::Generation(g) if self.steps.contains(&g.step) && self.wants(Stat::Loss) => {
                    rows.push(Row { step: g.step, epoch: g.step, path: None, stat: Stat::Loss, value: g.loss });
                }
                _ => {}
            }
        }
        rows
    }
}

/// Writes rows as CSV with the header `step,epoch,path,stat,value` (long format: `pandas.read_csv` then
/// `pivot_table` gives one column per statistic); non-finite values are written `nan`, `inf`, `-inf`.
///
/// # Errors
///
/// The writer's error.
pub fn write_csv(rows: &[Row], mut out: impl Write) -> std::io::Result<()> {
    writeln!(out, "step,epoch,path,stat,value")?;
    for r in rows {
        let value = if r.value.is_nan() {
            "nan".to_string()
        } else if r.value.is_infinite() {
            if r.value > 0.0 { "inf".into() } else { "-inf".into() }
        } else {
            r.value.to_string()
        };
        // Paths are dotted identifiers: no comma or quote to escape.
        writeln!(out, "{},{},{},{},{value}", r.step, r.epoch, r.path.as_deref().unwrap_or(""), r.stat.name())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use owm_core::StepRecord;

    fn trace() -> Trace {
        let layer = |path: &str, ratio: f64| LayerStats {
            path: path.into(),
            grad_norm: 1.0,
            weight_norm: 2.0,
            update_norm: 0.5,
            update_ratio: ratio,
            sign_flips: 0.0,
            zero_grads: f64::NAN,
        };
        let step = |n: u64| {
            TraceEvent::Step(StepRecord {
                step: n,
                epoch: 1,
                loss: 1.0 / n as f64,
                lr: 0.1,
                group_lrs: Default::default(),
                batch: None,
                layers: vec![layer("a.weight", 0.01 * n as f64), layer("b.weight", 0.5)],
                notes: Vec::new(),
                privacy: None,
            })
        };
        Trace { events: (1..=4).map(step).collect(), torn_tail: false }
    }

    #[test]
    fn should_select_by_step_path_and_statistic() {
        let rows = Query::new().steps(2..=3).path("a.*").stat(Stat::UpdateRatio).run(&trace());
        let got: Vec<(u64, Option<&str>, f64)> = rows.iter().map(|r| (r.step, r.path.as_deref(), r.value)).collect();
        assert_eq!(got, [(2, Some("a.weight"), 0.02), (3, Some("a.weight"), 0.03)]);
        assert_eq!(Query::new().stat(Stat::Loss).run(&trace()).len(), 4);
        assert_eq!(Query::new().run(&trace()).len(), 4 * (2 + 2 * 6));
    }

    #[test]
    fn should_write_csv_pandas_reads() {
        let rows = Query::new().steps(1..=1).path("b.*").run(&trace());
        let mut out = Vec::new();
        write_csv(&rows, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("step,epoch,path,stat,value\n1,1,,loss,1\n1,1,,lr,0.1\n1,1,b.weight,grad_norm,1\n"), "{text}");
        assert!(text.contains("1,1,b.weight,zero_grads,nan\n"), "{text}");
    }

    #[test]
    fn should_name_the_statistics_on_a_typo() {
        let err = "update-ratio".parse::<Stat>().unwrap_err();
        assert!(err.contains("update_ratio"), "{err}");
    }
}
