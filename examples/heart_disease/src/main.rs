//! Runs the example: `cargo run --release -p heart_disease -- --help`.

use clap::Parser;

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let report = heart_disease::run(&heart_disease::Config::parse())?;
    println!("test accuracy {:.4}, bundle {}", report.evaluation.report.accuracy, report.bundle_dir.display());
    println!("{}", report.evaluation.to_markdown(&report.class_names));
    Ok(())
}
