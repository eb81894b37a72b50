//! Early stopping: watch a metric of every round (a validation metric), stop when it stops improving, and
//! name the best round so that the executor can end the phase on its weights.

use std::collections::BTreeMap;

use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Which way a watched metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Lower is better (losses).
    Min,
    /// Higher is better (accuracy, F1, AUC).
    Max,
}

impl Mode {
    /// The way a metric of this name improves: down for names ending in `loss`, up for every other.
    pub fn of(metric: &str) -> Self {
        if metric.ends_with("loss") { Mode::Min } else { Mode::Max }
    }
}

/// Early stopping on any metric a round records (Keras' `EarlyStopping`): stop when `metric` has not improved
/// on its best by more than `min_delta` for `patience` rounds that recorded it, and (with `restore_best`, the
/// default) end the phase on the weights of its best round.
///
/// The metrics of a round are `train_loss`, `train_accuracy` (when the task has one) and, when the run has a
/// validation split, `val_loss`, `val_accuracy`, `val_macro_f1` and for binary tasks `val_roc_auc`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStopping {
    /// The metric watched (`val_loss`).
    pub metric: String,
    /// Which way it improves; by default [`Mode::of`] its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Rounds without improvement tolerated.
    pub patience: u64,
    /// Improvement that counts (absolute, default 0).
    #[serde(default)]
    pub min_delta: f64,
    /// End the phase on the best round's weights (default true).
    #[serde(default = "yes")]
    pub restore_best: bool,
}

fn yes() -> bool {
    true
}

impl EarlyStopping {
    /// Watches `metric` with `patience`, restoring the best weights.
    pub fn new(metric: impl Into<String>, patience: u64) -> Self {
        Self { metric: metric.into(), mode: None, patience, min_delta: 0.0, restore_best: true }
    }

    /// The way the metric improves.
    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or_else(|| Mode::of(&self.metric))
    }

    /// Parses `METRIC[:KEY=VALUE,...]` with keys `patience` (default 5), `min_delta`, `mode` (`min` or `max`)
    /// and `restore` (`true` or `false`): `val_loss:patience=5`, `val_macro_f1:patience=3,min_delta=0.001`.
    ///
    /// # Errors
    ///
    /// [`Error::EarlyStoppingSpec`] naming the part that does not parse, or the rule [`Validate::check`] finds broken.
    pub fn parse(spec: &str) -> Result<Self> {
        let bad = |why: String| Error::EarlyStoppingSpec { spec: spec.to_string(), why };
        let (metric, options) = spec.split_once(':').unwrap_or((spec, ""));
        let mut e = Self::new(metric.trim(), 5);
        for pair in options.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').ok_or_else(|| bad(format!("`{pair}` is not KEY=VALUE")))?;
            let number = |what: &str| bad(format!("{key} `{value}` is not {what}"));
            match key.trim() {
                "patience" => e.patience = value.parse().map_err(|_| number("a whole number"))?,
                "min_delta" => e.min_delta = value.parse().map_err(|_| number("a number"))?,
                "mode" => {
                    e.mode = Some(match value {
                        "min" => Mode::Min,
                        "max" => Mode::Max,
                        _ => return Err(bad(format!("mode `{value}` is not min or max"))),
                    })
                }
                "restore" => e.restore_best = value.parse().map_err(|_| number("true or false"))?,
                other => return Err(bad(format!("unknown key `{other}` (patience, min_delta, mode, restore)"))),
            }
        }
        e.check()?;
        Ok(e)
    }

    /// The best round (from 1) and value of the metric in `history` (one map per round), and the rounds that
    /// recorded it since then.
    pub(crate) fn best(&self, history: &[BTreeMap<String, f64>]) -> Option<(u64, f64, u64)> {
        let sign = match self.mode() {
            Mode::Min => 1.0,
            Mode::Max => -1.0,
        };
        let mut best: Option<(u64, f64, u64)> = None;
        for (round, value) in history.iter().enumerate().filter_map(|(i, m)| m.get(&self.metric).map(|&v| (i as u64 + 1, v))) {
            best = match best {
                Some((_, b, _)) if sign * (value - b) < -self.min_delta => Some((round, value, 0)),
                Some((r, b, since)) => Some((r, b, since + 1)),
                None => Some((round, value, 0)),
            };
        }
        best
    }
}

impl Validate for EarlyStopping {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if self.metric.is_empty() {
            return Err(Error::EarlyStoppingMetric);
        }
        if self.patience == 0 {
            return Err(Error::Patience);
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(Error::MinDelta(self.min_delta));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Best, Convergence, ConvergenceConfig, RoundEnd};
    use owm_core::StopReason;

