use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::{Error, Result};

/// A multi-layer perceptron: `Linear → ReLU → … → Linear` over the flattened input.
///
/// Parameters are `layers.{i}.weight` (`[in, out]`, Burn's row layout: the transpose of PyTorch's) and
/// `layers.{i}.bias` (`[out]`).
#[derive(Module, Debug)]
pub struct Mlp {
    /// The linear layers, input first.
    pub layers: Vec<Linear>,
}

impl Mlp {
    /// An MLP from `inputs` features through `hidden` widths to `outputs` logits, with Burn's default init
    /// (PyTorch's `U(±1/√fan_in)`); apply an `owm-init` plan to choose another.
    ///
    /// # Errors
    ///
    /// [`Error::ZeroWidth`] for a hidden width of 0.
    pub fn new(inputs: usize, hidden: &[usize], outputs: usize, device: &Device) -> Result<Self> {
        if let Some(layer) = hidden.iter().position(|&h| h == 0) {
            return Err(Error::ZeroWidth { layer });
        }
        let widths: Vec<usize> = std::iter::once(inputs).chain(hidden.iter().copied()).chain([outputs]).collect();
        Ok(Self { layers: widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect() })
    }

    /// Logits for a batch.
    ///
    /// # Shapes
    ///
    /// `[batch, channels, height, width]` → `[batch, outputs]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.forward_flat(images.flatten(1, 3))
    }

    /// Logits for a batch of feature rows.
    ///
    /// # Shapes
    ///
    /// `[batch, features]` → `[batch, outputs]`.
    pub fn forward_flat(&self, features: Tensor<2>) -> Tensor<2> {
        let mut x = features;
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = relu(x);
            }
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_widths_must_be_positive() {
        assert!(matches!(Mlp::new(4, &[3, 0], 2, &Device::flex()), Err(Error::ZeroWidth { layer: 1 })));
    }

    #[test]
    fn should_compute_a_known_forward_pass() {
        let device = Device::flex();
        let mlp = owm_core::replace_params(Mlp::new(2, &[2], 1, &device).unwrap(), |path, shape| {
            let v: Vec<f32> = match path {
                "layers.0.weight" => vec![1.0, -1.0, 2.0, 1.0], // [in, out]
                "layers.0.bias" => vec![0.0, -10.0],
                "layers.1.weight" => vec![3.0, 5.0],
                _ => vec![0.5],
            };
            Ok(Some(TensorData::new(v, shape.to_vec())))
        })
        .unwrap();
        // x = [1, 1]: hidden = relu([1 + 2, -1 + 1 - 10]) = [3, 0]; out = 3 * 3 + 0 * 5 + 0.5.
        let y = mlp.forward(Tensor::<4>::ones([1, 1, 1, 2], &device));
        assert_eq!(y.into_data().try_to_vec::<f32>().unwrap(), [9.5]);
    }
}
