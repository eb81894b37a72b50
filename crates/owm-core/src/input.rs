//! The data ↔ model seam: what a model reads per item ([`InputSpec`]), a batch of it as tensors ([`Input`]),
//! and what it predicts ([`Task`], which names the loss and the metrics).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

/// What a model reads, per item; a dataset describes its items with one, a model config is built for one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputSpec {
    /// A row of `features` numbers (tabular data after encoding).
    Dense {
        /// Numbers per item.
        features: usize,
    },
    /// An image `[channels, height, width]`.
    Image {
        /// `[channels, height, width]`.
        shape: [usize; 3],
    },
    /// A token sequence padded (with id 0) or truncated to `len`, ids below `vocab`.
    Tokens {
        /// Tokens per item.
        len: usize,
        /// Vocabulary size (ids `0..vocab`; 0 is padding).
        vocab: usize,
    },
    /// One categorical id per field (user, item, side features): field `f` takes ids `0..cardinalities[f]`.
    Ids {
        /// Number of distinct ids of each field.
        cardinalities: Vec<usize>,
    },
}

impl InputSpec {
    /// A short name (`"dense"`, `"image"`, `"tokens"`, `"ids"`).
    pub fn kind(&self) -> &'static str {
        match self {
            InputSpec::Dense { .. } => "dense",
            InputSpec::Image { .. } => "image",
            InputSpec::Tokens { .. } => "tokens",
            InputSpec::Ids { .. } => "ids",
        }
    }

    /// Numbers per item as the batch tensor holds them (features, pixels, tokens or fields).
    pub fn item_len(&self) -> usize {
        match self {
            InputSpec::Dense { features } => *features,
            InputSpec::Image { shape } => shape.iter().product(),
            InputSpec::Tokens { len, .. } => *len,
            InputSpec::Ids { cardinalities } => cardinalities.len(),
        }
    }
}

/// A weight table that a model reads only by row, at ids of its input (an embedding): a batch's gradient is
/// zero outside the rows its items name, which lets a lazy optimiser update those rows alone (as PyTorch's
/// sparse embedding gradients with `SparseAdam`). A model declares its tables; the pipeline finds each
/// batch's rows from the ids it holds on the host, without reading the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// The table's parameter path (`"embedding.weight"`); rows along its first dimension.
    pub path: String,
    /// Which ids of an item index it.
    pub ids: LookupIds,
}

/// Which ids of an item index a [`Lookup`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupIds {
    /// Every token id of a token sequence (padding included).
    Tokens,
    /// The id of field `f` of categorical ids.
    Field(usize),
}

impl Lookup {
    /// The table at `path` indexed by `ids`.
    pub fn new(path: impl Into<String>, ids: LookupIds) -> Self {
        Self { path: path.into(), ids }
    }
}

/// A batch of inputs on a device, as a model's `forward` takes it.
#[derive(Debug, Clone)]
pub enum Input {
    /// `[batch, features]`.
    Dense(Tensor<2>),
    /// `[batch, channels, height, width]`.
    Image(Tensor<4>),
    /// `[batch, len]` token ids.
    Tokens(Tensor<2, Int>),
    /// `[batch, fields]` categorical ids.
    Ids(Tensor<2, Int>),
}

impl Input {
    /// Items in the batch.
    pub fn batch_size(&self) -> usize {
        match self {
            Input::Dense(t) => t.dims()[0],
            Input::Image(t) => t.dims()[0],
            Input::Tokens(t) | Input::Ids(t) => t.dims()[0],
        }
    }

    /// A short name of the kind (as [`InputSpec::kind`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Input::Dense(_) => "dense",
            Input::Image(_) => "image",
            Input::Tokens(_) => "tokens",
            Input::Ids(_) => "ids",
        }
    }
}