    fn round(c: &mut Convergence, loss: f64) -> Option<StopReason> {
        c.observe(0, Some(RoundEnd::new(loss, None)))
    }

    fn validated(c: &mut Convergence, val_loss: f64) -> Option<StopReason> {
        c.observe(0, Some(RoundEnd { loss: 1.0, accuracy: None, metrics: [("val_loss".to_string(), val_loss)].into() }))
    }

    #[test]
    fn should_stop_early_on_a_validation_metric_and_name_the_best_round() {
        let early = Some(EarlyStopping { min_delta: 0.01, ..EarlyStopping::new("val_loss", 2) });
        let mut c = Convergence::new(ConvergenceConfig { early_stopping: early, ..ConvergenceConfig::epochs(99) }).unwrap();
        assert_eq!(validated(&mut c, 1.0), None);
        assert_eq!(c.best(), Some(Best { round: 1, value: 1.0, latest: true }));
        assert_eq!(validated(&mut c, 0.5), None);
        // 0.495 is not 0.01 better than 0.5: the best stays round 2.
        assert_eq!(validated(&mut c, 0.495), None);
        assert_eq!(c.best(), Some(Best { round: 2, value: 0.5, latest: false }));
        // A round without the metric (no validation that round) does not count.
        assert_eq!(round(&mut c, 0.1), None);
        let stop = validated(&mut c, 0.7).unwrap();
        assert_eq!(stop, StopReason::EarlyStopped { metric: "val_loss".into(), best: 0.5, best_round: 2, patience: 2 });
        assert_eq!(stop.to_string(), "val_loss did not improve on 0.500000 (round 2) for 2 rounds");
    }

    #[test]
    fn should_watch_a_metric_that_rises_by_its_name_or_mode() {
        let mut c =
            Convergence::new(ConvergenceConfig { early_stopping: Some(EarlyStopping::new("val_accuracy", 1)), ..ConvergenceConfig::epochs(9) }).unwrap();
        let acc = |c: &mut Convergence, a: f64| c.observe(0, Some(RoundEnd { loss: 1.0, accuracy: None, metrics: [("val_accuracy".to_string(), a)].into() }));
        assert_eq!(acc(&mut c, 0.5), None);
        assert_eq!(acc(&mut c, 0.8), None);
        assert!(matches!(acc(&mut c, 0.7), Some(StopReason::EarlyStopped { best_round: 2, .. })));
        // Told to minimise, the same history stops after the first round.
        let min = EarlyStopping { mode: Some(Mode::Min), ..EarlyStopping::new("val_accuracy", 1) };
        let mut c = Convergence::new(ConvergenceConfig { early_stopping: Some(min), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(acc(&mut c, 0.5), None);
        assert!(matches!(acc(&mut c, 0.8), Some(StopReason::EarlyStopped { best_round: 1, .. })));
    }

    #[test]
    fn should_keep_no_best_round_when_told_not_to_restore() {
        let keep = EarlyStopping { restore_best: false, ..EarlyStopping::new("val_loss", 3) };
        let mut c = Convergence::new(ConvergenceConfig { early_stopping: Some(keep), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(validated(&mut c, 1.0), None);
        assert_eq!(c.best(), None);
    }

    #[test]
    fn should_parse_an_early_stopping_spec() {
        assert_eq!(EarlyStopping::parse("val_loss").unwrap(), EarlyStopping::new("val_loss", 5));
        let e = EarlyStopping::parse("val_macro_f1:patience=3, min_delta=0.001,mode=max,restore=false").unwrap();
        assert_eq!(e, EarlyStopping { mode: Some(Mode::Max), min_delta: 0.001, restore_best: false, ..EarlyStopping::new("val_macro_f1", 3) });
        for bad in ["val_loss:patience", "val_loss:patience=x", "val_loss:mode=up", "val_loss:wait=3", "val_loss:restore=yes"] {
            assert!(matches!(EarlyStopping::parse(bad), Err(Error::EarlyStoppingSpec { .. })), "{bad}");
        }
        assert!(matches!(EarlyStopping::parse("val_loss:patience=0"), Err(Error::Patience)));
    }

    #[test]
    fn early_stopping_needs_a_metric() {
        let c = ConvergenceConfig { early_stopping: Some(EarlyStopping::new("", 2)), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::EarlyStoppingMetric)));
    }

    #[test]
    fn early_stopping_min_delta_must_be_non_negative() {
        let e = EarlyStopping { min_delta: -1.0, ..EarlyStopping::new("val_loss", 2) };
        let c = ConvergenceConfig { early_stopping: Some(e), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::MinDelta(_))));
    }
}
