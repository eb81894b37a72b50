//! `owm bench`: one measurement printed as one JSON line (`cargo xtask bench` runs these beside PyTorch).

use std::process::ExitCode;

use anyhow::{Result, bail};

use super::train::{Ranks, peak_rss_bytes};
use crate::cli::BenchArgs;

/// `owm bench`: the measurement its flags name, else training (or `--eval`) steps of `--model`.
pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let BenchArgs { ga, tracing, bundle, dp, all_reduce, train_items, model, stats, eval, device, batch_size, steps, warmup } = args;
    if let Some(values) = all_reduce {
        return all_reduce_seconds(values, steps, warmup);
    }
    let line = if let Some(mb) = bundle {
        serde_json::to_string(&owm::train::bundle_throughput(mb, &std::env::temp_dir())?)?
    } else if let Some(epochs) = tracing {
        serde_json::to_string(&owm::train::tracing_cost(device.parse()?, train_items, epochs)?)?
    } else if dp {
        serde_json::to_string(&owm::train::dp_throughput(device.parse()?, batch_size, steps, warmup)?)?
    } else if let Some(generations) = ga {
        serde_json::to_string(&owm::train::ga_throughput(device.parse()?, generations)?)?
    } else {
        let Some((_, workload)) = owm::train::Workload::ALL.into_iter().find(|(name, _)| *name == model) else {
            bail!("--model {model}: one of {}", owm::train::Workload::ALL.map(|(name, _)| name).join(", "));
        };
        let result = if eval {
            owm::train::eval_throughput(device.parse()?, workload, batch_size, steps, warmup)?
        } else {
            owm::train::step_throughput(device.parse()?, workload, batch_size, steps, warmup, stats)?
        };
        let mut result = serde_json::to_value(&result)?;
        result["peak_rss_bytes"] = serde_json::json!(peak_rss_bytes());
        result.to_string()
    };
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}

/// Seconds per all-reduce of `values` `f32`s among the ranks `mpirun` launched, in training's buckets, printed
/// by rank 0.
fn all_reduce_seconds(values: usize, steps: usize, warmup: usize) -> Result<ExitCode> {
    let ranks = Ranks::launched()?;
    let Some(group) = ranks.collective() else {
        bail!("--all-reduce measures MPI ranks: run it under mpirun, with an owm built with `--features mpi`");
    };
    let seconds = owm::train::all_reduce_seconds(group.as_ref(), values, steps, warmup)?;
    if group.rank() == 0 {
        let bytes = 4 * values;
        println!(
            "{}",
            serde_json::json!({ "values": values, "bytes": bytes, "processes": group.world(), "seconds_per_call": seconds, "bytes_per_second": bytes as f64 / seconds })
        );
    }
    drop(group);
    ranks.finish();
    Ok(ExitCode::SUCCESS)
}
