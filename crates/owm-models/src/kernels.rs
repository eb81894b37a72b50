//! OWM's own CPU kernels for LeNet-5's layers on Burn's `flex` backend, through Burn's backend-extension API
//! (`#[backend_extension]`, with a hand-written backward pass): no fork of Burn.
//!
//! Profiling `owm train` of LeNet-5 on Fashion-MNIST put most of a step in flex's direct convolution (its
//! weight gradient a second convolution, its input gradient a transposed one) and in its general 3-D
//! max-pool with indices. Here a convolution runs item by item across threads: forward, an im2col copy into
//! a scratch matrix the thread reuses ([`crate::im2col`]) and one GEMM into the item's output rows; backward,
//! the im2col matrix rebuilt (cheaper than keeping it) for the weight gradient, which GEMM accumulates over fixed
//! groups of items, and a GEMM and a col2im for the input gradient. The GEMMs are flex's own kernels called on OWM's buffers ([`owm_core::flex::matmul`]), without
//! a fresh zero-filled and re-aligned output per call. A 2×2 max-pool is fused with the ReLU before it
//! (`max(0, ·)` commutes with max) and remembers each window's winner in one byte.
//!
//! LeNet-5 and the residual network (3×3 layers of 16–64 channels, strided 1×1 shortcuts) both call them;
//! on the residual network they measured 1.6× faster than flex's direct convolution. Every other device, and every layer these kernels do not cover (dilation, groups, unequal strides or padding), goes
//! through Burn's own modules. The kernels are deterministic: every sum runs in a fixed order whatever the
//! thread count, so the same seed still gives bit-identical weights on the CPU.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::relu;
use owm_core::flex::{Strided, contiguous, fresh_items, matmul, on_flex, read, tensor};
use rayon::prelude::*;

use crate::im2col::{ConvShape, col2im_item, im2col_item, scratch};

/// The operations, per backend: flex runs them, autodiff-on-flex records their backward pass.
#[backend_extension(Flex, Autodiff)]
pub trait OwmKernels: Backend {
    /// Convolution of `x` `[batch, C, H, W]` by `weight` `[O, C, kh, kw]` plus `bias` `[O]`, with `padding`
    /// zeros on every side and the same `stride` along both axes.
    fn owm_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, padding: usize, stride: usize) -> FloatTensor<Self>;
    /// `max(0, ·)` over 2×2 windows at stride 2 (a last odd row or column is dropped, as in PyTorch).
    fn owm_relu_max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Per-example gradients on flex, computed after a backward pass (so not recorded by autodiff).
#[backend_extension(Flex)]
pub trait PerExampleKernels: Backend {
    /// Each item's convolution-kernel gradient `gᵢ @ im2col(xᵢ)ᵀ`, `[batch, O·C·kh·kw]`, for the input `x`
    /// `[batch, C, H, W]` and the loss gradient `grad` `[batch, O, OH, OW]` at the output.
    fn owm_conv2d_weight_grads(x: FloatTensor<Self>, grad: FloatTensor<Self>, kernel: [usize; 2], padding: usize, stride: usize) -> FloatTensor<Self>;
}

/// The padding on every side when [`OwmKernels::owm_conv2d`] covers `layer` on an input of `height × width`
/// (the same stride along both axes, no dilation, one group, the same padding on every side).
fn covered_padding(layer: &Conv2d, [height, width]: [usize; 2]) -> Option<usize> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => Some(0),
        PaddingConfig2d::Explicit(t, l, b, r) if t == l && l == b && b == r => Some(t),
        _ => None,
    }?;
    let [_, _, kh, kw] = layer.weight.dims();
    let [stride, across] = layer.stride;
    let covered = stride == across && stride > 0 && layer.dilation == [1, 1] && layer.groups == 1 && height + 2 * padding >= kh && width + 2 * padding >= kw;
    covered.then_some(padding)
}

/// `layer.forward(x)`, through [`OwmKernels::owm_conv2d`] where it applies (an f32 tensor on flex, a layer
/// [`covered_padding`] accepts); Burn's module elsewhere.
pub fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    match covered_padding(layer, [h, w]) {
        Some(p) if on_flex(&x) => {
            // No bias: zeros, untracked, so no gradient is recorded for them.
            let bias = layer.bias.as_ref().map_or_else(|| Tensor::<1>::zeros([layer.weight.dims()[0]], &x.device()), |b| b.val());
            let out = <Dispatch as OwmKernels>::owm_conv2d(x.into_dispatch(), layer.weight.val().into_dispatch(), bias.into_dispatch(), p, layer.stride[0]);
            Tensor::from_dispatch(out)
        }
        _ => layer.forward(x),
    }
}

