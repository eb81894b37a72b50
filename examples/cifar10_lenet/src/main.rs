//! Trains LeNet-5 on CIFAR-10: `cargo run --release -p cifar10_lenet -- --data-dir DIR`.

use clap::Parser;

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let report = cifar10_lenet::run(&cifar10_lenet::Config::parse())?;
    println!("test accuracy {:.4}, bundle {}", report.evaluation.report.accuracy, report.bundle_dir.display());
    Ok(())
}
