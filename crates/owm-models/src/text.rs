use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::{Error, Result};

/// A fastText-style embedding bag: the mean of the embeddings of a text's non-padding tokens, then a linear
/// layer to the outputs.
///
/// Parameters: `embedding.weight` (`[vocab, dim]`), `output.weight` (`[dim, outputs]`), `output.bias`.
///
/// ## References
///
/// Joulin, Grave, Bojanowski and Mikolov, "Bag of Tricks for Efficient Text Classification", EACL 2017.
#[derive(Module, Debug)]
pub struct EmbeddingBag {
    /// Token embeddings (row 0 is padding and is left out of the mean).
    pub embedding: Embedding,
    /// `dim → outputs`.
    pub output: Linear,
}

impl EmbeddingBag {
    /// An embedding bag over `vocab` token ids of width `dim`.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroWidth`] for `dim == 0`.
    pub fn new(vocab: usize, dim: usize, outputs: usize, device: &Device) -> Result<Self> {
        if dim == 0 {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        Ok(Self { embedding: EmbeddingConfig::new(vocab, dim).init(device), output: LinearConfig::new(dim, outputs).init(device) })
    }

    /// Logits for a batch of token sequences.
    ///
    /// # Shapes
    ///
    /// `tokens: [batch, len]` → `[batch, outputs]`.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let [n, _] = tokens.dims();
        let mask = tokens.clone().not_equal_elem(0).float(); // [n, len]
        let count = mask.clone().sum_dim(1).clamp_min(1.0); // [n, 1]
        let e = self.embedding.forward(tokens) * mask.unsqueeze_dim::<3>(2); // [n, len, dim]
        let dim = e.dims()[2];
        let mean = e.sum_dim(1).reshape([n, dim]) / count;
        self.output.forward(mean)
    }
}

/// A 1-D convolutional text classifier (Kim, 2014): embeddings, one convolution per window width with ReLU and
/// max-over-time pooling, the pooled features concatenated, then a linear layer.
///
/// Parameters: `embedding.weight` (`[vocab, dim]`), `convs.{i}.weight` (`[filters, dim, width_i]`),
/// `convs.{i}.bias`, `output.weight` (`[filters · widths, outputs]`), `output.bias`.
///
/// ## References
///
/// Kim, "Convolutional Neural Networks for Sentence Classification", EMNLP 2014.
#[derive(Module, Debug)]
pub struct TextCnn {
    /// Token embeddings.
    pub embedding: Embedding,
    /// One convolution per window width.
    pub convs: Vec<Conv1d>,
    /// Pooled features → outputs.
    pub output: Linear,
}

impl TextCnn {
    /// A text CNN over sequences of `len` ids below `vocab`.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroWidth`] for a zero `dim`, `filters` or width; [`Error::TooShort`] when a window is longer
    /// than the sequences.
    pub fn new(vocab: usize, len: usize, dim: usize, filters: usize, widths: &[usize], outputs: usize, device: &Device) -> Result<Self> {
        if dim == 0 || filters == 0 || widths.is_empty() {
            return Err(Error::ZeroWidth { layer: 0 });
        }
        if let Some(i) = widths.iter().position(|&w| w == 0) {
            return Err(Error::ZeroWidth { layer: i + 1 });
        }
        if let Some(&w) = widths.iter().find(|&&w| w > len) {
            return Err(Error::TooShort { what: format!("a convolution window of {w} tokens"), len });
        }
        Ok(Self {
            embedding: EmbeddingConfig::new(vocab, dim).init(device),
            convs: widths.iter().map(|&w| Conv1dConfig::new(dim, filters, w).init(device)).collect(),
            output: LinearConfig::new(filters * widths.len(), outputs).init(device),
        })
    }

    /// Logits for a batch of token sequences.
    ///
    /// # Shapes
    ///
    /// `tokens: [batch, len]` → `[batch, outputs]`.
    pub fn forward(&self, tokens: Tensor<2, Int>) -> Tensor<2> {
        let n = tokens.dims()[0];
        let e = self.embedding.forward(tokens).swap_dims(1, 2); // [n, dim, len]
        let pooled: Vec<Tensor<2>> = self
            .convs
            .iter()
            .map(|c| {
                let x = relu(c.forward(e.clone())); // [n, filters, len - w + 1]
                let filters = x.dims()[1];
                x.max_dim(2).reshape([n, filters])
            })
            .collect();
        self.output.forward(Tensor::cat(pooled, 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(v: Vec<i64>, shape: [usize; 2], device: &Device) -> Tensor<2, Int> {
        Tensor::from_data(TensorData::new(v, shape), device)
    }

    #[test]
    fn bag_should_average_only_real_tokens() {
        let device = Device::flex();
        let bag = owm_core::replace_params(EmbeddingBag::new(3, 1, 1, &device).unwrap(), |path, shape| {
            let v = match path {
                "embedding.weight" => vec![100.0, 2.0, 4.0], // the padding row must not count
                "output.weight" => vec![1.0],
                _ => vec![0.0],
            };
            Ok(Some(TensorData::new(v, shape.to_vec())))
        })
        .unwrap();
        let y = bag.forward(tokens(vec![1, 2, 0, 0, 0, 0], [2, 3], &device));
        assert_eq!(y.into_data().try_to_vec::<f32>().unwrap(), [3.0, 0.0]);
    }

    #[test]
    fn cnn_should_pool_each_window_width() {
        let device = Device::flex();
        let m = TextCnn::new(10, 6, 4, 3, &[2, 3], 5, &device).unwrap();
        assert_eq!(m.forward(tokens(vec![1; 12], [2, 6], &device)).dims(), [2, 5]);
        assert!(matches!(TextCnn::new(10, 2, 4, 3, &[3], 5, &device), Err(Error::TooShort { len: 2, .. })));
    }
}
