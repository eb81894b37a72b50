//! `owm export`: a bundle's weights as a PyTorch `state_dict`, its whole pipeline as an ONNX model.

use std::path::Path;
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
    // The model as the bundle records it; a bundle written by the library alone may not record how to build it.
    let predictor = Predictor::load(&dir, BackendKind::Flex, identities.as_ref());
    if let Some(path) = pytorch {
        let b = owm::share::load_bundle_with(&dir, identities.as_ref())?;
        let n = owm::share::export_pytorch(&b, &path)?;
        println!("wrote {} ({n} tensors, PyTorch layout): model.load_state_dict(safetensors.torch.load_file(...))", path.display());
        match &predictor {
            Ok(predictor) => {
                let module = path.with_extension("py");
                let file = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
                let doc = format!("The PyTorch module of OWM bundle {}: `load(\"{file}\")` (written by owm export --pytorch).", predictor.bundle_digest());
                owm::core::write_atomic(&module, owm::models::torch_module_source(predictor.model(), &doc)?.as_bytes())?;
                println!("wrote {}: a torch.nn.Module `Model` with these names, and `load(path)`", module.display());
            }
            Err(e) => eprintln!("note: no PyTorch module written beside the state_dict: {e}"),
        }
    }
    if let Some(path) = onnx {
        let predictor = predictor.map_err(anyhow::Error::from)?;
        // A model written into the bundle is listed by its manifest, which then has a new digest: the model
        // names the weights, not the digest it cannot contain.
        let parent = path.parent().map(|p| if p.as_os_str().is_empty() { Path::new(".") } else { p });
        let into_bundle = parent.and_then(|p| p.canonicalize().ok()).is_some_and(|p| Some(p) == dir.canonicalize().ok());
        let pipeline = owm::onnx::Pipeline {
            input: predictor.input(),
            task: predictor.task(),
            classes: predictor.classes(),
            preparer: predictor.preparer(),
            normalization: predictor.normalization(),
            bundle_digest: if into_bundle { "" } else { predictor.bundle_digest() },
            weights_digest: predictor.weights_digest(),
        };
        let bytes = owm::onnx::export(predictor.model(), &pipeline)?;
        let about = format!(
            "{} bytes, ONNX opset {}, ai.onnx.ml {}; inputs {}; outputs logits, probabilities, label",
            bytes.len(),
            owm::onnx::OPSET,
            owm::onnx::ML_OPSET,
            owm::onnx::input_names(&pipeline).join(", ")
        );
        match path.file_name().and_then(|n| n.to_str()).filter(|_| into_bundle) {
            Some(name) => {
                let manifest = owm::share::add_file(&dir, name, &bytes)?;
                println!("wrote {} ({about}), listed in the bundle's manifest: bundle digest now {}", path.display(), manifest.bundle_digest);
            }
            None => {
                owm::core::write_atomic(&path, &bytes)?;
                println!("wrote {} ({about})", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
