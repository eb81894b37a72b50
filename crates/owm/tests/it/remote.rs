//! Remote devices over loopback, with the `owm` binary built with the `remote` feature: `owm serve` hosts a
//! device, `owm train --device remote:ws://…` trains on it, and a missing or wrong token is refused.
#![cfg(feature = "remote")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;

use owm::core::TraceEvent;

/// An `owm serve` process, killed when dropped.
struct Server {
    child: Child,
    url: String,
    /// The lines of its log (its standard output, drained so that it never blocks on a full pipe).
    log: Receiver<String>,
}

impl Server {
    /// `owm serve --device DEVICE` on a free loopback port, accepting `token_file`'s token.
    fn start(device: &str, token_file: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_owm"))
            .args(["serve", "--device", device, "--bind", "127.0.0.1:0", "--token-file"])
            .arg(token_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The first line names the address it bound: "owm serve: flex on ws://127.0.0.1:PORT; clients: …".
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines.next().and_then(|l| l.ok()).unwrap_or_default();
        let url = line.split_whitespace().find(|w| w.starts_with("ws://")).map(|w| w.trim_end_matches(';').to_string());
        let url = url.unwrap_or_else(|| panic!("owm serve printed no address: {line:?} (exit {:?})", child.try_wait()));
        let (send, log) = std::sync::mpsc::channel();
        std::thread::spawn(move || lines.map_while(Result::ok).try_for_each(|l| send.send(l)));
        Server { child, url, log }
    }

    /// Its log, read until a line holds `needle` (or for 10 s).
    fn log_until(&self, needle: &str) -> String {
        let mut log = String::new();
        while let Ok(line) = self.log.recv_timeout(std::time::Duration::from_secs(10)) {
            log.push_str(&line);
            log.push('\n');
            if line.contains(needle) {
                break;
            }
        }
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `owm train` of the digits MLP (64-32-10, Adam lr 0.01, `steps` steps, a checkpoint every 50) into `out`,
/// with `extra` options.
fn train_command(out: &Path, steps: u64, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_owm"));
    c.args(["train", "--quiet", "--json", "--hidden", "32", "--optimizer", "adam", "--lr", "0.01", "--checkpoint-every", "50", "--max-steps"]);
    c.arg(steps.to_string()).arg("--out").arg(out).args(extra);
    c
}

/// [`train_command`] of 40 steps, run.
fn train(out: &Path, extra: &[&str]) -> Output {
    train_command(out, 40, extra).output().unwrap()
}

/// Every step's loss in the run's trace, and the weights digest it printed.
fn losses_and_digest(out: &Path, output: &Output) -> (Vec<f64>, String) {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let trace = owm::trace::read_trace(out.join(owm::train::files::TRACE)).unwrap();
    let losses = trace.events.iter().filter_map(|e| if let TraceEvent::Step(s) = e { Some(s.loss) } else { None }).collect();
    (losses, summary["weights_digest"].as_str().unwrap().to_string())
}

const TOKEN: &str = "a-long-random-token";

/// A token file holding [`TOKEN`] (and a line break) in `dir`.
fn token_file(dir: &Path) -> PathBuf {
    let path = dir.join("token");
    std::fs::write(&path, format!("{TOKEN}\n")).unwrap();
    path
}

/// The digits run on a local `device` (into `dir/local`) and on the same device served by `owm serve` (into
/// `dir/remote`): each one's step losses and weights digest.
fn local_and_served(dir: &Path, device: &str) -> ((Vec<f64>, String), (Vec<f64>, String)) {
    let token = token_file(dir);
    let server = Server::start(device, &token);
    let (local, remote) = (dir.join("local"), dir.join("remote"));
    let served = format!("remote:{}", server.url);
    let local_run = losses_and_digest(&local, &train(&local, &["--device", device]));
    let remote_run = losses_and_digest(&remote, &train(&remote, &["--device", &served, "--token-file", token.to_str().unwrap()]));
    (local_run, remote_run)
}

#[test]
fn training_on_a_served_flex_device_should_match_local_flex_bit_for_bit() {
    let dir = owm_testkit::tempdir();
    let ((local_losses, local_digest), (remote_losses, remote_digest)) = local_and_served(dir.path(), "cpu");
    assert_eq!(remote_losses.len(), 40);
    assert_eq!(remote_losses, local_losses, "every step's loss on the served flex device equals local flex");
    assert_eq!(remote_digest, local_digest);
    // The config records the device by its address, the manifest by name; the token is written nowhere.
    let remote = dir.path().join("remote");
    let config = std::fs::read_to_string(remote.join(owm::train::files::CONFIG)).unwrap();
    assert!(config.contains("\"remote:ws://127.0.0.1:") && !config.contains(TOKEN), "{config}");
    let manifest = std::fs::read_to_string(remote.join("bundle").join("manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"remote\"") && !manifest.contains(TOKEN));
}

#[test]
fn a_wrong_or_missing_token_should_be_refused_and_write_no_run() {
    let dir = owm_testkit::tempdir();
    let (token, wrong) = (dir.path().join("token"), dir.path().join("wrong"));
    std::fs::write(&token, "the-right-token").unwrap();
    std::fs::write(&wrong, "a-wrong-token").unwrap();
    let server = Server::start("cpu", &token);
    let device = format!("remote:{}", server.url);

    let out = dir.path().join("wrong-run");
    let refused = train(&out, &["--device", &device, "--token-file", wrong.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&server.url) && stderr.contains("refused the token"), "{stderr}");
    assert!(!out.exists(), "a refused run writes nothing");

    let no_token = dir.path().join("no-token");
    let missing = train(&no_token, &["--device", &device]);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(!no_token.exists());
    assert!(stderr.contains("asks for a token: pass --token-file"), "{stderr}");
    let log = server.log_until("presented the wrong token");
    assert!(log.contains("presented the wrong token"), "the server logs each refusal: {log}");

    // The server still serves the right token after refusing the others.
    let ok = dir.path().join("ok");
    losses_and_digest(&ok, &train(&ok, &["--device", &device, "--token-file", token.to_str().unwrap()]));
}

#[test]
fn serve_should_refuse_an_empty_token_file_and_a_remote_device() {
    let dir = owm_testkit::tempdir();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let serve = |device: &str| {
        Command::new(env!("CARGO_BIN_EXE_owm")).args(["serve", "--device", device, "--bind", "127.0.0.1:0", "--token-file"]).arg(&empty).output().unwrap()
    };
    let out = serve("cpu");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("token file") && stderr.contains("empty"), "{stderr}");
    let out = serve("remote:ws://127.0.0.1:9");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hosts a local device"));
    // --bind has no default: binding is always explicit.
    let out = Command::new(env!("CARGO_BIN_EXE_owm")).args(["serve", "--token-file"]).arg(&empty).output().unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("--bind"));
}

#[test]
fn a_run_whose_server_stops_should_fail_clearly_and_resume_on_a_restarted_server() {
    let dir = owm_testkit::tempdir();
    let token = token_file(dir.path());
    let token_arg = token.to_str().unwrap();
    let whole = dir.path().join("whole");
    let (_, whole_digest) = losses_and_digest(&whole, &train_command(&whole, 1500, &[]).output().unwrap());

    // The server is killed once the run has written its first checkpoint.
    let first = Server::start("cpu", &token);
    let cut = dir.path().join("cut");
    let device = format!("remote:{}", first.url);
    let run = train_command(&cut, 1500, &["--device", &device, "--token-file", token_arg]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let started = std::time::Instant::now();
    while !cut.join(owm::train::files::CHECKPOINT).exists() && started.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    drop(first);
    let failed = run.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the device failed") && stderr.contains("`owm resume RUN`"), "{stderr}");

    // A new server, at another port: the run continues there and ends with the uninterrupted run's weights.
    let second = Server::start("cpu", &token);
    let moved = format!("remote:{}", second.url);
    let resumed = Command::new(env!("CARGO_BIN_EXE_owm"))
        .args(["resume", "--quiet", "--json"])
        .arg(&cut)
        .args(["--device", &moved, "--token-file", token_arg])
        .output()
        .unwrap();
    let (_, digest) = losses_and_digest(&cut, &resumed);
    assert_eq!(digest, whole_digest);
    // Only a remote run moves, and only to another server.
    let local = Command::new(env!("CARGO_BIN_EXE_owm")).args(["resume"]).arg(&whole).args(["--device", "wgpu"]).output().unwrap();
    assert!(!local.status.success() && String::from_utf8_lossy(&local.stderr).contains("only moves a remote run"));
}

#[cfg(feature = "wgpu")]
#[test]
fn a_served_wgpu_device_should_train_as_the_local_one() {
    let dir = owm_testkit::tempdir();
    let ((local_losses, _), (remote_losses, _)) = local_and_served(dir.path(), "wgpu");
    // Measured equal bit for bit on Mesa's lavapipe; a GPU may schedule its reductions differently per run.
    let gap = local_losses.iter().zip(&remote_losses).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(remote_losses.len() == 40 && gap <= 1e-6, "largest loss difference {gap}");
}
