use std::collections::BTreeMap;
use std::time::Instant;

use owm_core::{StopReason, Validate};
use serde::{Deserialize, Serialize};

use crate::{EarlyStopping, Error, Result};

/// A minimum rate of loss descent: stop when the round loss fell by less than `min_rate` (relative, per
/// round) over the last `window` rounds. A round is an epoch for gradient methods, a generation for search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DescentRate {
    /// Rounds to look back.
    pub window: u64,
    /// Minimum relative decrease per round, e.g. `0.001` for 0.1%.
    pub min_rate: f64,
}

/// Stop when the round loss has not improved on its best by more than `min_delta` for `patience` rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plateau {
    /// Rounds without improvement tolerated.
    pub patience: u64,
    /// Improvement that counts (absolute, default 0).
    #[serde(default)]
    pub min_delta: f64,
}

/// One stopping criterion, or a group of them; serialisable and composable.
///
/// JSON: `{"kind": "max_steps", "max_steps": 100}`,
/// `{"kind": "all", "of": [{"kind": "max_epochs", "max_epochs": 5}, {"kind": "target_loss", "target": 0.1}]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Criterion {
    /// Steps (gradient updates or generations) in the phase.
    MaxSteps {
        /// The budget.
        max_steps: u64,
    },
    /// Rounds (epochs or generations) in the phase.
    MaxEpochs {
        /// The budget.
        max_epochs: u64,
    },
    /// Candidate evaluations in the phase.
    MaxEvaluations {
        /// The budget.
        max_evaluations: u64,
    },
    /// Wall-clock seconds in the phase.
    WallClock {
        /// The budget.
        seconds: f64,
    },
    /// The round loss at or below `target`.
    TargetLoss {
        /// The target.
        target: f64,
    },
    /// The round's training accuracy at or above `target`.
    TargetAccuracy {
        /// The target.
        target: f64,
    },
    /// The loss-descent rate fell below a threshold.
    Descent(DescentRate),
    /// No improvement for a number of rounds.
    Plateau(Plateau),
    /// No improvement of a watched metric for a number of rounds.
    EarlyStopping(EarlyStopping),
    /// Any of these.
    Any {
        /// The criteria.
        of: Vec<Criterion>,
    },
    /// All of these at once.
    All {
        /// The criteria.
        of: Vec<Criterion>,
    },
}

impl Criterion {
    /// Whether the criterion is sure to hold eventually (it contains a step, round, evaluation or time budget
    /// in a way that ends the run).
    pub fn bounded(&self) -> bool {
        match self {
            Criterion::MaxSteps { .. } | Criterion::MaxEpochs { .. } | Criterion::MaxEvaluations { .. } | Criterion::WallClock { .. } => true,
            Criterion::Any { of } => of.iter().any(Criterion::bounded),
            Criterion::All { of } => of.iter().all(Criterion::bounded),
            _ => false,
        }
    }
}

impl Validate for Criterion {
    type Error = Error;

    fn check(&self) -> Result<()> {
        match self {
            Criterion::MaxSteps { max_steps: 0 } => Err(Error::ZeroBudget("max_steps")),
            Criterion::MaxEpochs { max_epochs: 0 } => Err(Error::ZeroBudget("max_epochs")),
            Criterion::MaxEvaluations { max_evaluations: 0 } => Err(Error::ZeroBudget("max_evaluations")),
            Criterion::WallClock { seconds } if !(seconds.is_finite() && *seconds > 0.0) => Err(Error::WallClock(*seconds)),
            Criterion::TargetLoss { target } if !target.is_finite() => Err(Error::TargetLoss(*target)),
            Criterion::TargetAccuracy { target } if !(*target > 0.0 && *target <= 1.0) => Err(Error::TargetAccuracy(*target)),
            Criterion::Descent(d) if d.window == 0 => Err(Error::DescentWindow),
            Criterion::Descent(d) if !(d.min_rate.is_finite() && d.min_rate >= 0.0) => Err(Error::DescentRate(d.min_rate)),
            Criterion::Plateau(p) if p.patience == 0 => Err(Error::Patience),
            Criterion::EarlyStopping(e) => e.check(),
            Criterion::Any { of } if of.is_empty() => Err(Error::EmptyGroup("any")),
            Criterion::All { of } if of.is_empty() => Err(Error::EmptyGroup("all")),
            Criterion::Any { of } | Criterion::All { of } => of.iter().try_for_each(Validate::check),
            _ => Ok(()),
        }
    }
}

