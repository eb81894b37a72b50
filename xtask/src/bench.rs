//! `cargo xtask bench`: LeNet-5 training throughput, OWM on each compiled backend beside PyTorch; genetic
//! algorithm generations per second on the digits MLP beside PyGAD (target: at least 5×); what default
//! tracing costs on whole `owm train` runs, with the trace's size and its report's time; bundle save, load and
//! verify throughput (target: verify at least 1 GB/s on one core); DP-SGD training throughput beside plain
//! training and beside Opacus (target: at most 3× slower than plain); embedding models beside PyTorch's dense
//! tables (`embeddings.rs`, target: at least 2×); data-parallel training over MPI (`scale_out.rs`, target:
//! LeNet-5 on 2 ranks at least 1.6× one); `owm serve-model` under load (`--serve-seconds N` per row, 0 to
//! skip; `--only serve` runs that alone); CIFAR-10 time to 90% beside PyTorch (`time_to_accuracy.rs`,
//! `--cifar-epochs 30`, off by default: an hour).

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

pub fn run(args: &[String]) -> Result<()> {
    let mut settings = [
        ("--batch-size", 64usize),
        ("--steps", 50),
        ("--warmup", 5),
        ("--generations", 30),
        ("--tracing-epochs", 10),
        ("--tracing-items", 50_000),
        ("--bundle-mb", 100),
        ("--e2e-runs", 5),
        ("--e2e-epochs", 1),
        ("--kernel-runs", 5),
        ("--mpi-steps", 300),
        ("--embedding-epochs", 2),
        ("--serve-seconds", 5),
        ("--cifar-epochs", 0),
    ];
    let mut only_serve = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--only" {
            if it.next().map(String::as_str) != Some("serve") {
                bail!("--only takes `serve`");
            }
            only_serve = true;
            continue;
        }
        let Some(slot) = settings.iter_mut().find(|(name, _)| name == flag) else { bail!("unknown option {flag}") };
        slot.1 = it.next().context("missing value")?.parse()?;
    }
    let [
        (_, batch),
        (_, steps),
        (_, warmup),
        (_, generations),
        (_, tracing_epochs),
        (_, tracing_items),
        (_, bundle_mb),
        (_, e2e_runs),
        (_, e2e_epochs),
        (_, kernel_runs),
        (_, mpi_steps),
        (_, embedding_epochs),
        (_, serve_seconds),
        (_, cifar_epochs),
    ] = settings;
    let root = crate::workspace_root();
    // The `mpi` feature needs an MPI library (its compiler wrapper) and a launcher.
    let has_mpi = ["mpicc", "mpirun"].iter().all(|tool| Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success()));
    let features = match (only_serve, has_mpi) {
        (true, _) => "serve",
        (false, true) => "ndarray,wgpu,serve,mpi",
        (false, false) => "ndarray,wgpu,serve",
    };
    let status = Command::new(crate::cargo()).args(["build", "--release", "-p", "owm", "--features", features]).current_dir(&root).status()?;
    if !status.success() {
        bail!("building owm failed");
    }
    let binary = target_dir()?.join("release").join("owm");
    let dir = root.join("target").join("bench");
    std::fs::create_dir_all(&dir)?;
    if only_serve {
        return crate::serve_load::run(&binary, serve_seconds as f64, &dir);
    }
    end_to_end(&binary, e2e_runs, e2e_epochs, &root, &dir)?;
    kernels(&binary, kernel_runs, steps, warmup, &root, &dir)?;
    let mut rows: Vec<Value> = Vec::new();
    for device in ["flex", "ndarray", "wgpu"] {
        eprintln!("bench: OWM LeNet-5 on {device} ...");
        let out = Command::new(&binary)
            .args(["bench", "--device", device, "--batch-size", &batch.to_string(), "--steps", &steps.to_string()])
            .args(["--warmup", &warmup.to_string()])
            .output()?;
        rows.push(parse_row(&format!("owm-{device}"), &out));
    }
    let torch_ok = Command::new("python3").args(["-c", "import torch"]).output().is_ok_and(|o| o.status.success());
    let torch = if torch_ok {
        eprintln!("bench: PyTorch LeNet-5 on CPU ...");
        let out = Command::new("python3")
            .arg(root.join("xtask/bench/lenet_torch.py"))
            .args(["--batch-size", &batch.to_string(), "--steps", &steps.to_string(), "--warmup", &warmup.to_string()])
            .output()?;
        Some(parse_row("pytorch-cpu", &out))
    } else {
        eprintln!("bench: python3 -c 'import torch' failed; PyTorch column skipped");
        None
    };
    let torch_ips = torch.as_ref().and_then(|t| t["images_per_second"].as_f64());
    rows.extend(torch);
    println!("LeNet-5 training, CIFAR-shaped input [{batch}, 3, 32, 32], Adam lr 1e-3, {steps} timed steps");
    println!("{:<14} {:>12} {:>16}", "backend", "img/s", "ratio vs PyTorch");
    for row in &mut rows {
        let ips = row["images_per_second"].as_f64();
        let ratio = ips.zip(torch_ips).map(|(a, b)| a / b);
        row["ratio_vs_pytorch"] = json!(ratio);
        let shown = ips.map_or_else(|| row["error"].as_str().unwrap_or("failed").chars().take(60).collect(), |v| format!("{v:.0}"));
        let ratio = ratio.map_or("-".to_string(), |r| format!("{r:.2}"));
        println!("{:<14} {:>12} {:>16}", row["name"].as_str().unwrap_or("?"), shown, ratio);
    }
    let report = json!({
        "benchmark": "lenet5-cifar-adam",
        "batch_size": batch,
        "steps": steps,
        "warmup": warmup,
        "host": host(),
        "results": rows,
    });
    write_json(&dir.join("lenet.json"), &report)?;
    ga(&binary, generations, &root, &dir)?;
    tracing(&binary, tracing_epochs, tracing_items, &dir)?;
    bundle(&binary, bundle_mb, &dir)?;
    dp(&binary, batch, steps, warmup, &root, &dir)?;
    if serve_seconds > 0 {
        crate::serve_load::run(&binary, serve_seconds as f64, &dir)?;
    }
    crate::embeddings::run(&binary, embedding_epochs, &root, &dir)?;
    crate::time_to_accuracy::run(&binary, cifar_epochs, &root, &dir)?;
    crate::scale_out::run(has_mpi.then_some(binary.as_path()), mpi_steps, &dir)
}

