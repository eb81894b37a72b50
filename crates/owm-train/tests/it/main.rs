//! The public-API and reference tests of `owm-train`: one test executable, a module per subject.
//!
//! Every test executable links Burn, so each crate has one (`docs/ARCHITECTURE.md`, "Testing"): a new subject
//! is a module here, not a file in `tests/`.

mod backends;
mod bad_values;
mod data_parallel;
mod explain;
mod known_answers;
mod optimizers;
mod pipeline;
mod pretrained;
mod privacy;
mod recording;
mod replay;
mod tables;
mod validation;