/// Per-example kernel gradients `[batch, O·C·kh·kw]` of `layer` from its input `x` and the loss gradient
/// `grad` at its output, through [`PerExampleKernels::owm_conv2d_weight_grads`] where it applies (tensors on
/// flex without autodiff); `None` elsewhere.
pub(crate) fn conv2d_weight_grads(layer: &Conv2d, x: Tensor<4>, grad: Tensor<4>) -> Option<Tensor<2>> {
    let [batch, _, h, w] = x.dims();
    let [o, c, kh, kw] = layer.weight.dims();
    let padding = covered_padding(layer, [h, w]).filter(|_| on_flex(&x) && !x.device().is_autodiff())?;
    let out = <Dispatch as PerExampleKernels>::owm_conv2d_weight_grads(x.into_dispatch(), grad.into_dispatch(), [kh, kw], padding, layer.stride[0]);
    Some(Tensor::<2>::from_dispatch(out).reshape([batch, o * c * kh * kw]))
}

/// `max_pool2d(relu(x), 2, stride 2)`, through [`OwmKernels::owm_relu_max_pool2`] on flex.
pub fn relu_max_pool2(x: Tensor<4>) -> Tensor<4> {
    if on_flex(&x) {
        Tensor::from_dispatch(<Dispatch as OwmKernels>::owm_relu_max_pool2(x.into_dispatch()))
    } else {
        burn::nn::pool::MaxPool2dConfig::new([2, 2]).init().forward(relu(x))
    }
}

/// Forward convolution; returns the output `[batch, O, OH, OW]`, and what the backward pass keeps.
fn conv_forward(x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor, padding: usize, stride: usize) -> (FlexTensor, ConvState) {
    let ws = weight.layout().shape();
    let s = ConvShape::new(x, ws[0], [ws[2], ws[3]], padding, stride);
    let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
    let (xs, w, bias_values) = (read(&x), read(&weight), read(&bias));
    // Layers without a bias pass zeros: no pass over the output for them.
    let has_bias = bias_values.iter().any(|&b| b != 0.0);
    let (o, plane) = (s.out_channels, s.plane());
    // Per item: its im2col matrix in a reused scratch buffer, then `[O, C·kh·kw] @ [C·kh·kw, OH·OW]`
    // straight into its output rows (never zeroed first), and the bias.
    let y = fresh_items(
        s.batch,
        o * plane,
        || scratch(s),
        |cols, b, out| {
            im2col_item(xs, b, s, cols);
            let mut out = out.matmul((w, Strided::row_major(o, s.rows())), (cols, Strided::row_major(s.rows(), plane)));
            if has_bias {
                out.values().chunks_mut(plane).zip(bias_values).for_each(|(row, b)| row.iter_mut().for_each(|v| *v += b));
            }
            out
        },
    );
    (tensor(y, &[s.batch, o, s.out[0], s.out[1]]), ConvState { x, weight, shape: s })
}

#[derive(Debug)]
struct ConvBackward;

/// What the convolution's backward pass needs: the input (its im2col matrices are rebuilt item by item,
/// cheaper than keeping `C·kh·kw` copies of it), the weight and the shapes.
#[derive(Debug, Clone)]
struct ConvState {
    x: FlexTensor,
    weight: FlexTensor,
    shape: ConvShape,
}