/// When to stop a phase: the first criterion that holds wins.
///
/// The common criteria are fields; `when` adds any [`Criterion`] tree (for "all of" groups).
/// A non-finite loss always stops the run, with [`StopReason::NonFiniteLoss`].
/// A budget (`max_epochs`, `max_steps`, `max_evaluations`, `max_seconds`, or one inside `when`) is required so
/// that every run ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ConvergenceConfig {
    /// Round budget (epochs, or generations for search methods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_epochs: Option<u64>,
    /// Step budget (updates, or generations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u64>,
    /// Candidate-evaluation budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_evaluations: Option<u64>,
    /// Wall-clock budget, in seconds (makes the run's length machine-dependent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_seconds: Option<f64>,
    /// Stop once the round's training loss is at or below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_loss: Option<f64>,
    /// Stop once the round's training accuracy is at or above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_accuracy: Option<f64>,
    /// Stop when the loss stops falling fast enough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub descent: Option<DescentRate>,
    /// Stop when the loss stops improving.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plateau: Option<Plateau>,
    /// Stop when a watched metric (a validation metric) stops improving, and end on the best round's weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStopping>,
    /// Any further criterion, composed with `any` / `all`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Criterion>,
}

impl ConvergenceConfig {
    /// Stop after `max_epochs` epochs, with no other criterion.
    pub fn epochs(max_epochs: u64) -> Self {
        Self { max_epochs: Some(max_epochs), ..Self::default() }
    }

    /// Stop after `max_steps` steps (or generations), with no other criterion.
    pub fn steps(max_steps: u64) -> Self {
        Self { max_steps: Some(max_steps), ..Self::default() }
    }

    /// The early stopping whose best round the phase ends on: the field's, else the first in `when`.
    pub fn watched(&self) -> Option<&EarlyStopping> {
        fn first(c: &Criterion) -> Option<&EarlyStopping> {
            match c {
                Criterion::EarlyStopping(e) => Some(e),
                Criterion::Any { of } | Criterion::All { of } => of.iter().find_map(first),
                _ => None,
            }
        }
        self.early_stopping.as_ref().or_else(|| self.when.as_ref().and_then(first))
    }

    /// Every metric an early stopping of these criteria watches.
    pub fn metrics(&self) -> Vec<&str> {
        fn walk<'a>(c: &'a Criterion, out: &mut Vec<&'a str>) {
            match c {
                Criterion::EarlyStopping(e) => out.push(&e.metric),
                Criterion::Any { of } | Criterion::All { of } => of.iter().for_each(|c| walk(c, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if let Some(e) = &self.early_stopping {
            out.push(e.metric.as_str());
        }
        if let Some(w) = &self.when {
            walk(w, &mut out);
        }
        out
    }

    /// The criteria as one tree: any of the fields set, and `when`.
    pub fn criterion(&self) -> Criterion {
        let mut of = Vec::new();
        if let Some(max_steps) = self.max_steps {
            of.push(Criterion::MaxSteps { max_steps });
        }
        if let Some(max_evaluations) = self.max_evaluations {
            of.push(Criterion::MaxEvaluations { max_evaluations });
        }
        if let Some(seconds) = self.max_seconds {
            of.push(Criterion::WallClock { seconds });
        }
        if let Some(target) = self.target_loss {
            of.push(Criterion::TargetLoss { target });
        }
        if let Some(target) = self.target_accuracy {
            of.push(Criterion::TargetAccuracy { target });
        }
        if let Some(d) = &self.descent {
            of.push(Criterion::Descent(d.clone()));
        }
        if let Some(p) = &self.plateau {
            of.push(Criterion::Plateau(p.clone()));
        }
        if let Some(e) = &self.early_stopping {
            of.push(Criterion::EarlyStopping(e.clone()));
        }
        if let Some(max_epochs) = self.max_epochs {
            of.push(Criterion::MaxEpochs { max_epochs });
        }
        of.extend(self.when.clone());
        Criterion::Any { of }
    }

    /// A one-line description ("max_epochs 40, target_loss 0.05").
    pub fn describe(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .map(|o| o.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    }
}

impl Validate for ConvergenceConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        let tree = self.criterion();
        if !tree.bounded() {
            return Err(Error::NoBudget);
        }
        if let Criterion::Any { of } = &tree {
            of.iter().try_for_each(Validate::check)?;
        }
        Ok(())
    }
}

/// Where a phase stands, as the criteria see it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps taken.
    pub steps: u64,
    /// Rounds completed.
    pub rounds: u64,
    /// Candidate evaluations used.
    pub evaluations: u64,
    /// Seconds spent before this process picked the phase up (after a resume).
    pub seconds_before: f64,
    /// Loss of each completed round.
    #[serde(default)]
    pub round_losses: Vec<f64>,
    /// Training accuracy of the last round, when known.
    pub accuracy: Option<f64>,
    /// The metrics of each completed round (`train_loss`, `val_loss`, ...), for early stopping.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub round_metrics: Vec<BTreeMap<String, f64>>,
}

/// What the executor knows at the end of a round: the training loss and accuracy, and any further metrics
/// (the validation split's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundEnd {
    /// Mean training loss of the round.
    pub loss: f64,
    /// Training accuracy of the round, when the task has one.
    pub accuracy: Option<f64>,
    /// Further metrics by name (`val_loss`, ...).
    pub metrics: BTreeMap<String, f64>,
}

