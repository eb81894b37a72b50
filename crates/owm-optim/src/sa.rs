use std::collections::BTreeMap;

use owm_core::{Fitness, Rng, Sample, Validate, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ga::{check_sample, full};
use crate::search::{check_lengths, sanitize, to_data};
use crate::{Error, Result, Search, Told, ensure};

/// How the temperature falls with the step `k` (since the start or the last restart).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cooling {
    /// `T = t0 · alpha^k`.
    Exponential {
        /// Factor per step.
        alpha: f64,
    },
    /// `T = t0 · max(0, 1 − k/steps)`.
    Linear {
        /// Steps to reach zero.
        steps: u64,
    },
    /// `T = t0 / ln(e + k)` (the classical convergent schedule).
    Logarithmic,
    /// Every `window` steps, `T ← T·factor` when more than `target` of the moves were accepted, else `T ← T/factor`.
    Adaptive {
        /// Acceptance rate to hold.
        target: f64,
        /// Steps between adjustments.
        window: u64,
        /// Adjustment factor, in (0, 1).
        factor: f64,
    },
}

impl Default for Cooling {
    fn default() -> Self {
        Cooling::Exponential { alpha: 0.999 }
    }
}

/// Simulated annealing over the flat weights: Gaussian moves whose scale follows a schedule, Metropolis
/// acceptance at a falling temperature, and restarts from the best point.
///
/// Each step draws `neighbours` moves (evaluated in parallel), each perturbing a random `fraction` of the
/// weights by `N(0, scale_k²)` with `scale_k = max(min_scale, scale · scale_decay^k)`; the best of them is
/// accepted with probability `min(1, exp(−Δ/T))`. The weights the phase ends with are the best seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaConfig {
    /// Initial temperature, in loss units (default 0.01).
    #[serde(default = "t0")]
    pub t0: f64,
    /// Cooling schedule (default exponential, 0.999 per step).
    #[serde(default)]
    pub cooling: Cooling,
    /// Initial move scale (default 0.02).
    #[serde(default = "scale")]
    pub scale: f64,
    /// Factor on the scale per step (default 1: constant).
    #[serde(default = "one")]
    pub scale_decay: f64,
    /// Floor of the scale (default 1e-4).
    #[serde(default = "min_scale")]
    pub min_scale: f64,
    /// Fraction of the weights each move perturbs (default 0.1).
    #[serde(default = "fraction")]
    pub fraction: f64,
    /// Moves evaluated per step (default 4).
    #[serde(default = "neighbours")]
    pub neighbours: usize,
    /// Restart from the best point at `t0` after this many steps without a new best (default never).
    #[serde(default)]
    pub restart_after: Option<u64>,
    /// Training items each move is evaluated on (default all).
    #[serde(default = "full")]
    pub sample: Sample,
}

fn t0() -> f64 {
    0.01
}
fn scale() -> f64 {
    0.02
}
fn one() -> f64 {
    1.0
}
fn min_scale() -> f64 {
    1e-4
}
fn fraction() -> f64 {
    0.1
}
fn neighbours() -> usize {
    4
}

impl Default for SaConfig {
    fn default() -> Self {
        Self {
            t0: t0(),
            cooling: Cooling::default(),
            scale: scale(),
            scale_decay: one(),
            min_scale: min_scale(),
            fraction: fraction(),
            neighbours: neighbours(),
            restart_after: None,
            sample: full(),
        }
    }
}

