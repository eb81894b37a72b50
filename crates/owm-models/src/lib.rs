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
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

pub mod batch_norm;
mod error;
mod im2col;
pub mod kernels;
mod lenet;
mod mlp;
mod model;
mod per_example;
mod recsys;
mod resnet;
mod text;
mod torch_source;

pub use error::{Error, Result};
pub use lenet::LeNet5;
pub use mlp::Mlp;
pub use model::{CustomModel, Model, describe};
pub use recsys::{FactorizationMachine, IdLogistic, MatrixFactorization};
pub use resnet::{BasicBlock, Projection, ResNet};
pub use text::{EmbeddingBag, TextCnn};
pub use torch_source::torch_module_source;

use burn::prelude::*;
use owm_core::{Input, InputSpec, Lookup, LookupIds, Validate};
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
    /// A user's own module (a [`Model`] defined outside this crate), trained through
    /// `owm_train::train_model`: recorded by its Rust type (the manifest holds its tree and parameter shapes,
    /// [`CustomModel`]), never built from the config.
    Custom {
        /// Its Rust type (`std::any::type_name`).
        name: String,
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
            ModelConfig::Custom { .. } => "custom",
        }
    }

    /// The name a person reads: a user model's Rust type, else [`ModelConfig::name`].
    pub fn label(&self) -> &str {
        match self {
            ModelConfig::Custom { name } => name,
            built_in => built_in.name(),
        }
    }

    /// How many values the model built by [`ModelConfig::init`] for `input` and `outputs` stores (parameters
    /// and buffers such as batch-norm statistics), computed without building it, so that a model too large
    /// for memory is refused before anything is allocated; saturates instead of overflowing. `None` when the
    /// model cannot read this input (as `init` would refuse it).
    pub fn stored_values(&self, input: &InputSpec, outputs: usize) -> Option<u128> {
        let u = |n: usize| n as u128;
        let linear = |a: u128, b: u128| a.saturating_mul(b).saturating_add(b);
        Some(match (self, input) {
            (ModelConfig::Mlp { hidden }, InputSpec::Dense { .. } | InputSpec::Image { .. }) => {
                let widths: Vec<u128> = std::iter::once(input.item_len()).chain(hidden.iter().copied()).chain([outputs]).map(u).collect();
                widths.windows(2).fold(0u128, |acc, w| acc.saturating_add(linear(w[0], w[1])))
            }
            (ModelConfig::Logistic, InputSpec::Dense { .. } | InputSpec::Image { .. }) => linear(u(input.item_len()), u(outputs)),
            (ModelConfig::Logistic, InputSpec::Ids { cardinalities }) => {
                cardinalities.iter().fold(u(outputs), |acc, &c| acc.saturating_add(u(c).saturating_mul(u(outputs))))
            }
            (ModelConfig::LeNet5 { conv1_padding }, InputSpec::Image { shape: [c, h, w] }) => {
                let side = |n: usize| (u(n) + 2 * u(*conv1_padding)).saturating_sub(4) / 2;
                let (oh, ow) = (side(*h).saturating_sub(4) / 2, side(*w).saturating_sub(4) / 2);
                [linear(u(*c) * 25, 6), linear(6 * 25, 16), linear(16u128.saturating_mul(oh).saturating_mul(ow), 120), linear(120, 84), linear(84, u(outputs))]
                    .into_iter()
                    .fold(0u128, u128::saturating_add)
            }
            (ModelConfig::ResNet { depth, width }, InputSpec::Image { shape }) => {
                // Conv2d without bias; a batch norm keeps 4 values per channel (scale, shift, running mean
                // and variance).
                let conv = |a: u128, b: u128, k: u128| a.saturating_mul(b).saturating_mul(k * k);
                let bn = |c: u128| c.saturating_mul(4);
                let (n, w) = (u(depth.saturating_sub(2) / 6), u(*width));
                let mut total = conv(u(shape[0]), w, 3).saturating_add(bn(w));
                let mut c_in = w;
                for stage in 0..3u32 {
                    let c_out = w.saturating_mul(1 << stage);
                    for b in 0..n {
                        let projection = if b == 0 && c_in != c_out { conv(c_in, c_out, 1).saturating_add(bn(c_out)) } else { 0 };
                        let block = conv(c_in, c_out, 3).saturating_add(conv(c_out, c_out, 3)).saturating_add(bn(c_out) * 2).saturating_add(projection);
                        total = total.saturating_add(block);
                        c_in = c_out;
                    }
                }
                total.saturating_add(linear(w.saturating_mul(4), u(outputs)))
            }
            (ModelConfig::EmbeddingBag { dim }, InputSpec::Tokens { vocab, .. }) => {
                u(*vocab).saturating_mul(u(*dim)).saturating_add(linear(u(*dim), u(outputs)))
            }
            (ModelConfig::TextCnn { dim, filters, widths }, InputSpec::Tokens { vocab, .. }) => {
                let convs = widths.iter().fold(0u128, |acc, &k| acc.saturating_add(linear(u(*dim).saturating_mul(u(k)), u(*filters))));
                u(*vocab).saturating_mul(u(*dim)).saturating_add(convs).saturating_add(linear(u(*filters).saturating_mul(u(widths.len())), u(outputs)))
            }
            (ModelConfig::MatrixFactorization { dim }, InputSpec::Ids { cardinalities }) => {
                cardinalities.iter().fold(1u128, |acc, &c| acc.saturating_add(u(c).saturating_mul(u(*dim) + 1)))
            }
            (ModelConfig::FactorizationMachine { dim }, InputSpec::Ids { cardinalities }) => {
                cardinalities.iter().fold(1u128, |acc, &c| acc.saturating_add(u(c).saturating_mul(u(*dim) + 1)))
            }
            _ => return None,
        })
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
            (ModelConfig::Custom { name }, _) => return Err(Error::Custom(name.clone())),
        })
    }
}