impl RoundEnd {
    /// A round with its training loss and accuracy alone.
    pub fn new(loss: f64, accuracy: Option<f64>) -> Self {
        Self { loss, accuracy, metrics: BTreeMap::new() }
    }
}

/// The best round of a phase by its watched metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    /// The round, from 1.
    pub round: u64,
    /// The metric's value then.
    pub value: f64,
    /// Whether it is the round just observed.
    pub latest: bool,
}

/// The running state of a [`ConvergenceConfig`]: fed after every step by the executor.
#[derive(Debug, Clone)]
pub struct Convergence {
    config: ConvergenceConfig,
    tree: Criterion,
    /// Whether a criterion watches round metrics (only then is their history kept).
    watches: bool,
    progress: Progress,
    started: Instant,
}

impl Convergence {
    /// Starts tracking after checking the config.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule broken.
    pub fn new(config: ConvergenceConfig) -> Result<Self> {
        config.check()?;
        Ok(Self { tree: config.criterion(), watches: !config.metrics().is_empty(), config, progress: Progress::default(), started: Instant::now() })
    }

    /// Continues from saved progress (after a resume).
    pub fn with_progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// The config.
    pub fn config(&self) -> &ConvergenceConfig {
        &self.config
    }

    /// Rounds completed so far.
    pub fn rounds(&self) -> u64 {
        self.progress.rounds
    }

    /// The progress so far, with the wall-clock seconds folded in (for checkpoints).
    pub fn progress(&self) -> Progress {
        Progress { seconds_before: self.seconds(), ..self.progress.clone() }
    }

    fn seconds(&self) -> f64 {
        self.progress.seconds_before + self.started.elapsed().as_secs_f64()
    }

    /// Called with the loss of step `step` (from 1) before it counts: stops on a NaN or infinite loss, so the
    /// weights kept are the last finite ones.
    pub fn check_loss(&self, step: u64, loss: f64) -> Option<StopReason> {
        (!loss.is_finite()).then_some(StopReason::NonFiniteLoss { step, loss })
    }

    /// Records one step (and, with `round`, the end of a round with its loss, accuracy and metrics), then
    /// checks every criterion.
    pub fn observe(&mut self, evaluations: u64, round: Option<RoundEnd>) -> Option<StopReason> {
        self.progress.steps += 1;
        self.progress.evaluations += evaluations;
        let ended = round.is_some();
        if let Some(RoundEnd { loss, accuracy, mut metrics }) = round {
            self.progress.rounds += 1;
            self.progress.round_losses.push(loss);
            self.progress.accuracy = accuracy;
            // Only the phases that watch a metric keep the history (it travels in every checkpoint).
            if self.watches {
                metrics.insert("train_loss".into(), loss);
                if let Some(a) = accuracy {
                    metrics.insert("train_accuracy".into(), a);
                }
                self.progress.round_metrics.push(metrics);
            }
        }
        let seconds = self.seconds();
        holds(&self.tree, &self.progress, seconds, ended)
    }

    /// The best round so far by the watched early-stopping metric ([`ConvergenceConfig::watched`]), when
    /// it restores the best weights and a round has recorded the metric.
    pub fn best(&self) -> Option<Best> {
        let e = self.config.watched().filter(|e| e.restore_best)?;
        let (round, value, _) = e.best(&self.progress.round_metrics)?;
        Some(Best { round, value, latest: round == self.progress.rounds })
    }
}

