//! `cargo xtask bench`, embedding models: training steps per epoch of OWM's lazy tables beside PyTorch's dense
//! ones (issue 26's target: at least 2× PyTorch's speed), on the real THUCNews headlines (the jieba recipe:
//! an embedding bag of 64 over a 50,002-row table, batch 32; PyTorch's `SparseAdam` shown too) and MovieLens
//! 100K (matrix factorisation of 16, batch 256). Both sides train the same epochs without early stopping on the
//! same split (`tools/thucnews_torch.py --speed`, `tools/movielens_torch.py --speed`): `--embedding-epochs`
//! of THUCNews, five times as many of MovieLens (whose epoch takes a tenth of a second).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde_json::{Value, json};

pub fn run(binary: &Path, epochs: usize, root: &Path, dir: &Path) -> Result<()> {
    if epochs == 0 {
        return Ok(());
    }
    let data = datasets_dir(root)?;
    let workloads: [(&str, &str, &str, usize, &[&str]); 2] = [
        (
            "THUCNews embedding bag (jieba, 64)",
            "thucnews/thucnews_train_10w.txt",
            "thucnews_torch.py",
            epochs,
            &["--tokenizer", "jieba", "--max-len", "32", "--max-vocab", "50000"],
        ),
        ("MovieLens 100K MF (16)", "movielens-100k/ml-100k.inter", "movielens_torch.py", 5 * epochs, &[]),
    ];
    println!("Embedding models, training steps per epoch (no early stopping), OWM lazy tables beside PyTorch");
    println!("{:<36} {:>12} {:>14} {:>14} {:>10} {:>10}", "workload", "OWM s/epoch", "PyTorch dense", "PyTorch sparse", "vs dense", "vs sparse");
    let mut rows = Vec::new();
    for (name, file, script, epochs, args) in workloads {
        if !data.join(file).is_file() {
            println!("{name:<36} NOT RUN: no {} (cargo xtask data {})", data.join(file).display(), file.split('/').next().unwrap_or(file));
            continue;
        }
        eprintln!("bench: {script} --speed {epochs} ...");
        let out_file = std::env::temp_dir().join(format!("owm-bench-{script}-{}.json", std::process::id()));
        let out = Command::new("python3")
            .arg(root.join("tools").join(script))
            .arg(binary)
            .arg(&out_file)
            .args(["--speed", &epochs.to_string()])
            .args(args)
            .output()?;
        let result: Option<Value> = std::fs::read(&out_file).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let _ = std::fs::remove_file(&out_file);
        let Some(result) = result.filter(|_| out.status.success()) else {
            println!("{name:<36} failed: {}", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or("no output"));
            continue;
        };
        // PyTorch's runs by their table (THUCNews runs a dense and a `SparseAdam` one, MovieLens a dense one).
        let pytorch = |table: &str| ["pytorch", "pytorch_dense"].map(|side| &result[side]).into_iter().find(|run| run["table"] == table);
        let owm = result["owm"]["seconds_per_epoch"].as_f64();
        let [dense, sparse] = ["dense", "sparse"].map(|table| pytorch(table).and_then(|run| run["seconds_per_epoch"].as_f64()));
        let ratio = |torch: Option<f64>| owm.zip(torch).map(|(o, t)| t / o);
        let shown = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |v| format!("{v:.3}{unit}"));
        println!(
            "{name:<36} {:>12} {:>14} {:>14} {:>10} {:>10}",
            shown(owm, ""),
            shown(dense, ""),
            shown(sparse, ""),
            shown(ratio(dense), "x"),
            shown(ratio(sparse), "x")
        );
        rows.push(json!({
            "workload": name, "epochs": epochs, "owm_seconds_per_epoch": owm, "pytorch_dense_seconds_per_epoch": dense,
            "pytorch_sparse_seconds_per_epoch": sparse, "speed_vs_dense": ratio(dense), "speed_vs_sparse": ratio(sparse), "raw": result,
        }));
    }
    crate::bench::write_json(&dir.join("embeddings.json"), &json!({ "benchmark": "embedding-models", "host": crate::bench::host(), "results": rows }))
}

/// Where `cargo xtask data` puts datasets, as its fetcher (`tools/fetch_datasets.py`) says.
fn datasets_dir(root: &Path) -> Result<PathBuf> {
    let out =
        Command::new("python3").current_dir(root.join("tools")).args(["-c", "from fetch_datasets import datasets_dir; print(datasets_dir())"]).output()?;
    anyhow::ensure!(out.status.success(), "tools/fetch_datasets.py: {}", String::from_utf8_lossy(&out.stderr).trim());
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
