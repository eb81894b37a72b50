//! Per-example gradients in one batched pass (what DP-SGD clips), by the layer formulas Opacus uses: a zero
//! probe added to each layer's output gives, through one backward pass of a loss with one term per
//! example, the loss gradient `gᵢ` at that output for every example; with the layer's input `aᵢ`, a linear
//! layer's weight gradient is `aᵢᵀ gᵢ` and a convolution's is `gᵢ` times the unfolded (im2col) input.

use burn::nn::Linear;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::Gradients;
use burn::tensor::module::unfold4d;
use burn::tensor::ops::UnfoldOptions;

/// A layer's input (detached, on the inner backend) and the probe on its output.
pub(crate) struct Tap<const I: usize, const O: usize> {
    input: Tensor<I>,
    probe: Tensor<O>,
}

/// `y` plus a zero probe, and the tap recording `x` (the input that gave `y`).
pub(crate) fn tap<const I: usize, const O: usize>(x: &Tensor<I>, y: Tensor<O>) -> (Tensor<O>, Tap<I, O>) {
    let probe = Tensor::<O>::zeros(y.shape(), &y.device()).require_grad();
    (y + probe.clone(), Tap { input: x.clone().inner(), probe })
}

impl<const I: usize, const O: usize> Tap<I, O> {
    /// The loss gradient at the layer's output (zeros when the loss does not reach it).
    fn output_grad(&self, grads: &Gradients) -> Tensor<O> {
        let zeros = || Tensor::zeros(self.probe.shape(), &self.input.device());
        self.probe.grad(grads).unwrap_or_else(zeros)
    }
}

/// Per-example `[batch, size]` gradients of a linear layer's weight (Burn's `[in, out]` layout) and bias.
pub(crate) fn linear(layer: &Linear, tap: Tap<2, 2>, grads: &Gradients) -> Vec<Tensor<2>> {
    let g = tap.output_grad(grads);
    let [batch, fan_in] = tap.input.dims();
    let out = g.dims()[1];
    let weight = (tap.input.unsqueeze_dim::<3>(2) * g.clone().unsqueeze_dim::<3>(1)).reshape([batch, fan_in * out]);
    if layer.bias.is_some() { vec![weight, g] } else { vec![weight] }
}

/// Per-example gradients of a 2-D convolution's kernel (`[out, in, kh, kw]` flattened) and bias; `None` for
/// grouped convolutions and asymmetric or `Same` padding, which have no formula here.
pub(crate) fn conv2d(layer: &Conv2d, tap: Tap<4, 4>, grads: &Gradients) -> Option<Vec<Tensor<2>>> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => [top, left],
        _ => return None,
    };
    if layer.groups != 1 {
        return None;
    }
    let g = tap.output_grad(grads);
    let [batch, out, h, w] = g.dims();
    // OWM's kernel on flex (item by item, im2col in a reused scratch matrix); Burn's unfold and matmul elsewhere.
    let weight = crate::kernels::conv2d_weight_grads(layer, tap.input.clone(), g.clone()).unwrap_or_else(|| {
        let columns = unfold4d(tap.input, layer.kernel_size, UnfoldOptions::new(layer.stride, padding, layer.dilation)); // [B, C·kh·kw, h·w]
        let patch = columns.dims()[1];
        g.clone().reshape([batch, out, h * w]).matmul(columns.swap_dims(1, 2)).reshape([batch, out * patch])
    });
    let g = g.reshape([batch, out, h * w]);
    Some(if layer.bias.is_some() { vec![weight, g.sum_dim(2).reshape([batch, out])] } else { vec![weight] })
}