fn holds(c: &Criterion, p: &Progress, seconds: f64, round_ended: bool) -> Option<StopReason> {
    let last = p.round_losses.last().copied();
    match c {
        Criterion::MaxSteps { max_steps } => (p.steps >= *max_steps).then_some(StopReason::MaxSteps { max_steps: *max_steps }),
        Criterion::MaxEpochs { max_epochs } => (round_ended && p.rounds >= *max_epochs).then_some(StopReason::MaxEpochs { max_epochs: *max_epochs }),
        Criterion::MaxEvaluations { max_evaluations } => {
            (p.evaluations >= *max_evaluations).then_some(StopReason::MaxEvaluations { max_evaluations: *max_evaluations })
        }
        Criterion::WallClock { seconds: budget } => (seconds >= *budget).then_some(StopReason::WallClock { seconds: *budget }),
        Criterion::TargetLoss { target } => {
            let loss = last.filter(|&l| round_ended && l <= *target)?;
            Some(StopReason::TargetLoss { loss, target: *target })
        }
        Criterion::TargetAccuracy { target } => {
            let accuracy = p.accuracy.filter(|&a| round_ended && a >= *target)?;
            Some(StopReason::TargetAccuracy { accuracy, target: *target })
        }
        Criterion::Descent(d) => {
            let w = d.window as usize;
            let n = p.round_losses.len();
            if !round_ended || n <= w {
                return None;
            }
            let (past, loss) = (p.round_losses[n - 1 - w], p.round_losses[n - 1]);
            let rate = (past - loss) / (w as f64 * past.abs().max(f64::MIN_POSITIVE));
            (rate < d.min_rate).then_some(StopReason::DescentStalled { rate, min_rate: d.min_rate, window: d.window })
        }
        Criterion::Plateau(pl) => {
            if !round_ended {
                return None;
            }
            let (mut best, mut since) = (f64::INFINITY, 0u64);
            for &l in &p.round_losses {
                if l < best - pl.min_delta {
                    best = l;
                    since = 0;
                } else {
                    since += 1;
                }
            }
            (since >= pl.patience).then_some(StopReason::Plateau { patience: pl.patience, best })
        }
        Criterion::EarlyStopping(e) => {
            if !round_ended {
                return None;
            }
            let (best_round, best, since) = e.best(&p.round_metrics)?;
            (since >= e.patience).then(|| StopReason::EarlyStopped { metric: e.metric.clone(), best, best_round, patience: e.patience })
        }
        Criterion::Any { of } => of.iter().find_map(|c| holds(c, p, seconds, round_ended)),
        Criterion::All { of } => {
            let reasons: Vec<StopReason> = of.iter().map_while(|c| holds(c, p, seconds, round_ended)).collect();
            (reasons.len() == of.len()).then_some(StopReason::AllOf { reasons })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(c: &mut Convergence, loss: f64) -> Option<StopReason> {
        c.observe(0, Some(RoundEnd::new(loss, None)))
    }

    #[test]
    fn should_stop_on_the_epoch_budget() {
        let mut c = Convergence::new(ConvergenceConfig::epochs(2)).unwrap();
        assert_eq!(round(&mut c, 1.0), None);
        assert_eq!(round(&mut c, 0.5), Some(StopReason::MaxEpochs { max_epochs: 2 }));
    }

    #[test]
    fn should_stop_on_the_step_budget_and_on_non_finite_loss() {
        let mut c = Convergence::new(ConvergenceConfig { max_steps: Some(3), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(c.observe(0, None), None);
        assert_eq!(c.observe(0, None), None);
        assert!(matches!(c.check_loss(3, f64::NAN), Some(StopReason::NonFiniteLoss { step: 3, .. })));
        assert!(matches!(c.check_loss(3, f64::NEG_INFINITY), Some(StopReason::NonFiniteLoss { .. })));
        assert_eq!(c.check_loss(3, 1.0), None);
        assert_eq!(c.observe(0, None), Some(StopReason::MaxSteps { max_steps: 3 }));
    }

    #[test]
    fn should_stop_on_the_evaluation_budget() {
        let mut c = Convergence::new(ConvergenceConfig { max_evaluations: Some(100), ..Default::default() }).unwrap();
        assert_eq!(c.observe(60, Some(RoundEnd::new(1.0, None))), None);
        assert_eq!(c.observe(60, Some(RoundEnd::new(1.0, None))), Some(StopReason::MaxEvaluations { max_evaluations: 100 }));
    }

    #[test]
    fn should_stop_at_the_target_loss_and_accuracy() {
        let mut c = Convergence::new(ConvergenceConfig { target_loss: Some(0.1), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(round(&mut c, 0.2), None);
        assert_eq!(round(&mut c, 0.1), Some(StopReason::TargetLoss { loss: 0.1, target: 0.1 }));
        let mut c = Convergence::new(ConvergenceConfig { target_accuracy: Some(0.9), ..ConvergenceConfig::epochs(9) }).unwrap();
        assert_eq!(c.observe(0, Some(RoundEnd::new(1.0, Some(0.5)))), None);
        assert_eq!(c.observe(0, Some(RoundEnd::new(1.0, Some(0.95)))), Some(StopReason::TargetAccuracy { accuracy: 0.95, target: 0.9 }));
    }

    #[test]
    fn should_stop_when_descent_stalls() {
        let descent = Some(DescentRate { window: 2, min_rate: 0.01 });
        let mut c = Convergence::new(ConvergenceConfig { descent, ..ConvergenceConfig::epochs(99) }).unwrap();
        for l in [1.0, 0.5, 0.25] {
            assert_eq!(round(&mut c, l), None);
        }
        // 0.5 -> 0.2490 over 2 rounds is still fast; then 0.25 -> 0.2475 over 2 rounds is 0.5% per round.
        assert_eq!(round(&mut c, 0.2490), None);
        let stop = round(&mut c, 0.2475).unwrap();
        assert!(matches!(stop, StopReason::DescentStalled { rate, window: 2, .. } if (rate - 0.005).abs() < 1e-12), "{stop:?}");
    }

    #[test]
    fn should_stop_on_a_plateau() {
        let plateau = Some(Plateau { patience: 2, min_delta: 0.01 });
        let mut c = Convergence::new(ConvergenceConfig { plateau, ..ConvergenceConfig::epochs(99) }).unwrap();
        for l in [1.0, 0.5, 0.495] {
            assert_eq!(round(&mut c, l), None);
        }
        assert_eq!(round(&mut c, 0.6), Some(StopReason::Plateau { patience: 2, best: 0.5 }));
    }

    #[test]
    fn should_need_every_criterion_of_an_all_group() {
        let when = Some(Criterion::All { of: vec![Criterion::MaxEpochs { max_epochs: 2 }, Criterion::TargetLoss { target: 0.5 }] });
        let mut c = Convergence::new(ConvergenceConfig { when, max_epochs: Some(10), ..Default::default() }).unwrap();
        assert_eq!(round(&mut c, 0.4), None);
        assert_eq!(round(&mut c, 0.6), None);
        let stop = round(&mut c, 0.3).unwrap();
        assert!(matches!(&stop, StopReason::AllOf { reasons } if reasons.len() == 2), "{stop:?}");
        assert!(stop.to_string().starts_with("all of: reached the epoch budget"), "{stop}");
    }

    #[test]
    fn a_budget_is_required() {
        let c = ConvergenceConfig { target_loss: Some(0.1), ..Default::default() };
        assert!(matches!(c.check(), Err(Error::NoBudget)));
        let when = Some(Criterion::All { of: vec![Criterion::MaxSteps { max_steps: 5 }, Criterion::TargetLoss { target: 0.1 }] });
        assert!(matches!(ConvergenceConfig { when, ..Default::default() }.check(), Err(Error::NoBudget)));
    }

    #[test]
    fn budgets_must_be_positive() {
        assert!(matches!(ConvergenceConfig::epochs(0).check(), Err(Error::ZeroBudget("max_epochs"))));
        let c = ConvergenceConfig { max_steps: Some(0), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::ZeroBudget("max_steps"))));
    }

    #[test]
    fn target_loss_must_be_finite() {
        let c = ConvergenceConfig { target_loss: Some(f64::NAN), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::TargetLoss(_))));
    }

    #[test]
    fn target_accuracy_must_be_a_fraction() {
        let c = ConvergenceConfig { target_accuracy: Some(1.5), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::TargetAccuracy(_))));
    }

    #[test]
    fn wall_clock_must_be_positive() {
        let c = ConvergenceConfig { max_seconds: Some(0.0), ..Default::default() };
        assert!(matches!(c.check(), Err(Error::WallClock(_))));
    }

    #[test]
    fn descent_window_must_be_positive() {
        let c = ConvergenceConfig { descent: Some(DescentRate { window: 0, min_rate: 0.1 }), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::DescentWindow)));
    }

    #[test]
    fn descent_rate_must_be_non_negative() {
        let c = ConvergenceConfig { descent: Some(DescentRate { window: 1, min_rate: -0.1 }), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::DescentRate(_))));
    }

    #[test]
    fn plateau_patience_must_be_positive() {
        let c = ConvergenceConfig { plateau: Some(Plateau { patience: 0, min_delta: 0.0 }), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::Patience)));
    }

    #[test]
    fn groups_must_not_be_empty() {
        let c = ConvergenceConfig { when: Some(Criterion::Any { of: vec![] }), ..ConvergenceConfig::epochs(1) };
        assert!(matches!(c.check(), Err(Error::EmptyGroup("any"))));
    }
}
