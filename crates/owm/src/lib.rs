//! OWM (Open Weight Model): train neural networks whose weights are open in every sense — how each weight was
//! initialised, how every step changed it, how well it works, and how others can verify and reuse it.
//!
//! This facade re-exports the OWM crates under short names; depend on a single crate (`owm-data`,
//! `owm-init`, ...) instead when that is all you need.
//!
//! | module | crate | owns |
//! |---|---|---|
//! | [`core`] | `owm-core` | parameter paths, seeds, trace events and sinks, validation, backends |
//! | [`data`] | `owm-data` | IDX / CIFAR-10 readers, embedded digits, splits, normalisation |
//! | [`models`] | `owm-models` | MLP and LeNet-5 |
//! | [`init`] | `owm-init` | path-addressed, seeded init plans |
//! | [`optim`] | `owm-optim` | the optimiser protocol: gradient chains and presets, GA / SA / ES, schedules, phases, convergence criteria |
//! | [`trace`] | `owm-trace` | JSON Lines traces, digests, SVG charts |
//! | [`share`] | `owm-share` | bundles: safetensors + provenance manifest |
//! | [`eval`] | `owm-eval` | accuracy, precision, recall, F1, confusion matrix |
//! | [`train`] | `owm-train` | the pipeline from one experiment config |
//!
//! # Key design decision: a facade with no logic of its own
//!
//! Everything here is a re-export; the `owm` binary (`src/main.rs`) is a thin command line over
//! [`train::train`] and [`train::evaluate_bundle`], so anything the CLI does, a Rust user can do in a few
//! lines.
//!
//! # Example
//!
//! ```no_run
//! let report = owm::train::train(&owm::train::ExperimentConfig::default(), "runs/digits".as_ref(), false)?;
//! assert!(report.evaluation.report.accuracy > 0.9);
//! # Ok::<(), owm::train::Error>(())
//! ```
//!
//! # Feature flags
//!
//! - `wgpu`: the GPU backend, `--device wgpu`. Off by default: the default binary has the CPU backend `flex`
//!   only, which keeps a first build free of the GPU stack.
//! - `ndarray`: the deprecated ndarray CPU backend, `--device ndarray`.
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

/// The Burn version OWM is built on, for code that handles tensors (custom optimisers, objectives).
pub use burn;
pub use owm_core as core;
pub use owm_data as data;
pub use owm_eval as eval;
pub use owm_init as init;
pub use owm_models as models;
pub use owm_optim as optim;
pub use owm_share as share;
pub use owm_trace as trace;
pub use owm_train as train;