/// Where the end-to-end rows read Fashion-MNIST (Debian's `dataset-fashion-mnist`), unless `OWM_FASHION_MNIST` says.
pub(crate) const FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// End to end, the way users run it: `owm train` on the real Fashion-MNIST (LeNet-5, and an MLP 784-256-10;
/// Adam, batch 64, `epochs` epochs, default tracing) beside `xtask/bench/train_torch.py` doing the same in
/// PyTorch on the same threads, `runs` times each, alternating. Medians of the whole process's wall time, of
/// the training loop (images per second, milliseconds per step), of peak RSS, and the test accuracies.
fn end_to_end(binary: &std::path::Path, runs: usize, epochs: usize, root: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    if runs == 0 {
        return Ok(());
    }
    let data = std::env::var("OWM_FASHION_MNIST").unwrap_or_else(|_| FASHION_MNIST.into());
    if !std::path::Path::new(&data).join("train-images-idx3-ubyte.gz").is_file() {
        println!("END-TO-END ROWS NOT RUN: no Fashion-MNIST in {data} (apt install dataset-fashion-mnist, or set OWM_FASHION_MNIST)");
        return Ok(());
    }
    let torch_ok = Command::new("python3").args(["-c", "import torch, numpy"]).output().is_ok_and(|o| o.status.success());
    if !torch_ok {
        println!("END-TO-END PYTORCH COLUMN NOT RUN: python3 -c 'import torch, numpy' failed (pip install torch numpy)");
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string();
    let scratch = std::env::temp_dir().join(format!("owm-bench-e2e-{}", std::process::id()));
    let epochs_arg = epochs.to_string();
    let mut models = Vec::new();
    for (model, hidden) in [("lenet", None), ("mlp", Some("256"))] {
        let name = hidden.map_or("LeNet-5".to_string(), |h| format!("MLP 784-{h}-10"));
        let (mut owm, mut torch) = (Vec::new(), Vec::new());
        for run in 0..runs {
            eprintln!("bench: end to end, {name}, run {}/{runs}: owm train ...", run + 1);
            let _ = std::fs::remove_dir_all(&scratch);
            let mut cmd = Command::new(binary);
            cmd.args(["train", "--quiet", "--json", "--data", "fashion-mnist", "--data-dir", &data, "--model", model, "--optimizer", "adam"]);
            cmd.args(["--batch-size", "64", "--epochs", &epochs_arg, "--out"]).arg(&scratch);
            if let Some(h) = hidden {
                cmd.args(["--hidden", h]);
            }
            owm.push(timed(&mut cmd)?);
            if torch_ok {
                eprintln!("bench: end to end, {name}, run {}/{runs}: PyTorch ...", run + 1);
                let mut cmd = Command::new("python3");
                cmd.arg(root.join("xtask/bench/train_torch.py")).arg(&data).args(["--model", model, "--epochs", &epochs_arg, "--threads", &threads]);
                cmd.args(["--hidden", hidden.unwrap_or("256")]);
                torch.push(timed(&mut cmd)?);
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let owm = summary(&owm, epochs);
        let torch = torch_ok.then(|| summary(&torch, epochs));
        let ratio = |k: &str, higher_is_better: bool| {
            let (a, b) = (owm[k].as_f64()?, torch.as_ref()?[k].as_f64()?);
            Some(if higher_is_better { a / b } else { b / a })
        };
        let (whole, per_step) = (ratio("wall_seconds", false), ratio("images_per_second", true));
        let memory = ratio("peak_rss_bytes", false);
        models.push(
            json!({ "model": name, "owm": owm, "pytorch": torch, "speed_ratio_end_to_end": whole, "speed_ratio_per_step": per_step, "memory_ratio": memory }),
        );
    }
    println!("End to end on Fashion-MNIST (60,000 train, 10,000 test): Adam lr 1e-3, batch 64, {epochs} epoch(s), {threads} threads, median of {runs} runs");
    println!("{:<14} {:<8} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9}", "model", "engine", "wall s", "train img/s", "ms/step", "peak MB", "accuracy", "runs");
    let cell = |v: &Value, k: &str, scale: f64, digits: usize| v[k].as_f64().map_or("-".to_string(), |x| format!("{:.*}", digits, x * scale));
    for m in &models {
        for (engine, v) in [("owm", &m["owm"]), ("pytorch", &m["pytorch"])] {
            if v.is_null() {
                continue;
            }
            println!(
                "{:<14} {:<8} {:>9} {:>10} {:>9} {:>10} {:>9} {:>9}",
                m["model"].as_str().unwrap_or("?"),
                engine,
                cell(v, "wall_seconds", 1.0, 2),
                cell(v, "images_per_second", 1.0, 0),
                cell(v, "ms_per_step", 1.0, 2),
                cell(v, "peak_rss_bytes", 1e-6, 0),
                cell(v, "accuracy", 1.0, 4),
                v["runs"]
            );
        }
        let shown = |k: &str| m[k].as_f64().map_or("-".to_string(), |r| format!("{r:.2}x"));
        let met = |k: &str, target: f64| m[k].as_f64().map_or("-", |r| if r >= target { "met" } else { "NOT met" });
        println!(
            "  {}: OWM speed / PyTorch's: end to end {} (>= 1.0x {}, >= 1.5x {}), per step {} (>= 1.0x {}, >= 1.5x {}); PyTorch's peak memory / OWM's {} (>= 1.0x {})",
            m["model"].as_str().unwrap_or("?"),
            shown("speed_ratio_end_to_end"),
            met("speed_ratio_end_to_end", 1.0),
            met("speed_ratio_end_to_end", 1.5),
            shown("speed_ratio_per_step"),
            met("speed_ratio_per_step", 1.0),
            met("speed_ratio_per_step", 1.5),
            shown("memory_ratio"),
            met("memory_ratio", 1.0)
        );
    }
    let report = json!({
        "benchmark": "end-to-end-fashion-mnist",
        "data": data,
        "epochs": epochs,
        "runs": runs,
        "threads": threads,
        "host": host(),
        "models": models,
        "targets": { "speed_ratio": [1.0, 1.5], "memory_ratio": 1.0 },
    });
    write_json(&dir.join("endtoend.json"), &report)
}

/// Kernel-level rows: training steps (with the per-layer statistics `owm train` traces) and evaluation
/// passes of each workload, `owm bench --model` (flex) beside `xtask/bench/lenet_torch.py`, `runs` times each,
/// alternating; medians of images per second and of each process's peak RSS.
fn kernels(binary: &std::path::Path, runs: usize, steps: usize, warmup: usize, root: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    if runs == 0 {
        return Ok(());
    }
    let torch_ok = Command::new("python3").args(["-c", "import torch"]).output().is_ok_and(|o| o.status.success());
    if !torch_ok {
        println!("KERNEL-LEVEL PYTORCH COLUMN NOT RUN: python3 -c 'import torch' failed (pip install torch)");
    }
    // (workload, batch, evaluation)
    let rows = [
        ("lenet", 64, false),
        ("lenet", 256, false),
        ("mlp", 64, false),
        ("resnet", 64, false),
        // The batch of the CIFAR-10 recipe (`tools/cifar10_resnet_torch.py`).
        ("resnet", 128, false),
        ("lenet", 1024, true),
        ("mlp", 1024, true),
        ("resnet", 256, true),
    ];
    let mut results = Vec::new();
    for (model, batch, eval) in rows {
        let what = format!("{model} {} batch {batch}", if eval { "evaluation" } else { "training step" });
        let (mut owm, mut torch) = (Vec::new(), Vec::new());
        for run in 0..runs {
            eprintln!("bench: kernel level, {what}, run {}/{runs} ...", run + 1);
            let mut cmd = Command::new(binary);
            cmd.args(["bench", "--device", "flex", "--model", model, "--batch-size", &batch.to_string(), "--steps", &steps.to_string()]);
            cmd.args(["--warmup", &warmup.to_string(), if eval { "--eval" } else { "--stats" }]);
            owm.push(timed(&mut cmd)?);
            if torch_ok {
                let mut cmd = Command::new("python3");
                cmd.arg(root.join("xtask/bench/lenet_torch.py")).args(["--model", model, "--batch-size", &batch.to_string(), "--steps", &steps.to_string()]);
                cmd.args(["--warmup", &warmup.to_string()]);
                if eval {
                    cmd.arg("--eval");
                }
                torch.push(timed(&mut cmd)?);
            }
        }
        let median_of = |v: &[Value], k: &str| median(v.iter().filter_map(|r| r[k].as_f64()).collect());
        let (o, t) = (median_of(&owm, "images_per_second"), torch_ok.then(|| median_of(&torch, "images_per_second")).flatten());
        let (om, tm) = (median_of(&owm, "peak_rss_bytes"), torch_ok.then(|| median_of(&torch, "peak_rss_bytes")).flatten());
        results.push(json!({
            "workload": model, "batch_size": batch, "evaluation": eval,
            "owm_images_per_second": o, "pytorch_images_per_second": t, "speed_ratio": o.zip(t).map(|(a, b)| a / b),
            "owm_peak_rss_bytes": om, "pytorch_peak_rss_bytes": tm, "memory_ratio": om.zip(tm).map(|(a, b)| b / a),
            "owm": owm, "pytorch": torch,
        }));
    }
    println!("Kernel level (owm bench --model, flex, per-layer statistics on in training; median of {runs} runs, {steps} steps)");
    println!("{:<10} {:>6} {:<6} {:>12} {:>12} {:>8} {:>10} {:>10}", "workload", "batch", "kind", "OWM img/s", "torch img/s", "ratio", "OWM MB", "torch MB");
    for r in &results {
        let f = |k: &str, scale: f64, d: usize| r[k].as_f64().map_or("-".to_string(), |v| format!("{:.*}", d, v * scale));
        println!(
            "{:<10} {:>6} {:<6} {:>12} {:>12} {:>8} {:>10} {:>10}",
            r["workload"].as_str().unwrap_or("?"),
            r["batch_size"],
            if r["evaluation"].as_bool().unwrap_or(false) { "eval" } else { "train" },
            f("owm_images_per_second", 1.0, 0),
            f("pytorch_images_per_second", 1.0, 0),
            f("speed_ratio", 1.0, 2),
            f("owm_peak_rss_bytes", 1e-6, 0),
            f("pytorch_peak_rss_bytes", 1e-6, 0)
        );
    }
    // Issue 26's targets for the residual network, beside PyTorch in this run.
    for r in results.iter().filter(|r| r["workload"] == "resnet") {
        let eval = r["evaluation"].as_bool().unwrap_or(false);
        let target = if eval { 1.5 } else { 1.2 };
        let ratio = r["speed_ratio"].as_f64();
        let verdict = ratio.map_or("NOT RUN (no PyTorch)", |r| if r >= target { "met" } else { "NOT met" });
        let ratio = ratio.map_or("-".into(), |r| format!("{r:.2}x"));
        println!(
            "  resnet {} batch {}: OWM / PyTorch {ratio} (target >= {target}x: {verdict})",
            if eval { "evaluation" } else { "training step" },
            r["batch_size"]
        );
    }
    let report = json!({ "benchmark": "kernel-level", "runs": runs, "steps": steps, "host": host(), "results": results });
    write_json(&dir.join("kernels.json"), &report)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 })
}

/// Runs `cmd` to completion and returns the JSON line it printed last, with the whole process's wall time
/// (`wall_seconds`) added.
fn timed(cmd: &mut Command) -> Result<Value> {
    let started = std::time::Instant::now();
    let out = cmd.output()?;
    let wall = started.elapsed().as_secs_f64();
    if !out.status.success() {
        bail!("{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no output"));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut v = stdout.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()).with_context(|| format!("{cmd:?} printed no JSON line"))?;
    v["wall_seconds"] = json!(wall);
    Ok(v)
}

