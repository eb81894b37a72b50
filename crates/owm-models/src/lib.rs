//! Reference classifiers for OWM: a multi-layer perceptron and LeNet-5, as plain Burn modules.
//!
//! Every model takes images `[batch, channels, height, width]` and returns logits `[batch, classes]`, so the
//! training pipeline, evaluation and bundles treat them alike through [`Classifier`].
//!
//! # Key design decision: configs are data, modules are plain Burn
//!
//! A [`ModelConfig`] is serialisable (it is stored in every bundle manifest) and validated before a module is
//! built; the modules themselves are ordinary `#[derive(Module)]` structs that any Burn code can use.
//! Parameter paths are stable (`layers.0.weight`, `conv1.weight`, `fc3.bias`): init plans and bundles address
//! weights by them.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use owm_models::ModelConfig;
//!
//! let device = Device::flex();
//! let model = ModelConfig::Mlp { hidden: vec![32] }.init([1, 8, 8], 10, &device)?;
//! let logits = model.forward(Tensor::<4>::zeros([2, 1, 8, 8], &device));
//! assert_eq!(logits.dims(), [2, 10]);
//! # Ok::<(), owm_models::Error>(())
//! ```

mod error;
mod lenet;
mod mlp;

pub use error::*;
pub use lenet::*;
pub use mlp::*;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// Which model to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// A multi-layer perceptron over the flattened image, ReLU between layers.
    Mlp {
        /// Widths of the hidden layers.
        hidden: Vec<usize>,
    },
    /// LeNet-5: conv 5×5 (6), max-pool 2, conv 5×5 (16), max-pool 2, linear 120, 84, classes; ReLU.
    #[serde(rename = "lenet5")]
    LeNet5 {
        /// Zero padding of the first convolution (2 turns 28×28 MNIST into the classic 32×32 geometry).
        #[serde(default)]
        conv1_padding: usize,
    },
}

impl ModelConfig {
    /// A short name for reports (`"mlp"`, `"lenet5"`).
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Mlp { .. } => "mlp",
            ModelConfig::LeNet5 { .. } => "lenet5",
        }
    }

    /// Builds the model for items of shape `[channels, height, width]` and `num_classes` classes on `device`.
    ///
    /// # Errors
    ///
    /// [`Error::NoClasses`], [`Error::ZeroWidth`] or [`Error::InputTooSmall`] for a config that cannot be built.
    pub fn init(&self, input: [usize; 3], num_classes: usize, device: &Device) -> Result<Classifier> {
        if num_classes < 2 {
            return Err(Error::NoClasses(num_classes));
        }
        if input.contains(&0) {
            return Err(Error::InputTooSmall { input, reason: "every dimension must be positive".into() });
        }
        Ok(match self {
            ModelConfig::Mlp { hidden } => Classifier::Mlp(Mlp::new(input.iter().product(), hidden, num_classes, device)?),
            ModelConfig::LeNet5 { conv1_padding } => {
                Classifier::LeNet5(LeNet5::new(input, *conv1_padding, num_classes, device)?)
            }
        })
    }
}

/// Any OWM classifier.
///
/// Burn enum modules add the variant name to parameter paths; OWM's path walkers (`owm_core::param_infos`)
/// leave it out, so a `Classifier::Mlp` has the same paths as the bare [`Mlp`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // Built once per run and rarely moved; Burn's derive takes no `Box` fields.
pub enum Classifier {
    /// A multi-layer perceptron.
    Mlp(Mlp),
    /// LeNet-5.
    LeNet5(LeNet5),
}

impl Classifier {
    /// Logits for a batch of images.
    ///
    /// # Shapes
    ///
    /// `images: [batch, channels, height, width]` → `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Classifier::Mlp(m) => m.forward(images),
            Classifier::LeNet5(m) => m.forward(images),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_round_trip_configs_through_json() {
        for c in [ModelConfig::Mlp { hidden: vec![64, 32] }, ModelConfig::LeNet5 { conv1_padding: 2 }] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<ModelConfig>(&json).unwrap(), c);
        }
        assert_eq!(
            serde_json::from_str::<ModelConfig>(r#"{"kind":"lenet5"}"#).unwrap(),
            ModelConfig::LeNet5 { conv1_padding: 0 }
        );
    }

    #[test]
    fn should_need_at_least_two_classes() {
        let err = ModelConfig::Mlp { hidden: vec![] }.init([1, 2, 2], 1, &Device::flex()).unwrap_err();
        assert!(matches!(err, Error::NoClasses(1)));
    }

    #[test]
    fn should_keep_inner_paths_inside_the_enum() {
        let m = ModelConfig::Mlp { hidden: vec![4] }.init([1, 2, 2], 3, &Device::flex()).unwrap();
        let paths: Vec<String> = owm_core::param_infos(&m).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
    }
}
