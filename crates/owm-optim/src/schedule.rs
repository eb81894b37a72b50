use owm_core::Validate;
use serde::{Deserialize, Serialize};

use crate::{Error, Result, ensure};

/// A learning-rate schedule: the rate at scheduler step `t` (0 for the first update) from the base rate.
///
/// Each kind has the formula of its `torch.optim.lr_scheduler` namesake, stepped once per applied update
/// (checked against PyTorch for 1,000 steps in `tests/pytorch_schedules.rs`):
///
/// | kind | PyTorch | rate at step `t` |
/// |---|---|---|
/// | `constant` | — | `lr` |
/// | `step` | `StepLR(step_size, gamma)` | `lr · gamma^⌊t / step_size⌋` |
/// | `exponential` | `ExponentialLR(gamma)` | `lr · gamma^t` |
/// | `cosine` | `LinearLR(warmup_factor, 1, warmup)` then `CosineAnnealingLR(t_max, eta_min)` via `SequentialLR` | linear warm-up, then `eta_min + (lr − eta_min)(1 + cos(π·t'/t_max))/2` |
/// | `linear` | `LinearLR(start_factor, end_factor, total_steps)` | `lr · (start + (end − start)·min(t, total)/total)` |
/// | `one_cycle` | `OneCycleLR(max_lr = lr, total_steps, pct_start, div_factor, final_div_factor)`, cosine annealing | up from `lr/div_factor` to `lr`, then down to `lr/(div_factor·final_div_factor)` |
/// | `reduce_on_plateau` | `ReduceLROnPlateau(mode="min", factor, patience, threshold, cooldown, min_lr)` | `lr` times `factor` each time the round loss stalls for more than `patience` rounds |
///
/// `reduce_on_plateau` is the one stateful kind: it watches the loss of each round (an epoch, or a
/// generation) through [`PlateauState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// Multiply by `gamma` every `step_size` steps.
    Step {
        /// Steps between decays.
        step_size: u64,
        /// Decay factor.
        gamma: f64,
    },
    /// Multiply by `gamma` every step.
    Exponential {
        /// Decay factor.
        gamma: f64,
    },
    /// Optional linear warm-up, then cosine annealing to `eta_min` over `t_max` steps.
    Cosine {
        /// Steps of the cosine half-period (after warm-up).
        t_max: u64,
        /// The floor.
        #[serde(default)]
        eta_min: f64,
        /// Warm-up steps (0: none).
        #[serde(default)]
        warmup: u64,
        /// Rate factor at the start of the warm-up.
        #[serde(default = "third")]
        warmup_factor: f64,
    },
    /// Linear interpolation of a factor from `start_factor` to `end_factor` over `total_steps`, then flat.
    Linear {
        /// Factor at step 0.
        #[serde(default = "third")]
        start_factor: f64,
        /// Factor from `total_steps` on.
        #[serde(default = "one")]
        end_factor: f64,
        /// Steps of the ramp.
        total_steps: u64,
    },
    /// The one-cycle policy (Smith and Topin, 2017) with cosine annealing; the base rate is the peak.
    OneCycle {
        /// Steps of the whole cycle.
        total_steps: u64,
        /// Fraction of the cycle spent rising.
        #[serde(default = "pct_start")]
        pct_start: f64,
        /// Initial rate = peak / `div_factor`.
        #[serde(default = "div_factor")]
        div_factor: f64,
        /// Final rate = initial / `final_div_factor`.
        #[serde(default = "final_div_factor")]
        final_div_factor: f64,
    },
    /// Multiply by `factor` when the round loss has not improved (relatively, by `threshold`) for more than
    /// `patience` rounds.
    ReduceOnPlateau {
        /// Decay factor.
        #[serde(default = "plateau_factor")]
        factor: f64,
        /// Rounds without improvement tolerated.
        #[serde(default = "plateau_patience")]
        patience: u64,
        /// Relative improvement that counts.
        #[serde(default = "plateau_threshold")]
        threshold: f64,
        /// Rounds to wait after a decay before counting again.
        #[serde(default)]
        cooldown: u64,
        /// The floor.
        #[serde(default)]
        min_lr: f64,
    },
}

fn third() -> f64 {
    1.0 / 3.0
}
fn one() -> f64 {
    1.0
}
fn pct_start() -> f64 {
    0.3
}
fn div_factor() -> f64 {
    25.0
}
fn final_div_factor() -> f64 {
    1e4
}
fn plateau_factor() -> f64 {
    0.1
}
fn plateau_patience() -> u64 {
    10
}
fn plateau_threshold() -> f64 {
    1e-4
}

