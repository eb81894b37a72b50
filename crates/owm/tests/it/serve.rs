//! `owm serve-model` over loopback, with the `owm` binary built with the `serve` feature: a real HTTP client
//! (`tools/kserve_client.py`, Python's standard library) checks its answers against `owm predict` and its
//! refusals; bundles that do not verify are not served; SIGTERM stops it gracefully.
#![cfg(feature = "serve")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::owm;
use crate::predict::train_shapes;
use crate::tasks::{write_clicks, write_table};
use owm_testkit::text;

/// An `owm serve-model` process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// `owm serve-model ARGS --bind 127.0.0.1:0` in `dir`; its first line names the address.
    fn start(dir: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_owm"))
            .arg("serve-model")
            .args(args)
            .args(["--bind", "127.0.0.1:0"])
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let line = BufReader::new(child.stdout.take().unwrap()).lines().next().and_then(Result::ok).unwrap_or_default();
        let url = line.split_whitespace().find_map(|w| w.strip_prefix("http://")).and_then(|w| w.split('/').next()).map(|a| format!("http://{a}"));
        let Some(url) = url else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("owm serve-model printed no address: {line:?}\n{}", text(&out))
        };
        Server { child, url }
    }

    /// Sends SIGTERM; whether it then exited cleanly, and its log.
    fn terminate(&mut self) -> (bool, String) {
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let mut log = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut log).unwrap();
        (status.success(), log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client(dir: &Path, server: &Server, args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/kserve_client.py");
    let out = owm_testkit::output(Command::new("python3").arg(script).args(["--url", &server.url]).args(args).current_dir(dir));
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"), "{}", text(&out));
}

#[test]
fn served_models_should_answer_a_kserve_client_as_owm_predict_and_refuse_bad_requests() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    write_table(&d.join("train.csv"), 300, 1, &["red", "blue"]);
    write_table(&d.join("test.csv"), 100, 2, &["red", "blue", "green"]);
    let trained = owm(d, &["train", "--task", "tabular", "--data", "train.csv", "--target", "y", "--epochs", "10", "--out", "table", "--quiet"]);
    assert!(trained.status.success(), "{}", text(&trained));
    let lines: String = (0..60).map(|i| ["体育\t足球比赛球队\n", "财经\t股票银行基金\n", "体育\t今天的比赛\n"][i % 3]).collect();
    std::fs::write(d.join("news.txt"), &lines).unwrap();
    let trained = owm(d, &["train", "--task", "text", "--data", "news.txt", "--dim", "8", "--epochs", "3", "--out", "news", "--quiet"]);
    assert!(trained.status.success(), "{}", text(&trained));
    std::fs::write(d.join("new.txt"), "股票银行\n\n足球，外星词汇\n财经\t今天基金\n").unwrap();
    for (run, records, out) in [("table", "test.csv", "table.csv"), ("news", "new.txt", "news.csv")] {
        let predicted = owm(d, &["predict", run, "--data", records, "--out", out]);
        assert!(predicted.status.success(), "{}", text(&predicted));
    }
    std::fs::write(d.join("token"), "s3cret\n").unwrap();
    // Two models on one server: a table by its run folder, texts by NAME=FOLDER.
    let mut server = Server::start(d, &["table", "headlines=news/bundle", "--token-file", "token", "--max-body-bytes", "65536"]);
    let common = ["--token-file", "token", "--max-body-bytes", "65536"];
    client(d, &server, &[&["--model", "table", "--records", "test.csv", "--kind", "table", "--target", "y", "--expect", "table.csv"][..], &common].concat());
    client(d, &server, &[&["--model", "headlines", "--records", "new.txt", "--kind", "texts", "--expect", "news.csv"][..], &common].concat());

    // SIGTERM: the server finishes what is under way and exits cleanly.
    let (clean, log) = server.terminate();
    assert!(clean && log.contains("owm serve-model: stopped"), "{log}");
}

