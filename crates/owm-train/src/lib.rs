//! The OWM pipeline: data → model → init → optimiser → convergence → evaluation → shared weights, from one
//! serialisable [`ExperimentConfig`], on any compiled backend.
//!
//! [`train`] runs an experiment into a run folder:
//!
//! ```text
//! run/
//!   config.json          the experiment, as run
//!   trace.jsonl          every event, one flushed line each (owm-trace)
//!   loss.svg             loss per step and per epoch
//!   update_ratio.svg     ‖Δw‖/‖w‖ per layer and step
//!   evaluation.json/.md  accuracy, per-class precision/recall/F1, confusion matrix (owm-eval)
//!   report.html          all of the above on one page
//!   bundle/              weights.safetensors + manifest.json + trace.jsonl (owm-share)
//! ```
//!
//! [`evaluate_bundle`] reloads a bundle, rebuilds its test split from the manifest and evaluates it again.
//!
//! # Key design decision: one loop, the device picks the backend
//!
//! Burn 0.22 chooses the backend through the `Device` at run time, so there is exactly one training loop;
//! [`owm_core::BackendKind`] in the config selects `flex`, `ndarray` or `wgpu`.
//! Everything random (the split, the init values, the shuffles) is drawn on the host from seeds derived from
//! the one root seed, so on a CPU backend the same config gives bit-identical weights, traces and digests.
//!
//! # Example
//!
//! ```no_run
//! use owm_train::{ExperimentConfig, train};
//!
//! let report = train(&ExperimentConfig::default(), "runs/digits".as_ref(), true)?;
//! println!("accuracy {:.3}, bundle {}", report.evaluation.accuracy, report.bundle_dir.display());
//! # Ok::<(), owm_train::Error>(())
//! ```
//!
//! # Feature flags
//!
//! - `wgpu`: the GPU backend (`BackendKind::Wgpu`).
//! - `ndarray`: the deprecated ndarray CPU backend (`BackendKind::NdArray`).

mod bench;
mod config;
mod error;
mod eval;
mod objective;
mod phases;
mod pipeline;
mod report;

pub use bench::*;
pub use config::*;
pub use error::*;
pub use eval::*;
pub use objective::*;
pub use phases::*;
pub use pipeline::*;
pub use report::*;
