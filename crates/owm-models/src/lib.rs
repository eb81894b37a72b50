//! Reference models for OWM, as plain Burn modules: an MLP and logistic regression (tabular rows, images),
//! LeNet-5 and a CIFAR ResNet with batch norm (images), an embedding bag and a 1-D CNN (text), logistic regression over ids, matrix
//! factorisation and a factorisation machine (click-through recommendation).
//!
//! Every model is built for a dataset's [`owm_core::InputSpec`] (dense features, images, token sequences or
//! categorical ids) and returns logits `[batch, outputs]` for an [`owm_core::Input`] batch, so the training
//! pipeline, evaluation and bundles treat them alike through [`Classifier`]; a model asked to read inputs it
//! cannot is refused when it is built, naming both.
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
//! let input = owm_core::InputSpec::Image { shape: [1, 8, 8] };
//! let model = ModelConfig::Mlp { hidden: vec![32] }.init(&input, 10, &device)?;
//! let logits = model.forward(owm_core::Input::Image(Tensor::<4>::zeros([2, 1, 8, 8], &device)));
//! assert_eq!(logits.dims(), [2, 10]);
//! # Ok::<(), owm_models::Error>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod lenet;
mod mlp;
mod per_example;
mod recsys;
mod resnet;
mod text;

pub use error::*;
pub use lenet::*;
pub use mlp::*;
pub use recsys::*;
pub use resnet::*;
pub use text::*;

use burn::prelude::*;
use owm_core::{Input, InputSpec};
use serde::{Deserialize, Serialize};

/// Which model to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ModelConfig {
    /// A multi-layer perceptron over dense features or the flattened image, ReLU between layers.
    Mlp {
        /// Widths of the hidden layers.
        hidden: Vec<usize>,
    },
    /// LeNet-5: conv 5×5 (6), max-pool 2, conv 5×5 (16), max-pool 2, linear 120, 84, classes; ReLU (images).
    #[serde(rename = "lenet5")]
    LeNet5 {
        /// Zero padding of the first convolution (2 turns 28×28 MNIST into the classic 32×32 geometry).
        #[serde(default)]
        conv1_padding: usize,
    },
    /// A CIFAR-style residual network with batch norm ([`ResNet`]): `depth = 6n + 2`.
    #[serde(rename = "resnet")]
    ResNet {
        /// Layers: 8, 14, 20, 32, ...
        depth: usize,
        /// Channels of the first stage (16 in the paper).
        #[serde(default = "default_resnet_width")]
        width: usize,
    },
    /// Logistic (softmax) regression: one linear layer over dense features or images (`layers.0.*`, as an
    /// MLP without hidden layers), or over one-hot categorical ids ([`IdLogistic`]).
    Logistic,
    /// A fastText-style embedding bag over tokens ([`EmbeddingBag`]).
    EmbeddingBag {
        /// Embedding width.
        dim: usize,
    },
    /// A 1-D CNN over token embeddings ([`TextCnn`]).
    TextCnn {
        /// Embedding width.
        dim: usize,
        /// Filters per window width.
        filters: usize,
        /// Window widths in tokens.
        widths: Vec<usize>,
    },
    /// Biased matrix factorisation over (user, item) ids ([`MatrixFactorization`]); binary tasks only.
    MatrixFactorization {
        /// Factor width.
        dim: usize,
    },
    /// A factorisation machine over categorical fields ([`FactorizationMachine`]); binary tasks only.
    FactorizationMachine {
        /// Factor width.
        dim: usize,
    },
}

fn default_resnet_width() -> usize {
    16
}

