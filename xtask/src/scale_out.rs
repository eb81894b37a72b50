//! `cargo xtask bench`, last table: data-parallel training over MPI on this machine, with the model of
//! `docs/scaling.md` checked against it.
//!
//! Workloads: LeNet-5 on the real Fashion-MNIST at batch 256 with one rank per core (the compute-bound case,
//! issue 26's target: 2 ranks at least 1.6× one), then the MLPs at global batch 64 with the cores split between
//! the ranks. Each row is `mpirun -np N owm train` on `threads` rayon threads per rank: steps per second of the
//! training loop, the share of it rank 0 spent waiting for sums, and the bytes each rank puts into the
//! all-reduces per step. `mpirun` runs with `--bind-to none`: its default binds each of one or two ranks to a
//! core, which would leave a rank's second thread without one.
//!
//! The model: a step on N ranks takes the compute of one rank's shard (`owm train --batch-size B/N` alone, on
//! that rank's threads; times N·threads / cores when the ranks ask for more cores than there are) plus one
//! bucketed all-reduce of the gradient (`owm bench --all-reduce`, N ranks, nothing else running); and, for N
//! machines, the shard's compute on a whole machine plus a ring all-reduce, `2(N-1)/N · bytes / bandwidth +
//! 2(N-1) · latency`, at 10 Gb/s and 10 µs.

use std::path::Path;
use std::process::Command;

use anyhow::Result;
use serde_json::{Value, json};

/// One workload: its name, `owm train`'s data and model arguments, its weights and tensors, the global batch,
/// and the (ranks, threads per rank) to run it on.
struct Workload {
    name: &'static str,
    args: Vec<String>,
    weights: usize,
    tensors: usize,
    batch: usize,
    runs: Vec<(usize, usize)>,
}

