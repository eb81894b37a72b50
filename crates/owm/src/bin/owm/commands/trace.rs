//! `owm trace`: a run's trace as CSV rows, selected by steps, paths and statistics, or as a TensorBoard event
//! file.

use std::process::ExitCode;

use anyhow::{Context, Result};
use owm::train::files;

use crate::cli::TraceArgs;

/// `owm trace`.
pub fn run(args: TraceArgs) -> Result<ExitCode> {
    let TraceArgs { run, steps, paths, stats, csv, tensorboard } = args;
    let file = if run.is_dir() { run.join(files::TRACE) } else { run.to_path_buf() };
    let trace = owm::trace::read_trace(&file)?;
    if let Some(dir) = tensorboard {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(owm::trace::TENSORBOARD_FILE);
        owm::core::write_atomic(&path, &owm::trace::tensorboard_events(&trace))?;
        eprintln!("wrote {} ({} trace events): tensorboard --logdir {}", path.display(), trace.events.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let mut query = owm::trace::Query::new();
    if let Some(spec) = steps {
        let (from, to) = spec.split_once("..").with_context(|| format!("--steps `{spec}`: expected FROM..TO"))?;
        let bound = |s: &str, default: u64| if s.is_empty() { Ok(default) } else { s.trim_start_matches('=').parse::<u64>() };
        query = query.steps(bound(from, 0).context("--steps")?..=bound(to, u64::MAX).context("--steps")?);
    }
    for p in paths.unwrap_or_default() {
        query = query.path(p);
    }
    for s in stats.unwrap_or_default() {
        query = query.stat(s.parse::<owm::trace::Stat>().map_err(anyhow::Error::msg)?);
    }
    let rows = query.run(&trace);
    match csv {
        Some(path) => {
            let mut bytes = Vec::new();
            owm::trace::write_csv(&rows, &mut bytes)?;
            owm::core::write_atomic(&path, &bytes)?;
            eprintln!("wrote {} rows to {}", rows.len(), path.display());
        }
        None => owm::trace::write_csv(&rows, std::io::stdout().lock())?,
    }
    Ok(ExitCode::SUCCESS)
}