/// The rules a model config must follow whatever data it meets (checked before a run writes anything); what
/// depends on the data (input kind, sequence length, image size) is checked by [`ModelConfig::init`].
impl Validate for ModelConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        let zero = |field: String| Err(Error::ZeroSize { model: self.name(), field });
        match self {
            ModelConfig::Mlp { hidden } => match hidden.iter().position(|&w| w == 0) {
                Some(layer) => Err(Error::ZeroWidth { layer }),
                None => Ok(()),
            },
            ModelConfig::LeNet5 { .. } | ModelConfig::Logistic => Ok(()),
            ModelConfig::Custom { name } if name.is_empty() => zero("name".into()),
            ModelConfig::Custom { .. } => Ok(()),
            ModelConfig::ResNet { depth, width } => {
                if *depth < 8 || !(depth - 2).is_multiple_of(6) {
                    Err(Error::Depth(*depth))
                } else if *width == 0 {
                    zero("width".into())
                } else {
                    Ok(())
                }
            }
            ModelConfig::EmbeddingBag { dim } | ModelConfig::MatrixFactorization { dim } | ModelConfig::FactorizationMachine { dim } if *dim == 0 => {
                zero("dim".into())
            }
            ModelConfig::EmbeddingBag { .. } | ModelConfig::MatrixFactorization { .. } | ModelConfig::FactorizationMachine { .. } => Ok(()),
            ModelConfig::TextCnn { dim, filters, widths } => {
                if *dim == 0 {
                    zero("dim".into())
                } else if *filters == 0 {
                    zero("filters".into())
                } else if widths.is_empty() {
                    zero("widths (the number of window widths)".into())
                } else if let Some(i) = widths.iter().position(|&w| w == 0) {
                    zero(format!("widths[{i}]"))
                } else {
                    Ok(())
                }
            }
        }
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

    /// The weight tables the model reads only by row ([`Model::lookups`]): the token embeddings of the text
    /// models, every table of the id models (matrix factorisation, factorisation machine, logistic regression
    /// over ids), each indexed by its field.
    pub fn lookups(&self) -> Vec<Lookup> {
        let fields = |tables: &[&str], count: usize| -> Vec<Lookup> {
            tables.iter().flat_map(|t| (0..count).map(move |f| Lookup::new(format!("{t}.{f}.weight"), LookupIds::Field(f)))).collect()
        };
        match self {
            Classifier::Mlp(_) | Classifier::LeNet5(_) | Classifier::ResNet(_) => Vec::new(),
            Classifier::EmbeddingBag(_) | Classifier::TextCnn(_) => vec![Lookup::new("embedding.weight", LookupIds::Tokens)],
            Classifier::IdLogistic(m) => fields(&["fields"], m.fields.len()),
            Classifier::FactorizationMachine(m) => fields(&["linear", "factors"], m.factors.len()),
            Classifier::MatrixFactorization(_) => [("users", 0), ("user_bias", 0), ("items", 1), ("item_bias", 1)]
                .into_iter()
                .map(|(t, f)| Lookup::new(format!("{t}.weight"), LookupIds::Field(f)))
                .collect(),
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
    fn should_count_the_values_a_model_stores_without_building_it() {
        let device = Device::flex();
        let image = InputSpec::Image { shape: [3, 20, 18] };
        let tokens = InputSpec::Tokens { len: 7, vocab: 50 };
        let ids = InputSpec::Ids { cardinalities: vec![5, 9] };
        let cases = [
            (ModelConfig::Mlp { hidden: vec![7, 5] }, image.clone(), 4),
            (ModelConfig::Mlp { hidden: vec![] }, InputSpec::Dense { features: 6 }, 3),
            (ModelConfig::Logistic, ids.clone(), 3),
            (ModelConfig::LeNet5 { conv1_padding: 2 }, image.clone(), 10),
            (ModelConfig::ResNet { depth: 14, width: 4 }, image, 10),
            (ModelConfig::EmbeddingBag { dim: 6 }, tokens.clone(), 4),
            (ModelConfig::TextCnn { dim: 6, filters: 3, widths: vec![2, 3] }, tokens, 4),
            (ModelConfig::MatrixFactorization { dim: 4 }, ids.clone(), 1),
            (ModelConfig::FactorizationMachine { dim: 4 }, ids, 1),
        ];
        for (config, input, outputs) in cases {
            let model = config.init(&input, outputs, &device).unwrap();
            let stored: usize = owm_core::state_data(&model).iter().map(|(_, d)| d.num_elements()).sum();
            assert_eq!(config.stored_values(&input, outputs), Some(stored as u128), "{config:?}");
        }
        // What `init` refuses has no count, and an absurd request saturates instead of overflowing.
        assert_eq!(ModelConfig::LeNet5 { conv1_padding: 0 }.stored_values(&InputSpec::Dense { features: 4 }, 2), None);
        let huge = ModelConfig::Mlp { hidden: vec![usize::MAX; 3] };
        assert_eq!(huge.stored_values(&InputSpec::Dense { features: usize::MAX }, 2), Some(u128::MAX));
    }

    #[test]
    fn check_should_refuse_a_zero_hidden_width() {
        assert!(matches!(ModelConfig::Mlp { hidden: vec![8, 0] }.check(), Err(Error::ZeroWidth { layer: 1 })));
    }

    #[test]
    fn check_should_refuse_a_resnet_depth_not_6n_plus_2() {
        assert!(matches!(ModelConfig::ResNet { depth: 10, width: 16 }.check(), Err(Error::Depth(10))));
        assert!(matches!(ModelConfig::ResNet { depth: 2, width: 16 }.check(), Err(Error::Depth(2))));
    }

    #[test]
    fn check_should_refuse_zero_sizes() {
        let zero = |c: ModelConfig| match c.check() {
            Err(Error::ZeroSize { field, .. }) => field,
            other => panic!("{c:?}: {other:?}"),
        };
        assert_eq!(zero(ModelConfig::ResNet { depth: 8, width: 0 }), "width");
        assert_eq!(zero(ModelConfig::EmbeddingBag { dim: 0 }), "dim");
        assert_eq!(zero(ModelConfig::MatrixFactorization { dim: 0 }), "dim");
        assert_eq!(zero(ModelConfig::FactorizationMachine { dim: 0 }), "dim");
        assert_eq!(zero(ModelConfig::TextCnn { dim: 4, filters: 0, widths: vec![2] }), "filters");
        assert_eq!(zero(ModelConfig::TextCnn { dim: 4, filters: 2, widths: vec![] }), "widths (the number of window widths)");
        assert_eq!(zero(ModelConfig::TextCnn { dim: 4, filters: 2, widths: vec![2, 0] }), "widths[1]");
        assert!(ModelConfig::TextCnn { dim: 4, filters: 2, widths: vec![2, 3] }.check().is_ok());
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
