//! Runs the example: `cargo run --release -p cifar10_resnet -- --help`.

use clap::Parser;

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let report = cifar10_resnet::run(&cifar10_resnet::Config::parse())?;
    println!("test accuracy {:.4}, bundle {}", report.evaluation.report.accuracy, report.bundle_dir.display());
    println!("{}", report.evaluation.to_markdown(&report.class_names));
    Ok(())
}
