//! Runs the example: `cargo run --release -p fashion_lenet -- --help`.

use clap::Parser;

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let report = fashion_lenet::run(&fashion_lenet::Config::parse())?;
    println!("test accuracy {:.4}, bundle {}", report.evaluation.report.accuracy, report.bundle_dir.display());
    println!("{}", report.evaluation.to_markdown(&report.class_names));
    Ok(())
}