pub fn run(binary: Option<&Path>, steps: usize, dir: &Path) -> Result<()> {
    let Some(binary) = binary else {
        println!("MPI ROWS NOT RUN: no mpicc/mpirun (apt install openmpi-bin libopenmpi-dev libclang-dev)");
        return Ok(());
    };
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let split = vec![(1, cores), (2, (cores / 2).max(1)), (4, (cores / 4).max(1))];
    let mut workloads = Vec::new();
    let data = std::env::var("OWM_FASHION_MNIST").unwrap_or_else(|_| crate::bench::FASHION_MNIST.into());
    let fashion = |model: &[&str]| [&["--data", "fashion-mnist", "--data-dir", data.as_str()], model].concat().into_iter().map(String::from).collect();
    let has_fashion = Path::new(&data).join("train-images-idx3-ubyte.gz").is_file();
    if has_fashion {
        // One rank per core against one rank on one core, then one rank on every core.
        let per_core = vec![(1, 1), (cores, 1), (1, cores)];
        workloads.push(Workload {
            name: "Fashion-MNIST LeNet-5",
            args: fashion(&["--model", "lenet"]),
            weights: 61_706,
            tensors: 10,
            batch: 256,
            runs: per_core,
        });
    } else {
        println!("MPI LENET-5 ROWS NOT RUN: no Fashion-MNIST at {data} (apt install dataset-fashion-mnist, or set OWM_FASHION_MNIST)");
    }
    workloads.push(Workload {
        name: "digits MLP 64-128-10",
        args: vec![],
        weights: 64 * 128 + 128 + 128 * 10 + 10,
        tensors: 4,
        batch: 64,
        runs: split.clone(),
    });
    if has_fashion {
        let args = fashion(&["--model", "mlp", "--hidden", "256"]);
        workloads.push(Workload { name: "Fashion-MNIST MLP 784-256-10", args, weights: 784 * 256 + 256 + 256 * 10 + 10, tensors: 4, batch: 64, runs: split });
    }
    let scratch = std::env::temp_dir().join(format!("owm-bench-mpi-{}", std::process::id()));
    // `owm` under `mpirun` on `np` ranks of `threads` threads each.
    let mpirun = |np: usize, threads: usize| {
        let mut c = Command::new("mpirun");
        c.args(["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", &np.to_string()])
            .args(["-x", &format!("RAYON_NUM_THREADS={threads}")])
            .arg(binary);
        c
    };
    // `owm train` (under mpirun with `np` ranks, or alone), `threads` per process: rank 0's JSON line.
    let train = |np: Option<usize>, threads: usize, batch: usize, args: &[String]| -> Option<Value> {
        let _ = std::fs::remove_dir_all(&scratch);
        let mut cmd = match np {
            Some(np) => mpirun(np, threads),
            None => {
                let mut c = Command::new(binary);
                c.env("RAYON_NUM_THREADS", threads.to_string());
                c
            }
        };
        cmd.args(["train", "--quiet", "--json", "--optimizer", "adam", "--batch-size", &batch.to_string(), "--max-steps", &steps.to_string(), "--out"]);
        let out = cmd.arg(&scratch).args(args).output().ok()?;
        let rank0 =
            String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find(|v| v["rank"].as_u64().unwrap_or(0) == 0);
        if !out.status.success() {
            eprintln!("bench: {cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no output"));
        }
        rank0.filter(|_| out.status.success())
    };
    let per_step = |v: &Value| v["train_seconds"].as_f64().unwrap_or(f64::NAN) / v["steps"].as_f64().unwrap_or(f64::NAN);
    let mut rows = Vec::new();
    println!("Data-parallel training over MPI (mpirun --bind-to none, this machine, {cores} cores), Adam, {steps} steps");
    println!(
        "{:<30} {:>5} {:>5} {:>6} {:>9} {:>10} {:>11} {:>11} {:>12} {:>10} {:>14}",
        "workload", "batch", "ranks", "thr", "steps/s", "vs first", "all-reduce", "bytes/step", "model here", "shard ms", "model 10Gb/s"
    );
    for w in &workloads {
        // One f32 per weight, plus the loss, the correct count and one flag per tensor.
        let values = w.weights + 2 + w.tensors;
        let mut first = None;
        for &(np, threads) in &w.runs {
            eprintln!("bench: mpirun -np {np} owm train ({}, {threads} threads per rank) ...", w.name);
            let Some(v) = train(Some(np), threads, w.batch, &w.args) else {
                println!("{:<30} {:>5} {np:>5} {threads:>6} failed", w.name, w.batch);
                continue;
            };
            let rate = 1.0 / per_step(&v);
            let share = v["all_reduce_seconds"].as_f64().unwrap_or(0.0) * rate / v["steps"].as_f64().unwrap_or(f64::NAN);
            let speedup = rate / *first.get_or_insert(rate);
            // The model's parts: one rank's shard alone on its threads, and on the whole machine; the all-reduce alone.
            let shard = train(None, threads, w.batch / np, &w.args).map(|v| per_step(&v)).unwrap_or(f64::NAN);
            let shard_whole = train(None, cores, w.batch / np, &w.args).map(|v| per_step(&v)).unwrap_or(f64::NAN);
            let all_reduce = if np > 1 {
                let out = mpirun(np, threads).args(["bench", "--all-reduce", &values.to_string(), "--steps", "200", "--warmup", "20"]).output()?;
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .find_map(|l| serde_json::from_str::<Value>(l).ok())
                    .and_then(|v| v["seconds_per_call"].as_f64())
                    .unwrap_or(f64::NAN)
            } else {
                0.0
            };
            let bytes = if np > 1 { 4 * values } else { 0 };
            // Ranks asking for more cores than there are share them.
            let here = 1.0 / (shard * ((np * threads) as f64 / cores as f64).max(1.0) + all_reduce);
            let n = np as f64;
            let ring = if np > 1 { 2.0 * (n - 1.0) / n * bytes as f64 / 1.25e9 + 2.0 * (n - 1.0) * 10e-6 } else { 0.0 };
            let nodes = 1.0 / (shard_whole + ring);
            println!(
                "{:<30} {:>5} {np:>5} {threads:>6} {rate:>9.1} {speedup:>9.2}x {:>10.1}% {bytes:>11} {here:>12.1} {:>10.3} {nodes:>14.1}",
                w.name,
                w.batch,
                100.0 * share,
                1e3 * shard
            );
            rows.push(json!({
                "workload": w.name, "batch": w.batch, "ranks": np, "threads_per_rank": threads, "steps_per_second": rate,
                "speedup_vs_first_row": speedup, "all_reduce_share": share, "bytes_per_step": bytes, "all_reduce_seconds_alone": all_reduce,
                "shard_seconds_per_step": shard, "shard_seconds_per_step_whole_machine": shard_whole,
                "model_steps_per_second_here": here, "model_steps_per_second_nodes_10gbps": nodes,
            }));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    crate::bench::write_json(
        &dir.join("mpi.json"),
        &json!({ "benchmark": "data-parallel-mpi", "steps": steps, "cores": cores, "host": crate::bench::host(), "results": rows }),
    )
}
