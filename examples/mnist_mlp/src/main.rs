//! Trains an MLP on MNIST: `cargo run --release -p mnist_mlp -- --data-dir DIR`.

use clap::Parser;

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let report = mnist_mlp::run(&mnist_mlp::Config::parse())?;
    println!("test accuracy {:.4}, bundle {}", report.evaluation.report.accuracy, report.bundle_dir.display());
    Ok(())
}
