//! `owm schedule`: a learning-rate schedule printed and plotted before a run uses it.

use std::process::ExitCode;

use anyhow::Result;
use owm::optim::Schedule;

use crate::cli::ScheduleArgs;

/// `owm schedule`.
pub fn run(args: ScheduleArgs) -> Result<ExitCode> {
    let ScheduleArgs { schedule, lr, steps, every, svg } = args;
    let schedule = Schedule::parse(&schedule)?;
    if matches!(schedule, Schedule::ReduceOnPlateau { .. }) {
        println!("reduce_on_plateau depends on the losses of the run: it starts at lr {lr} and multiplies it by its factor after each plateau");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:>8}  lr", "step");
    let every = every.max(1);
    for t in (0..steps).filter(|t| t % every == 0 || *t + 1 == steps) {
        println!("{:>8}  {:.6e}", t + 1, schedule.lr(lr, t));
    }
    if let Some(path) = svg {
        let points = (0..steps).map(|t| ((t + 1) as f64, schedule.lr(lr, t))).collect();
        let series = [owm::trace::Series { name: schedule.name().into(), points }];
        let chart = owm::trace::line_chart(&format!("{} schedule, base lr {lr}", schedule.name()), "step", "learning rate", &series, false);
        owm::core::write_atomic(&path, chart.as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
