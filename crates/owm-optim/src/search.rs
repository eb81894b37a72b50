use std::collections::BTreeMap;

use burn::prelude::*;
use owm_core::{Fitness, GenerationRecord, Lineage, Objective, ParamSet, Sample, TraceEvent, TraceSink};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Error, Optimizer, Result, StepContext, Stepped};

/// What a search method reports after [`Search::tell`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Told {
    /// Method-specific scalars for the trace (`temperature`, `acceptance_rate`, `sigma`).
    pub stats: BTreeMap<String, f64>,
    /// Where the best candidate came from (methods that breed).
    pub lineage: Option<Lineage>,
}

/// A gradient-free search over a flat weight vector, in ask/tell form.
///
/// The state is the value itself, explicit and serialisable (populations, temperatures, moments and the
/// random generators' positions; [`SearchOptimizer`] requires `Serialize + Deserialize`), so a search
/// checkpointed between two generations resumes exactly. Losses are minimised; a
/// non-finite loss counts as `+∞`.
pub trait Search: Send {
    /// Starts from `x0` (the weights the phase begins with).
    fn start(&mut self, x0: Vec<f32>);

    /// Whether [`Search::start`] has been called.
    fn started(&self) -> bool;

    /// The candidates to evaluate next.
    fn ask(&mut self) -> Vec<Vec<f32>>;

    /// The losses of the candidates [`Search::ask`] returned, in order.
    fn tell(&mut self, fitness: &[Fitness]) -> Told;

    /// The weights the search holds now (its best, or the annealer's current point) and their fitness.
    fn current(&self) -> (&[f32], Fitness);

    /// Which training items candidates are evaluated on.
    fn sample(&self) -> Sample;

    /// The settings, as data.
    fn settings(&self) -> serde_json::Value;

    /// Checks a restored state against the number of weights, `dim` (vectors of the right length, a
    /// population of the configured size), so that an edited checkpoint is an error rather than a panic.
    ///
    /// # Errors
    ///
    /// [`Error::State`] naming what does not fit.
    fn check_state(&self, _dim: usize) -> Result<()> {
        Ok(())
    }
}

/// Runs a [`Search`] as an [`Optimizer`]: each step is one generation (ask, evaluate through the objective,
/// tell), traced as a [`GenerationRecord`].
#[derive(Debug, Clone)]
pub struct SearchOptimizer<S> {
    name: String,
    search: S,
    evaluations: u64,
}

impl<S: Search + Serialize + DeserializeOwned> SearchOptimizer<S> {
    /// Wraps `search` under `name`.
    pub fn new(name: impl Into<String>, search: S) -> Self {
        Self { name: name.into(), search, evaluations: 0 }
    }

    /// The search.
    pub fn search(&self) -> &S {
        &self.search
    }
}

#[derive(Serialize, Deserialize)]
struct Saved<S> {
    evaluations: u64,
    search: S,
}

/// A serialisable value as state data.
pub(crate) fn to_data<T: Serialize>(value: &T) -> serde_json::Value {
    owm_core::json::to_value(value)
}

/// State data back into a value, or [`Error::State`].
pub(crate) fn from_data<T: DeserializeOwned>(state: &serde_json::Value) -> Result<T> {
    serde_json::from_value(state.clone()).map_err(|e| Error::State(e.to_string()))
}

/// `Err(Error::State)` unless every vector in `vectors` has `dim` weights.
pub(crate) fn check_lengths<'a>(what: &str, dim: usize, vectors: impl IntoIterator<Item = &'a Vec<f32>>) -> Result<()> {
    match vectors.into_iter().find(|v| v.len() != dim) {
        Some(v) => Err(Error::State(format!("{what} has {} weights, the model {dim}", v.len()))),
        None => Ok(()),
    }
}

/// Replaces non-finite losses by `+∞` so that they rank last.
pub(crate) fn sanitize(fitness: &[Fitness]) -> Vec<f64> {
    fitness.iter().map(|f| if f.loss.is_finite() { f.loss } else { f64::INFINITY }).collect()
}

impl<S: Search + Serialize + DeserializeOwned> Optimizer for SearchOptimizer<S> {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn settings(&self) -> serde_json::Value {
        self.search.settings()
    }

    fn is_search(&self) -> bool {
        true
    }

    fn step(&mut self, params: ParamSet, objective: &mut dyn Objective, ctx: StepContext, sink: &mut dyn TraceSink) -> Result<Stepped> {
        let device = params.device().unwrap_or_else(Device::flex);
        if !self.search.started() {
            self.search.start(params.to_host());
        }
        let candidates = self.search.ask();
        let expected = params.numel();
        if let Some(bad) = candidates.iter().find(|c| c.len() != expected) {
            return Err(Error::Dimension { expected, got: bad.len() });
        }
        let fitness = objective.evaluate(&candidates, self.search.sample())?;
        if fitness.len() != candidates.len() {
            return Err(Error::Dimension { expected: candidates.len(), got: fitness.len() });
        }
        let told = self.search.tell(&fitness);
        self.evaluations += candidates.len() as u64;
        let losses: Vec<f64> = sanitize(&fitness).into_iter().filter(|l| l.is_finite()).collect();
        let n = losses.len().max(1) as f64;
        let mean = losses.iter().sum::<f64>() / n;
        let std = (losses.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / n).sqrt();
        let (best, worst) = losses.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(b, w), &l| (b.min(l), w.max(l)));
        let (x, current) = self.search.current();
        let record = GenerationRecord {
            step: ctx.step,
            evaluations: self.evaluations,
            best_loss: best,
            mean_loss: if losses.is_empty() { f64::NAN } else { mean },
            std_loss: if losses.is_empty() { f64::NAN } else { std },
            worst_loss: worst,
            loss: current.loss,
            stats: told.stats,
            lineage: told.lineage,
        };
        let control = sink.on_event(&TraceEvent::Generation(record))?;
        let params = params.with_host(x, &device)?;
        Ok(Stepped {
            params,
            loss: current.loss,
            accuracy: current.accuracy,
            items: 0,
            evaluations: candidates.len() as u64,
            epoch: ctx.step,
            epoch_end: true,
            applied: true,
            control,
        })
    }

    fn state(&self) -> serde_json::Value {
        to_data(&Saved { evaluations: self.evaluations, search: &self.search })
    }

    fn load_state(&mut self, state: &serde_json::Value, params: &ParamSet) -> Result<()> {
        let saved: Saved<S> = from_data(state)?;
        // The settings were validated when this optimiser was built; a state must come from the same ones.
        if saved.search.settings() != self.search.settings() {
            return Err(Error::State(format!("written with other settings: {}", saved.search.settings())));
        }
        saved.search.check_state(params.numel())?;
        (self.evaluations, self.search) = (saved.evaluations, saved.search);
        Ok(())
    }
}
