//! Batch norm at inference on flex as one pass over the convolution's output, in place, with what follows it
//! folded in: a residual block's shortcut sum, and the ReLU.
//!
//! Burn's inference path is five to six passes over the activation (`batch_norm`'s subtract, divide, multiply
//! and add by channel, then the shortcut's add and the ReLU). This one performs the same IEEE operations on each
//! value, in the same order — `(x − mean) / sqrt(var + ε) · γ + β`, then `+ shortcut`, then `max(0, ·)` with NaN
//! kept — so its outputs are Burn's bit for bit (a test says so), and a bundle's stored examples still predict
//! exactly. Training (an autodiff device) keeps Burn's batch norm: a fused training kernel measured no gain
//! (`docs/benchmarks.md`).

use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::prelude::*;
use owm_core::flex::{contiguous, on_flex, owned, read, values_mut};
use rayon::prelude::*;

/// Batch norm with given statistics, on flex (no autodiff: nothing here is differentiated).
#[backend_extension(Flex)]
pub trait InferenceKernels: Backend {
    /// `(x − mean) / sqrt(variance + epsilon) · gamma + beta` by channel for `x` `[batch, C, ...]`, then
    /// `max(0, ·)` when `relu`.
    fn owm_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> FloatTensor<Self>;

    /// `relu(batch_norm(x) + shortcut)`, `shortcut` of `x`'s shape: the end of a residual block.
    fn owm_batch_norm_add_relu(
        x: FloatTensor<Self>,
        shortcut: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self>;
}

/// `bn.forward(x)`, plus `shortcut` when given, then the ReLU when `relu`: in one pass on flex without autodiff
/// (where Burn's batch norm takes its inference path too), through Burn's layers elsewhere.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>, shortcut: Option<Tensor<4>>, relu: bool) -> Tensor<4> {
    let fused = on_flex(&x) && !x.device().is_autodiff() && shortcut.as_ref().is_none_or(|s| s.dims() == x.dims() && relu);
    if !fused {
        let y = bn.forward(x);
        let y = match shortcut {
            Some(s) => y + s,
            None => y,
        };
        return if relu { burn::tensor::activation::relu(y) } else { y };
    }
    let device = x.device();
    let stat = |s: &burn::module::RunningState<Tensor<1>>| s.value().to_device(&device).into_dispatch();
    let (gamma, beta, mean, variance) = (bn.gamma.val().into_dispatch(), bn.beta.val().into_dispatch(), stat(&bn.running_mean), stat(&bn.running_var));
    Tensor::from_dispatch(match shortcut {
        Some(s) => <Dispatch as InferenceKernels>::owm_batch_norm_add_relu(x.into_dispatch(), s.into_dispatch(), gamma, beta, mean, variance, bn.epsilon),
        None => <Dispatch as InferenceKernels>::owm_batch_norm(x.into_dispatch(), gamma, beta, mean, variance, bn.epsilon, relu),
    })
}

impl InferenceKernels for Flex {
    fn owm_batch_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, mean: FlexTensor, variance: FlexTensor, epsilon: f64, relu: bool) -> FlexTensor {
        normalise(x, None, [gamma, beta, mean, variance], epsilon, relu)
    }

    fn owm_batch_norm_add_relu(
        x: FlexTensor,
        shortcut: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        mean: FlexTensor,
        variance: FlexTensor,
        epsilon: f64,
    ) -> FlexTensor {
        normalise(x, Some(&contiguous(&shortcut)), [gamma, beta, mean, variance], epsilon, true)
    }
}

/// The one pass, in place on `x` (copied first when shared), one channel plane per task.
fn normalise(x: FlexTensor, shortcut: Option<&FlexTensor>, statistics: [FlexTensor; 4], epsilon: f64, relu: bool) -> FlexTensor {
    let mut out = owned(x);
    let shape = out.layout().shape().to_vec();
    let channels = shape[1];
    let plane = shape[2..].iter().product::<usize>().max(1);
    let [gamma, beta, mean, variance] = statistics.map(|t| contiguous(&t));
    let (gamma, beta, mean) = (read(&gamma), read(&beta), read(&mean));
    // As flex's `add_scalar` then `sqrt`: ε rounded to f32 first.
    let std: Vec<f32> = read(&variance).iter().map(|&v| (v + epsilon as f32).sqrt()).collect();
    let shortcut = shortcut.map(read);
    values_mut(&mut out).par_chunks_mut(plane).enumerate().for_each(|(i, values)| {
        let c = i % channels;
        let (m, s, g, b) = (mean[c], std[c], gamma[c], beta[c]);
        let rectify = |y: f32| if y.is_nan() || y > 0.0 { y } else { 0.0 };
        match (shortcut, relu) {
            (Some(add), _) => values.iter_mut().zip(&add[i * plane..(i + 1) * plane]).for_each(|(x, a)| *x = rectify((*x - m) / s * g + b + a)),
            (None, true) => values.iter_mut().for_each(|x| *x = rectify((*x - m) / s * g + b)),
            (None, false) => values.iter_mut().for_each(|x| *x = (*x - m) / s * g + b),
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use burn::nn::BatchNormConfig;
    use burn::tensor::Distribution;

    use super::*;

    #[test]
    fn should_give_burns_batch_norm_and_relu_bit_for_bit() {
        let device = Device::flex();
        let mut bn = BatchNormConfig::new(5).init(&device);
        let random = |shape: [usize; 1], lo: f64, hi: f64| Tensor::<1>::random(shape, Distribution::Uniform(lo, hi), &device);
        bn.gamma = bn.gamma.map(|_| random([5], 0.5, 2.0));
        bn.beta = bn.beta.map(|_| random([5], -1.0, 1.0));
        bn.running_mean = burn::module::RunningState::new(random([5], -0.5, 0.5));
        bn.running_var = burn::module::RunningState::new(random([5], 0.1, 3.0));
        let x = Tensor::<4>::random([3, 5, 7, 6], Distribution::Normal(0.0, 2.0), &device);
        let shortcut = Tensor::<4>::random([3, 5, 7, 6], Distribution::Normal(0.0, 1.0), &device);
        let bits = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap().into_iter().map(f32::to_bits).collect::<Vec<_>>();
        for relu in [false, true] {
            let theirs = bn.forward(x.clone());
            let theirs = if relu { burn::tensor::activation::relu(theirs) } else { theirs };
            assert_eq!(bits(batch_norm(&bn, x.clone(), None, relu)), bits(theirs), "relu {relu}");
        }
        let theirs = burn::tensor::activation::relu(bn.forward(x.clone()) + shortcut.clone());
        assert_eq!(bits(batch_norm(&bn, x.clone(), Some(shortcut.clone()), true)), bits(theirs), "with the shortcut");
        // Inputs are left as they were when they are shared.
        let before = (x.clone().into_data(), shortcut.clone().into_data());
        let _ = batch_norm(&bn, x.clone(), Some(shortcut.clone()), true);
        assert_eq!((x.into_data(), shortcut.into_data()), before);
    }
}
