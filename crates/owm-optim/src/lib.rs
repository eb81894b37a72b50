//! Weight optimisers for OWM: gradient chains and gradient-free search behind one protocol, composable into
//! phases and stopped by criteria the user chooses.
//!
//! - [`Optimizer`]: the trait every optimiser implements, built-in or user-written. A step asks an
//!   [`owm_core::Objective`] for what it needs (a mini-batch gradient, or the losses of many candidate weight
//!   vectors), updates the flat, path-addressed [`owm_core::ParamSet`] and traces itself.
//! - Gradient methods: a [`Chain`] of [`Transform`]s in the manner of Optax (clipping, accumulation,
//!   skip-if-non-finite, momentum, Adam, RMSProp, AdaGrad, weight decay, learning rate from a [`Schedule`],
//!   per-path [`PathGroup`]s; a user's stage implements [`GradientTransform`]) and the presets users know: `gd`, `sgd`, `momentum`, `nesterov`, `adam`, `adamw`,
//!   `rmsprop`, `adagrad` ([`OptimizerConfig`]), each matching its `torch.optim` namesake.
//! - Gradient-free methods: the ask/tell [`Search`] trait run by [`SearchOptimizer`], with a genetic algorithm
//!   ([`Ga`]), simulated annealing ([`Sa`]) and an evolution strategy ([`Es`]).
//! - [`PhaseConfig`]: one optimiser plus its [`ConvergenceConfig`] (budgets, wall clock, targets, descent
//!   rate, plateau, composable [`Criterion`] trees).
//!
//! # Key design decision: optimisers see weights by path, never the model
//!
//! An optimiser receives a [`owm_core::ParamSet`] (one rank-1 tensor per parameter path) and an objective;
//! it never sees the Burn module or the data. So a user-written optimiser works on every model the
//! pipeline trains, all state is keyed by parameter path (Burn's `ParamId`s are random per run) and
//! serialisable, and search methods treat the weights as one vector. Optimisers emit trace events through
//! the core sink trait only: this crate never depends on `owm-trace`.
//!
//! # Example
//!
//! ```
//! use owm_optim::{FunctionObjective, OptimizerConfig, StepContext, rosenbrock};
//! use owm_core::{NullSink, ParamMeta, ParamSet};
//! use burn::prelude::*;
//!
//! let config: OptimizerConfig = serde_json::from_str(r#"{"kind": "es", "population": 20, "sigma": 0.05}"#)?;
//! let mut es = config.build(7)?;
//! let mut objective = FunctionObjective::new(2, rosenbrock);
//! let start = Tensor::<1>::zeros([2], &Device::flex());
//! let mut params = ParamSet::new(vec![ParamMeta { path: "x".into(), shape: vec![2] }], vec![start])?;
//! for step in 1..=200 {
//!     params = es.step(params, &mut objective, StepContext { step, layer_stats: false }, &mut NullSink)?.params;
//! }
//! assert!(rosenbrock(&params.to_host()) < 0.5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod adagrad;
mod adam;
mod adamw;
mod chain;
mod convergence;
mod dp;
mod early_stopping;
mod error;
mod es;
mod function;
mod fused;
mod ga;
mod gd;
mod gradient_transform;
mod lazy;
mod optimizer;
mod phase;
mod rdp;
mod rmsprop;
mod rule;
mod sa;
mod schedule;
mod search;
mod setting;
mod sgd;
mod stages;
#[cfg(test)]
mod testing;
mod transform;

pub use adagrad::AdaGradConfig;
pub use adam::AdamConfig;
pub use adamw::AdamWConfig;
pub use chain::Chain;
pub use convergence::{Best, Convergence, ConvergenceConfig, Criterion, DescentRate, Plateau, Progress, RoundEnd};
pub use dp::DpSgd;
pub use early_stopping::{EarlyStopping, Mode};
pub use error::{Error, Result};
pub(crate) use error::{check_beta, check_eps, check_lr, check_weight_decay, ensure};
pub use es::{Es, EsConfig};
pub use function::{FunctionObjective, rastrigin, rosenbrock};
pub use ga::{Crossover, Ga, GaConfig, Individual, Mutation, Selection};
pub use gd::GdConfig;
pub use gradient_transform::{Flow, GradientTransform, TransformContext};
pub use optimizer::{Optimizer, OptimizerConfig, StepContext, Stepped, layer_stats};
pub use phase::PhaseConfig;
pub use rdp::{
    Epsilon, RdpAccountant, default_orders, dp_epsilon, gaussian_noise_multiplier, gaussian_orders, noise_multiplier, noise_multiplier_after,
    sampled_gaussian_rdp,
};
pub use rmsprop::RmsPropConfig;
pub use rule::{RuleOptimizer, Slots, UpdateRule};
pub use sa::{Cooling, Sa, SaConfig};
pub use schedule::{PlateauState, Schedule};
pub use search::{Search, SearchOptimizer, Told};
pub use setting::Setting;
pub use sgd::{MomentumConfig, SgdConfig};
pub use transform::{ChainConfig, ChainExtras, PathGroup, Transform};
