use owm_core::{Fitness, Rng, Sample, Validate, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ga::{check_sample, full};
use crate::search::{check_lengths, sanitize, to_data};
use crate::{Error, Result, Search, Told, check_beta, check_lr, check_weight_decay, ensure};

/// An evolution strategy that scales to many weights: OpenAI-ES (Salimans et al., 2017) with antithetic
/// sampling, centred-rank fitness shaping and Adam on the estimated gradient.
///
/// Each generation evaluates the centre θ and `population` perturbations `θ ± σ·εᵢ` (σ may shrink
/// geometrically, `σ_g = max(sigma_min, sigma · sigma_decay^g)`); the loss gradient is
/// estimated as `Σᵢ (r⁺ᵢ − r⁻ᵢ)·εᵢ / (population·σ)` with `r` the centred ranks of the losses in [−½, ½], and θ
/// takes an Adam step on it (the rate may shrink by `lr_decay` per generation). Memory is two vectors per weight plus the noise of one generation; the noise is
/// regenerated from per-pair seeds, so the state stays small.
///
/// ## References
///
/// Salimans, Ho, Chen, Sidor and Sutskever, "Evolution Strategies as a Scalable Alternative to Reinforcement
/// Learning", 2017, arXiv:1703.03864.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EsConfig {
    /// Perturbations per generation, an even number (default 50: 25 antithetic pairs).
    #[serde(default = "population")]
    pub population: usize,
    /// Initial noise standard deviation (default 0.02).
    #[serde(default = "sigma")]
    pub sigma: f64,
    /// Factor on σ per generation (default 1: constant), so a wide search can narrow down.
    #[serde(default = "one")]
    pub sigma_decay: f64,
    /// Floor of σ (default 1e-3).
    #[serde(default = "sigma_min")]
    pub sigma_min: f64,
    /// Adam learning rate on the estimated gradient (default 0.01).
    #[serde(default = "lr")]
    pub lr: f64,
    /// Factor on the learning rate per generation (default 1: constant), to settle into an optimum.
    #[serde(default = "one")]
    pub lr_decay: f64,
    /// Adam β₁ (default 0.9).
    #[serde(default = "beta1")]
    pub beta1: f64,
    /// Adam β₂ (default 0.999).
    #[serde(default = "beta2")]
    pub beta2: f64,
    /// Decoupled weight decay on θ (default 0).
    #[serde(default)]
    pub weight_decay: f64,
    /// Training items each candidate is evaluated on (default all).
    #[serde(default = "full")]
    pub sample: Sample,
}

fn population() -> usize {
    50
}
fn sigma() -> f64 {
    0.02
}
fn lr() -> f64 {
    0.01
}
fn one() -> f64 {
    1.0
}
fn sigma_min() -> f64 {
    1e-3
}
fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}

impl Default for EsConfig {
    fn default() -> Self {
        Self {
            population: population(),
            sigma: sigma(),
            sigma_decay: one(),
            sigma_min: sigma_min(),
            lr: lr(),
            lr_decay: one(),
            beta1: beta1(),
            beta2: beta2(),
            weight_decay: 0.0,
            sample: full(),
        }
    }
}

impl Validate for EsConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        let p = self.population;
        ensure(p >= 2 && p.is_multiple_of(2), "population", "must be an even number >= 2", p as f64)?;
        ensure(self.sigma.is_finite() && self.sigma > 0.0, "sigma", "must be finite and > 0", self.sigma)?;
        ensure(self.sigma_decay > 0.0 && self.sigma_decay <= 1.0, "sigma_decay", "must lie in (0, 1]", self.sigma_decay)?;
        ensure(self.sigma_min.is_finite() && self.sigma_min > 0.0, "sigma_min", "must be finite and > 0", self.sigma_min)?;
        check_lr(self.lr)?;
        ensure(self.lr_decay > 0.0 && self.lr_decay <= 1.0, "lr_decay", "must lie in (0, 1]", self.lr_decay)?;
        check_beta("beta1", self.beta1)?;
        check_beta("beta2", self.beta2)?;
        check_weight_decay(self.weight_decay)?;
        check_sample(self.sample)
    }
}

/// The evolution strategy's runtime; its state (θ, Adam moments, counters, seed) is serialisable.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Es {
    config: EsConfig,
    seed: u64,
    generation: u64,
    theta: Vec<f32>,
    m: Vec<f32>,
    v: Vec<f32>,
    /// The last centre evaluated, and its fitness.
    centre: Vec<f32>,
    #[serde(with = "owm_core::serde_float")]
    centre_loss: f64,
    centre_accuracy: Option<f64>,
}

impl Es {
    /// An evolution strategy seeded with `seed`.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks.
    pub fn new(config: EsConfig, seed: u64) -> Result<Self> {
        config.check()?;
        Ok(Self {
            config,
            seed,
            generation: 0,
            theta: Vec::new(),
            m: Vec::new(),
            v: Vec::new(),
            centre: Vec::new(),
            centre_loss: f64::NAN,
            centre_accuracy: None,
        })
    }