/// Medians over runs of one engine's end-to-end measurements; images per second and milliseconds per step
/// come from the training loop's own time (`train_seconds`), the same span on both sides.
fn summary(runs: &[Value], epochs: usize) -> Value {
    let median = |f: &dyn Fn(&Value) -> Option<f64>| median(runs.iter().filter_map(f).collect());
    let field = |k: &'static str| move |v: &Value| v[k].as_f64();
    let images = |v: &Value| Some(v["train_items"].as_f64()? * epochs as f64 / v["train_seconds"].as_f64()?);
    let per_step = |v: &Value| Some(1e3 * v["train_seconds"].as_f64()? / v["steps"].as_f64()?);
    json!({
        "runs": runs.len(),
        "wall_seconds": median(&field("wall_seconds")),
        "train_seconds": median(&field("train_seconds")),
        "images_per_second": median(&images),
        "ms_per_step": median(&per_step),
        "peak_rss_bytes": median(&field("peak_rss_bytes")),
        "accuracy": median(&field("accuracy")),
        "each": runs,
    })
}

/// DP-SGD training throughput beside plain training, OWM's and Opacus's in the same run (target: OWM's DP-SGD
/// at most 3× slower than its plain training).
fn dp(binary: &std::path::Path, batch: usize, steps: usize, warmup: usize, root: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    let args = ["--batch-size".to_string(), batch.to_string(), "--steps".into(), steps.to_string(), "--warmup".into(), warmup.to_string()];
    eprintln!("bench: DP-SGD beside plain training, LeNet-5, OWM ...");
    let owm = parse_row("owm-flex", &Command::new(binary).args(["bench", "--dp"]).args(&args).output()?);
    let opacus_ok = Command::new("python3").args(["-c", "import opacus"]).output().is_ok_and(|o| o.status.success());
    let opacus = if opacus_ok {
        eprintln!("bench: DP-SGD beside plain training, LeNet-5, Opacus ...");
        Some(parse_row("opacus", &Command::new("python3").arg(root.join("xtask/bench/dp_opacus.py")).args(&args).output()?))
    } else {
        eprintln!("bench: python3 -c 'import opacus' failed; Opacus column skipped");
        None
    };
    println!("DP-SGD (clip 1, noise 1, Poisson sampling) beside plain training: LeNet-5, Adam, expected batch {batch}, {steps} timed steps");
    println!("{:<10} {:>12} {:>12} {:>10}", "engine", "plain img/s", "DP img/s", "slowdown");
    for row in std::iter::once(&owm).chain(opacus.as_ref()) {
        let f = |k: &str| row[k].as_f64().map_or("-".to_string(), |v| format!("{v:.0}"));
        let slowdown = row["slowdown"].as_f64().map_or("-".to_string(), |v| format!("{v:.2}x"));
        println!("{:<10} {:>12} {:>12} {:>10}", row["name"].as_str().unwrap_or("?"), f("plain_images_per_second"), f("private_images_per_second"), slowdown);
    }
    let slowdown = owm["slowdown"].as_f64().unwrap_or(f64::INFINITY);
    println!("OWM DP-SGD slowdown {slowdown:.2}x (target <= 3x: {})", if slowdown <= 3.0 { "met" } else { "NOT met" });
    let report = json!({ "benchmark": "dp-sgd-lenet5", "host": host(), "owm": owm, "opacus": opacus, "targets": { "slowdown": 3.0 } });
    write_json(&dir.join("dp.json"), &report)
}

