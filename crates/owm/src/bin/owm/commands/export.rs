//! `owm export`: a bundle's weights as a PyTorch `state_dict`.

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ExportArgs;
use crate::settings::bundle_dir;

/// `owm export`.
pub fn run(args: ExportArgs) -> Result<ExitCode> {
    let ExportArgs { bundle, pytorch } = args;
    let b = owm::share::load_bundle(bundle_dir(&bundle))?;
    let n = owm::share::export_pytorch(&b, &pytorch)?;
    println!("wrote {} ({n} tensors, PyTorch layout): model.load_state_dict(safetensors.torch.load_file(...))", pytorch.display());
    Ok(ExitCode::SUCCESS)
}
