//! Path-addressed, seeded weight initialisation plans for any Burn module.
//!
//! An [`InitPlan`] is a list of rules from parameter-path patterns (`"*.bias"`, `"conv1.*"`, `"*"`) to
//! [`InitStrategy`]s (zeros, constant, uniform, normal, Xavier, Kaiming, orthogonal).
//! The first matching rule wins; a parameter no rule matches keeps the module's own values.
//! Applying a plan returns, for every parameter, an [`owm_core::InitRecord`]: the rule, the strategy, the
//! seed and the mean and standard deviation of the values, so how each weight began is data.
//!
//! # Key design decision: values are drawn on the host, one seed per path
//!
//! Each parameter's values come from `owm_core::Rng` seeded with `derive_seed(root, "init/" + path)`, then are
//! uploaded to the module's device.
//! So the same root seed gives bit-identical initial weights on `flex`, `ndarray` and `wgpu`, and adding a
//! layer never changes the initial values of the others.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use burn::nn::{Linear, LinearConfig};
//! use owm_init::{InitPlan, InitStrategy};
//!
//! #[derive(Module, Debug)]
//! struct Net { fc: Linear }
//!
//! let net = Net { fc: LinearConfig::new(4, 3).init(&Device::flex()) };
//! let plan = InitPlan::new()
//!     .rule("*.bias", InitStrategy::Zeros)
//!     .rule("*", InitStrategy::XavierUniform { gain: 1.0 });
//! let (net, records) = plan.apply(net, 42)?;
//! assert_eq!(records[1].path, "fc.bias");
//! assert_eq!(records[1].std, 0.0);
//! # Ok::<(), owm_init::Error>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod error;
mod orthogonal;
mod plan;
mod strategy;
mod transfer;
mod transfer_report;

pub use error::{Error, Result};
pub use plan::{InitPlan, InitRule, glob_match, param_seed};
pub use strategy::{FanMode, InitStrategy, fans};
pub use transfer::{Adaptation, OnMismatch, PathRule, Transfer};
pub use transfer_report::{Adapted, Applied, Skipped, TransferReport};
