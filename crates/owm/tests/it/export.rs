//! `owm export`, for every built-in model kind:
//! - `--onnx`: ONNX's checker accepts the graph and ONNX Runtime (`tools/onnx_check.py`, PyPI's `onnx` and
//!   `onnxruntime`) gives the probabilities of `owm predict` on the same raw records within 1e-5, the same
//!   labels, and the same bundle digest;
//! - `--pytorch`: the generated `model.py` loads the state_dict with no tensor missing or left over and gives
//!   OWM's logits within 1e-5 (`tools/torch_module_check.py`, where PyTorch is installed).

use std::path::Path;
use std::process::Command;

use crate::owm;
use crate::predict::{write_headlines, write_pairs, write_shapes, write_sides};
use crate::tasks::{write_clicks, write_table};
use owm::burn::prelude::*;
use owm::core::{BackendKind, Input};
use owm::data::{Dataset, Inputs};
use owm::train::Predictor;
use owm_testkit::text;

/// Whether python3 has `onnx` and `onnxruntime`; without them a loud SKIPPED, or a failure where they are
/// required (`CI`, `OWM_REQUIRE_ONNXRUNTIME`: `.ci/run` installs them).
fn onnxruntime() -> bool {
    let found = Command::new("python3").args(["-c", "import onnx, onnxruntime"]).output().is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var_os("OWM_REQUIRE_ONNXRUNTIME").is_some() || std::env::var_os("CI").is_some();
        assert!(!required, "python3 with onnx and onnxruntime is required here: pip install onnx onnxruntime");
        eprintln!("\n*** SKIPPED: python3 lacks onnx or onnxruntime (pip install onnx onnxruntime), so ONNX Runtime did not check the export ***\n");
    }
    found
}

