//! The `owm` binary under resource faults (the table of `docs/reliability.md`, one test per row) and under
//! SIGKILL at random moments (the kill harness).

use owm_testkit::text;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_owm"))
}

fn run(mut command: Command, dir: &Path, args: &[&str]) -> Output {
    owm_testkit::output(command.args(args).current_dir(dir))
}

fn owm(dir: &Path, args: &[&str]) -> Output {
    run(bin(), dir, args)
}

/// Fails the test unless `out` is a clean refusal: a non-zero exit that is not a panic (101) or a signal.
fn refused(out: &Output, what: &str) -> String {
    let t = text(out);
    assert!(!out.status.success(), "{what}: was accepted\n{t}");
    assert!(out.status.code().is_some_and(|c| c != 101), "{what}: did not exit cleanly ({:?})\n{t}", out.status);
    assert!(!t.contains("panicked"), "{what}: panicked\n{t}");
    println!("{what}: {}", t.trim());
    t
}

/// `owm` with writes limited to `kib` KiB per file (a full disk as the process sees it: writes fail with
/// EFBIG; SIGXFSZ is ignored so that the write error, not the signal, reaches owm).
fn with_file_limit(kib: u64) -> Command {
    let mut c = Command::new("bash");
    c.args(["-c", &format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""), env!("CARGO_BIN_EXE_owm")]);
    c
}

/// `owm` with the memory budget `OWM_MAX_MEMORY=value`.
fn with_budget(value: &str) -> Command {
    let mut c = bin();
    c.env("OWM_MAX_MEMORY", value);
    c
}

