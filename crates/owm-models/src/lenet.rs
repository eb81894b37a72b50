use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::{Error, Result, kernels};

/// LeNet-5 as in the reference design: conv 5×5 (C→6), max-pool 2, conv 5×5 (6→16), max-pool 2,
/// linear (16·h·w → 120 → 84 → classes), ReLU activations.
///
/// On 32×32 input (CIFAR-10) the flattened features are 16·5·5 = 400, as in LeCun et al.; on 28×28 MNIST use
/// `conv1_padding = 2` for the same geometry.
///
/// ## References
///
/// LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
/// Proc. IEEE 86(11), 1998, doi:10.1109/5.726791.
#[derive(Module, Debug)]
pub struct LeNet5 {
    /// First convolution, `[6, C, 5, 5]`.
    pub conv1: Conv2d,
    /// Second convolution, `[16, 6, 5, 5]`.
    pub conv2: Conv2d,
    /// 2×2 max-pooling, stride 2.
    pub pool: MaxPool2d,
    /// `16·h·w → 120`.
    pub fc1: Linear,
    /// `120 → 84`.
    pub fc2: Linear,
    /// `84 → classes`.
    pub fc3: Linear,
}

impl LeNet5 {
    /// LeNet-5 for items `[channels, height, width]`.
    ///
    /// # Errors
    ///
    /// [`Error::InputTooSmall`] when the input (plus padding) is smaller than 16×16, where the second pooling
    /// would leave nothing.
    pub fn new(input: [usize; 3], conv1_padding: usize, num_classes: usize, device: &Device) -> Result<Self> {
        let [c, h, w] = input;
        let side = |n: usize| (n + 2 * conv1_padding).checked_sub(4).map(|n| n / 2).and_then(|n| n.checked_sub(4)).map(|n| n / 2);
        let (oh, ow) = match (side(h), side(w)) {
            (Some(oh), Some(ow)) if oh > 0 && ow > 0 => (oh, ow),
            _ => {
                return Err(Error::InputTooSmall { input, reason: format!("LeNet-5 needs height and width of at least 16 with padding {conv1_padding}") });
            }
        };
        let p = conv1_padding;
        Ok(Self {
            conv1: Conv2dConfig::new([c, 6], [5, 5]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).init(device),
            conv2: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(16 * oh * ow, 120).init(device),
            fc2: LinearConfig::new(120, 84).init(device),
            fc3: LinearConfig::new(84, num_classes).init(device),
        })
    }

    /// Logits for a batch.
    ///
    /// # Shapes
    ///
    /// `[batch, C, H, W]` → `[batch, classes]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        // `pool(relu(conv(x)))` through OWM's CPU kernels on flex (`kernels.rs`), Burn's modules elsewhere.
        let x = kernels::relu_max_pool2(kernels::conv2d(&self.conv1, images)); // [batch, 6, (H-4)/2, (W-4)/2]
        let x = kernels::relu_max_pool2(kernels::conv2d(&self.conv2, x)); // [batch, 16, h, w]
        let x: Tensor<2> = x.flatten(1, 3); // [batch, 16·h·w]
        let x = relu(self.fc1.forward(x));
        let x = relu(self.fc2.forward(x));
        self.fc3.forward(x)
    }

    /// Every parameter's per-example gradient of `loss(logits)` (one term per row), in parameter order, each
    /// `[batch, size]`, in one forward and one backward pass (see `per_example.rs`); `None` when a
    /// convolution's padding has no formula. Needs an autodiff device.
    pub fn per_example_grads(&self, images: Tensor<4>, loss: impl FnOnce(Tensor<2>) -> Tensor<1>) -> Option<Vec<Tensor<2>>> {
        use crate::per_example::{conv2d, linear, tap};
        let (x, t1) = tap(&images, kernels::conv2d(&self.conv1, images.clone()));
        let x = kernels::relu_max_pool2(x);
        let (x, t2) = tap(&x, kernels::conv2d(&self.conv2, x.clone()));
        let x: Tensor<2> = kernels::relu_max_pool2(x).flatten(1, 3);
        let (x, t3) = tap(&x, self.fc1.forward(x.clone()));
        let x = relu(x);
        let (x, t4) = tap(&x, self.fc2.forward(x.clone()));
        let x = relu(x);
        let (x, t5) = tap(&x, self.fc3.forward(x.clone()));
        let grads = loss(x).backward();
        let mut out = conv2d(&self.conv1, t1, &grads)?;
        out.extend(conv2d(&self.conv2, t2, &grads)?);
        for (layer, t) in [(&self.fc1, t3), (&self.fc2, t4), (&self.fc3, t5)] {
            out.extend(linear(layer, t, &grads));
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_example_gradients_should_equal_one_backward_pass_per_example() {
        let device = Device::flex().autodiff();
        // MNIST geometry: padding 2 on conv1 (the explicit-padding path), none on conv2.
        let net = LeNet5::new([1, 28, 28], 2, 10, &device).unwrap();
        let x = Tensor::<4>::random([3, 1, 28, 28], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let t = Tensor::<2>::random([3, 10], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let loss = |t: Tensor<2>| move |logits: Tensor<2>| (logits - t).powi_scalar(2).sum();
        let batched = net.per_example_grads(x.clone(), loss(t.clone())).unwrap();
        assert_eq!(batched.len(), 10);
        let host = |g: Tensor<2>| g.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        let batched: Vec<Vec<f32>> = batched.into_iter().map(host).collect();
        for i in 0..3 {
            let grads = loss(t.clone().slice([i..i + 1, 0..10]))(net.forward(x.clone().slice([i..i + 1, 0..1, 0..28, 0..28]))).backward();
            let singles: Vec<Vec<f32>> = owm_core::flat_grads(&net, &burn::optim::GradientsParams::from_grads(grads, &net))
                .into_iter()
                .map(|(_, g)| g.unwrap().into_data().convert::<f32>().try_into_vec::<f32>().unwrap())
                .collect();
            assert_eq!(singles.len(), 10);
            for (k, single) in singles.iter().enumerate() {
                let row = &batched[k][i * single.len()..(i + 1) * single.len()];
                for (a, b) in row.iter().zip(single) {
                    assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "param {k}, example {i}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn should_flatten_400_features_on_cifar_input() {
        let device = Device::flex();
        let m = LeNet5::new([3, 32, 32], 0, 10, &device).unwrap();
        assert_eq!(m.fc1.weight.lazy_shape().to_vec(), [400, 120]);
        assert_eq!(m.forward(Tensor::<4>::zeros([2, 3, 32, 32], &device)).dims(), [2, 10]);
    }

    #[test]
    fn should_match_the_classic_geometry_on_padded_mnist() {
        let m = LeNet5::new([1, 28, 28], 2, 10, &Device::flex()).unwrap();
        assert_eq!(m.fc1.weight.lazy_shape().to_vec(), [400, 120]);
        let m = LeNet5::new([1, 28, 28], 0, 10, &Device::flex()).unwrap();
        assert_eq!(m.fc1.weight.lazy_shape().to_vec(), [256, 120]);
    }

    #[test]
    fn input_must_be_at_least_16_pixels() {
        assert!(matches!(LeNet5::new([1, 8, 8], 0, 10, &Device::flex()), Err(Error::InputTooSmall { .. })));
        assert!(LeNet5::new([1, 12, 12], 2, 10, &Device::flex()).is_ok());
    }
}
