//! Trains a user-defined residual MLP with a user-defined optimiser (Signum) on the embedded digits:
//! `cargo run -p custom_model -- [RUN_DIR] [--resume]`.

// The allocator of OWM's binaries (see `owm::Allocator`).
#[global_allocator]
static ALLOCATOR: owm::Allocator = owm::Allocator;

fn main() -> anyhow::Result<()> {
    let mut config = custom_model::Config::default();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--resume" => config.resume = true,
            "--quiet" => config.quiet = true,
            dir => config.out = dir.into(),
        }
    }
    let report = custom_model::run(&config)?;
    println!("test accuracy {:.4}, stopped: {}", report.evaluation.report.accuracy, report.training.stop_reason);
    println!("weights digest {}", report.manifest.weights_digest);
    println!("run folder {}", report.run_dir.display());
    Ok(())
}