/// `owm` without the root privilege of ignoring file modes (tests run as root in CI).
fn unprivileged() -> Command {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false);
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--bounding-set", "-dac_override,-dac_read_search", env!("CARGO_BIN_EXE_owm")]);
        c
    } else {
        bin()
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn train_small(dir: &Path, out: &str) {
    let o = owm(dir, &["train", "--quiet", "--max-steps", "20", "--out", out]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn full_disk_during_train_should_name_the_file_and_keep_the_earlier_run() {
    let dir = owm_testkit::tempdir();
    train_small(dir.path(), "a");
    let out = run(with_file_limit(64), dir.path(), &["train", "--quiet", "--max-steps", "400", "--stats-every", "1", "--out", "b"]);
    let t = refused(&out, "train on a full disk");
    assert!(t.contains("File too large") && t.contains("b/"), "{t}");
    let verify = owm(dir.path(), &["verify", "a/bundle"]);
    assert!(verify.status.success(), "the earlier run was damaged: {}", text(&verify));
    refused(&owm(dir.path(), &["eval", "b"]), "eval of the failed run");
}

#[test]
fn full_disk_during_publish_should_leave_the_registry_as_it_was() {
    let dir = owm_testkit::tempdir();
    train_small(dir.path(), "a");
    let o = owm(dir.path(), &["train", "--quiet", "--max-steps", "20", "--seed", "7", "--out", "b"]);
    assert!(o.status.success(), "{}", text(&o));
    let publish = |command: Command, run_dir: &str, version: &str| {
        run(command, dir.path(), &["publish", &format!("{run_dir}/bundle"), "--registry", "reg", "--name", "m", "--version", version])
    };
    assert!(publish(bin(), "a", "1.0.0").status.success());
    // Another run's tensors: new blobs to store.
    let t = refused(&publish(with_file_limit(4), "b", "2.0.0"), "publish on a full disk");
    assert!(t.contains("File too large") && t.contains("reg/"), "{t}");
    let list = text(&owm(dir.path(), &["list", "--registry", "reg"]));
    assert!(list.contains("m@1.0.0") && !list.contains("2.0.0"), "{list}");
    let pull = owm(dir.path(), &["pull", "m@1.0.0", "--registry", "reg", "--out", "p"]);
    assert!(pull.status.success(), "{}", text(&pull));
    // Once there is room again, the same version publishes.
    assert!(publish(bin(), "b", "2.0.0").status.success());
}

#[test]
fn a_read_only_output_folder_should_be_named() {
    let dir = owm_testkit::tempdir();
    std::fs::create_dir(dir.path().join("ro")).unwrap();
    set_mode(&dir.path().join("ro"), 0o555);
    let t = refused(&run(unprivileged(), dir.path(), &["train", "--quiet", "--max-steps", "5", "--out", "ro/run"]), "train into a read-only folder");
    assert!(t.contains("Permission denied") && t.contains("ro/run"), "{t}");
    assert!(!dir.path().join("ro/run").exists());
    set_mode(&dir.path().join("ro"), 0o755);
}

#[test]
fn a_missing_input_should_name_the_folder_and_what_to_do() {
    let dir = owm_testkit::tempdir();
    let t = refused(&owm(dir.path(), &["train", "--data", "mnist", "--data-dir", "nowhere", "--out", "run"]), "train on a missing folder");
    assert!(t.contains("nowhere") && t.contains("train-images-idx3-ubyte") && t.contains("put the dataset's files there"), "{t}");
    assert!(!dir.path().join("run").exists());
}

#[test]
fn an_unreadable_input_should_name_the_file() {
    let dir = owm_testkit::tempdir();
    let rows: String = (0..40).map(|i| format!("{i},{},{}\n", i % 7, if i % 2 == 0 { "yes" } else { "no" })).collect();
    std::fs::write(dir.path().join("t.csv"), format!("a,b,y\n{rows}")).unwrap();
    set_mode(&dir.path().join("t.csv"), 0o000);
    let args = ["train", "--task", "tabular", "--data", "t.csv", "--target", "y", "--max-steps", "5", "--out", "run"];
    let t = refused(&run(unprivileged(), dir.path(), &args), "train on an unreadable file");
    assert!(t.contains("Permission denied") && t.contains("t.csv"), "{t}");
    assert!(!dir.path().join("run").exists());
}

#[test]
fn a_model_larger_than_the_memory_budget_should_be_refused_before_the_run_folder() {
    let dir = owm_testkit::tempdir();
    let t = refused(&run(with_budget("1M"), dir.path(), &["train", "--hidden", "4096,4096", "--out", "run"]), "a model too large");
    assert!(t.contains("model `mlp`") && t.contains("MiB budget (OWM_MAX_MEMORY=1M)"), "{t}");
    assert!(!dir.path().join("run").exists());
}

#[test]
fn a_dataset_larger_than_the_memory_budget_should_be_refused_naming_the_file() {
    let dir = owm_testkit::tempdir();
    let data = dir.path().join("mnist");
    std::fs::create_dir(&data).unwrap();
    // A 16-byte header declaring 60,000 images of 28×28, gzip-compressed as users download it.
    let mut header = vec![0, 0, 8, 3];
    for d in [60_000u32, 28, 28] {
        header.extend(d.to_be_bytes());
    }
    let gzip = |bytes: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, bytes).unwrap();
        gz.finish().unwrap()
    };
    std::fs::write(data.join("train-images-idx3-ubyte.gz"), gzip(&header)).unwrap();
    let labels = [&[0, 0, 8, 1][..], &60_000u32.to_be_bytes(), &[0; 60_000]].concat();
    std::fs::write(data.join("train-labels-idx1-ubyte.gz"), gzip(&labels)).unwrap();
    let t = refused(&run(with_budget("64M"), dir.path(), &["train", "--data", "mnist", "--data-dir", "mnist", "--out", "run"]), "a dataset too large");
    assert!(t.contains("train-images-idx3-ubyte.gz") && t.contains("IDX data of 47040000 values"), "{t}");
    assert!(!dir.path().join("run").exists());
}

#[test]
fn an_unreadable_memory_budget_should_name_the_variable() {
    let dir = owm_testkit::tempdir();
    let t = refused(&run(with_budget("lots"), dir.path(), &["train", "--out", "run"]), "a bad budget");
    assert!(t.contains("OWM_MAX_MEMORY=`lots` is not a size"), "{t}");
}

/// Kill moments: xorshift64*, seeded (the seed is printed so that a failure can be replayed).
struct Moments(u64);

impl Moments {
    /// A moment in `[from, to)` × `full`.
    fn next(&mut self, full: Duration, from: f64, to: f64) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        full.mul_f64(from + (to - from) * unit)
    }
}

/// Starts `args`, kills it with SIGKILL after `after` (if still running); whether it finished first.
fn kill_after(dir: &Path, args: &[String], after: Duration) -> bool {
    let mut child = bin().args(args).current_dir(dir).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    false
}

fn timed(dir: &Path, args: &[String]) -> Duration {
    let start = Instant::now();
    let out = owm(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out));
    start.elapsed()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Kills `owm train` (with a checkpoint every 2 steps), `owm publish` and `owm encrypt` at random moments