impl ModelConfig {
    /// A short name for reports (`"mlp"`, `"lenet5"`, `"text_cnn"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            ModelConfig::Mlp { .. } => "mlp",
            ModelConfig::LeNet5 { .. } => "lenet5",
            ModelConfig::ResNet { .. } => "resnet",
            ModelConfig::Logistic => "logistic",
            ModelConfig::EmbeddingBag { .. } => "embedding_bag",
            ModelConfig::TextCnn { .. } => "text_cnn",
            ModelConfig::MatrixFactorization { .. } => "matrix_factorization",
            ModelConfig::FactorizationMachine { .. } => "factorization_machine",
        }
    }

    /// Builds the model for items described by `input`, with `outputs` logits per item (the number of
    /// classes, or 1 for a binary task), on `device`.
    ///
    /// # Errors
    ///
    /// [`Error::NoClasses`] for zero outputs; [`Error::WrongInput`] when the model cannot read this kind of
    /// input; [`Error::OneOutput`] for a recommender asked for more than one logit; [`Error::ZeroWidth`],
    /// [`Error::InputTooSmall`] or [`Error::TooShort`] for a config that cannot be built.
    pub fn init(&self, input: &InputSpec, outputs: usize, device: &Device) -> Result<Classifier> {
        if outputs == 0 {
            return Err(Error::NoClasses(outputs));
        }
        if input.item_len() == 0 || matches!(input, InputSpec::Ids { cardinalities } if cardinalities.contains(&0)) {
            return Err(Error::WrongInput { model: self.name(), input: input.clone(), reason: "every dimension must be positive".into() });
        }
        let wrong = |reason: &str| Error::WrongInput { model: self.name(), input: input.clone(), reason: reason.into() };
        let one_output = || if outputs == 1 { Ok(()) } else { Err(Error::OneOutput { model: self.name(), outputs }) };
        Ok(match (self, input) {
            (ModelConfig::Mlp { hidden }, InputSpec::Dense { .. } | InputSpec::Image { .. }) => {
                Classifier::Mlp(Mlp::new(input.item_len(), hidden, outputs, device)?)
            }
            (ModelConfig::Logistic, InputSpec::Dense { .. } | InputSpec::Image { .. }) => Classifier::Mlp(Mlp::new(input.item_len(), &[], outputs, device)?),
            (ModelConfig::Logistic, InputSpec::Ids { cardinalities }) => Classifier::IdLogistic(IdLogistic::new(cardinalities, outputs, device)?),
            (ModelConfig::LeNet5 { conv1_padding }, InputSpec::Image { shape }) => Classifier::LeNet5(LeNet5::new(*shape, *conv1_padding, outputs, device)?),
            (ModelConfig::ResNet { depth, width }, InputSpec::Image { shape }) => Classifier::ResNet(ResNet::new(shape[0], *depth, *width, outputs, device)?),
            (ModelConfig::EmbeddingBag { dim }, InputSpec::Tokens { vocab, .. }) => Classifier::EmbeddingBag(EmbeddingBag::new(*vocab, *dim, outputs, device)?),
            (ModelConfig::TextCnn { dim, filters, widths }, InputSpec::Tokens { len, vocab }) => {
                Classifier::TextCnn(TextCnn::new(*vocab, *len, *dim, *filters, widths, outputs, device)?)
            }
            (ModelConfig::MatrixFactorization { dim }, InputSpec::Ids { cardinalities }) => {
                one_output()?;
                match cardinalities[..] {
                    [users, items] => Classifier::MatrixFactorization(MatrixFactorization::new(users, items, *dim, device)?),
                    _ => return Err(wrong("matrix factorisation reads exactly two fields: user and item")),
                }
            }
            (ModelConfig::FactorizationMachine { dim }, InputSpec::Ids { cardinalities }) => {
                one_output()?;
                Classifier::FactorizationMachine(FactorizationMachine::new(cardinalities, *dim, device)?)
            }
            (ModelConfig::Mlp { .. } | ModelConfig::Logistic, _) => return Err(wrong("it reads dense features or images")),
            (ModelConfig::LeNet5 { .. } | ModelConfig::ResNet { .. }, _) => return Err(wrong("it reads images")),
            (ModelConfig::EmbeddingBag { .. } | ModelConfig::TextCnn { .. }, _) => return Err(wrong("it reads token sequences")),
            (ModelConfig::MatrixFactorization { .. } | ModelConfig::FactorizationMachine { .. }, _) => {
                return Err(wrong("it reads categorical ids"));
            }
        })
    }
}

/// Any OWM model: typed inputs in, logits `[batch, outputs]` out.
///
/// Burn enum modules add the variant name to parameter paths; OWM's path walkers (`owm_core::param_infos`)
/// leave it out, so a `Classifier::Mlp` has the same paths as the bare [`Mlp`].
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // Built once per run and rarely moved; Burn's derive takes no `Box` fields.
pub enum Classifier {
    /// A multi-layer perceptron (or logistic regression, without hidden layers).
    Mlp(Mlp),
    /// LeNet-5.
    LeNet5(LeNet5),
    /// A residual network.
    ResNet(ResNet),
    /// Logistic regression over categorical ids.
    IdLogistic(IdLogistic),
    /// A fastText-style embedding bag.
    EmbeddingBag(EmbeddingBag),
    /// A 1-D text CNN.
    TextCnn(TextCnn),
    /// Matrix factorisation.
    MatrixFactorization(MatrixFactorization),
    /// A factorisation machine.
    FactorizationMachine(FactorizationMachine),
}

