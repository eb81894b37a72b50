use owm_core::{Fitness, Lineage, Rng, Sample, Validate, derive_seed};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::search::{check_lengths, sanitize, to_data};
use crate::{Error, Result, Search, Told, ensure};

/// How parents are chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Selection {
    /// The best of `size` individuals drawn at random (with replacement).
    Tournament {
        /// Individuals per tournament.
        size: usize,
    },
    /// Linear ranking: probability proportional to `N − rank`.
    Rank,
    /// Fitness-proportionate on `worst loss − loss`.
    Roulette,
}

impl Default for Selection {
    fn default() -> Self {
        Selection::Tournament { size: 3 }
    }
}

/// How two parents make a child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Crossover {
    /// Each weight from either parent with probability ½.
    #[default]
    Uniform,
    /// The first parent up to a random cut, the second after it.
    OnePoint,
    /// The second parent between two random cuts.
    TwoPoint,
    /// BLX-α: each weight uniform on the parents' interval widened by `alpha` of its length on each side.
    Blend {
        /// Widening (0.5 is usual).
        alpha: f64,
    },
    /// Simulated binary crossover (Deb and Agrawal, 1995) with distribution index `eta`.
    Sbx {
        /// Distribution index (larger: children closer to the parents).
        eta: f64,
    },
}

/// How a child is perturbed; each weight mutates with probability `rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    /// Add `N(0, std²)`.
    Gaussian {
        /// Standard deviation.
        std: f64,
        /// Per-weight probability.
        rate: f64,
    },
    /// Add `U(low, high)` (PyGAD's `random` mutation without replacement).
    Uniform {
        /// Lower end.
        low: f64,
        /// Upper end.
        high: f64,
        /// Per-weight probability.
        rate: f64,
    },
    /// Polynomial mutation (Deb and Goyal, 1996) with distribution index `eta`, steps scaled by `scale`.
    Polynomial {
        /// Distribution index.
        eta: f64,
        /// The largest step.
        scale: f64,
        /// Per-weight probability.
        rate: f64,
    },
    /// Gaussian with a step size each individual carries and mutates log-normally (`σ' = σ·exp(τ·N(0, 1))`,
    /// `τ = 1/√n`), so the population tunes its own step.
    SelfAdaptive {
        /// The initial step size.
        initial_std: f64,
        /// Per-weight probability.
        rate: f64,
    },
}

impl Default for Mutation {
    fn default() -> Self {
        Mutation::Gaussian { std: 0.1, rate: 0.1 }
    }
}

/// A genetic algorithm over the flat weights: selection, crossover, mutation and elitism, with the parents
/// and operators of every individual kept for the trace.
///
/// The initial population is the starting weights plus `population − 1` copies perturbed by
/// `N(0, init_std²)`. Each generation keeps the `elites` best unchanged and breeds the rest. With
/// `sample` = full data the elites are not re-evaluated, so the best loss never gets worse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaConfig {
    /// Individuals per generation (default 50).
    #[serde(default = "population")]
    pub population: usize,
    /// Best individuals copied unchanged into the next generation (default 2).
    #[serde(default = "elites")]
    pub elites: usize,
    /// Parent selection (default tournament of 3).
    #[serde(default)]
    pub selection: Selection,
    /// Crossover (default uniform).
    #[serde(default)]
    pub crossover: Crossover,
    /// Probability that a child comes from crossover rather than a copy of its first parent (default 0.9).
    #[serde(default = "crossover_rate")]
    pub crossover_rate: f64,
    /// Mutation (default Gaussian, σ 0.1, rate 0.1).
    #[serde(default)]
    pub mutation: Mutation,
    /// Spread of the initial population around the starting weights (default 0.1).
    #[serde(default = "init_std")]
    pub init_std: f64,
    /// Training items each candidate is evaluated on (default all).
    #[serde(default = "full")]
    pub sample: Sample,
}

