//! PyTorch interchange of LeNet-5 against fixtures written by `tools/torch_lenet.py` (PyTorch 2.15): a
//! PyTorch `state_dict` loads into OWM with the same logits (through the library and `owm import`), and OWM
//! exports exactly that `state_dict` back.

use std::path::{Path, PathBuf};

use owm::burn::prelude::*;
use owm::core::{Input, InputSpec};
use owm::models::{Classifier, ModelConfig};
use owm::share::{Manifest, export_pytorch, load_bundle, load_pytorch_into, save_bundle};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_lenet")
}

fn lenet(device: &Device) -> Classifier {
    ModelConfig::LeNet5 { conv1_padding: 0 }.init(&InputSpec::Image { shape: [3, 32, 32] }, 10, device).unwrap()
}

fn tensors(file: &Path) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(file).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Vec<_> = st.tensors().into_iter().map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn a_pytorch_state_dict_should_give_pytorchs_logits_and_export_back_exactly() {
    let device = Device::flex();
    let model = load_pytorch_into(lenet(&device), &fixtures().join("state.safetensors")).unwrap();
    let io: serde_json::Value = serde_json::from_slice(&std::fs::read(fixtures().join("io.json")).unwrap()).unwrap();
    let input: Vec<f32> = serde_json::from_value(io["input"].clone()).unwrap();
    let expected: Vec<f32> = serde_json::from_value(io["logits"].clone()).unwrap();
    let x = Tensor::<4>::from_data(TensorData::new(input, [2, 3, 32, 32]), &device);
    let logits = model.forward(Input::Image(x)).into_data().try_to_vec::<f32>().unwrap();
    let worst = logits.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-5, "largest logit difference from PyTorch {worst}");

    // Saved as an OWM bundle and exported, it is PyTorch's state_dict again, byte for byte.
    let dir = owm_testkit::tempdir();
    save_bundle(dir.path().join("bundle"), &model, Manifest::new(0)).unwrap();
    let out = dir.path().join("exported.safetensors");
    assert_eq!(export_pytorch(&load_bundle(dir.path().join("bundle")).unwrap(), &out).unwrap(), 10);
    assert_eq!(tensors(&out), tensors(&fixtures().join("state.safetensors")));

    // With PyTorch at hand, check the export in PyTorch itself too.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/torch_lenet.py");
    match std::process::Command::new("python3").arg(&script).arg("--check").arg(&out).output() {
        Ok(o) if o.status.success() => {
            let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert!(report["max_abs_diff"].as_f64().unwrap() <= 1e-5, "{report}");
        }
        _ => eprintln!("note: python3 with torch and safetensors not available; the export was checked byte for byte only"),
    }
}

#[test]
fn a_state_dict_of_another_model_should_be_refused_with_the_names() {
    let device = Device::flex();
    let mlp = ModelConfig::Mlp { hidden: vec![4] }.init(&InputSpec::Image { shape: [3, 32, 32] }, 10, &device).unwrap();
    let err = load_pytorch_into(mlp, &fixtures().join("state.safetensors")).unwrap_err().to_string();
    assert!(err.contains("layers.0.weight") && err.contains("conv1.weight"), "{err}");
}

#[test]
fn owm_import_should_make_a_bundle_with_pytorchs_logits_and_refuse_another_layout() {
    let dir = owm_testkit::tempdir();
    let state = fixtures().join("state.safetensors");
    let args = ["import", "--pytorch", state.to_str().unwrap(), "--image", "3,32,32", "--classes", "10", "--out"];
    let out = crate::owm(dir.path(), &[&args[..], &["lenet", "--model", "lenet"]].concat());
    assert!(out.status.success(), "{}", owm_testkit::text(&out));

    // The bundle verifies, records the file it came from, and its model gives PyTorch's logits.
    let verification = owm::share::verify_bundle(dir.path().join("lenet"), None).unwrap();
    let digest = owm::share::tensor_digest(&std::fs::read(&state).unwrap());
    assert_eq!(verification.manifest.init["imported"]["sha256"], serde_json::json!(digest));
    let predictor = owm::train::Predictor::load(&dir.path().join("lenet"), owm::core::BackendKind::Flex, None).unwrap();
    assert_eq!(predictor.classes().len(), 10);
    let io: serde_json::Value = serde_json::from_slice(&std::fs::read(fixtures().join("io.json")).unwrap()).unwrap();
    let input: Vec<f32> = serde_json::from_value(io["input"].clone()).unwrap();
    let expected: Vec<f32> = serde_json::from_value(io["logits"].clone()).unwrap();
    let x = Tensor::<4>::from_data(TensorData::new(input, [2, 3, 32, 32]), &Device::flex());
    let logits = predictor.model().forward(Input::Image(x)).into_data().try_to_vec::<f32>().unwrap();
    let worst = logits.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst <= 1e-5, "largest logit difference from PyTorch {worst}");

    // A state_dict of another layout is refused by name, and nothing is written.
    let out = crate::owm(dir.path(), &[&args[..], &["mlp", "--model", "mlp"]].concat());
    let message = owm_testkit::text(&out);
    assert!(!out.status.success() && message.contains("conv1.weight") && message.contains("layers.0.weight"), "{message}");
    assert!(!dir.path().join("mlp").exists());
}
