//! The seams every OWM crate agrees on: parameter paths, seeds, trace events and sinks, validation, backends.
//!
//! `owm-core` owns no training algorithm.
//! It defines the vocabulary the leaf crates (`owm-data`, `owm-init`, `owm-optim`, `owm-trace`, `owm-share`,
//! `owm-eval`, `owm-models`) use to talk to each other without depending on each other.
//!
//! # Key design decision: weights are named by module path
//!
//! Burn's `ParamId`s are random per run, so they cannot identify a weight across runs, files or machines.
//! Every OWM crate names a weight by its module path instead (`"layers.0.weight"`), as produced by
//! [`param_infos`].
//! Init plans, trace records, bundles and tensor digests all use these paths, so a trace line, a manifest
//! entry and a safetensors key for the same weight carry the same string.
//! Enum variant names are left out of paths, so a model wrapped in an enum keeps the paths of the inner model.
//! [`ParamSet`] is the flat view optimisers work on (one rank-1 tensor per path, or one vector), and
//! [`Objective`] is what they ask for losses and gradients, so no optimiser ever sees a model.
//!
//! # The one idiom
//!
//! ```
//! use burn::prelude::*;
//! use burn::nn::{Linear, LinearConfig};
//! use owm_core::param_infos;
//!
//! #[derive(Module, Debug)]
//! struct Net { fc: Linear }
//!
//! let device = Device::flex();
//! let net = Net { fc: LinearConfig::new(3, 2).init(&device) };
//! let paths: Vec<String> = param_infos(&net).into_iter().map(|p| p.path).collect();
//! assert_eq!(paths, ["fc.weight", "fc.bias"]);
//! ```
//!
//! # Feature flags
//!
//! - `wgpu`: enables [`BackendKind::Wgpu`] (Burn's `wgpu` backend; Vulkan, Metal or lavapipe at run time).
//! - `ndarray`: enables [`BackendKind::NdArray`] (deprecated upstream, kept selectable).
//! - `remote`: enables [`BackendKind::Remote`], a device another process serves (`remote::serve`, `owm serve`),
//!   over Burn's remote backend (WebSocket).
//!
//! The `flex` CPU backend is always compiled in.
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod backend;
mod collective;
mod error;
pub mod flex;
mod input;
pub mod json;
mod memory;
mod objective;
mod params;
pub mod remote;
mod seed;
pub mod serde_float;
mod trace;
mod validate;

pub use backend::{BURN_VERSION, BackendKind};
pub use collective::{Collective, Reduction, Solo, ThreadGroup, shard};
pub use error::{BoxError, Error, Result, write_atomic};
pub use input::{Input, InputSpec, Lookup, LookupIds, Task};
pub use memory::{MEMORY_ENV, check_memory, memory_budget, parse_size};
pub use objective::{Fitness, Gradient, Objective, PrivateGradient, PrivateSample, Sample, TableRows, batch_digest};
pub use params::{
    BUFFER_NAMES, ParamInfo, ParamSet, TensorSource, device_data, device_scalar, flat_grads, flat_params, glob_match, host_f32, is_buffer, param_data,
    param_infos, replace_params, replace_state, state_data,
};
pub use remote::{REMOTE_PREFIX, RemoteDevice};
pub use seed::{Rng, derive_seed};
pub use trace::{
    BestRound, Control, DistributionRecord, EpochRecord, GenerationRecord, InitRecord, LayerStats, Lineage, NullSink, ParamMeta, RunEnv, SnapshotRecord,
    StepPrivacy, StepRecord, StopReason, TraceEvent, TraceSink, ValidationRecord, WeightsAt, WeightsRecord,
};
pub use validate::Validate;
