//! `cargo xtask`: the project's one task runner.
//!
//! - `cargo xtask tidy`: checks the architecture invariants of `docs/ARCHITECTURE.md` against `cargo metadata`.
//! - `cargo xtask bench [--steps N] [--batch-size N]`: LeNet-5 training throughput on every compiled backend and,
//!   when `python3 -c "import torch"` works, in PyTorch in the same run; prints img/s and ratios and writes
//!   `target/bench/lenet.json`; then genetic-algorithm generations per second on the digits MLP beside PyGAD
//!   (`--generations N`, target ≥ 5×), written to `target/bench/ga.json`; then what default tracing costs on
//!   whole `owm train` runs of LeNet-5 on random CIFAR-10-sized data (`--tracing-epochs N`, default 10, 0 to
//!   skip; `--tracing-items N`), with the trace's size and its report's time, written to
//!   `target/bench/tracing.json`.
//! - `cargo xtask fuzz [--seconds N] [--jobs N] [TARGET...]`: every fuzz target under libFuzzer for N seconds
//!   (nightly and cargo-fuzz), from seeds made by `owm-fuzz`; a summary in `target/fuzz/summary.json`.

mod bench;
mod fuzz;
mod tidy;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tidy") => tidy::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        _ => bail!(
            "usage: cargo xtask <tidy | fuzz [--seconds N] [--jobs N] [TARGET...] | bench [--steps N] [--batch-size N] [--warmup N] [--generations N] [--tracing-epochs N] [--tracing-items N]>"
        ),
    }
}

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}

/// `cargo` as invoked by the user, or from `PATH`.
pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}