/// Saving, loading and verifying a bundle of about `mb` MB (target: verify at least 1 GB/s on one core).
fn bundle(binary: &std::path::Path, mb: usize, dir: &std::path::Path) -> Result<()> {
    if mb == 0 {
        return Ok(());
    }
    eprintln!("bench: bundle of about {mb} MB: save, load, verify ...");
    let out = Command::new(binary).args(["bench", "--bundle", &mb.to_string()]).output()?;
    let row = parse_row("owm", &out);
    let f = |k: &str| row[k].as_f64().unwrap_or(0.0);
    println!(
        "Bundle of {:.0} MB: save {:.0} MB/s, load {:.0} MB/s, verify {:.0} MB/s (target >= 1000 MB/s: {})",
        f("weights_bytes") / 1e6,
        f("save_mb_per_s"),
        f("load_mb_per_s"),
        f("verify_mb_per_s"),
        if f("verify_mb_per_s") >= 1000.0 { "met" } else { "NOT met" }
    );
    let report = json!({ "benchmark": "bundle-io", "host": host(), "result": row, "targets": { "verify_mb_per_s": 1000.0 } });
    write_json(&dir.join("bundle.json"), &report)
}

/// What default tracing costs on whole `owm train` runs (target: at most 3% slower), the trace's size (target:
/// under 20 MB for 10 epochs of LeNet-5 on CIFAR-10-sized data) and its report's time (target: under 2 s).
fn tracing(binary: &std::path::Path, epochs: usize, items: usize, dir: &std::path::Path) -> Result<()> {
    if epochs == 0 {
        return Ok(());
    }
    eprintln!("bench: tracing cost, LeNet-5 on {items} random CIFAR-sized images, {epochs} epochs, 2 traced and 2 untraced runs ...");
    let out = Command::new(binary).args(["bench", "--device", "flex", "--tracing", &epochs.to_string(), "--train-items", &items.to_string()]).output()?;
    let row = parse_row("owm-flex", &out);
    let f = |k: &str| row[k].as_f64();
    match (f("overhead"), f("trace_bytes"), f("report_seconds")) {
        (Some(overhead), Some(bytes), Some(report)) => {
            let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
            println!(
                "Tracing on the full `owm train` path ({} steps): traced {:.1} s, untraced {:.1} s",
                row["steps"],
                f("seconds_traced").unwrap_or(0.0),
                f("seconds_untraced").unwrap_or(0.0)
            );
            println!("  overhead {:+.2}% (target <= 3%: {})", overhead * 100.0, verdict(overhead <= 0.03));
            println!("  trace {:.1} MB (target < 20 MB: {})", bytes / 1e6, verdict(bytes < 20e6));
            println!("  owm report {report:.2} s (target < 2 s: {})", verdict(report < 2.0));
        }
        _ => println!("Tracing cost: {}", row["error"]),
    }
    let report =
        json!({ "benchmark": "tracing-cost", "host": host(), "result": row, "targets": { "overhead": 0.03, "trace_bytes": 20e6, "report_seconds": 2.0 } });
    write_json(&dir.join("tracing.json"), &report)
}