fn population() -> usize {
    50
}
fn elites() -> usize {
    2
}
fn crossover_rate() -> f64 {
    0.9
}
fn init_std() -> f64 {
    0.1
}
pub(crate) fn full() -> Sample {
    Sample::Full
}

impl Default for GaConfig {
    fn default() -> Self {
        Self {
            population: population(),
            elites: elites(),
            selection: Selection::default(),
            crossover: Crossover::default(),
            crossover_rate: crossover_rate(),
            mutation: Mutation::default(),
            init_std: init_std(),
            sample: full(),
        }
    }
}

fn check_rate(name: &'static str, rate: f64) -> Result<()> {
    ensure((0.0..=1.0).contains(&rate), name, "must lie in [0, 1]", rate)
}

fn check_positive(name: &'static str, v: f64) -> Result<()> {
    ensure(v.is_finite() && v > 0.0, name, "must be finite and > 0", v)
}

pub(crate) fn check_sample(sample: Sample) -> Result<()> {
    match sample {
        Sample::Batch { size } => ensure(size >= 1, "sample.size", "must be at least 1", size as f64),
        Sample::Full => Ok(()),
    }
}

impl Validate for GaConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        ensure(self.population >= 2, "population", "must be at least 2", self.population as f64)?;
        ensure(self.elites < self.population, "elites", "must be smaller than the population", self.elites as f64)?;
        if let Selection::Tournament { size } = self.selection {
            ensure(size >= 1, "selection.size", "must be at least 1", size as f64)?;
        }
        match self.crossover {
            Crossover::Blend { alpha } => ensure(alpha.is_finite() && alpha >= 0.0, "crossover.alpha", "must be finite and >= 0", alpha)?,
            Crossover::Sbx { eta } => ensure(eta.is_finite() && eta >= 0.0, "crossover.eta", "must be finite and >= 0", eta)?,
            _ => {}
        }
        check_rate("crossover_rate", self.crossover_rate)?;
        match self.mutation {
            Mutation::Gaussian { std, rate } => {
                check_positive("mutation.std", std)?;
                check_rate("mutation.rate", rate)?;
            }
            Mutation::Uniform { low, high, rate } => {
                ensure(low.is_finite() && high.is_finite() && low < high, "mutation.low", "must be finite and below high", low)?;
                check_rate("mutation.rate", rate)?;
            }
            Mutation::Polynomial { eta, scale, rate } => {
                ensure(eta.is_finite() && eta >= 0.0, "mutation.eta", "must be finite and >= 0", eta)?;
                check_positive("mutation.scale", scale)?;
                check_rate("mutation.rate", rate)?;
            }
            Mutation::SelfAdaptive { initial_std, rate } => {
                check_positive("mutation.initial_std", initial_std)?;
                check_rate("mutation.rate", rate)?;
            }
        }
        ensure(self.init_std.is_finite() && self.init_std >= 0.0, "init_std", "must be finite and >= 0", self.init_std)?;
        check_sample(self.sample)
    }
}

/// One member of the population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Individual {
    /// The weights.
    pub genes: Vec<f32>,
    /// Their loss (`+∞` before evaluation or when not finite).
    #[serde(with = "owm_core::serde_float")]
    pub loss: f64,
    /// Their training accuracy, when known.
    pub accuracy: Option<f64>,
    /// Step size carried for self-adaptive mutation.
    pub sigma: f64,
    /// Where it came from.
    pub lineage: Lineage,
}

/// The genetic algorithm's runtime; its state is the population, the counters and the seed (each child draws
/// from its own stream `derive_seed(seed, "ga/{generation}/{child}")`, so breeding runs in parallel and
/// resumes exactly).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ga {
    config: GaConfig,
    seed: u64,
    generation: u64,
    next_id: u64,
    population: Vec<Individual>,
    pending: Vec<Individual>,
    best: Option<Individual>,
}

impl Ga {
    /// A genetic algorithm seeded with `seed`.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks.
    pub fn new(config: GaConfig, seed: u64) -> Result<Self> {
        config.check()?;
        Ok(Self { config, seed, generation: 0, next_id: 0, population: Vec::new(), pending: Vec::new(), best: None })
    }