/// What is predicted, which fixes the model's outputs, the loss and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// One of `n` classes: `n` logits, softmax cross-entropy; accuracy, precision, recall, F1.
    #[default]
    Classification,
    /// Yes or no (a click, a diagnosis): one logit, sigmoid binary cross-entropy; the classification metrics
    /// at threshold 0.5 plus ROC AUC, average precision and log loss of the probabilities, and ranking
    /// metrics per group when the data has groups (users).
    Binary,
}

impl Task {
    /// The model outputs for `num_classes` classes.
    pub fn outputs(self, num_classes: usize) -> usize {
        match self {
            Task::Classification => num_classes,
            Task::Binary => 1,
        }
    }

    /// Summed loss of `logits` (`[batch, outputs]`) against class `labels` (`[batch]`), and the number of correct
    /// predictions (argmax, or logit > 0 for [`Task::Binary`]), both still on the device.
    pub fn loss_and_correct(self, logits: Tensor<2>, labels: Tensor<1, Int>) -> (Tensor<1>, Tensor<1, Int>) {
        let n = labels.dims()[0];
        match self {
            Task::Classification => {
                let correct = logits.clone().argmax(1).reshape([n]).equal(labels.clone()).int().sum();
                let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&logits.device()).forward(logits, labels);
                (loss.mul_scalar(n as f64), correct)
            }
            Task::Binary => {
                let z: Tensor<1> = logits.reshape([n]);
                let y = labels.clone().float();
                let correct = z.clone().greater_elem(0.0).int().equal(labels).int().sum();
                // Stable BCE with logits: max(z, 0) − z·y + ln(1 + e^−|z|).
                let loss = z.clone().clamp_min(0.0) - z.clone() * y + z.abs().neg().exp().add_scalar(1.0).log();
                (loss.sum(), correct)
            }
        }
    }

    /// Per-item predicted probabilities from logits of one item (`outputs` values): softmax for
    /// classification, `[1 − p, p]` with `p = sigmoid(z)` for binary; and the predicted class.
    pub fn probabilities(self, logits: &[f32]) -> (Vec<f64>, usize) {
        let probs: Vec<f64> = match self {
            Task::Classification => {
                let max = logits.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
                let e: Vec<f64> = logits.iter().map(|&v| (f64::from(v) - max).exp()).collect();
                let s: f64 = e.iter().sum();
                e.into_iter().map(|v| v / s).collect()
            }
            Task::Binary => {
                let p = 1.0 / (1.0 + (-f64::from(logits[0])).exp());
                vec![1.0 - p, p]
            }
        };
        let best = match self {
            Task::Classification => probs.iter().enumerate().fold(0, |b, (i, v)| if *v > probs[b] { i } else { b }),
            Task::Binary => usize::from(logits[0] > 0.0),
        };
        (probs, best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(t: Tensor<1>) -> f32 {
        t.into_data().try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn binary_loss_should_match_torch() {
        // torch.nn.functional.binary_cross_entropy_with_logits(torch.tensor([2., -1., 30., -30.]),
        //     torch.tensor([1., 1., 0., 0.]), reduction="sum") -> 31.4401 (0.126928 + 1.313262 + 30.0 + ~0)
        let device = Device::flex();
        let z = Tensor::<2>::from_data(TensorData::new(vec![2.0f32, -1.0, 30.0, -30.0], [4, 1]), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 1, 0, 0], [4]), &device);
        let (loss, correct) = Task::Binary.loss_and_correct(z, y);
        assert!((read(loss) - 31.440_19).abs() < 1e-4);
        assert_eq!(correct.into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), [2]); // items 0 and 3
    }

    #[test]
    fn should_turn_logits_into_probabilities() {
        let (p, c) = Task::Binary.probabilities(&[0.0]);
        assert_eq!((p, c), (vec![0.5, 0.5], 0));
        let (p, c) = Task::Classification.probabilities(&[0.0, (2.0f32).ln()]);
        assert!((p[1] - 2.0 / 3.0).abs() < 1e-6);
        assert_eq!(c, 1);
        assert_eq!(Task::Binary.outputs(2), 1);
    }
}
