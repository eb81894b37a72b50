//! Gradient optimisers and convergence criteria for OWM, traced per layer.
//!
//! - [`OptimizerConfig`]: full-batch gradient descent ([`GdConfig`]), SGD with momentum ([`SgdConfig`]) and
//!   Adam ([`AdamConfig`]), serialisable, validated, with PyTorch's defaults and semantics.
//! - [`Optimizer`]: applies one step to any Burn module and pushes a [`owm_core::StepRecord`] with the loss, the
//!   learning rate and, per parameter path, ‖g‖, ‖w‖, ‖Δw‖ and ‖Δw‖/‖w‖ into a [`owm_core::TraceSink`].
//! - [`ConvergenceConfig`] / [`Convergence`]: epoch and step budgets, a target loss, a minimum loss-descent
//!   rate over a window, and a guard that stops on a NaN or infinite loss with a clear reason.
//!
//! # Key design decision: reuse burn-optim's update rules, own the configs and the trace
//!
//! The update arithmetic is burn-optim's (`Sgd`, `Adam`, checked against PyTorch in `tests/`), reached through
//! Burn's `ModuleOptimizer`.
//! OWM owns the configuration (PyTorch defaults where Burn differs: momentum dampening 0, Adam ε = 1e-8) and
//! the per-layer statistics, which it emits through the core sink trait: this crate never depends on
//! `owm-trace`.
//!
//! # Example
//!
//! ```
//! use owm_optim::{AdamConfig, OptimizerConfig, Optimizer};
//!
//! let config: OptimizerConfig = serde_json::from_str(r#"{"kind": "adam", "lr": 0.001}"#)?;
//! assert_eq!(config, OptimizerConfig::Adam(AdamConfig::new(0.001)));
//! let optimizer = Optimizer::new(&config)?;
//! assert!(!optimizer.full_batch());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod adam;
mod convergence;
mod error;
mod gd;
mod optimizer;
mod sgd;

pub use adam::*;
pub use convergence::*;
pub use error::*;
pub use gd::*;
pub use optimizer::*;
pub use sgd::*;
