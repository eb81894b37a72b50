//! A PyTorch `state_dict` as an OWM bundle (`owm import --pytorch`): the weights loaded into the built-in
//! model of the same layout, with a manifest that records where they came from, so that `owm predict`,
//! `owm export --onnx` and the inference server use them as they use a trained bundle.

use std::path::Path;

use burn::prelude::Device;
use owm_core::{InputSpec, Task};
use owm_data::DatasetInfo;
use owm_models::ModelConfig;
use owm_share::{Manifest, load_pytorch_into, save_bundle, tensor_digest};

use crate::Result;

/// Loads the `state_dict` in `file` (safetensors, as `safetensors.torch.save_file` writes it) into `model`
/// built for images of `shape` and `classes`, and saves it as the bundle `out`. The manifest records the
/// model, the classes, and in its `init` section the file's name and SHA-256 (`imported`).
///
/// # Errors
///
/// A model error for a config that cannot read the input or has no class; the errors of
/// [`load_pytorch_into`] (naming the tensors the file lacks or has over, or a shape that differs); a file
/// error naming `file` or `out`.
pub fn import_pytorch(file: &Path, model: &ModelConfig, shape: [usize; 3], classes: Vec<String>, out: &Path) -> Result<Manifest> {
    let input = InputSpec::Image { shape };
    let built = model.init(&input, classes.len(), &Device::flex())?;
    let loaded = load_pytorch_into(built, file)?;
    let bytes = std::fs::read(file).map_err(|source| owm_share::Error::Io { op: "read", path: file.into(), source })?;
    let mut manifest = Manifest::new(0);
    manifest.backend = "flex".into();
    manifest.model = owm_core::json::to_value(model);
    manifest.init = serde_json::json!({ "imported": {
        "format": "pytorch-safetensors",
        "file": file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        "sha256": tensor_digest(&bytes),
    }});
    let info = DatasetInfo {
        name: "imported".into(),
        input,
        task: Task::Classification,
        class_names: classes,
        train_len: 0,
        test_len: 0,
        train_fingerprint: String::new(),
        test_fingerprint: String::new(),
        validation_len: 0,
        validation_fingerprint: None,
    };
    manifest.dataset = owm_core::json::to_value(&info);
    Ok(save_bundle(out, &loaded, manifest)?)
}
