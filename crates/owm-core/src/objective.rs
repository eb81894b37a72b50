//! The objective both optimiser families use: the pipeline provides it for any model and task.

use burn::prelude::*;

use crate::{ParamMeta, ParamSet, Result};

/// Which training items an evaluation of candidate weights uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Sample {
    /// Every training item.
    Full,
    /// The next `size` items of the shuffled training order (all candidates of one call see the same items).
    Batch {
        /// Items.
        size: usize,
    },
}

/// The loss and gradient of one mini-batch.
#[derive(Debug, Clone)]
pub struct Gradient {
    /// Mean loss of the batch at the weights the gradient was taken at.
    pub loss: f64,
    /// Gradient per parameter, aligned with [`Objective::params`] (`None`: the parameter got none).
    pub grads: Vec<Option<Tensor<1>>>,
    /// Items in the batch.
    pub items: usize,
    /// Items the model classified correctly, when the task has a notion of correctness.
    pub correct: Option<usize>,
    /// Epoch of the batch, from 1.
    pub epoch: u64,
    /// Whether this batch ended its epoch.
    pub epoch_end: bool,
    /// Digest of the batch's item indices, recorded in the trace so a replay can check the data order.
    pub batch: Option<String>,
}

/// The digest a trace records for a batch: the first 16 hex digits of the SHA-256 of its item indices, in
/// order, as little-endian `u64`s.
pub fn batch_digest(indices: &[usize]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for &i in indices {
        h.update((i as u64).to_le_bytes());
    }
    let full = format!("{:x}", h.finalize());
    full[..16].to_string()
}

/// What DP-SGD asks of an objective: a batch drawn by Poisson sampling — each training item independently with
/// probability `rate`, the sampling the privacy accountant assumes — and each item's gradient clipped to L2
/// norm `clip` over all parameters together.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrivateSample {
    /// Probability that an item is in the batch.
    pub rate: f64,
    /// Per-item gradient norm bound.
    pub clip: f64,
}

/// A Poisson-sampled batch's clipped per-item gradients, summed (not averaged: the mechanism adds noise to
/// the sum), with how many items were clipped.
#[derive(Debug, Clone)]
pub struct PrivateGradient {
    /// The sum in `grads`; the mean loss, items, accuracy, epoch and batch digest as for [`Objective::gradient`].
    pub gradient: Gradient,
    /// Items whose gradient norm exceeded the bound and was scaled down to it.
    pub clipped: usize,
}

/// The value of one candidate weight vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitness {
    /// Mean loss (lower is better); `+∞` stands for a candidate whose loss is not finite.
    pub loss: f64,
    /// Fraction of items classified correctly, when the task has one.
    pub accuracy: Option<f64>,
}

/// "The loss of these weights on this data", asked by optimisers and provided by the pipeline.
///
/// Gradient methods call [`Objective::gradient`] (one mini-batch per call, in the pipeline's seeded order);
/// search methods call [`Objective::evaluate`] with many candidate weight vectors at once, which an
/// implementation may evaluate in parallel. Candidates are host vectors laid out as [`ParamSet::to_host`].
pub trait Objective {
    /// Paths and shapes of the parameters, in the order of every vector and gradient list.
    fn params(&self) -> &[ParamMeta];

    /// Loss and gradient of `params` on the next training mini-batch; advances the data position.
    ///
    /// # Errors
    ///
    /// An implementation's error (a failed data read, say), as [`crate::Error`].
    fn gradient(&mut self, params: &ParamSet) -> Result<Gradient>;

    /// The summed, per-item clipped gradient of a Poisson-sampled batch at `params` (DP-SGD); advances the
    /// sampling step.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Unsupported`] by default: an objective without per-item gradients cannot train
    /// privately.
    fn private_gradient(&mut self, params: &ParamSet, sample: PrivateSample) -> Result<PrivateGradient> {
        let _ = (params, sample);
        Err(crate::Error::Unsupported("per-example gradients (differentially private training)"))
    }

    /// Loss (and metric) of each candidate on `sample`.
    ///
    /// # Errors
    ///
    /// An implementation's error, or a candidate of the wrong length.
    fn evaluate(&mut self, candidates: &[Vec<f32>], sample: Sample) -> Result<Vec<Fitness>>;

    /// Items in the training data (one epoch).
    fn train_items(&self) -> usize;

    /// Whether gradients are taken over the whole training data (one batch per epoch).
    fn full_batch(&self) -> bool {
        false
    }
}