impl Backward<Flex, 3> for ConvBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let ConvState { x, weight, shape: s } = ops.state;
        let (o, k, plane) = (s.out_channels, s.rows(), s.plane());
        let grad = contiguous(&grad);
        let g = read(&grad);
        // Sums over the batch in item order, each span of the sum on one thread: the same bits whatever the
        // thread count.
        let batch_sum = |per_item: &[f32], len: usize| {
            let mut out = vec![0f32; len];
            out.par_chunks_mut(SUM_SPAN).enumerate().for_each(|(i, out)| {
                for item in per_item.chunks(len) {
                    out.iter_mut().zip(&item[i * SUM_SPAN..]).for_each(|(a, b)| *a += b);
                }
            });
            out
        };
        if let Some(node) = node_b {
            let per_item: Vec<f32> = g.chunks(plane).map(|row| row.iter().sum()).collect();
            grads.register::<Flex>(node.id, tensor(batch_sum(&per_item, o), &[o]));
        }
        let (xs, w) = (read(&x), read(&weight));
        if let Some(node) = node_w {
            let dw = transpose(&batch_sum(&weight_grads(xs, g, s, GROUP), o * k), k, o);
            grads.register::<Flex>(node.id, tensor(dw, &[o, s.channels, s.kernel[0], s.kernel[1]]));
        }
        if let Some(node) = node_x {
            // Per item, `Wᵀ @ [O, OH·OW]` folded back by col2im.
            let mut dx = vec![0f32; s.batch * s.channels * s.height * s.width];
            dx.par_chunks_mut(s.channels * s.height * s.width).enumerate().for_each_init(
                || scratch(s),
                |dcols, (b, dx)| {
                    matmul(dcols, (w, Strided::row_major(o, k).t()), (&g[b * o * plane..][..o * plane], Strided::row_major(o, plane)), false);
                    col2im_item(dcols, s, dx);
                },
            );
            grads.register::<Flex>(node.id, tensor(dx, &[s.batch, s.channels, s.height, s.width]));
        }
    }
}

/// Kernel gradients, transposed, summed over fixed groups of `group` items: `Σᵢ im2col(xᵢ) @ [O, OH·OW]ᵢᵀ`
/// over the items of each group, `[⌈batch / group⌉, C·kh·kw·O]`, for the input values `xs` and the loss
/// gradient `g` at the output; the im2col matrices are rebuilt item by item. A group's sum accumulates in item
/// order on one thread, so the groups (fixed by the batch, not the threads) give the same bits whatever the
/// thread count; `group = 1` gives each item's own gradient.
///
/// Transposed because GEMM then reads the im2col matrix in place and packs only the (smaller) gradient; the
/// other orientation packed a copy of each im2col matrix (6–10% of a residual network's training step).
fn weight_grads(xs: &[f32], g: &[f32], s: ConvShape, group: usize) -> Vec<f32> {
    let (o, k, plane) = (s.out_channels, s.rows(), s.plane());
    let item = |b: usize| (&g[b * o * plane..][..o * plane], Strided::row_major(o, plane).t());
    fresh_items(
        s.batch.div_ceil(group),
        o * k,
        || scratch(s),
        |cols, i, dw| {
            let first = i * group;
            im2col_item(xs, first, s, cols);
            let mut dw = dw.matmul((cols, Strided::row_major(k, plane)), item(first));
            for b in first + 1..(first + group).min(s.batch) {
                im2col_item(xs, b, s, cols);
                matmul(dw.values(), (cols, Strided::row_major(k, plane)), item(b), true);
            }
            dw
        },
    )
}

/// Items whose kernel gradients one GEMM accumulates in training (the groups of [`weight_grads`]): fewer
/// per-group sums to write and add than one per item, and still enough groups to share among threads.
const GROUP: usize = 8;

/// Values per thread's span of a sum over the batch.
const SUM_SPAN: usize = 4096;

/// The `cols × rows` transpose of a dense row-major `rows × cols` matrix.
fn transpose(m: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; m.len()];
    for (r, row) in m.chunks(cols).enumerate() {
        row.iter().enumerate().for_each(|(c, &v)| out[c * rows + r] = v);
    }
    out
}

