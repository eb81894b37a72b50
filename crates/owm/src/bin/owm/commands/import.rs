//! `owm import`: a PyTorch `state_dict` as a bundle of a built-in image model.

use std::process::ExitCode;

use anyhow::{Result, bail};
use owm::models::ModelConfig;

use crate::cli::ImportArgs;
use crate::cli::train::ModelKind;

/// `owm import`.
pub fn run(args: ImportArgs) -> Result<ExitCode> {
    let ImportArgs { pytorch, model, image, classes, hidden, depth, width, conv1_padding, out } = args;
    let config = match model {
        ModelKind::Lenet => ModelConfig::LeNet5 { conv1_padding: conv1_padding.unwrap_or(0) },
        ModelKind::Resnet => ModelConfig::ResNet { depth: depth.unwrap_or(20), width: width.unwrap_or(16) },
        ModelKind::Mlp => ModelConfig::Mlp { hidden: hidden.unwrap_or_else(|| vec![128]) },
        ModelKind::Logistic => ModelConfig::Logistic,
        _ => bail!("owm import reads image models (lenet, resnet, mlp, logistic); text and recommendation models come from owm train"),
    };
    let [c, h, w] = image[..] else { bail!("--image takes channels, height and width (3,32,32), got {image:?}") };
    // One number is a count of classes named by their index.
    let classes = match &classes[..] {
        [n] if n.parse::<usize>().is_ok() => (0..n.parse::<usize>()?).map(|i| i.to_string()).collect(),
        names => names.to_vec(),
    };
    let manifest = owm::train::import_pytorch(&pytorch, &config, [c, h, w], classes, &out)?;
    println!("bundle {} ({} tensors, {}): {}", out.display(), manifest.tensors.len(), config.label(), manifest.bundle_digest);
    Ok(ExitCode::SUCCESS)
}