impl Classifier {
    /// Logits for a batch.
    ///
    /// # Shapes
    ///
    /// The input kind the model was built for ([`ModelConfig::init`]) → `[batch, outputs]`.
    ///
    /// # Panics
    ///
    /// On an input kind the model was not built for (a dataset/model mismatch that `init` rules out).
    pub fn forward(&self, input: Input) -> Tensor<2> {
        match (self, input) {
            (Classifier::Mlp(m), Input::Image(x)) => m.forward(x),
            (Classifier::Mlp(m), Input::Dense(x)) => m.forward_flat(x),
            (Classifier::LeNet5(m), Input::Image(x)) => m.forward(x),
            (Classifier::ResNet(m), Input::Image(x)) => m.forward(x),
            (Classifier::IdLogistic(m), Input::Ids(x)) => m.forward(x),
            (Classifier::EmbeddingBag(m), Input::Tokens(x)) => m.forward(x),
            (Classifier::TextCnn(m), Input::Tokens(x)) => m.forward(x),
            (Classifier::MatrixFactorization(m), Input::Ids(x)) => m.forward(x),
            (Classifier::FactorizationMachine(m), Input::Ids(x)) => m.forward(x),
            (_, x) => panic!("this model cannot read {} inputs; build it with ModelConfig::init for the dataset's InputSpec", x.kind()),
        }
    }

    /// Per-example gradients of `loss(logits)` (one term per row), each parameter's `[batch, size]` in
    /// parameter order, in one batched pass, for the models whose layers have a per-example formula (the
    /// MLP, logistic regression over features, LeNet-5); `None` for the others, which take one backward pass per
    /// example instead. Needs an autodiff device.
    pub fn per_example_grads(&self, input: Input, loss: impl FnOnce(Tensor<2>) -> Tensor<1>) -> Option<Vec<Tensor<2>>> {
        match (self, input) {
            (Classifier::Mlp(m), Input::Image(x)) => Some(m.per_example_grads(x.flatten(1, 3), loss)),
            (Classifier::Mlp(m), Input::Dense(x)) => Some(m.per_example_grads(x, loss)),
            (Classifier::LeNet5(m), Input::Image(x)) => m.per_example_grads(x, loss),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_round_trip_configs_through_json() {
        let text = ModelConfig::TextCnn { dim: 8, filters: 4, widths: vec![2, 3] };
        for c in [ModelConfig::Mlp { hidden: vec![64, 32] }, ModelConfig::LeNet5 { conv1_padding: 2 }, ModelConfig::Logistic, text] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<ModelConfig>(&json).unwrap(), c);
        }
        assert_eq!(serde_json::from_str::<ModelConfig>(r#"{"kind":"lenet5"}"#).unwrap(), ModelConfig::LeNet5 { conv1_padding: 0 });
    }

    #[test]
    fn should_need_outputs() {
        let err = ModelConfig::Mlp { hidden: vec![] }.init(&InputSpec::Image { shape: [1, 2, 2] }, 0, &Device::flex()).unwrap_err();
        assert!(matches!(err, Error::NoClasses(0)));
    }

    #[test]
    fn should_keep_inner_paths_inside_the_enum() {
        let m = ModelConfig::Mlp { hidden: vec![4] }.init(&InputSpec::Image { shape: [1, 2, 2] }, 3, &Device::flex()).unwrap();
        let paths: Vec<String> = owm_core::param_infos(&m).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]);
    }
}

#[cfg(test)]
mod seam_tests {
    use super::*;

    #[test]
    fn should_refuse_inputs_a_model_cannot_read() {
        let device = Device::flex();
        let tokens = InputSpec::Tokens { len: 8, vocab: 20 };
        let err = ModelConfig::LeNet5 { conv1_padding: 0 }.init(&tokens, 2, &device).unwrap_err();
        assert!(matches!(err, Error::WrongInput { model: "lenet5", .. }), "{err}");
        let ids = InputSpec::Ids { cardinalities: vec![3, 4, 5] };
        let err = ModelConfig::MatrixFactorization { dim: 2 }.init(&ids, 1, &device).unwrap_err();
        assert!(matches!(err, Error::WrongInput { .. }), "{err}");
        let err = ModelConfig::FactorizationMachine { dim: 2 }.init(&ids, 3, &device).unwrap_err();
        assert!(matches!(err, Error::OneOutput { outputs: 3, .. }), "{err}");
    }

    #[test]
    fn should_name_parameters_by_role() {
        let device = Device::flex();
        let paths = |m: &Classifier| owm_core::param_infos(m).into_iter().map(|p| p.path).collect::<Vec<_>>();
        let ids = InputSpec::Ids { cardinalities: vec![3, 4] };
        let mf = ModelConfig::MatrixFactorization { dim: 2 }.init(&ids, 1, &device).unwrap();
        assert_eq!(paths(&mf), ["users.weight", "items.weight", "user_bias.weight", "item_bias.weight", "bias"]);
        let lr = ModelConfig::Logistic.init(&InputSpec::Dense { features: 5 }, 2, &device).unwrap();
        assert_eq!(paths(&lr), ["layers.0.weight", "layers.0.bias"]);
        let x = Input::Dense(Tensor::zeros([3, 5], &device));
        assert_eq!(lr.forward(x).dims(), [3, 2]);
    }
}
