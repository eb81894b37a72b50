//! The public-API and reference tests of `owm`: one test executable, a module per subject.
//!
//! Every test executable links Burn, so each crate has one (`docs/ARCHITECTURE.md`, "Testing"): a new subject
//! is a module here, not a file in `tests/`.

mod cli;
mod encryption;
mod export;
mod mpi;
mod predict;
mod privacy;
mod pytorch;
mod registry;
mod reliability;
mod remote;
mod serve;
mod sharing;
mod tasks;
mod transfer;
mod transparency;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the `owm` binary of this build in `dir`.
fn owm(dir: &Path, args: &[&str]) -> Output {
    owm_testkit::output(Command::new(env!("CARGO_BIN_EXE_owm")).args(args).current_dir(dir))
}
