//! `cargo xtask bench --cifar-epochs N`: issue 26's time to accuracy. The CIFAR-10 recipe of
//! `tools/cifar10_resnet_torch.py` (ResNet-20, batch 128, Nesterov SGD with a cosine schedule, crop and flip)
//! trained for N epochs on the real data by `owm train` and by PyTorch, one after the other on the same threads;
//! each side's wall time and test accuracy beside the 90% target (OWM's time at most PyTorch's). Off by default:
//! 30 epochs, the recipe that reaches 90%, take over half an hour a side on 2 cores (`docs/benchmarks.md`).

use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde_json::{Value, json};

pub fn run(binary: &Path, epochs: usize, root: &Path, dir: &Path) -> Result<()> {
    if epochs == 0 {
        return Ok(());
    }
    eprintln!("bench: tools/cifar10_resnet_torch.py --epochs {epochs} (two runs of the CIFAR-10 recipe) ...");
    let out_file = dir.join("cifar10.json");
    let out =
        Command::new("python3").arg(root.join("tools/cifar10_resnet_torch.py")).arg(binary).arg(&out_file).args(["--epochs", &epochs.to_string()]).output()?;
    let report: Option<Value> = std::fs::read(&out_file).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let Some(report) = report.filter(|_| out.status.success()) else {
        println!("CIFAR-10 time to accuracy NOT RUN: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no output"));
        return Ok(());
    };
    println!("CIFAR-10 time to accuracy, ResNet-20 for {epochs} epochs (target: 90% test accuracy, OWM's time at most PyTorch's)");
    println!("{:<26} {:>10} {:>10} {:>14}", "side", "wall s", "img/s", "test accuracy");
    let results = report["results"].as_array().cloned().unwrap_or_default();
    for r in &results {
        let f = |k: &str, d: usize| r[k].as_f64().map_or("-".to_string(), |v| format!("{v:.d$}"));
        println!("{:<26} {:>10} {:>10} {:>14}", r["side"].as_str().unwrap_or("?"), f("wall_seconds", 0), f("images_per_second", 0), f("test_accuracy", 4));
    }
    let wall = |side: &str| results.iter().find(|r| r["side"].as_str().is_some_and(|s| s.starts_with(side))).and_then(|r| r["wall_seconds"].as_f64());
    let reached = results.iter().all(|r| r["reached_target"].as_bool() == Some(true));
    let speed = wall("pytorch").zip(wall("owm")).map(|(t, o)| t / o);
    let verdict = match speed {
        Some(s) if reached && s >= 1.0 => "met",
        Some(_) => "NOT met",
        None => "NOT RUN (no PyTorch)",
    };
    println!("  time to 90%: OWM / PyTorch speed {} (target >= 1.0x, both at 90%: {verdict})", speed.map_or("-".into(), |s| format!("{s:.2}x")));
    crate::bench::write_json(
        &out_file,
        &json!({ "benchmark": "cifar10-time-to-accuracy", "host": crate::bench::host(), "speed_ratio": speed, "report": report }),
    )
}
