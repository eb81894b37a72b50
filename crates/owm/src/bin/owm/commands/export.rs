//! `owm export`: a bundle's weights as a PyTorch `state_dict`, its whole pipeline as an ONNX model.

use std::process::ExitCode;

use anyhow::Result;
use owm::core::BackendKind;
use owm::train::Predictor;

use crate::cli::ExportArgs;
use crate::settings::bundle_dir;

/// `owm export`.
pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let ExportArgs { bundle, pytorch, onnx, keys } = args;
    let dir = bundle_dir(&bundle);
    let identities = super::weight_keys(&keys)?;
    if let Some(path) = pytorch {
        let b = owm::share::load_bundle_with(&dir, identities.as_ref())?;
        let n = owm::share::export_pytorch(&b, &path)?;
        println!("wrote {} ({n} tensors, PyTorch layout): model.load_state_dict(safetensors.torch.load_file(...))", path.display());
        // The module beside it, for a bundle that records how its model is built.
        match Predictor::load(&dir, BackendKind::Flex, identities.as_ref()) {
            Ok(predictor) => {
                let module = path.with_extension("py");
                let doc = format!(
                    "The PyTorch module of OWM bundle {}: `load(\"{}\")` (written by owm export --pytorch).",
                    predictor.bundle_digest(),
                    path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
                );
                owm::core::write_atomic(&module, owm::models::torch_module_source(predictor.model(), &doc)?.as_bytes())?;
                println!("wrote {}: a torch.nn.Module `Model` with these names, and `load(path)`", module.display());
            }
            Err(e) => eprintln!("note: no PyTorch module written beside the state_dict: {e}"),
        }
    }
    if let Some(path) = onnx {
        let predictor = Predictor::load(&dir, BackendKind::Flex, identities.as_ref())?;
        let pipeline = owm::onnx::Pipeline {
            input: predictor.input(),
            task: predictor.task(),
            classes: predictor.classes(),
            preparer: predictor.preparer(),
            normalization: predictor.normalization(),
            bundle_digest: predictor.bundle_digest(),
        };
        let bytes = owm::onnx::export(predictor.model(), &pipeline)?;
        owm::core::write_atomic(&path, &bytes)?;
        println!(
            "wrote {} ({} bytes, ONNX opset {}, ai.onnx.ml {}): inputs {}; outputs logits, probabilities, label",
            path.display(),
            bytes.len(),
            owm::onnx::OPSET,
            owm::onnx::ML_OPSET,
            owm::onnx::input_names(&pipeline).join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