#[test]
fn served_image_and_interaction_models_should_answer_as_owm_predict() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    train_shapes(d);
    let predicted = owm(d, &["predict", "run", "--data", "shapes/test", "--out", "images.csv"]);
    assert!(predicted.status.success(), "{}", text(&predicted));
    // The model's input tensor as given: the test images' pixels (0-255), `[N, 1, 8, 8]`, in owm predict's order.
    let paths: Vec<String> = std::fs::read_to_string(d.join("images.csv")).unwrap().lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect();
    let pixels: Vec<f32> = paths.iter().flat_map(|p| image::open(d.join("shapes/test").join(p)).unwrap().to_luma8().into_raw()).map(f32::from).collect();
    let request = serde_json::json!({"inputs": [{"name": "input", "shape": [paths.len(), 1, 8, 8], "datatype": "FP32", "data": pixels}]});
    std::fs::write(d.join("request.json"), request.to_string()).unwrap();

    write_clicks(&d.join("clicks.csv"), "user,item,label\n");
    let trained = owm(d, &["train", "--task", "recsys", "--data", "clicks.csv", "--epochs", "5", "--out", "clicks", "--quiet"]);
    assert!(trained.status.success(), "{}", text(&trained));
    let pairs: String = (0..8).map(|u| format!("u{u},i{}\nu{u},i{}\n", 2 * (u % 5), 2 * (u % 5) + 1)).collect();
    std::fs::write(d.join("pairs.csv"), format!("user,item\n{pairs}")).unwrap();
    let predicted = owm(d, &["predict", "clicks", "--data", "pairs.csv", "--out", "pairs-predicted.csv"]);
    assert!(predicted.status.success(), "{}", text(&predicted));

    let server = Server::start(d, &["images=run", "clicks"]);
    client(d, &server, &["--model", "images", "--records", "request.json", "--kind", "request", "--expect", "images.csv"]);
    client(d, &server, &["--model", "clicks", "--records", "pairs.csv", "--kind", "pairs", "--expect", "pairs-predicted.csv"]);
}

#[test]
fn serve_model_should_refuse_bundles_that_do_not_verify_or_are_not_signed_by_the_key() {
    let dir = owm_testkit::tempdir();
    let d = dir.path();
    write_table(&d.join("train.csv"), 120, 1, &["red", "blue"]);
    let trained = owm(d, &["train", "--task", "tabular", "--data", "train.csv", "--target", "y", "--epochs", "2", "--out", "run", "--quiet"]);
    assert!(trained.status.success(), "{}", text(&trained));
    let keygen = owm(d, &["keygen", "key"]);
    assert!(keygen.status.success(), "{}", text(&keygen));
    let serve = |args: &[&str]| owm(d, &[&["serve-model"][..], args, &["--bind", "127.0.0.1:0"]].concat());

    let unsigned = serve(&["run", "--require-signed", "key.pub"]);
    assert!(!unsigned.status.success() && text(&unsigned).contains("not signed"), "{}", text(&unsigned));
    let signed = owm(d, &["sign", "run/bundle", "--key", "key"]);
    assert!(signed.status.success(), "{}", text(&signed));
    // Signed by the key: it loads and serves (the test stops it).
    drop(Server::start(d, &["run", "--require-signed", "key.pub"]));
    // A registry entry, pulled, verified and served under its name and version.
    let published = owm(d, &["publish", "run", "--name", "tab", "--version", "1.0", "--registry", "reg"]);
    assert!(published.status.success(), "{}", text(&published));
    let (clean, log) = Server::start(d, &["tab@1.0", "--registry", "reg", "--require-signed", "key.pub"]).terminate();
    assert!(clean && log.contains("owm serve-model: tab version 1.0 (bundle ") && log.contains("signed by"), "{log}");

    let manifest = d.join("run/bundle/manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    m["owm_version"] = "0.0.0-edited".into();
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let tampered = serve(&["run"]);
    assert!(!tampered.status.success() && text(&tampered).contains("`manifest.json` changed since it was signed"), "{}", text(&tampered));
    std::fs::remove_file(d.join("run/bundle/model.sig")).unwrap();
    let unsigned = serve(&["run"]);
    assert!(!unsigned.status.success() && text(&unsigned).contains("bundle_digest does not match"), "{}", text(&unsigned));
    let zero = serve(&["run", "--max-batch", "0"]);
    assert!(!zero.status.success() && text(&zero).contains("max_batch must be at least 1"), "{}", text(&zero));
}
