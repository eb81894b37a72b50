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

    /// Every parameter's per-example gradient of `loss(logits)`, a loss that sums one term per row, in
    /// parameter order (`layers.0.weight`, `layers.0.bias`, ...), each `[batch, size]`; by the linear layer's
    /// formula (Opacus's): the weight gradient of example `i` is `aᵢᵀ gᵢ`, its bias gradient `gᵢ`, where `aᵢ`
    /// is the layer's input and `gᵢ` the loss gradient at its output, read from a zero probe added to each
    /// output (see `per_example.rs`). One forward and one backward pass for the whole batch. Needs an
    /// autodiff device.
    pub fn per_example_grads(&self, features: Tensor<2>, loss: impl FnOnce(Tensor<2>) -> Tensor<1>) -> Vec<Tensor<2>> {
        let mut x = features;
        let last = self.layers.len() - 1;
        let mut taps = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let (y, tap) = crate::per_example::tap(&x, layer.forward(x.clone()));
            taps.push(tap);
            x = if i < last { relu(y) } else { y };
        }
        let grads = loss(x).backward();
        self.layers.iter().zip(taps).flat_map(|(layer, tap)| crate::per_example::linear(layer, tap, &grads)).collect()
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

    fn rows(t: Tensor<2>) -> Vec<Vec<f32>> {
        let [b, n] = t.dims();
        let v = t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        (0..b).map(|i| v[i * n..(i + 1) * n].to_vec()).collect()
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // `i` picks both the example and its row of every gradient.
    fn per_example_gradients_should_equal_one_backward_pass_per_example() {
        let device = Device::flex().autodiff();
        let mlp = Mlp::new(6, &[5, 4], 3, &device).unwrap();
        let x = Tensor::<2>::random([7, 6], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let targets = Tensor::<2>::random([7, 3], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        // Any loss with one term per row: squared error here.
        let loss = |t: Tensor<2>| move |logits: Tensor<2>| (logits - t).powi_scalar(2).sum();
        let batched: Vec<Vec<Vec<f32>>> = mlp.per_example_grads(x.clone(), loss(targets.clone())).into_iter().map(rows).collect();
        assert_eq!(batched.len(), 6);
        for i in 0..7 {
            let xi = x.clone().slice([i..i + 1, 0..6]);
            let ti = targets.clone().slice([i..i + 1, 0..3]);
            let grads = loss(ti)(mlp.forward_flat(xi)).backward();
            let mut k = 0;
            for layer in &mlp.layers {
                let weight = layer.weight.val().grad(&grads).map(|g| g.flatten::<1>(0, 1));
                let bias = layer.bias.as_ref().and_then(|b| b.val().grad(&grads));
                for g in [weight, bias].into_iter().flatten() {
                    let single = g.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
                    for (a, b) in batched[k][i].iter().zip(&single) {
                        assert!((a - b).abs() <= 1e-5, "param {k}, example {i}: {a} vs {b}");
                    }
                    k += 1;
                }
            }
            assert_eq!(k, 6, "every parameter compared");
        }
    }
}