/// GA generations per second, OWM (flex) beside PyGAD with the same recipe (`tools/pygad_digits.py`).
fn ga(binary: &std::path::Path, generations: usize, root: &std::path::Path, dir: &std::path::Path) -> Result<()> {
    eprintln!("bench: OWM GA on the digits MLP, {generations} generations ...");
    let out = Command::new(binary).args(["bench", "--ga", &generations.to_string(), "--device", "flex"]).output()?;
    let owm = parse_row("owm-flex", &out);
    let pygad_ok = Command::new("python3").args(["-c", "import pygad, sklearn"]).output().is_ok_and(|o| o.status.success());
    let pygad = if pygad_ok {
        eprintln!("bench: PyGAD, {generations} generations ...");
        let out = Command::new("python3").arg(root.join("tools/pygad_digits.py")).args(["--bench", &generations.to_string()]).output()?;
        Some(parse_row("pygad", &out))
    } else {
        eprintln!("bench: python3 -c 'import pygad, sklearn' failed; PyGAD column skipped (pip install pygad scikit-learn)");
        None
    };
    let gps = |v: &Value| v["generations_per_second"].as_f64();
    let ratio = gps(&owm).zip(pygad.as_ref().and_then(gps)).map(|(a, b)| a / b);
    println!("GA on the digits MLP (64-32-10), population 50, fitness on 1,438 items, {generations} generations");
    println!("{:<14} {:>12}", "engine", "gen/s");
    for row in std::iter::once(&owm).chain(pygad.as_ref()) {
        let shown = gps(row).map_or_else(|| row["error"].as_str().unwrap_or("failed").chars().take(60).collect(), |v| format!("{v:.2}"));
        println!("{:<14} {:>12}", row["name"].as_str().unwrap_or("?"), shown);
    }
    match ratio {
        Some(r) => println!("OWM / PyGAD: {r:.1}x (target >= 5x: {})", if r >= 5.0 { "met" } else { "NOT met" }),
        None => println!("OWM / PyGAD: -"),
    }
    let report =
        json!({ "benchmark": "ga-digits-mlp32", "generations": generations, "host": host(), "results": [owm, pygad], "ratio_vs_pygad": ratio, "target": 5.0 });
    write_json(&dir.join("ga.json"), &report)
}

/// Writes `value` as pretty JSON to `path` atomically (temporary file, rename) and says so.
pub(crate) fn write_json(path: &std::path::Path, value: &Value) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value)?)?;
    std::fs::rename(&tmp, path)?;
    println!("wrote {}", path.display());
    Ok(())
}

fn parse_row(name: &str, out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.lines().rev().find_map(|l| serde_json::from_str::<Value>(l).ok()) {
        Some(mut v) if out.status.success() => {
            v["name"] = json!(name);
            v
        }
        _ => {
            let err = String::from_utf8_lossy(&out.stderr);
            let last = err.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output").trim().to_string();
            json!({ "name": name, "error": last })
        }
    }
}

fn target_dir() -> Result<std::path::PathBuf> {
    let out = Command::new(crate::cargo()).args(["metadata", "--format-version", "1", "--no-deps"]).current_dir(crate::workspace_root()).output()?;
    let v: Value = serde_json::from_slice(&out.stdout)?;
    Ok(v["target_directory"].as_str().context("no target_directory")?.into())
}

pub(crate) fn host() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()));
    let rustc = Command::new("rustc").arg("--version").output().ok().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": cpu,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "rustc": rustc,
    })
}
