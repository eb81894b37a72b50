//! The OWM pipeline: data → model → init → optimiser → convergence → evaluation → shared weights, from one
//! serialisable [`ExperimentConfig`], on any compiled backend.
//!
//! [`train`] runs an experiment into a run folder:
//!
//! ```text
//! run/
//!   config.json          the experiment, as run
//!   trace.jsonl          every event, one flushed line each (owm-trace), recorded as TraceConfig says
//!   checkpoint.json      the latest checkpoint (weights, optimiser state, RNG and data positions)
//!   loss.svg             loss per step and per epoch
//!   update_ratio.svg     ‖Δw‖/‖w‖ per layer over time (heatmap)
//!   evaluation.json/.md  accuracy, per-class precision/recall/F1, confusion matrix (owm-eval)
//!   report.html          charts, the explanation in words, evaluation (also from a partial trace)
//!   bundle/              weights.safetensors + manifest.json + trace.jsonl (owm-share)
//! ```
//!
//! [`evaluate_bundle`] reloads a bundle, rebuilds its test split from the manifest and evaluates it again.
//! [`replay`] re-executes a run and checks every record of its trace; [`write_report`] renders a run's
//! report from its trace; [`diff_weights`] compares two bundles or checkpoints.
//! [`train_with`] takes your own optimisers as [`Phase`]s, extra trace sinks (any of which may stop the run),
//! periodic checkpoints and a checkpoint to resume from.
//! [`train_model`] runs the same pipeline for a model of your own (any Burn module implementing
//! [`owm_models::Model`]), and [`evaluate_bundle_into`] evaluates its bundle again.
//!
//! # Key design decision: problem, solver and executor kept apart
//!
//! The pipeline provides the problem, [`DatasetObjective`] (an [`owm_core::Objective`]: mini-batch gradients
//! in a seeded, resumable order, and the losses of many candidate weight vectors evaluated in parallel);
//! optimisers (`owm_optim::Optimizer`, built-in or yours) are the solvers and see only path-addressed weights;
//! [`run_phases`] is the executor that runs phases in order, stops each by its criteria and checkpoints.
//! So a gradient chain and a genetic algorithm train the same model through the same loop.
//!
//! # One loop, the device picks the backend
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
//! println!("accuracy {:.3}, bundle {}", report.evaluation.report.accuracy, report.bundle_dir.display());
//! # Ok::<(), owm_train::Error>(())
//! ```
//!
//! # Feature flags
//!
//! - `wgpu`: the GPU backend (`BackendKind::Wgpu`).
//! - `ndarray`: the deprecated ndarray CPU backend (`BackendKind::NdArray`).
//! - `mpi`: `mpi::Mpi`, the ranks `mpirun` launched as an [`owm_core::Collective`], for
//!   [`TrainOptions::collective`] (data-parallel gradients, populations shared across ranks). Needs an MPI
//!   library and libclang to build.
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod bench;
mod config;
mod diff;
mod error;
mod eval;
mod example;
mod import;
pub mod mpi;
mod objective;
mod phases;
mod pipeline;
mod predict;
mod privacy;
mod record;
mod replay;
mod report;

pub use bench::{
    BundleThroughput, DpThroughput, SearchThroughput, Throughput, TracingCost, Workload, all_reduce_seconds, bundle_throughput, dp_throughput, eval_throughput,
    ga_throughput, pygad_recipe, step_throughput, tracing_cost,
};
pub use config::ExperimentConfig;
pub use diff::{NamedWeights, ParamDiff, WeightsDiff, diff_weights};
pub use error::{Error, Result};
pub use eval::{BundleEvaluation, evaluate_bundle, evaluate_bundle_into, evaluate_bundle_with, evaluate_model, logits, predict, validation_metrics};
pub use example::ExampleCheck;
pub use import::import_pytorch;
pub use objective::{DataCursor, DatasetObjective};
pub use phases::{BestWeights, CHECKPOINT_FORMAT, Checkpoint, Phase, PhaseSummary, PhasesOutcome, RoundSums, RunPhases, Tee, run_phases};
pub use pipeline::{RunReport, TrainOptions, TrainingSummary, files, on_pool, train, train_model, train_with};
pub use predict::{Prediction, Predictions, Predictor};
pub use privacy::{NORMALIZER_SHARE, NormalizerSpend, PrivacyConfig, PrivacyGuarantee, PrivateNormalizer};
pub use record::{TraceConfig, host_digests, weight_digests};
pub use replay::{Divergence, Drift, ReplayOptions, ReplayReport, replay};
pub use report::{ReportEvaluation, write_report, write_report_with};