    /// σ of the current generation.
    pub fn sigma(&self) -> f64 {
        (self.config.sigma * self.config.sigma_decay.powf(self.generation as f64)).max(self.config.sigma_min)
    }

    fn noise(&self, pair: usize) -> Vec<f32> {
        let mut rng = Rng::new(derive_seed(self.seed, &format!("es/{}/{pair}", self.generation)));
        (0..self.theta.len()).map(|_| rng.normal(0.0, 1.0) as f32).collect()
    }
}

/// Centred ranks in [−½, ½] (ties broken by position), as in OpenAI-ES.
fn centred_ranks(losses: &[f64]) -> Vec<f64> {
    let n = losses.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)));
    let mut ranks = vec![0.0; n];
    for (r, &i) in order.iter().enumerate() {
        ranks[i] = if n > 1 { r as f64 / (n - 1) as f64 - 0.5 } else { 0.0 };
    }
    ranks
}

impl Search for Es {
    fn start(&mut self, x0: Vec<f32>) {
        self.m = vec![0.0; x0.len()];
        self.v = vec![0.0; x0.len()];
        self.theta = x0;
    }

    fn started(&self) -> bool {
        !self.theta.is_empty()
    }

    fn ask(&mut self) -> Vec<Vec<f32>> {
        let sigma = self.sigma() as f32;
        let pairs: Vec<[Vec<f32>; 2]> = (0..self.config.population / 2)
            .into_par_iter()
            .map(|i| {
                let eps = self.noise(i);
                let plus = self.theta.iter().zip(&eps).map(|(t, e)| t + sigma * e).collect();
                let minus = self.theta.iter().zip(&eps).map(|(t, e)| t - sigma * e).collect();
                [plus, minus]
            })
            .collect();
        std::iter::once(self.theta.clone()).chain(pairs.into_iter().flatten()).collect()
    }

    fn tell(&mut self, fitness: &[Fitness]) -> Told {
        let losses = sanitize(fitness);
        self.centre = self.theta.clone();
        self.centre_loss = losses[0];
        self.centre_accuracy = fitness[0].accuracy;
        let ranks = centred_ranks(&losses[1..]);
        let pairs = self.config.population / 2;
        let n = self.theta.len();
        let sigma = self.sigma();
        let scale = 1.0 / (self.config.population as f64 * sigma);
        let grad = (0..pairs)
            .into_par_iter()
            .fold(
                || vec![0.0f64; n],
                |mut acc, i| {
                    let w = (ranks[2 * i] - ranks[2 * i + 1]) * scale;
                    if w != 0.0 {
                        for (a, e) in acc.iter_mut().zip(self.noise(i)) {
                            *a += w * f64::from(e);
                        }
                    }
                    acc
                },
            )
            .reduce(
                || vec![0.0f64; n],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                    a
                },
            );
        self.generation += 1;
        let c = &self.config;
        let t = self.generation as i32;
        let (bc1, bc2) = (1.0 - c.beta1.powi(t), 1.0 - c.beta2.powi(t));
        let lr = c.lr * c.lr_decay.powi(t - 1);
        let mut grad_norm = 0.0f64;
        for (i, &g) in grad.iter().enumerate() {
            grad_norm += g * g;
            let m = c.beta1 * f64::from(self.m[i]) + (1.0 - c.beta1) * g;
            let v = c.beta2 * f64::from(self.v[i]) + (1.0 - c.beta2) * g * g;
            self.m[i] = m as f32;
            self.v[i] = v as f32;
            let step = lr * (m / bc1) / ((v / bc2).sqrt() + 1e-8) + lr * c.weight_decay * f64::from(self.theta[i]);
            self.theta[i] -= step as f32;
        }
        let mut stats = std::collections::BTreeMap::new();
        stats.insert("sigma".into(), sigma);
        stats.insert("lr".into(), lr);
        stats.insert("grad_norm".into(), grad_norm.sqrt());
        Told { stats, lineage: None }
    }

    fn current(&self) -> (&[f32], Fitness) {
        (&self.centre, Fitness { loss: self.centre_loss, accuracy: self.centre_accuracy })
    }

    fn sample(&self) -> Sample {
        self.config.sample
    }

    fn settings(&self) -> serde_json::Value {
        to_data(&self.config)
    }

    fn check_state(&self, dim: usize) -> Result<()> {
        let vectors = [&self.theta, &self.m, &self.v, &self.centre];
        check_lengths("a vector of the state", dim, vectors.into_iter().filter(|v| !v.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_must_be_even() {
        let c = EsConfig { population: 7, ..EsConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "population", .. })));
    }

    #[test]
    fn sigma_must_be_positive() {
        let c = EsConfig { sigma: 0.0, ..EsConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "sigma", .. })));
    }

    #[test]
    fn ranks_are_centred() {
        assert_eq!(centred_ranks(&[3.0, 1.0, 2.0]), [0.5, -0.5, 0.0]);
    }
}