impl Schedule {
    /// Reads the command line's `kind[:key=value...]` form, such as `cosine:t_max=900:warmup=100`; a value
    /// is read as JSON where it parses (numbers, `true`), as text otherwise.
    ///
    /// # Errors
    ///
    /// [`Error::ScheduleSpec`] for an item that is not `key=value`, an unknown kind or setting, or a schedule
    /// that breaks a rule of [`Validate::check`].
    pub fn parse(spec: &str) -> Result<Schedule> {
        let err = |reason: String| Error::ScheduleSpec { spec: spec.to_owned(), reason };
        let mut items = spec.split(':');
        let mut json = serde_json::json!({ "kind": items.next().unwrap_or_default() });
        for item in items {
            let (key, value) = item.split_once('=').ok_or_else(|| err(format!("`{item}` is not key=value")))?;
            json[key] = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.into()));
        }
        let schedule: Schedule = serde_json::from_value(json).map_err(|e| err(e.to_string()))?;
        schedule.check().map_err(|e| err(e.to_string()))?;
        Ok(schedule)
    }

    /// A short name (`"cosine"`).
    pub fn name(&self) -> &'static str {
        match self {
            Schedule::Constant => "constant",
            Schedule::Step { .. } => "step",
            Schedule::Exponential { .. } => "exponential",
            Schedule::Cosine { .. } => "cosine",
            Schedule::Linear { .. } => "linear",
            Schedule::OneCycle { .. } => "one_cycle",
            Schedule::ReduceOnPlateau { .. } => "reduce_on_plateau",
        }
    }

    /// The rate at scheduler step `t` for base rate `lr`; for `reduce_on_plateau`, the rate before any decay
    /// (the running rate lives in [`PlateauState`]).
    pub fn lr(&self, lr: f64, t: u64) -> f64 {
        use std::f64::consts::PI;
        let tf = t as f64;
        match *self {
            Schedule::Constant | Schedule::ReduceOnPlateau { .. } => lr,
            Schedule::Step { step_size, gamma } => lr * gamma.powi((t / step_size) as i32),
            Schedule::Exponential { gamma } => lr * gamma.powf(tf),
            Schedule::Cosine { t_max, eta_min, warmup, warmup_factor } => {
                if t < warmup {
                    lr * (warmup_factor + (1.0 - warmup_factor) * tf / warmup as f64)
                } else {
                    let tc = (t - warmup) as f64;
                    eta_min + (lr - eta_min) * (1.0 + (PI * tc / t_max as f64).cos()) / 2.0
                }
            }
            Schedule::Linear { start_factor, end_factor, total_steps } => {
                let frac = (tf / total_steps as f64).min(1.0);
                lr * (start_factor + (end_factor - start_factor) * frac)
            }
            Schedule::OneCycle { total_steps, pct_start, div_factor, final_div_factor } => {
                let initial = lr / div_factor;
                let min = initial / final_div_factor;
                let up_end = pct_start * total_steps as f64 - 1.0;
                let down_end = total_steps as f64 - 1.0;
                let cos = |start: f64, end: f64, pct: f64| end + (start - end) / 2.0 * ((PI * pct).cos() + 1.0);
                if tf <= up_end { cos(initial, lr, tf / up_end) } else { cos(lr, min, ((tf - up_end) / (down_end - up_end)).min(1.0)) }
            }
        }
    }

    /// The stateful part, for `reduce_on_plateau`.
    pub fn plateau_state(&self, lr: f64) -> Option<PlateauState> {
        matches!(self, Schedule::ReduceOnPlateau { .. }).then(|| PlateauState::new(lr))
    }
}

impl Validate for Schedule {
    type Error = Error;

    fn check(&self) -> Result<()> {
        let unit = |name, v: f64| ensure(v > 0.0 && v <= 1.0, name, "must lie in (0, 1]", v);
        let steps = |name, v: u64| ensure(v >= 1, name, "must be at least 1", v as f64);
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { step_size, gamma } => {
                steps("step_size", step_size)?;
                unit("gamma", gamma)
            }
            Schedule::Exponential { gamma } => unit("gamma", gamma),
            Schedule::Cosine { t_max, eta_min, warmup_factor, warmup } => {
                steps("t_max", t_max)?;
                ensure(eta_min.is_finite() && eta_min >= 0.0, "eta_min", "must be finite and >= 0", eta_min)?;
                if warmup > 0 {
                    unit("warmup_factor", warmup_factor)?;
                }
                Ok(())
            }
            Schedule::Linear { start_factor, end_factor, total_steps } => {
                steps("total_steps", total_steps)?;
                unit("start_factor", start_factor)?;
                ensure((0.0..=1.0).contains(&end_factor), "end_factor", "must lie in [0, 1]", end_factor)
            }
            Schedule::OneCycle { total_steps, pct_start, div_factor, final_div_factor } => {
                steps("total_steps", total_steps)?;
                ensure(pct_start > 0.0 && pct_start < 1.0, "pct_start", "must lie in (0, 1)", pct_start)?;
                ensure(pct_start * total_steps as f64 >= 2.0, "pct_start", "times total_steps must leave at least 2 rising steps", pct_start)?;
                ensure(div_factor.is_finite() && div_factor >= 1.0, "div_factor", "must be finite and >= 1", div_factor)?;
                ensure(final_div_factor.is_finite() && final_div_factor >= 1.0, "final_div_factor", "must be finite and >= 1", final_div_factor)
            }
            Schedule::ReduceOnPlateau { factor, patience: _, threshold, cooldown: _, min_lr } => {
                ensure(factor > 0.0 && factor < 1.0, "factor", "must lie in (0, 1)", factor)?;
                ensure(threshold.is_finite() && threshold >= 0.0, "threshold", "must be finite and >= 0", threshold)?;
                ensure(min_lr.is_finite() && min_lr >= 0.0, "min_lr", "must be finite and >= 0", min_lr)
            }
        }
    }
}

