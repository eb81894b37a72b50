//! `owm replay`: re-execute a run from its record and compare every trace record (exit 4 where it diverges).

use std::process::ExitCode;

use anyhow::Result;
use owm::train::{ExperimentConfig, ReplayOptions, files, replay};

use crate::cli::ReplayArgs;
use crate::settings::{data_from, with_token};

/// `owm replay`.
pub fn run(args: ReplayArgs) -> Result<ExitCode> {
    let backend = args.device.map(|d| with_token(d.parse()?, args.token_file.as_deref())).transpose()?;
    let (run, seed, data_dir, quiet) = (&args.run, args.seed, args.data_dir, args.quiet);
    let data = match data_dir {
        None => None,
        Some(dir) => Some(data_from(ExperimentConfig::load(&run.join(files::CONFIG))?.data, dir)?),
    };
    let report = replay(run, ReplayOptions { backend, seed, data, progress: !quiet })?;
    println!(
        "compared {} events: {} steps, {} weight digests ({})",
        report.events,
        report.steps,
        report.digests,
        if report.exact { "bit for bit" } else { "by drift, across backends" }
    );
    if !report.complete {
        println!("the recorded trace ends early (the run was killed): everything it holds was checked");
    }
    for d in &report.drift {
        let path = d.path.as_deref().map(|p| format!(", {p}")).unwrap_or_default();
        println!("drift {:<14} max relative {:.3e} (step {}{path})", d.stat, d.max_relative, d.step);
    }
    match report.bundle_matches {
        Some(true) => println!("bundle weights are the final weights the trace recorded"),
        Some(false) => println!("bundle weights are NOT the final weights the trace recorded"),
        None => {}
    }
    match &report.divergence {
        Some(d) => {
            println!("diverged at {d}");
            Ok(ExitCode::from(4))
        }
        None if report.bundle_matches == Some(false) => Ok(ExitCode::from(4)),
        None if report.exact => {
            println!("reproduced: every recorded record matches");
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}
