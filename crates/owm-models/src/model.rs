//! The model seam: what the pipeline, evaluation and bundles ask of a model.

use std::fmt::Display;

use burn::module::Module;
use burn::prelude::*;
use owm_core::{Input, Lookup};
use serde::{Deserialize, Serialize};

use crate::Classifier;

/// A model the pipeline can train, evaluate and bundle: any Burn module that maps a batch of
/// [`owm_core::Input`] to logits `[batch, outputs]`.
///
/// The built-in models are [`Classifier`]s built from a [`crate::ModelConfig`]. A user's own
/// `#[derive(Module)]` struct implements this trait and trains through `owm_train::train_model`, with the
/// same init records, trace, checkpoints, evaluation and bundle as a built-in model. Its manifest records it
/// as a [`CustomModel`]: its type name, module tree and parameter shapes.
///
/// # Example
///
/// ```
/// use burn::nn::{Linear, LinearConfig};
/// use burn::prelude::*;
/// use owm_core::{Input, Lookup};
///
/// #[derive(Module, Debug)]
/// struct Probe {
///     fc: Linear,
/// }
///
/// impl owm_models::Model for Probe {
///     fn forward(&self, input: Input) -> Tensor<2> {
///         match input {
///             Input::Dense(x) => self.fc.forward(x),
///             Input::Image(x) => self.fc.forward(x.flatten(1, 3)),
///             other => panic!("Probe reads features, not {}", other.kind()),
///         }
///     }
/// }
///
/// let device = Device::flex();
/// let probe = Probe { fc: LinearConfig::new(64, 10).init(&device) };
/// let logits = owm_models::Model::forward(&probe, Input::Dense(Tensor::zeros([3, 64], &device)));
/// assert_eq!(logits.dims(), [3, 10]);
/// assert!(owm_models::describe(&probe).name.ends_with("::Probe"));
/// ```
pub trait Model: Module + Display + Sync + 'static {
    /// Logits for a batch.
    ///
    /// # Shapes
    ///
    /// The input kind of the dataset the model is trained on → `[batch, outputs]`.
    fn forward(&self, input: Input) -> Tensor<2>;

    /// Per-example gradients of `loss(logits)` (one term per row), each parameter's `[batch, size]` in
    /// parameter order, in one batched pass; `None` (the default) makes differentially private training take
    /// one backward pass per example instead, which is correct for every model, only slower.
    fn per_example_grads(&self, input: Input, loss: impl FnOnce(Tensor<2>) -> Tensor<1>) -> Option<Vec<Tensor<2>>> {
        let _ = (input, loss);
        None
    }

    /// The weight tables this model reads only by row, at ids of its input (embeddings): a lazy optimiser
    /// updates only the rows each batch reads. The default, none, keeps every gradient dense; declaring a
    /// table the model also reads another way (a tied output layer) would drop that part of its gradient.
    fn lookups(&self) -> Vec<Lookup> {
        Vec::new()
    }
}

impl Model for Classifier {
    fn forward(&self, input: Input) -> Tensor<2> {
        Classifier::forward(self, input)
    }

    fn per_example_grads(&self, input: Input, loss: impl FnOnce(Tensor<2>) -> Tensor<1>) -> Option<Vec<Tensor<2>>> {
        Classifier::per_example_grads(self, input, loss)
    }

    fn lookups(&self) -> Vec<Lookup> {
        Classifier::lookups(self)
    }
}

/// A user model as the manifest records it: enough to check that another build of the same code has the
/// same structure, and to say by name what OWM cannot rebuild. In a config it is
/// [`crate::ModelConfig::Custom`] with the same name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "custom")]
pub struct CustomModel {
    /// Its Rust type (`std::any::type_name`).
    pub name: String,
    /// Its module tree as Burn prints it.
    pub tree: String,
    /// Every parameter's path and shape, in module order.
    pub params: Vec<(String, Vec<usize>)>,
}

/// `module` described by its Rust type, its module tree and its parameters' paths and shapes.
pub fn describe<M: Module + Display + 'static>(module: &M) -> CustomModel {
    let params = owm_core::param_infos(module).into_iter().map(|p| (p.path, p.shape)).collect();
    CustomModel { name: std::any::type_name::<M>().to_string(), tree: format!("{module}"), params }
}
