//! Trains the digits MLP with a user-written Lion optimiser: `cargo run -p custom_optimizer [RUN_DIR]`.

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "runs/digits-mlp-lion".into());
    let report = custom_optimizer::run(dir.as_ref(), 20)?;
    println!("test accuracy {:.4}, stopped: {}", report.evaluation.report.accuracy, report.training.stop_reason);
    println!("run folder {}", report.run_dir.display());
    Ok(())
}
