use owm_core::{Fitness, Gradient, Objective, ParamMeta, ParamSet, Sample};
use rayon::prelude::*;

/// An [`Objective`] over a plain function of one weight vector (path `"x"`), for search methods and tests:
/// candidates are evaluated in parallel with rayon.
pub struct FunctionObjective<F> {
    params: Vec<ParamMeta>,
    f: F,
}

impl<F: Fn(&[f32]) -> f64 + Sync> FunctionObjective<F> {
    /// Minimise `f` over vectors of `dim` weights.
    pub fn new(dim: usize, f: F) -> Self {
        Self { params: vec![ParamMeta { path: "x".into(), shape: vec![dim] }], f }
    }
}

impl<F: Fn(&[f32]) -> f64 + Sync> Objective for FunctionObjective<F> {
    fn params(&self) -> &[ParamMeta] {
        &self.params
    }

    fn gradient(&mut self, _: &ParamSet) -> owm_core::Result<Gradient> {
        Err(owm_core::Error::Param { path: "x".into(), reason: "a function objective has no gradient".into() })
    }

    fn evaluate(&mut self, candidates: &[Vec<f32>], _: Sample) -> owm_core::Result<Vec<Fitness>> {
        Ok(candidates.par_iter().map(|c| Fitness { loss: (self.f)(c), accuracy: None }).collect())
    }

    fn train_items(&self) -> usize {
        1
    }
}

/// The Rastrigin function `10n + Σ (xᵢ² − 10 cos 2πxᵢ)`: minimum 0 at the origin, a lattice of local minima.
pub fn rastrigin(x: &[f32]) -> f64 {
    let n = x.len() as f64;
    10.0 * n
        + x.iter()
            .map(|&v| {
                let v = f64::from(v);
                v * v - 10.0 * (std::f64::consts::TAU * v).cos()
            })
            .sum::<f64>()
}

/// The Rosenbrock function `Σ 100(xᵢ₊₁ − xᵢ²)² + (1 − xᵢ)²`: minimum 0 at `(1, …, 1)`, in a curved valley.
pub fn rosenbrock(x: &[f32]) -> f64 {
    x.windows(2)
        .map(|w| {
            let (a, b) = (f64::from(w[0]), f64::from(w[1]));
            100.0 * (b - a * a).powi(2) + (1.0 - a).powi(2)
        })
        .sum()
}