    /// The current population, best first after each generation.
    pub fn population(&self) -> &[Individual] {
        &self.population
    }

    fn rng(&self, child: usize) -> Rng {
        Rng::new(derive_seed(self.seed, &format!("ga/{}/{child}", self.generation)))
    }

    #[allow(clippy::expect_used, reason = "check() refuses a tournament of size 0")]
    fn select(&self, rng: &mut Rng) -> usize {
        let n = self.population.len();
        match self.config.selection {
            Selection::Tournament { size } => (0..size)
                .map(|_| rng.below(n as u64) as usize)
                .min_by(|&a, &b| self.population[a].loss.total_cmp(&self.population[b].loss).then(a.cmp(&b)))
                .expect("size >= 1"),
            // The population is sorted best first, so rank i has weight n − i.
            Selection::Rank => pick(rng, (0..n).map(|i| (n - i) as f64)),
            Selection::Roulette => {
                let worst = self.population.iter().map(|p| p.loss).filter(|l| l.is_finite()).fold(f64::NEG_INFINITY, f64::max);
                pick(rng, self.population.iter().map(|p| if p.loss.is_finite() { worst - p.loss + 1e-12 } else { 0.0 }))
            }
        }
    }

    fn breed(&self, child: usize, id: u64) -> Individual {
        let mut rng = self.rng(child);
        let (ia, ib) = (self.select(&mut rng), self.select(&mut rng));
        let (a, b) = (&self.population[ia], &self.population[ib]);
        let mut ops = vec![match self.config.selection {
            Selection::Tournament { size } => format!("tournament({size})"),
            Selection::Rank => "rank".into(),
            Selection::Roulette => "roulette".into(),
        }];
        let mut parents = vec![a.lineage.id];
        let mut genes = if rng.next_f64() < self.config.crossover_rate {
            parents.push(b.lineage.id);
            ops.push(self.crossover_name());
            crossover(&self.config.crossover, &a.genes, &b.genes, &mut rng)
        } else {
            ops.push("copy".into());
            a.genes.clone()
        };
        let mut sigma = 0.5 * (a.sigma + b.sigma);
        match self.config.mutation {
            Mutation::Gaussian { std, rate } => {
                mutate(&mut genes, rate, &mut rng, |r| r.normal(0.0, std));
                ops.push(format!("gaussian({std})"));
            }
            Mutation::Uniform { low, high, rate } => {
                mutate(&mut genes, rate, &mut rng, |r| r.uniform(low, high));
                ops.push(format!("uniform({low}, {high})"));
            }
            Mutation::Polynomial { eta, scale, rate } => {
                mutate(&mut genes, rate, &mut rng, |r| {
                    let u = r.next_f64();
                    let e = 1.0 / (eta + 1.0);
                    scale * if u < 0.5 { (2.0 * u).powf(e) - 1.0 } else { 1.0 - (2.0 * (1.0 - u)).powf(e) }
                });
                ops.push(format!("polynomial({eta})"));
            }
            Mutation::SelfAdaptive { rate, .. } => {
                let tau = 1.0 / (genes.len().max(1) as f64).sqrt();
                sigma *= (tau * rng.normal(0.0, 1.0)).exp();
                mutate(&mut genes, rate, &mut rng, |r| r.normal(0.0, sigma));
                ops.push(format!("self_adaptive({sigma:.4})"));
            }
        }
        Individual { genes, loss: f64::INFINITY, accuracy: None, sigma, lineage: Lineage { id, parents, operators: ops, born: self.generation } }
    }

    fn crossover_name(&self) -> String {
        match self.config.crossover {
            Crossover::Uniform => "uniform".into(),
            Crossover::OnePoint => "one_point".into(),
            Crossover::TwoPoint => "two_point".into(),
            Crossover::Blend { alpha } => format!("blend({alpha})"),
            Crossover::Sbx { eta } => format!("sbx({eta})"),
        }
    }