/// Forward of the fused ReLU and 2×2 max-pool; with `keep`, also each output's winner (0–3 within its
/// window, 4 when the ReLU clipped it).
fn pool_forward(x: &FlexTensor, keep: bool) -> (FlexTensor, Vec<u8>, [usize; 4]) {
    let x = contiguous(x);
    let shape = x.layout().shape();
    let dims = [shape[0], shape[1], shape[2], shape[3]];
    let [b, c, h, w] = dims;
    let (oh, ow) = (h / 2, w / 2);
    let src = read(&x);
    let mut out = vec![0f32; b * c * oh * ow];
    let mut arg = vec![0u8; if keep { out.len() } else { 0 }];
    let plane = oh * ow;
    let work = |(bc, (dst, arg)): (usize, (&mut [f32], &mut [u8]))| {
        let src = &src[bc * h * w..][..h * w];
        for i in 0..oh {
            let (top, bottom) = (&src[2 * i * w..][..w], &src[(2 * i + 1) * w..][..w]);
            for j in 0..ow {
                let (a, b, c, d) = (top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]);
                // The first maximum wins a tie, in PyTorch's order (row by row); a NaN anywhere gives NaN.
                let (m1, i1) = if b > a { (b, 1) } else { (a, 0) };
                let (m2, i2) = if d > c { (d, 3) } else { (c, 2) };
                let (best, at) = if m2 > m1 { (m2, i2) } else { (m1, i1) };
                let best = if (a + b + c + d).is_nan() && [a, b, c, d].iter().any(|v| v.is_nan()) { f32::NAN } else { best };
                // ReLU: a non-positive maximum becomes 0 with no gradient.
                let (value, at) = if best > 0.0 || best.is_nan() { (best, at) } else { (0.0, 4) };
                dst[i * ow + j] = value;
                if !arg.is_empty() {
                    arg[i * ow + j] = at;
                }
            }
        }
    };
    if keep {
        out.par_chunks_mut(plane).zip(arg.par_chunks_mut(plane)).enumerate().for_each(work);
    } else {
        out.par_chunks_mut(plane).map(|d| (d, &mut [][..])).enumerate().for_each(work);
    }
    (tensor(out, &[b, c, oh, ow]), arg, dims)
}

#[derive(Debug)]
struct PoolBackward;

impl Backward<Flex, 1> for PoolBackward {
    type State = (std::sync::Arc<Vec<u8>>, [usize; 4]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node else { return };
        let (arg, [b, c, h, w]) = ops.state;
        let grad = contiguous(&grad);
        let g = read(&grad);
        let (oh, ow) = (h / 2, w / 2);
        let mut dx = vec![0f32; b * c * h * w];
        dx.par_chunks_mut(h * w).enumerate().for_each(|(bc, dst)| {
            for i in 0..oh {
                for j in 0..ow {
                    let o = bc * oh * ow + i * ow + j;
                    let at = usize::from(arg[o]);
                    if at < 4 {
                        dst[(2 * i + at / 2) * w + 2 * j + at % 2] = g[o];
                    }
                }
            }
        });
        grads.register::<Flex>(node.id, tensor(dx, &[b, c, h, w]));
    }
}

impl OwmKernels for Flex {
    fn owm_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, padding: usize, stride: usize) -> FloatTensor<Self> {
        conv_forward(&x, &weight, &bias, padding, stride).0
    }

    fn owm_relu_max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        pool_forward(&x, false).0
    }
}

impl PerExampleKernels for Flex {
    fn owm_conv2d_weight_grads(x: FloatTensor<Self>, grad: FloatTensor<Self>, kernel: [usize; 2], padding: usize, stride: usize) -> FloatTensor<Self> {
        let (x, grad) = (contiguous(&x), contiguous(&grad));
        let s = ConvShape::new(&x, grad.layout().shape()[1], kernel, padding, stride);
        let (o, k) = (s.out_channels, s.rows());
        let per_item: Vec<f32> = weight_grads(read(&x), read(&grad), s, 1).par_chunks(o * k).flat_map_iter(|item| transpose(item, k, o)).collect();
        tensor(per_item, &[s.batch, o * k])
    }
}

