//! `cargo xtask bench` (or `--only serve`): `owm serve-model` under load on loopback. A tabular model (an MLP
//! over 8 numeric columns and one categorical) is trained, served with a bearer token, and driven by 1, 8 and 64
//! concurrent keep-alive clients sending raw records (one record per request, then 32), each for a fixed time:
//! requests per second and latency percentiles (`target/bench/serve.json`). Clients and server share the
//! machine's cores, so the figures are a floor on what the server alone would do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// Trains the model, serves it, measures each concurrency for `seconds`, and writes `dir/serve.json`.
pub fn run(binary: &Path, seconds: f64, dir: &Path) -> Result<()> {
    let work = dir.join("serve");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let mut csv = String::from("a,b,c,d,e,f,g,h,colour,y\n");
    for i in 0..2000u64 {
        let x: Vec<f64> = (0..8).map(|k| (((i * 7919 + k * 104_729) % 1000) as f64 / 500.0) - 1.0).collect();
        let colour = ["red", "green", "blue"][(i % 3) as usize];
        let y = if x[0] + x[1] - x[2] + if colour == "red" { 0.5 } else { 0.0 } > 0.0 { "yes" } else { "no" };
        csv.push_str(&format!("{},{colour},{y}\n", x.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(",")));
    }
    std::fs::write(work.join("train.csv"), csv)?;
    std::fs::write(work.join("token"), "bench-token\n")?;
    let trained = Command::new(binary)
        .args(["train", "--task", "tabular", "--data", "train.csv", "--target", "y", "--epochs", "5", "--out", "run", "--quiet"])
        .current_dir(&work)
        .output()?;
    if !trained.status.success() {
        bail!("owm train for the serve bench failed: {}", String::from_utf8_lossy(&trained.stderr));
    }
    let mut server = Command::new(binary)
        .args(["serve-model", "run", "--bind", "127.0.0.1:0", "--token-file", "token"])
        .current_dir(&work)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut first = String::new();
    BufReader::new(server.stdout.take().context("server stdout")?).read_line(&mut first)?;
    let addr = first.split_whitespace().find_map(|w| w.strip_prefix("http://")).and_then(|w| w.split('/').next()).map(String::from);
    let result = addr.context("owm serve-model printed no address").and_then(|addr| measure(&addr, seconds));
    let _ = server.kill();
    let _ = server.wait();
    let rows = result?;
    let report = json!({"seconds_per_row": seconds, "host": crate::bench::host(), "rows": rows});
    std::fs::write(dir.join("serve.json"), serde_json::to_string_pretty(&report)?)?;
    println!("{:>8} {:>8} {:>10} {:>10} {:>10} {:>10}", "records", "clients", "req/s", "records/s", "p50 ms", "p99 ms");
    for r in report["rows"].as_array().into_iter().flatten() {
        println!(
            "{:>8} {:>8} {:>10.0} {:>10.0} {:>10.2} {:>10.2}",
            r["records_per_request"],
            r["clients"],
            r["requests_per_second"].as_f64().unwrap_or(0.0),
            r["records_per_second"].as_f64().unwrap_or(0.0),
            r["p50_ms"].as_f64().unwrap_or(0.0),
            r["p99_ms"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}

/// A request of `records` raw records (the training columns but the target).
fn body(records: usize) -> String {
    let column = |name: &str, datatype: &str, value: Value| json!({"name": name, "shape": [records], "datatype": datatype, "data": vec![value; records]});
    let mut inputs: Vec<Value> =
        ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate().map(|(i, n)| column(n, "FP64", json!(i as f64 / 10.0 - 0.3))).collect();
    inputs.push(column("colour", "BYTES", json!("red")));
    json!({"parameters": {"content_type": "pd"}, "inputs": inputs}).to_string()
}

fn measure(addr: &str, seconds: f64) -> Result<Vec<Value>> {
    let mut rows = Vec::new();
    for records in [1usize, 32] {
        let request = format!(
            "POST /v2/models/run/infer HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer bench-token\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            body(records).len(),
            body(records)
        );
        for clients in [1usize, 8, 64] {
            eprintln!("bench: owm serve-model, {clients} client(s), {records} record(s) per request ...");
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let started = Instant::now();
            let threads: Vec<_> = (0..clients)
                .map(|_| {
                    let (addr, request) = (addr.to_string(), request.clone());
                    std::thread::spawn(move || client(&addr, request.as_bytes(), deadline))
                })
                .collect();
            let mut latencies = Vec::new();
            for t in threads {
                latencies.extend(t.join().map_err(|_| anyhow::anyhow!("a load client panicked"))??);
            }
            let elapsed = started.elapsed().as_secs_f64();
            latencies.sort_by(f64::total_cmp);
            let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or(f64::NAN);
            let rps = latencies.len() as f64 / elapsed;
            rows.push(json!({
                "records_per_request": records, "clients": clients, "requests": latencies.len(),
                "requests_per_second": rps, "records_per_second": rps * records as f64,
                "p50_ms": pct(0.50) * 1e3, "p99_ms": pct(0.99) * 1e3,
            }));
        }
    }
    Ok(rows)
}

/// One keep-alive connection sending `request` until `deadline`; the latency of each answer (every one must be
/// 200).
fn client(addr: &str, request: &[u8], deadline: Instant) -> Result<Vec<f64>> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let sent = Instant::now();
        writer.write_all(request)?;
        let mut status = String::new();
        reader.read_line(&mut status)?;
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        if !status.starts_with("HTTP/1.1 200") {
            bail!("the server answered {}: {}", status.trim(), String::from_utf8_lossy(&body));
        }
        latencies.push(sent.elapsed().as_secs_f64());
    }
    Ok(latencies)
}
