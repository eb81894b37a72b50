//! OWM (Open Weight Model): train neural networks whose weights are open in every sense — how each weight was
//! initialised, how every step changed it, how well it works, and how others can verify and reuse it.
//!
//! This facade re-exports the OWM crates under short names; depend on a single crate (`owm-data`,
//! `owm-init`, ...) instead when that is all you need.
//!
//! | module | crate | owns |
//! |---|---|---|
//! | [`core`] | `owm-core` | parameter paths, seeds, inputs and tasks, trace events and sinks, validation, backends (local, remote), collectives |
//! | [`data`] | `owm-data` | IDX, CIFAR-10, image-folder, tabular (CSV, Orange `.tab`), text and interaction readers, embedded digits, the fetched real datasets, splits, normalisation |
//! | [`models`] | `owm-models` | the `Model` seam; MLP, LeNet-5, ResNet, text and recommendation models |
//! | [`init`] | `owm-init` | path-addressed, seeded init plans, transfer from another model's bundle |
//! | [`optim`] | `owm-optim` | the optimiser protocol and per-tensor update rules: gradient chains and presets, GA / SA / ES, schedules, phases, convergence criteria, DP-SGD accounting |
//! | [`trace`] | `owm-trace` | JSON Lines traces, digests, SVG charts |
//! | [`share`] | `owm-share` | bundles: safetensors + provenance manifest, signatures, encryption, registry, PyTorch interchange |
//! | [`onnx`] | `owm-onnx` | a bundle's whole pipeline (recorded preprocessing, network, probabilities) as one ONNX graph |
//! | [`eval`] | `owm-eval` | accuracy, precision, recall, F1, confusion matrix, ROC AUC, ranking metrics, bootstrap intervals |
//! | [`train`] | `owm-train` | the pipeline from one experiment config, for built-in or user models; prediction on new records |
//! | `serve` | `owm-serve` | verified bundles served over the Open Inference Protocol (KServe v2 REST); feature `serve` |
//!
//! # Key design decision: a facade with no logic of its own
//!
//! Everything here is a re-export; the `owm` binary (`src/bin/owm/`) is a thin command line over
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
//! - `remote`: `owm serve` and `--device remote:ws://HOST:PORT` (Burn's remote backend over WebSocket).
//! - `serve`: `owm serve-model` and [`serve`](crate) (`owm-serve`: the Open Inference Protocol on axum).
//! - `mpi`: `mpirun -np N owm train` (data-parallel over MPI; needs an MPI library and libclang).
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

/// The Burn version OWM is built on, for code that handles tensors (custom optimisers, objectives).
pub use burn;
pub use owm_core as core;
pub use owm_data as data;
pub use owm_eval as eval;
pub use owm_init as init;
pub use owm_models as models;
pub use owm_onnx as onnx;
pub use owm_optim as optim;
#[cfg(feature = "serve")]
pub use owm_serve as serve;
pub use owm_share as share;
pub use owm_trace as trace;
pub use owm_train as train;

/// The global allocator of OWM's binaries (the `owm` command line, the examples): mimalloc. A program that
/// trains through this library should declare it too:
///
/// ```
/// #[global_allocator]
/// static ALLOCATOR: owm::Allocator = owm::Allocator;
/// ```
///
/// A training step allocates its activations and gradients, buffers of megabytes, and frees them again.
/// glibc's `malloc` hands the freed top of its heap back to the kernel once it exceeds its trim threshold (at
/// most 64 MiB), so the next step takes page faults and zeroed pages for the same memory; mimalloc keeps it.
/// Measured on the 2-core development machine (`docs/benchmarks.md`): the residual network at batch 128 trains
/// about 45% faster with it; at batch 64, and for LeNet-5, the two are within noise.
pub use mimalloc::MiMalloc as Allocator;
