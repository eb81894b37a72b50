//! `mpirun` runs of the `owm` binary built with the `mpi` feature (OpenMPI's `mpirun` on the PATH; `.ci/run`
//! installs it): data-parallel training against one process, a population search across ranks, and a
//! killed rank. Ranks are oversubscribed on small machines (`--oversubscribe`).
#![cfg(feature = "mpi")]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use owm::train::NamedWeights;

fn owm_cmd(np: Option<usize>) -> Command {
    match np {
        None => Command::new(env!("CARGO_BIN_EXE_owm")),
        Some(np) => {
            let mut c = Command::new("mpirun");
            c.args(["--allow-run-as-root", "--oversubscribe", "-np", &np.to_string(), env!("CARGO_BIN_EXE_owm")]);
            c
        }
    }
}

/// The digits MLP (64-32-10), Adam lr 0.01, batch 64, `steps` steps, into `out`.
fn train(np: Option<usize>, out: &Path, steps: u64, optimizer: &[&str]) -> Output {
    let mut c = owm_cmd(np);
    c.args(["train", "--quiet", "--json", "--hidden", "32", "--max-steps", &steps.to_string(), "--out"]).arg(out).args(optimizer);
    let output = c.output().expect("mpirun (OpenMPI: apt install openmpi-bin) and the owm binary");
    assert!(output.status.success(), "{np:?} processes: {}\n{}", String::from_utf8_lossy(&output.stderr), String::from_utf8_lossy(&output.stdout));
    output
}

/// Every rank's JSON line: (rank, weights digest), rank order.
fn digests(output: &Output) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| (v["rank"].as_u64().unwrap_or(0), v["weights_digest"].as_str().unwrap_or_default().to_string()))
        .collect();
    out.sort();
    out
}

const ADAM: &[&str] = &["--optimizer", "adam", "--lr", "0.01"];

fn largest_difference(a: &NamedWeights, b: &NamedWeights) -> f32 {
    a.params.iter().zip(&b.params).flat_map(|(x, y)| x.2.iter().zip(&y.2).map(|(p, q)| (p - q).abs())).fold(0.0, f32::max)
}

#[test]
fn mpirun_with_2_and_4_ranks_should_match_one_process_and_repeat_bit_for_bit() {
    let dir = owm_testkit::tempdir();
    let alone = digests(&train(None, &dir.path().join("alone"), 60, ADAM));
    let alone_weights = NamedWeights::load(&dir.path().join("alone")).unwrap();
    // One rank under mpirun is the single-process run.
    assert_eq!(digests(&train(Some(1), &dir.path().join("np1"), 60, ADAM)), alone);
    for np in [2, 4] {
        let ranks = digests(&train(Some(np), &dir.path().join(format!("np{np}")), 60, ADAM));
        assert_eq!(ranks.len(), np, "one JSON line per rank");
        assert!(ranks.iter().all(|(_, d)| *d == ranks[0].1), "-np {np}: ranks ended with different weights: {ranks:?}");
        let weights = NamedWeights::load(&dir.path().join(format!("np{np}"))).unwrap();
        let diff = largest_difference(&weights, &alone_weights);
        assert!(diff <= 1e-5, "-np {np} against one process: largest weight difference {diff}");
        let again = digests(&train(Some(np), &dir.path().join(format!("np{np}-again")), 60, ADAM));
        assert_eq!(again, ranks, "-np {np} repeated");
    }
}

#[test]
fn a_genetic_algorithm_over_2_ranks_should_give_the_single_process_digest() {
    let dir = owm_testkit::tempdir();
    let ga: &[&str] = &["--optimizer", "ga", "--population", "12"];
    let alone = digests(&train(None, &dir.path().join("alone"), 5, ga));
    let ranks = digests(&train(Some(2), &dir.path().join("np2"), 5, ga));
    assert_eq!(ranks.iter().map(|(_, d)| d.clone()).collect::<Vec<_>>(), vec![alone[0].1.clone(); 2]);
}

/// The process ids of `pid`'s children.
fn children(pid: u32) -> Vec<u32> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).map(|d| d.flatten().collect::<Vec<_>>()).unwrap_or_default();
    tasks
        .iter()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|s| s.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

/// A rank killed mid-run ends the whole job within seconds with a message naming it (no rank waits forever
/// in an all-reduce); the run then resumes from its last checkpoint, on the same number of ranks, to the
/// weights of the uninterrupted run.
#[test]
fn a_killed_rank_should_end_the_job_and_the_run_should_resume_from_its_checkpoint() {
    let dir = owm_testkit::tempdir();
    let run = dir.path().join("killed");
    let mut c = owm_cmd(Some(2));
    c.args(["train", "--quiet", "--json", "--hidden", "32", "--max-steps", "3000", "--checkpoint-every", "50", "--out"]).arg(&run).args(ADAM);
    let mut job = c.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("mpirun");
    let started = Instant::now();
    while !run.join("checkpoint.json").is_file() {
        assert!(started.elapsed() < Duration::from_secs(120), "no checkpoint after 120 s");
        assert!(job.try_wait().unwrap().is_none(), "the job ended before its first checkpoint");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ranks = children(job.id());
    assert_eq!(ranks.len(), 2, "mpirun's children: {ranks:?}");
    let killed_at = Instant::now();
    assert!(Command::new("kill").args(["-9", &ranks[1].to_string()]).status().unwrap().success());
    let status = job.wait().unwrap();
    let took = killed_at.elapsed();
    let stderr = std::io::read_to_string(job.stderr.take().unwrap()).unwrap();
    let at = owm::train::Checkpoint::load(&run.join("checkpoint.json")).map(|c| c.total_steps).unwrap_or(0);
    eprintln!(
        "killed rank pid {} (checkpoint at step {at}); mpirun ended after {took:?}: {}",
        ranks[1],
        stderr.lines().find(|l| l.contains("signal")).unwrap_or("")
    );
    assert!(at < 3000, "the rank was killed before the run's end");
    assert!(!status.success(), "the job must fail");
    assert!(took < Duration::from_secs(20), "the other rank took {took:?} to stop");
    assert!(stderr.contains("signal 9") || stderr.contains("Killed"), "mpirun names the killed rank: {stderr}");

    let mut c = owm_cmd(Some(2));
    let resumed = c.args(["resume", "--quiet", "--json"]).arg(&run).output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stderr));
    let whole = digests(&train(Some(2), &dir.path().join("whole"), 3000, &[&["--checkpoint-every", "50"], ADAM].concat()));
    assert_eq!(digests(&resumed), whole, "resumed against uninterrupted");
}
