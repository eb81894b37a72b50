//! `owm report`: `report.html` written again from a run's trace, with the explanation printed.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use owm::train::{files, write_report};

/// `owm report`.
pub fn run(run: &Path) -> Result<ExitCode> {
    let trace = owm::trace::read_trace(run.join(files::TRACE))?;
    let path = write_report(run, &trace)?;
    let explanation = owm::trace::explain(&trace);
    println!("{}", explanation.stop);
    for f in &explanation.findings {
        println!("{:?}: {}", f.severity, f.message);
    }
    if trace.torn_tail {
        println!("(the trace's last line was torn by a kill and is left out)");
    }
    println!("wrote {}", path.display());
    Ok(ExitCode::SUCCESS)
}