/// (`OWM_KILLS` kills in all, default 120; `OWM_KILL_SEED`), then asks every command that reads the result
/// whether it accepts it. A folder must be absent, complete and verifying, or resumable to a verifying run;
/// a registry must list, pull and re-publish as if the killed publish had not started.
#[test]
fn killed_commands_should_leave_nothing_half_written_that_a_command_accepts() {
    let kills: usize = std::env::var("OWM_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let seed: u64 = std::env::var("OWM_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(2026);
    println!("kill harness: {kills} kills, seed {seed} (OWM_KILLS, OWM_KILL_SEED)");
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    let train = |seed: usize, out: &str| {
        strings(&["train", "--quiet", "--max-steps", "200", "--checkpoint-every", "2", "--stats-every", "1", "--seed", &seed.to_string(), "--out", out])
    };
    let keygen = owm(d, &["keygen", "--age", "age.key"]);
    assert!(keygen.status.success(), "{}", text(&keygen));
    // How long each command takes undisturbed: kills are spread over it (the start of a short command is
    // mostly process start-up, so its kills begin at 30%).
    let full_train = timed(d, &train(1, "full"));
    let publish = |bundle: &str, version: &str| strings(&["publish", bundle, "--registry", "reg", "--name", "m", "--version", version]);
    let full_publish = timed(d, &publish("full/bundle", "0.0.1"));
    let encrypt = |out: &str| strings(&["encrypt", "full/bundle", "--recipient", "age.key.agepub", "--out", out]);
    let full_encrypt = timed(d, &encrypt("enc-full"));
    println!("undisturbed: train {full_train:?}, publish {full_publish:?}, encrypt {full_encrypt:?}");

    let mut moments = Moments(seed | 1);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let mut last_bundle = "full/bundle".to_string();
    for i in 0..kills {
        let outcome = match i % 3 {
            // Training, checkpointing and the bundle and report written at its end.
            0 => {
                let out = format!("run-{i}");
                let finished = kill_after(d, &train(i + 2, &out), moments.next(full_train, 0.0, 1.1));
                let run = d.join(&out);
                if !run.exists() {
                    "train: absent"
                } else {
                    let complete = run.join("bundle/manifest.json").is_file();
                    if complete {
                        let v = owm(d, &["verify", &format!("{out}/bundle")]);
                        assert!(v.status.success(), "kill {i}: {out} has a bundle that does not verify\n{}", text(&v));
                    } else {
                        refused(&owm(d, &["eval", &out]), &format!("kill {i}: eval of the unfinished {out}"));
                        refused(&owm(d, &["verify", &format!("{out}/bundle")]), &format!("kill {i}: verify of the unfinished {out}"));
                        let r = owm(d, &["resume", "--quiet", &out]);
                        assert!(r.status.success(), "kill {i}: {out} cannot be resumed\n{}", text(&r));
                        let v = owm(d, &["verify", &format!("{out}/bundle")]);
                        assert!(v.status.success(), "kill {i}: resumed {out} does not verify\n{}", text(&v));
                    }
                    last_bundle = format!("{out}/bundle");
                    match (finished, complete) {
                        (true, _) => "train: finished before the kill",
                        (false, true) => "train: complete, verifies",
                        (false, false) => "train: resumed, verifies",
                    }
                }
            }
            // Publishing a new bundle (new blobs) as a new version.
            1 => {
                let version = format!("1.0.{i}");
                let reference = format!("m@{version}");
                let finished = kill_after(d, &publish(&last_bundle, &version), moments.next(full_publish, 0.3, 1.1));
                let list = owm(d, &["list", "--registry", "reg"]);
                assert!(list.status.success(), "kill {i}: the registry no longer lists\n{}", text(&list));
                let pulled = format!("pulled-{i}");
                let pull = owm(d, &["pull", &reference, "--registry", "reg", "--out", &pulled]);
                let outcome = if pull.status.success() {
                    let v = owm(d, &["verify", &pulled]);
                    assert!(v.status.success(), "kill {i}: pulled {reference} does not verify\n{}", text(&v));
                    if finished { "publish: finished before the kill" } else { "publish: published, pulls and verifies" }
                } else {
                    refused(&pull, &format!("kill {i}: pull of {reference}"));
                    assert!(!d.join(&pulled).exists(), "kill {i}: a refused pull left {pulled}");
                    "publish: not published"
                };
                let again = owm(d, &publish(&last_bundle, &version).iter().map(String::as_str).collect::<Vec<_>>());
                assert!(again.status.success(), "kill {i}: {reference} cannot be published after the kill\n{}", text(&again));
                outcome
            }
            // Writing a new (encrypted) bundle folder.
            _ => {
                let out = format!("enc-{i}");
                let finished = kill_after(d, &encrypt(&out), moments.next(full_encrypt, 0.3, 1.1));
                if d.join(&out).exists() {
                    let v = owm(d, &["verify", &out]);
                    assert!(v.status.success(), "kill {i}: {out} exists but does not verify\n{}", text(&v));
                    if finished { "encrypt: finished before the kill" } else { "encrypt: complete, verifies" }
                } else {
                    "encrypt: absent"
                }
            }
        };
        *outcomes.entry(outcome.to_string()).or_default() += 1;
    }
    println!("{outcomes:#?}");
    let killed: usize = outcomes.iter().filter(|(k, _)| !k.contains("finished before")).map(|(_, n)| n).sum();
    println!("{killed} of {kills} commands were killed before they finished");
    assert!(killed * 2 >= kills, "too few kills landed: spread the moments differently");
}