impl<C: CheckpointStrategy> OwmKernels for Autodiff<Flex, C> {
    fn owm_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, padding: usize, stride: usize) -> FloatTensor<Self> {
        match ConvBackward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (out, state) = conv_forward(x.primitive(), weight.primitive(), bias.primitive(), padding, stride);
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv_forward(x.primitive(), weight.primitive(), bias.primitive(), padding, stride).0),
        }
    }

    fn owm_relu_max_pool2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match PoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (out, arg, dims) = pool_forward(x.primitive(), true);
                prep.finish((std::sync::Arc::new(arg), dims), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(pool_forward(x.primitive(), false).0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::Distribution;

    fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    /// Burn's `pool(relu(conv(x)))`, which the kernels replace.
    fn burns(conv: &burn::nn::conv::Conv2d, x: Tensor<4>) -> Tensor<4> {
        burn::nn::pool::MaxPool2dConfig::new([2, 2]).init().forward(relu(conv.forward(x)))
    }

    fn assert_close(name: &str, a: &[f32], b: &[f32], tolerance: f32) {
        assert_eq!(a.len(), b.len(), "{name}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tolerance * (1.0 + y.abs()), "{name}[{i}]: {x} against Burn's {y}");
        }
    }

    /// OWM's layer and Burn's on the same input and weights: outputs agree to 1e-5 and the gradients of every
    /// input to 1e-4 (relative, plus as much absolute). Only the order of the f32 sums differs; a weight
    /// gradient sums thousands of products of unit-sized values, which cancel to results near 1.
    fn check(input: [usize; 4], out_channels: usize, kernel: usize, padding: usize) {
        check_with(input, out_channels, kernel, padding, 1, true);
    }

    fn check_with(input: [usize; 4], out_channels: usize, kernel: usize, padding: usize, stride: usize, bias: bool) {
        let device = Device::flex().autodiff();
        device.seed(7);
        let conv = Conv2dConfig::new([input[1], out_channels], [kernel, kernel])
            .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
            .with_stride([stride, stride])
            .with_bias(bias)
            .init(&device);
        let x = Tensor::<4>::random(input, Distribution::Normal(0.0, 1.0), &device).require_grad();
        assert!(on_flex(&x), "the kernels' path is taken");
        let ours = relu_max_pool2(conv2d(&conv, x.clone()));
        let burns = burns(&conv, x.clone());
        assert_eq!(ours.dims(), burns.dims());
        // A weighted sum, so that every output's gradient differs.
        let weights = Tensor::<4>::random(ours.dims(), Distribution::Normal(0.0, 1.0), &device);
        let (g_ours, g_burns) = ((ours.clone() * weights.clone()).sum().backward(), (burns.clone() * weights).sum().backward());
        assert_close("output", &host(ours), &host(burns), 1e-5);
        assert_close("input gradient", &host(x.grad(&g_ours).unwrap()), &host(x.grad(&g_burns).unwrap()), 1e-4);
        let w = conv.weight.val();
        assert_close("weight gradient", &host(w.grad(&g_ours).unwrap()), &host(w.grad(&g_burns).unwrap()), 1e-4);
        if let Some(b) = conv.bias.as_ref().map(|b| b.val()) {
            assert_close("bias gradient", &host(b.grad(&g_ours).unwrap()), &host(b.grad(&g_burns).unwrap()), 1e-4);
        }
    }

    #[test]
    fn strided_convolutions_without_bias_as_in_the_residual_network_should_match_burns_layers() {
        check_with([2, 4, 16, 16], 8, 3, 1, 2, false);
        check_with([2, 4, 15, 15], 8, 1, 0, 2, false);
        check_with([2, 3, 12, 12], 4, 3, 1, 1, false);
    }

    /// Each item's kernel gradient from [`conv2d_weight_grads`] against Burn's convolution module run on that
    /// item alone, to 1e-4 (relative, plus as much absolute), padded and strided.
    #[test]
    fn per_example_kernel_gradients_should_match_burns_on_each_item_alone() {
        for (input, out, kernel, padding, stride) in [([3, 2, 9, 9], 4, 3, 1, 2), ([2, 1, 12, 12], 6, 5, 2, 1)] {
            let device = Device::flex().autodiff();
            device.seed(11);
            let conv = Conv2dConfig::new([input[1], out], [kernel, kernel])
                .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
                .with_stride([stride, stride])
                .init(&device);
            let x = Tensor::<4>::random(input, Distribution::Normal(0.0, 1.0), &device);
            let g = Tensor::<4>::random(conv.forward(x.clone()).dims(), Distribution::Normal(0.0, 1.0), &device);
            let ours = host(conv2d_weight_grads(&conv, x.clone().inner(), g.clone().inner()).expect("the kernels' path"));
            let size = out * input[1] * kernel * kernel;
            for b in 0..input[0] {
                let item = |t: Tensor<4>| t.clone().slice([b..b + 1, 0..t.dims()[1], 0..t.dims()[2], 0..t.dims()[3]]);
                let grads = (conv.forward(item(x.clone())) * item(g.clone())).sum().backward();
                let burns = host(conv.weight.val().grad(&grads).unwrap());
                assert_close("per-example kernel gradient", &ours[b * size..][..size], &burns, 1e-4);
            }
        }
    }

    #[test]
    fn a_nan_in_a_pooling_window_should_come_out_as_nan() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0, f32::NAN, 0.0, 2.0, -1.0, -2.0, -3.0, -4.0], [1, 2, 2, 2]), &device);
        let out = host(relu_max_pool2(x));
        assert!(out[0].is_nan(), "{out:?}");
        assert_eq!(out[1], 0.0, "a negative maximum is clipped by the ReLU");
    }

    #[test]
    fn lenet_first_layer_on_mnist_should_match_burns_layers() {
        check([4, 1, 28, 28], 6, 5, 2);
    }

    #[test]
    fn lenet_second_layer_should_match_burns_layers() {
        check([3, 6, 14, 14], 16, 5, 0);
    }

    #[test]
    fn odd_sides_and_padding_wider_than_the_kernel_reach_should_match_burns_layers() {
        check([2, 3, 9, 7], 4, 3, 3);
    }

    #[test]
    fn one_by_one_kernels_should_match_burns_layers() {
        check([2, 5, 6, 6], 3, 1, 0);
    }

    #[test]
    fn without_autodiff_the_kernels_should_give_the_same_outputs() {
        let device = Device::flex();
        let conv = Conv2dConfig::new([2, 3], [3, 3]).init(&device);
        let x = Tensor::<4>::random([2, 2, 8, 8], Distribution::Normal(0.0, 1.0), &device);
        let ours = host(relu_max_pool2(conv2d(&conv, x.clone())));
        let burns = host(burns(&conv, x));
        assert_close("output", &ours, &burns, 1e-5);
    }

    #[test]
    fn layers_the_kernels_do_not_cover_should_go_through_burn() {
        let device = Device::flex();
        let conv = Conv2dConfig::new([2, 3], [3, 3]).with_stride([2, 1]).init(&device);
        let x = Tensor::<4>::random([1, 2, 9, 9], Distribution::Normal(0.0, 1.0), &device);
        assert_eq!(host(conv2d(&conv, x.clone())), host(conv.forward(x)));
    }

    /// A residual block's convolutions give the same output and gradients, bit for bit, on 1 thread and on 3:
    /// the batch's sums run in item order, each span on one thread.
    #[test]
    fn convolutions_should_give_the_same_bits_whatever_the_thread_count() {
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
                let device = Device::flex().autodiff();
                // Fixed data, not the device's generator (whose streams may follow the thread count).
                let data = |seed: u64, shape: [usize; 4]| {
                    let values =
                        (0..shape.iter().product::<usize>()).map(|i| ((i as u64 * 2_654_435_761 + seed) % 1000) as f32 / 250.0 - 2.0).collect::<Vec<f32>>();
                    Tensor::<4>::from_data(TensorData::new(values, shape), &device)
                };
                let layers = [(3, 1), (3, 2), (1, 2)].map(|(kernel, stride)| {
                    let mut conv = Conv2dConfig::new([4, 8], [kernel, kernel])
                        .with_stride([stride, stride])
                        .with_padding(PaddingConfig2d::Explicit(kernel / 2, kernel / 2, kernel / 2, kernel / 2))
                        .with_bias(false)
                        .init(&device);
                    conv.weight = conv.weight.map(|_| data(kernel as u64, [8, 4, kernel, kernel]).require_grad());
                    conv
                });
                let x = data(0, [6, 4, 10, 10]).require_grad();
                let bits = |t: Tensor<4>| host(t).into_iter().map(f32::to_bits).collect::<Vec<_>>();
                layers
                    .iter()
                    .flat_map(|conv| {
                        let y = conv2d(conv, x.clone());
                        let grads = (y.clone() * y.clone()).sum().backward();
                        [bits(y), bits(x.grad(&grads).unwrap()), bits(conv.weight.val().grad(&grads).unwrap())]
                    })
                    .collect::<Vec<_>>()
            })
        };
        let (one, three) = (run(1), run(3));
        for (i, (a, b)) in one.iter().zip(&three).enumerate() {
            assert!(a == b, "output {i} (layer {}, {}) differs", i / 3, ["output", "input gradient", "kernel gradient"][i % 3]);
        }
    }
}