impl Validate for SaConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        let positive = |name, v: f64| ensure(v.is_finite() && v > 0.0, name, "must be finite and > 0", v);
        positive("t0", self.t0)?;
        match self.cooling {
            Cooling::Exponential { alpha } => ensure(alpha > 0.0 && alpha <= 1.0, "cooling.alpha", "must lie in (0, 1]", alpha)?,
            Cooling::Linear { steps } => ensure(steps >= 1, "cooling.steps", "must be at least 1", steps as f64)?,
            Cooling::Logarithmic => {}
            Cooling::Adaptive { target, window, factor } => {
                ensure(target > 0.0 && target < 1.0, "cooling.target", "must lie in (0, 1)", target)?;
                ensure(window >= 1, "cooling.window", "must be at least 1", window as f64)?;
                ensure(factor > 0.0 && factor < 1.0, "cooling.factor", "must lie in (0, 1)", factor)?;
            }
        }
        positive("scale", self.scale)?;
        ensure(self.scale_decay > 0.0 && self.scale_decay <= 1.0, "scale_decay", "must lie in (0, 1]", self.scale_decay)?;
        ensure(self.min_scale.is_finite() && self.min_scale >= 0.0, "min_scale", "must be finite and >= 0", self.min_scale)?;
        ensure(self.fraction > 0.0 && self.fraction <= 1.0, "fraction", "must lie in (0, 1]", self.fraction)?;
        ensure(self.neighbours >= 1, "neighbours", "must be at least 1", self.neighbours as f64)?;
        if let Some(r) = self.restart_after {
            ensure(r >= 1, "restart_after", "must be at least 1", r as f64)?;
        }
        check_sample(self.sample)
    }
}

/// The annealer's runtime; all of it (points, temperature, counters, generator) is its serialisable state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sa {
    config: SaConfig,
    seed: u64,
    rng: Rng,
    steps: u64,
    k: u64,
    temperature: f64,
    x: Vec<f32>,
    #[serde(with = "owm_core::serde_float")]
    fx: f64,
    best: Vec<f32>,
    #[serde(with = "owm_core::serde_float")]
    best_loss: f64,
    best_accuracy: Option<f64>,
    since_best: u64,
    window_accepted: u64,
    window_steps: u64,
    evaluated_start: bool,
    #[serde(skip)]
    pending: Vec<Vec<f32>>,
}

impl Sa {
    /// An annealer seeded with `seed`.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks.
    pub fn new(config: SaConfig, seed: u64) -> Result<Self> {
        config.check()?;
        Ok(Self {
            temperature: config.t0,
            config,
            seed,
            rng: Rng::derived(seed, "sa/accept"),
            steps: 0,
            k: 0,
            x: Vec::new(),
            fx: f64::INFINITY,
            best: Vec::new(),
            best_loss: f64::INFINITY,
            best_accuracy: None,
            since_best: 0,
            window_accepted: 0,
            window_steps: 0,
            evaluated_start: false,
            pending: Vec::new(),
        })
    }

    fn scale(&self) -> f64 {
        (self.config.scale * self.config.scale_decay.powf(self.k as f64)).max(self.config.min_scale)
    }

    fn cool(&mut self) {
        let t0 = self.config.t0;
        let k = self.k as f64;
        self.temperature = match self.config.cooling {
            Cooling::Exponential { alpha } => t0 * alpha.powf(k),
            Cooling::Linear { steps } => t0 * (1.0 - k / steps as f64).max(0.0),
            Cooling::Logarithmic => t0 / (std::f64::consts::E + k).ln(),
            Cooling::Adaptive { target, window, factor } => {
                let mut t = self.temperature;
                if self.window_steps >= window {
                    let rate = self.window_accepted as f64 / self.window_steps as f64;
                    t = if rate > target { t * factor } else { t / factor };
                    self.window_accepted = 0;
                    self.window_steps = 0;
                }
                t
            }
        };
    }
}

impl Search for Sa {
    fn start(&mut self, x0: Vec<f32>) {
        self.best = x0.clone();
        self.x = x0;
    }

    fn started(&self) -> bool {
        !self.x.is_empty()
    }

    fn ask(&mut self) -> Vec<Vec<f32>> {
        if !self.evaluated_start {
            self.pending = vec![self.x.clone()];
            return self.pending.clone();
        }
        let (scale, fraction) = (self.scale(), self.config.fraction);
        let (seed, step, x) = (self.seed, self.steps, &self.x);
        self.pending = (0..self.config.neighbours)
            .into_par_iter()
            .map(|j| {
                let mut rng = Rng::new(derive_seed(seed, &format!("sa/{step}/{j}")));
                let mut y = x.clone();
                for v in &mut y {
                    if fraction >= 1.0 || rng.next_f64() < fraction {
                        *v += rng.normal(0.0, scale) as f32;
                    }
                }
                y
            })
            .collect();
        self.pending.clone()
    }