    fn reevaluate_elites(&self) -> bool {
        self.config.sample != Sample::Full
    }
}

/// Index drawn with probability proportional to `weights` (uniform when they sum to zero).
fn pick(rng: &mut Rng, weights: impl Iterator<Item = f64> + Clone) -> usize {
    let total: f64 = weights.clone().sum();
    let n = weights.clone().count();
    if total.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return rng.below(n as u64) as usize;
    }
    let mut target = rng.next_f64() * total;
    for (i, w) in weights.enumerate() {
        if target < w {
            return i;
        }
        target -= w;
    }
    n - 1
}

fn mutate(genes: &mut [f32], rate: f64, rng: &mut Rng, mut delta: impl FnMut(&mut Rng) -> f64) {
    for g in genes.iter_mut() {
        if rng.next_f64() < rate {
            *g += delta(rng) as f32;
        }
    }
}

fn crossover(kind: &Crossover, a: &[f32], b: &[f32], rng: &mut Rng) -> Vec<f32> {
    let n = a.len();
    match *kind {
        Crossover::Uniform => a.iter().zip(b).map(|(&x, &y)| if rng.next_u64() & 1 == 0 { x } else { y }).collect(),
        Crossover::OnePoint => {
            let cut = 1 + rng.below(n.max(2) as u64 - 1) as usize;
            a[..cut.min(n)].iter().chain(&b[cut.min(n)..]).copied().collect()
        }
        Crossover::TwoPoint => {
            let (p, q) = (rng.below(n as u64 + 1) as usize, rng.below(n as u64 + 1) as usize);
            let (lo, hi) = (p.min(q), p.max(q));
            (0..n).map(|i| if (lo..hi).contains(&i) { b[i] } else { a[i] }).collect()
        }
        Crossover::Blend { alpha } => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                let (lo, hi) = (f64::from(x.min(y)), f64::from(x.max(y)));
                let d = alpha * (hi - lo);
                rng.uniform(lo - d, hi + d) as f32
            })
            .collect(),
        Crossover::Sbx { eta } => a
            .iter()
            .zip(b)
            .map(|(&x, &y)| {
                if rng.next_u64() & 1 == 0 {
                    return x;
                }
                let u = rng.next_f64();
                let beta = if u <= 0.5 { (2.0 * u).powf(1.0 / (eta + 1.0)) } else { (1.0 / (2.0 * (1.0 - u))).powf(1.0 / (eta + 1.0)) };
                (0.5 * ((1.0 + beta) * f64::from(x) + (1.0 - beta) * f64::from(y))) as f32
            })
            .collect(),
    }
}

impl Search for Ga {
    fn start(&mut self, x0: Vec<f32>) {
        let sigma = match self.config.mutation {
            Mutation::SelfAdaptive { initial_std, .. } => initial_std,
            _ => 0.0,
        };
        let init_std = self.config.init_std;
        let n = self.config.population;
        self.pending = (0..n)
            .into_par_iter()
            .map(|i| {
                let mut genes = x0.clone();
                if i > 0 {
                    let mut rng = Rng::new(derive_seed(self.seed, &format!("ga/init/{i}")));
                    genes.iter_mut().for_each(|g| *g += rng.normal(0.0, init_std) as f32);
                }
                let lineage = Lineage { id: i as u64, parents: Vec::new(), operators: vec!["init".into()], born: 0 };
                Individual { genes, loss: f64::INFINITY, accuracy: None, sigma, lineage }
            })
            .collect();
        self.next_id = n as u64;
    }

    fn started(&self) -> bool {
        !self.pending.is_empty() || !self.population.is_empty()
    }