/// The running state of a `reduce_on_plateau` schedule (PyTorch's `ReduceLROnPlateau`, mode `min`, relative
/// threshold).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateauState {
    /// The current rate.
    pub lr: f64,
    /// The best round loss seen.
    #[serde(with = "owm_core::serde_float")]
    pub best: f64,
    /// Rounds since the last improvement.
    pub bad_rounds: u64,
    /// Rounds of cooldown left.
    pub cooldown_left: u64,
}

impl PlateauState {
    /// The state before any round, at base rate `lr`.
    pub fn new(lr: f64) -> Self {
        Self { lr, best: f64::INFINITY, bad_rounds: 0, cooldown_left: 0 }
    }

    /// Feeds one round's loss; returns the new rate when it was reduced.
    pub fn observe(&mut self, schedule: &Schedule, loss: f64) -> Option<f64> {
        let Schedule::ReduceOnPlateau { factor, patience, threshold, cooldown, min_lr } = *schedule else {
            return None;
        };
        if loss < self.best * (1.0 - threshold) {
            self.best = loss;
            self.bad_rounds = 0;
        } else {
            self.bad_rounds += 1;
        }
        if self.cooldown_left > 0 {
            self.cooldown_left -= 1;
            self.bad_rounds = 0;
        }
        if self.bad_rounds > patience {
            self.cooldown_left = cooldown;
            self.bad_rounds = 0;
            let new_lr = (self.lr * factor).max(min_lr);
            if self.lr - new_lr > 1e-8 {
                self.lr = new_lr;
                return Some(new_lr);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_parse_the_command_line_form_and_name_what_is_wrong() {
        assert_eq!(Schedule::parse("step:step_size=30:gamma=0.1").unwrap(), Schedule::Step { step_size: 30, gamma: 0.1 });
        let not_pair = Schedule::parse("step:30").unwrap_err().to_string();
        assert_eq!(not_pair, "schedule `step:30`: `30` is not key=value");
        assert!(Schedule::parse("sawtooth").unwrap_err().to_string().starts_with("schedule `sawtooth`: unknown variant"));
    }

    #[test]
    fn should_decay_in_steps() {
        let s = Schedule::Step { step_size: 10, gamma: 0.5 };
        assert_eq!((s.lr(1.0, 9), s.lr(1.0, 10), s.lr(1.0, 25)), (1.0, 0.5, 0.25));
    }

    #[test]
    fn should_warm_up_then_anneal() {
        let s = Schedule::Cosine { t_max: 10, eta_min: 0.0, warmup: 5, warmup_factor: 0.2 };
        assert!((s.lr(1.0, 0) - 0.2).abs() < 1e-12);
        assert!((s.lr(1.0, 5) - 1.0).abs() < 1e-12);
        assert!(s.lr(1.0, 15).abs() < 1e-12);
    }

    #[test]
    fn should_reduce_after_patience() {
        let s = Schedule::ReduceOnPlateau { factor: 0.5, patience: 1, threshold: 0.0, cooldown: 0, min_lr: 0.0 };
        let mut p = s.plateau_state(1.0).unwrap();
        assert_eq!(p.observe(&s, 1.0), None);
        assert_eq!(p.observe(&s, 1.0), None);
        assert_eq!(p.observe(&s, 1.0), Some(0.5));
    }

    #[test]
    fn gamma_must_lie_in_the_unit_interval() {
        assert!(matches!(Schedule::Exponential { gamma: 1.5 }.check(), Err(Error::Setting { name: "gamma", .. })));
    }

    #[test]
    fn horizons_must_be_positive() {
        assert!(matches!(Schedule::Step { step_size: 0, gamma: 0.5 }.check(), Err(Error::Setting { name: "step_size", .. })));
        let c = Schedule::Cosine { t_max: 0, eta_min: 0.0, warmup: 0, warmup_factor: 0.1 };
        assert!(matches!(c.check(), Err(Error::Setting { name: "t_max", .. })));
    }

    #[test]
    fn one_cycle_needs_rising_steps() {
        let c = Schedule::OneCycle { total_steps: 4, pct_start: 0.3, div_factor: 25.0, final_div_factor: 1e4 };
        assert!(matches!(c.check(), Err(Error::Setting { name: "pct_start", .. })));
    }

    #[test]
    fn plateau_factor_must_shrink() {
        let c = Schedule::ReduceOnPlateau { factor: 1.0, patience: 1, threshold: 0.0, cooldown: 0, min_lr: 0.0 };
        assert!(matches!(c.check(), Err(Error::Setting { name: "factor", .. })));
    }
}