    fn tell(&mut self, fitness: &[Fitness]) -> Told {
        let losses = sanitize(fitness);
        let mut stats = BTreeMap::new();
        let pending = std::mem::take(&mut self.pending);
        if !self.evaluated_start {
            self.evaluated_start = true;
            self.fx = losses[0];
            self.best_loss = losses[0];
            self.best_accuracy = fitness[0].accuracy;
            stats.insert("temperature".into(), self.temperature);
            return Told { stats, lineage: None };
        }
        #[allow(clippy::expect_used, reason = "the proposal step always evaluates at least one neighbour")]
        let j = (0..losses.len()).min_by(|&a, &b| losses[a].total_cmp(&losses[b])).expect("at least one neighbour");
        let delta = losses[j] - self.fx;
        let u = self.rng.next_f64();
        let accept = delta <= 0.0 || (self.temperature > 0.0 && u < (-delta / self.temperature).exp());
        if accept {
            self.x = pending[j].clone();
            self.fx = losses[j];
            self.window_accepted += 1;
        }
        if losses[j] < self.best_loss {
            self.best_loss = losses[j];
            self.best_accuracy = fitness[j].accuracy;
            self.best = pending[j].clone();
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        self.steps += 1;
        self.k += 1;
        self.window_steps += 1;
        stats.insert("temperature".into(), self.temperature);
        stats.insert("scale".into(), self.scale());
        stats.insert("accepted".into(), f64::from(u8::from(accept)));
        stats.insert("current_loss".into(), self.fx);
        self.cool();
        if self.config.restart_after.is_some_and(|r| self.since_best >= r) {
            self.x = self.best.clone();
            self.fx = self.best_loss;
            self.k = 0;
            self.since_best = 0;
            self.temperature = self.config.t0;
            stats.insert("restart".into(), 1.0);
        }
        Told { stats, lineage: None }
    }

    fn current(&self) -> (&[f32], Fitness) {
        (&self.best, Fitness { loss: self.best_loss, accuracy: self.best_accuracy })
    }

    fn sample(&self) -> Sample {
        self.config.sample
    }

    fn settings(&self) -> serde_json::Value {
        to_data(&self.config)
    }

    fn check_state(&self, dim: usize) -> Result<()> {
        check_lengths("a point", dim, [&self.x, &self.best].into_iter().filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_must_be_positive() {
        let c = SaConfig { t0: 0.0, ..SaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "t0", .. })));
    }

    #[test]
    fn cooling_factor_must_lie_in_the_unit_interval() {
        let c = SaConfig { cooling: Cooling::Exponential { alpha: 1.5 }, ..SaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "cooling.alpha", .. })));
        let c = SaConfig { cooling: Cooling::Adaptive { target: 0.3, window: 10, factor: 1.0 }, ..SaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "cooling.factor", .. })));
    }

    #[test]
    fn fraction_must_lie_in_the_unit_interval() {
        let c = SaConfig { fraction: 0.0, ..SaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "fraction", .. })));
    }

    #[test]
    fn needs_a_neighbour() {
        let c = SaConfig { neighbours: 0, ..SaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "neighbours", .. })));
    }

    #[test]
    fn should_cool_by_each_schedule() {
        let mut sa = Sa::new(SaConfig { t0: 1.0, cooling: Cooling::Linear { steps: 4 }, ..SaConfig::default() }, 0).unwrap();
        sa.k = 2;
        sa.cool();
        assert_eq!(sa.temperature, 0.5);
        sa.config.cooling = Cooling::Logarithmic;
        sa.k = 0;
        sa.cool();
        assert!((sa.temperature - 1.0).abs() < 1e-12);
    }
}