    fn ask(&mut self) -> Vec<Vec<f32>> {
        if !self.population.is_empty() {
            let elites = self.config.elites;
            let first_id = self.next_id;
            let children: Vec<Individual> = (0..self.config.population - elites).into_par_iter().map(|c| self.breed(c, first_id + c as u64)).collect();
            self.next_id += children.len() as u64;
            let mut pending: Vec<Individual> = self.population[..elites].to_vec();
            if !self.reevaluate_elites() {
                self.population.truncate(elites);
                pending.clear();
            } else {
                self.population.clear();
            }
            pending.extend(children);
            self.pending = pending;
        }
        self.pending.iter().map(|p| p.genes.clone()).collect()
    }

    fn tell(&mut self, fitness: &[Fitness]) -> Told {
        let losses = sanitize(fitness);
        for ((p, &loss), f) in self.pending.iter_mut().zip(&losses).zip(fitness) {
            p.loss = loss;
            p.accuracy = f.accuracy;
        }
        self.population.append(&mut self.pending);
        // Stable sort: ties keep elites (which come first) ahead of newcomers.
        self.population.sort_by(|a, b| a.loss.total_cmp(&b.loss));
        self.generation += 1;
        let top = &self.population[0];
        let best = match self.best.take() {
            Some(b) if !(top.loss < b.loss || self.reevaluate_elites()) => b,
            _ => top.clone(),
        };
        let best = &*self.best.insert(best);
        let mut stats = std::collections::BTreeMap::new();
        stats.insert("generation".into(), self.generation as f64);
        if let Mutation::SelfAdaptive { .. } = self.config.mutation {
            stats.insert("sigma".into(), best.sigma);
        }
        Told { stats, lineage: Some(best.lineage.clone()) }
    }

    fn current(&self) -> (&[f32], Fitness) {
        match &self.best {
            Some(b) => (&b.genes, Fitness { loss: b.loss, accuracy: b.accuracy }),
            None => (&[], Fitness { loss: f64::NAN, accuracy: None }),
        }
    }

    fn sample(&self) -> Sample {
        self.config.sample
    }

    fn settings(&self) -> serde_json::Value {
        to_data(&self.config)
    }

    fn check_state(&self, dim: usize) -> Result<()> {
        let n = self.population.len();
        if n != 0 && n != self.config.population {
            return Err(Error::State(format!("population of {n}, configured {}", self.config.population)));
        }
        let all = self.population.iter().chain(&self.pending).chain(&self.best);
        check_lengths("an individual", dim, all.map(|i| &i.genes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_must_hold_two() {
        let c = GaConfig { population: 1, elites: 0, ..GaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "population", .. })));
    }

    #[test]
    fn elites_must_leave_room_for_children() {
        let c = GaConfig { elites: 50, ..GaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "elites", .. })));
    }

    #[test]
    fn rates_must_be_probabilities() {
        let c = GaConfig { crossover_rate: 1.5, ..GaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "crossover_rate", .. })));
        let c = GaConfig { mutation: Mutation::Gaussian { std: 0.1, rate: -0.1 }, ..GaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "mutation.rate", .. })));
    }

    #[test]
    fn mutation_steps_must_be_positive() {
        let c = GaConfig { mutation: Mutation::Gaussian { std: 0.0, rate: 0.1 }, ..GaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "mutation.std", .. })));
    }

    #[test]
    fn tournaments_need_an_entrant() {
        let c = GaConfig { selection: Selection::Tournament { size: 0 }, ..GaConfig::default() };
        assert!(matches!(c.check(), Err(Error::Setting { name: "selection.size", .. })));
    }

    #[test]
    fn crossovers_keep_genes_from_the_parents() {
        let (a, b) = (vec![0.0f32; 8], vec![1.0f32; 8]);
        let mut rng = Rng::new(1);
        for kind in [Crossover::Uniform, Crossover::OnePoint, Crossover::TwoPoint] {
            let c = crossover(&kind, &a, &b, &mut rng);
            assert!(c.iter().all(|&g| g == 0.0 || g == 1.0), "{kind:?}: {c:?}");
        }
        let c = crossover(&Crossover::Blend { alpha: 0.0 }, &a, &b, &mut rng);
        assert!(c.iter().all(|&g| (0.0..=1.0).contains(&g)));
    }
}
