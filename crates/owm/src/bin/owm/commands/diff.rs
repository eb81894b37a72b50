//! `owm diff`: two sets of weights compared parameter by parameter (exit 5 when they differ).

use std::process::ExitCode;

use anyhow::Result;
use owm::train::{NamedWeights, diff_weights};

use crate::cli::DiffArgs;

/// `owm diff`.
pub fn run(args: DiffArgs) -> Result<ExitCode> {
    let DiffArgs { a, b, json } = args;
    let diff = diff_weights(&NamedWeights::load(&a)?, &NamedWeights::load(&b)?);
    if json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
    } else {
        println!("A: {}\nB: {}", diff.a, diff.b);
        println!("{:<22} {:>12} {:>12} {:>12} {:>10} {:>9} {:>8}", "parameter", "‖a‖", "‖b−a‖", "‖b−a‖/‖a‖", "max|b−a|", "cosine", "changed");
        for p in &diff.params {
            println!(
                "{:<22} {:>12.4e} {:>12.4e} {:>12.4e} {:>10.3e} {:>9.5} {:>7.1}%",
                p.path,
                p.norm_a,
                p.diff_norm,
                p.relative,
                p.max_abs,
                p.cosine,
                p.changed * 100.0
            );
        }
        for line in diff.explain() {
            println!("- {line}");
        }
    }
    Ok(if diff.identical() { ExitCode::SUCCESS } else { ExitCode::from(5) })
}