/// Trains `args` into `dir/NAME`, exports it to ONNX and checks it on the records of `data` against
/// `owm predict`: a table through its raw CSV, other models through the tensor `owm predict` prepares.
fn exported_should_agree(dir: &Path, name: &str, train: &[&str], data: &str) {
    let trained = owm(dir, &[train, &["--out", name, "--quiet"]].concat());
    assert!(trained.status.success(), "{}", text(&trained));
    let predicted = owm(dir, &["predict", name, "--data", data, "--json"]);
    assert!(predicted.status.success(), "{}", text(&predicted));
    let expected = dir.join(format!("{name}.jsonl"));
    std::fs::write(&expected, &predicted.stdout).unwrap();
    let model = dir.join(format!("{name}.onnx"));
    let exported = owm(dir, &["export", name, "--onnx", model.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", text(&exported));
    let predictor = Predictor::load(&dir.join(name).join("bundle"), BackendKind::Flex, None).unwrap();
    let records = predictor.records(&dir.join(data)).unwrap();
    torch_module_should_agree(dir, name, &predictor, &records);
    if !onnxruntime() {
        return;
    }
    let n = records.len();
    let tensor = match records.inputs.clone() {
        Inputs::Dense { .. } => None,
        Inputs::Pixels { shape, values } => Some((vec![n, shape[0], shape[1], shape[2]], values.into_iter().map(f64::from).collect::<Vec<_>>())),
        Inputs::Tokens { len, ids, .. } => Some((vec![n, len], ids.into_iter().map(f64::from).collect())),
        Inputs::Ids { cardinalities, ids } => Some((vec![n, cardinalities.len()], ids.into_iter().map(f64::from).collect())),
    };
    let source = match tensor {
        None => ["--csv".to_string(), dir.join(data).display().to_string()],
        Some((shape, data)) => {
            let inputs = dir.join(format!("{name}.inputs.json"));
            std::fs::write(&inputs, serde_json::json!({ "input": { "shape": shape, "data": data } }).to_string()).unwrap();
            ["--inputs".to_string(), inputs.display().to_string()]
        }
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/onnx_check.py");
    let out = owm_testkit::output(Command::new("python3").arg(script).arg(&model).args(&source).arg("--expected").arg(&expected));
    assert!(out.status.success(), "{name}: {}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"].as_u64(), Some(n as u64), "{report}");
    assert!(report["max_abs_diff"].as_f64().unwrap() <= 1e-5, "{name}: {report}");
}

/// `owm export NAME --pytorch`, then the generated module on the network's input as OWM feeds it (records
/// prepared and normalised) against OWM's logits.
fn torch_module_should_agree(dir: &Path, name: &str, predictor: &Predictor, records: &owm::data::Records) {
    let state = dir.join(format!("{name}_torch.safetensors"));
    let exported = owm(dir, &["export", name, "--pytorch", state.to_str().unwrap()]);
    assert!(exported.status.success(), "{}", text(&exported));
    let module = state.with_extension("py");
    assert!(std::fs::read_to_string(&module).unwrap().contains("class Model(nn.Module)"));
    let found = Command::new("python3").args(["-c", "import torch, safetensors"]).output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("\n*** SKIPPED: python3 lacks torch or safetensors, so PyTorch did not run {} ***\n", module.display());
        return;
    }
    let data = Dataset::unlabelled("records", records.inputs.clone(), predictor.classes().to_vec(), predictor.task()).unwrap();
    let indices: Vec<usize> = (0..data.len()).collect();
    let (input, _) = data.batch(&indices, predictor.normalization(), &Device::flex());
    let (shape, dtype, values): (Vec<usize>, &str, Vec<f64>) = match input.clone() {
        Input::Dense(x) => (x.dims().to_vec(), "float32", x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()),
        Input::Image(x) => (x.dims().to_vec(), "float32", x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()),
        Input::Tokens(x) | Input::Ids(x) => (x.dims().to_vec(), "int64", x.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()),
    };
    let logits = predictor.model().forward(input).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let case = dir.join(format!("{name}_torch.json"));
    std::fs::write(&case, serde_json::json!({ "input": { "shape": shape, "dtype": dtype, "data": values }, "logits": logits }).to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/torch_module_check.py");
    let out = owm_testkit::output(Command::new("python3").arg(script).arg(&module).arg(&state).arg(&case));
    assert!(out.status.success(), "{name}: {}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["max_abs_diff"].as_f64().unwrap() <= 1e-5, "{name}: {report}");
}

#[test]
fn exported_tables_should_predict_as_owm_with_missing_values_and_unseen_categories() {
    let dir = owm_testkit::tempdir();
    write_table(&dir.path().join("train.csv"), 300, 1, &["red", "blue"]);
    // `?` numbers (NaN in ONNX), a colour training never saw.
    write_table(&dir.path().join("test.csv"), 100, 2, &["red", "blue", "green"]);
    let table = ["train", "--task", "tabular", "--data", "train.csv", "--test-data", "test.csv", "--target", "y", "--epochs", "3"];
    exported_should_agree(dir.path(), "logistic", &table, "test.csv");
    let mlp = [&table[..], &["--model", "mlp", "--hidden", "8", "--scaling", "min-max", "--encoding", "ordinal"]].concat();
    exported_should_agree(dir.path(), "mlp", &mlp, "test.csv");
}

#[test]
fn an_onnx_model_exported_into_its_bundle_should_be_listed_and_checked_by_verify() {
    let dir = owm_testkit::tempdir();
    write_table(&dir.path().join("train.csv"), 200, 1, &["red", "blue"]);
    let trained = owm(dir.path(), &["train", "--task", "tabular", "--data", "train.csv", "--target", "y", "--epochs", "2", "--out", "run", "--quiet"]);
    assert!(trained.status.success(), "{}", text(&trained));
    let weights_digest = owm::share::verify_bundle(dir.path().join("run/bundle"), None).unwrap().manifest.weights_digest;
    let out = owm(dir.path(), &["export", "run", "--onnx", "run/bundle/model.onnx"]);
    assert!(out.status.success() && text(&out).contains("listed in the bundle's manifest"), "{}", text(&out));
    let verification = owm::share::verify_bundle(dir.path().join("run/bundle"), None).unwrap();
    assert!(verification.ok(), "{:?}", verification.problems);
    let onnx = std::fs::read(dir.path().join("run/bundle/model.onnx")).unwrap();
    assert_eq!(verification.manifest.files["model.onnx"].sha256, owm::share::tensor_digest(&onnx));
    let text_of_model = String::from_utf8_lossy(&onnx);
    assert!(text_of_model.contains(&weights_digest) && !text_of_model.contains("owm.bundle_digest"), "names the weights, not the digest that lists it");
    // The example still checks, through the new bundle digest.
    assert!(owm(dir.path(), &["predict", "run", "--check"]).status.success());

    // A signed bundle is not changed: its signature covers the old digest.
    assert!(owm(dir.path(), &["keygen", "alice"]).status.success());
    assert!(owm(dir.path(), &["sign", "run", "--key", "alice"]).status.success());
    let out = owm(dir.path(), &["export", "run", "--onnx", "run/bundle/again.onnx"]);
    assert!(!out.status.success() && text(&out).contains("it is signed"), "{}", text(&out));
    assert!(!dir.path().join("run/bundle/again.onnx").exists());
}

#[test]
fn exported_text_models_should_predict_as_owm_from_token_ids() {
    let dir = owm_testkit::tempdir();
    write_headlines(dir.path());
    let text = ["train", "--task", "text", "--data", "train.txt", "--test-data", "test.txt", "--max-len", "16", "--dim", "8", "--epochs", "2"];
    exported_should_agree(dir.path(), "bag", &text, "test.txt");
    exported_should_agree(dir.path(), "cnn", &[&text[..], &["--model", "text-cnn"]].concat(), "test.txt");
}

#[test]
fn exported_recommenders_should_predict_as_owm_from_ids() {
    let dir = owm_testkit::tempdir();
    write_clicks(&dir.path().join("clicks.csv"), "user,item,label\n");
    write_pairs(dir.path());
    let clicks = ["train", "--task", "recsys", "--data", "clicks.csv", "--epochs", "3"];
    for model in ["mf", "fm", "logistic"] {
        exported_should_agree(dir.path(), model, &[&clicks[..], &["--model", model]].concat(), "pairs.csv");
    }
    write_sides(dir.path());
    let sides = ["--model", "fm", "--user-features", "users.csv", "--item-features", "items.csv"];
    exported_should_agree(dir.path(), "fm_sides", &[&clicks[..], &sides[..]].concat(), "pairs.csv");
}

#[test]
fn exported_image_models_should_predict_as_owm_from_pixels() {
    let dir = owm_testkit::tempdir();
    write_shapes(dir.path(), 16);
    let images = ["train", "--task", "image", "--data", "shapes", "--grayscale", "--epochs", "1"];
    exported_should_agree(dir.path(), "mlp", &[&images[..], &["--model", "mlp", "--hidden", "16"]].concat(), "shapes/test");
    exported_should_agree(dir.path(), "lenet", &[&images[..], &["--model", "lenet"]].concat(), "shapes/test");
    exported_should_agree(dir.path(), "resnet", &[&images[..], &["--model", "resnet", "--depth", "8"]].concat(), "shapes/test");
}
