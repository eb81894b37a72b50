//! Batch norm on flex as OWM's own kernels, with what follows it folded in: a residual block's shortcut sum,
//! and the ReLU.
//!
//! **Inference** is one pass over the convolution's output, in place. Burn's inference path is five to six
//! passes over the activation (`batch_norm`'s subtract, divide, multiply and add by channel, then the shortcut's
//! add and the ReLU). This one performs the same IEEE operations on each value, in the same order —
//! `(x − mean) / sqrt(var + ε) · γ + β`, then `+ shortcut`, then `max(0, ·)` with NaN kept — so its outputs are
//! Burn's bit for bit (a test says so), and a bundle's stored examples still predict exactly.
//!
//! **Training** (an autodiff device, the layer not frozen) is two passes forward — the batch's statistics, then
//! the normalised output with the shortcut and ReLU applied — and two backward, with a hand-written backward
//! pass. Burn's default `batch_norm_train` on flex transposes the activation to channel-major and back and runs
//! some twenty element-wise passes, forward and backward. Sums are per channel plane in sixteen `f32` lanes, the
//! planes' partial results combined in `f64` in a fixed order (Chan et al.'s pairwise update for the variance),
//! so the result is the same whatever the thread count; it agrees with Burn's within `f32` rounding (tests).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, NodeGuard, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, AutodiffBackend, Backend, Dispatch, Flex, backend_extension};
use burn::nn::BatchNorm;
use burn::prelude::*;
use owm_core::flex::{contiguous, fresh_items, on_flex, owned, read, values_mut};
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

/// Batch norm with the batch's own statistics on flex, differentiated by its own backward pass on autodiff.
#[backend_extension(Flex, Autodiff)]
pub trait TrainingKernels: Backend {
    /// `(y, mean, variance)`: `y` is `(x − mean) / sqrt(variance + epsilon) · gamma + beta` by channel for `x`
    /// `[batch, C, ...]` with the batch's mean and biased variance, then `max(0, ·)` when `relu`.
    fn owm_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// As [`TrainingKernels::owm_batch_norm_train`] for `relu(batch_norm(x) + shortcut)`, `shortcut` of `x`'s
    /// shape: the end of a residual block.
    fn owm_batch_norm_train_add_relu(
        x: FloatTensor<Self>,
        shortcut: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

/// `bn.forward(x)`, plus `shortcut` when given, then the ReLU when `relu`: through OWM's kernels on flex
/// (inference without autodiff, where Burn's batch norm takes its inference path too; training on an autodiff
/// device for a layer that is not frozen, updating the running statistics as Burn's layer does), through Burn's
/// layers elsewhere.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>, shortcut: Option<Tensor<4>>, relu: bool) -> Tensor<4> {
    let covered = on_flex(&x) && shortcut.as_ref().is_none_or(|s| s.dims() == x.dims() && relu);
    let device = x.device();
    let training = device.is_autodiff() && bn.training.is_enabled();
    if !covered || (device.is_autodiff() && !training) {
        let y = bn.forward(x);
        let y = match shortcut {
            Some(s) => y + s,
            None => y,
        };
        return if relu { burn::tensor::activation::relu(y) } else { y };
    }
    let (gamma, beta) = (bn.gamma.val().into_dispatch(), bn.beta.val().into_dispatch());
    if training {
        let (y, mean, variance) = match shortcut {
            Some(s) => <Dispatch as TrainingKernels>::owm_batch_norm_train_add_relu(x.into_dispatch(), s.into_dispatch(), gamma, beta, bn.epsilon),
            None => <Dispatch as TrainingKernels>::owm_batch_norm_train(x.into_dispatch(), gamma, beta, bn.epsilon, relu),
        };
        // As Burn's `BatchNorm::forward_train`: `running · (1 − momentum) + batch · momentum`.
        let update = |state: &burn::module::RunningState<Tensor<1>>, batch: FloatTensor<Dispatch>| {
            let batch = Tensor::<1>::from_dispatch(batch).detach().mul_scalar(bn.momentum);
            state.update(state.value_sync().to_device(&device).mul_scalar(1.0 - bn.momentum).add(batch).detach());
        };
        update(&bn.running_mean, mean);
        update(&bn.running_var, variance);
        return Tensor::from_dispatch(y);
    }
    let stat = |s: &burn::module::RunningState<Tensor<1>>| s.value().to_device(&device).into_dispatch();
    let (mean, variance) = (stat(&bn.running_mean), stat(&bn.running_var));
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
        let rectify = |y: f32| clipped(y, y, true);
        match (shortcut, relu) {
            (Some(add), _) => values.iter_mut().zip(&add[i * plane..(i + 1) * plane]).for_each(|(x, a)| *x = rectify((*x - m) / s * g + b + a)),
            (None, true) => values.iter_mut().for_each(|x| *x = rectify((*x - m) / s * g + b)),
            (None, false) => values.iter_mut().for_each(|x| *x = (*x - m) / s * g + b),
        }
    });
    out
}

/// `value`, or +0 where the ReLU (when `relu`) clips `at` (`at ≤ 0`; a NaN passes): the ReLU itself with
/// `value = at`, its gradient with `value = dy`. By masking bits, with no branch or select, so that the loops
/// calling it vectorise (a select left them scalar).
#[inline(always)]
fn clipped(value: f32, at: f32, relu: bool) -> f32 {
    f32::from_bits(value.to_bits() & u32::from(relu & (at <= 0.0)).wrapping_sub(1))
}

/// Sixteen `f32` lanes per sum: a vectorisable loop whose order is fixed by the plane alone.
const LANES: usize = 16;

/// `Σ f(value)` over a plane, in [`LANES`] `f32` lanes added up in `f64`.
fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut lanes = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&v| f64::from(f(v))).sum();
    for chunk in chunks {
        lanes.iter_mut().zip(chunk).for_each(|(l, &v)| *l += f(v));
    }
    lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + tail
}

/// `Σ f(a, b, c)` over three planes of one length, as [`lane_sum`].
fn lane_sum3(a: &[f32], b: &[f32], c: &[f32], f: impl Fn(f32, f32, f32) -> f32) -> f64 {
    let mut lanes = [0f32; LANES];
    let (a, b, c) = (a.chunks_exact(LANES), b.chunks_exact(LANES), c.chunks_exact(LANES));
    let tail: f64 = a.remainder().iter().zip(b.remainder()).zip(c.remainder()).map(|((&a, &b), &c)| f64::from(f(a, b, c))).sum();
    for ((a, b), c) in a.zip(b).zip(c) {
        for (l, ((&a, &b), &c)) in lanes.iter_mut().zip(a.iter().zip(b).zip(c)) {
            *l += f(a, b, c);
        }
    }
    lanes.iter().map(|&l| f64::from(l)).sum::<f64>() + tail
}

/// The layout of a batch-norm input `[batch, C, ...]`: planes of `plane` values, channel `i % channels` for
/// plane `i`.
#[derive(Debug, Clone, Copy)]
struct Planes {
    channels: usize,
    plane: usize,
}

impl Planes {
    fn of(x: &FlexTensor) -> Self {
        let shape = x.layout().shape();
        Self { channels: shape[1], plane: shape[2..].iter().product::<usize>().max(1) }
    }

    /// Per channel, `(Σ a, Σ b)` over its planes from each plane's `(a, b)`, added in plane order.
    fn by_channel(self, per_plane: &[(f64, f64)]) -> Vec<(f64, f64)> {
        let mut out = vec![(0.0, 0.0); self.channels];
        for (i, &(a, b)) in per_plane.iter().enumerate() {
            let c = &mut out[i % self.channels];
            (c.0, c.1) = (c.0 + a, c.1 + b);
        }
        out
    }
}

/// The batch's mean and biased variance by channel: each plane's sum and its squared deviations from its own
/// mean (two reads of a plane that is in cache by the second), combined per channel by Chan et al.'s update.
fn statistics(x: &[f32], p: Planes) -> (Vec<f64>, Vec<f64>) {
    let per_plane: Vec<(f64, f64)> = x
        .par_chunks(p.plane)
        .map(|values| {
            let sum = lane_sum(values, |v| v);
            let mean = (sum / p.plane as f64) as f32;
            (sum, lane_sum(values, |v| (v - mean) * (v - mean)))
        })
        .collect();
    let count = (x.len() / p.channels) as f64;
    let mean: Vec<f64> = p.by_channel(&per_plane).into_iter().map(|(sum, _)| sum / count).collect();
    // M2 = Σ planes' M2 + Σ n_plane · (plane mean − mean)².
    let spread: Vec<(f64, f64)> =
        per_plane.iter().enumerate().map(|(i, &(sum, m2))| (m2, p.plane as f64 * (sum / p.plane as f64 - mean[i % p.channels]).powi(2))).collect();
    let variance = p.by_channel(&spread).into_iter().map(|(m2, between)| (m2 + between) / count).collect();
    (mean, variance)
}

/// What the training pass keeps for its backward pass: its input and output (the ReLU's mask), and by channel
/// the mean, `1 / sqrt(variance + ε)` and `γ`.
#[derive(Debug, Clone)]
struct TrainState {
    x: FlexTensor,
    y: FlexTensor,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    gamma: Vec<f32>,
    relu: bool,
}

/// The training pass: `(y, mean, variance, state)`.
fn train_forward(
    x: &FlexTensor,
    shortcut: Option<&FlexTensor>,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
    relu: bool,
) -> (FlexTensor, FlexTensor, FlexTensor, TrainState) {
    let (x, p) = (contiguous(x), Planes::of(x));
    let shortcut = shortcut.map(contiguous);
    let (gamma, beta) = (read(&contiguous(gamma)).to_vec(), contiguous(beta));
    let beta = read(&beta);
    let values = read(&x);
    let (mean, variance) = statistics(values, p);
    let inv_std: Vec<f64> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    // y = x · scale + shift by channel, scale = γ / σ, shift = β − mean · scale.
    let scale: Vec<f32> = inv_std.iter().zip(&gamma).map(|(s, &g)| (s * f64::from(g)) as f32).collect();
    let shift: Vec<f32> = (0..p.channels).map(|c| (f64::from(beta[c]) - mean[c] * f64::from(scale[c])) as f32).collect();
    let add = shortcut.as_ref().map(read);
    let y = fresh_items(
        values.len() / p.plane,
        p.plane,
        || (),
        |(), i, out| {
            let (a, b) = (scale[i % p.channels], shift[i % p.channels]);
            let rectify = |v: f32| clipped(v, v, relu);
            let xs = &values[i * p.plane..][..p.plane];
            match add {
                Some(add) => out.write_all(xs.iter().zip(&add[i * p.plane..][..p.plane]).map(|(&x, &s)| rectify(x * a + b + s))),
                None => out.write_all(xs.iter().map(|&x| rectify(x * a + b))),
            }
        },
    );
    let shape = x.layout().shape().to_vec();
    let y = owm_core::flex::tensor(y, &shape);
    let narrow = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    let (mean, variance, inv_std) = (narrow(&mean), narrow(&variance), narrow(&inv_std));
    let state = TrainState { x: x.clone(), y: y.clone(), mean: mean.clone(), inv_std, gamma, relu };
    (y, owm_core::flex::tensor(mean, &[p.channels]), owm_core::flex::tensor(variance, &[p.channels]), state)
}

/// Gradients of the training pass from the gradient `grad` at its output: `(input, γ, β, shortcut)`, the
/// shortcut's (the gradient behind the ReLU) only when `shortcut` asks for it.
///
/// Behind the ReLU, `dz = dy` where `y > 0`; then `dβ = Σ dz`, `dγ = Σ dz · x̂` and
/// `dx = γ / σ · (dz − dβ / n − x̂ · dγ / n)` by channel, with `x̂ = (x − mean) / σ`.
fn train_backward(grad: FlexTensor, s: &TrainState, shortcut: bool) -> (FlexTensor, FlexTensor, FlexTensor, Option<FlexTensor>) {
    let p = Planes::of(&s.x);
    let (x, y) = (read(&s.x), read(&s.y));
    let mut dx = owned(grad);
    let relu = s.relu;
    let dz = |dy: f32, y: f32| clipped(dy, y, relu);
    let per_plane: Vec<(f64, f64)> = values_mut(&mut dx)
        .par_chunks(p.plane)
        .zip(x.par_chunks(p.plane).zip(y.par_chunks(p.plane)))
        .enumerate()
        .map(|(i, (dy, (xs, ys)))| {
            let mean = s.mean[i % p.channels];
            // Two passes over the plane (in cache for the second), one sum each: one sum per loop vectorises.
            (lane_sum3(dy, ys, xs, |d, y, _| dz(d, y)), lane_sum3(dy, ys, xs, |d, y, x| dz(d, y) * (x - mean)))
        })
        .collect();
    let sums = p.by_channel(&per_plane);
    let n = (x.len() / p.channels) as f64;
    // dx = a · dz + b · (x − mean) + c by channel.
    let coefficients: Vec<[f32; 3]> = sums
        .iter()
        .enumerate()
        .map(|(c, &(d_beta, d_centred))| {
            let (g, inv_std) = (f64::from(s.gamma[c]), f64::from(s.inv_std[c]));
            let a = g * inv_std;
            [a as f32, (-a * inv_std * inv_std * d_centred / n) as f32, (-a * d_beta / n) as f32]
        })
        .collect();
    let mut d_shortcut = shortcut.then(|| vec![0f32; x.len()]);
    let work = |i: usize, dy: &mut [f32], ds: Option<&mut [f32]>| {
        let ([a, b, c], mean) = (coefficients[i % p.channels], s.mean[i % p.channels]);
        let (xs, ys) = (&x[i * p.plane..][..p.plane], &y[i * p.plane..][..p.plane]);
        match ds {
            Some(ds) => dy.iter_mut().zip(ds).zip(xs.iter().zip(ys)).for_each(|((d, ds), (&x, &y))| {
                let g = dz(*d, y);
                *ds = g;
                *d = a * g + b * (x - mean) + c;
            }),
            None => dy.iter_mut().zip(xs.iter().zip(ys)).for_each(|(d, (&x, &y))| *d = a * dz(*d, y) + b * (x - mean) + c),
        }
    };
    match d_shortcut.as_mut() {
        Some(ds) => values_mut(&mut dx).par_chunks_mut(p.plane).zip(ds.par_chunks_mut(p.plane)).enumerate().for_each(|(i, (d, ds))| work(i, d, Some(ds))),
        None => values_mut(&mut dx).par_chunks_mut(p.plane).enumerate().for_each(|(i, d)| work(i, d, None)),
    }
    let d_gamma: Vec<f32> = sums.iter().zip(&s.inv_std).map(|(&(_, d_centred), &inv_std)| (d_centred * f64::from(inv_std)) as f32).collect();
    let d_beta: Vec<f32> = sums.iter().map(|&(d_beta, _)| d_beta as f32).collect();
    let shape = s.x.layout().shape().to_vec();
    let d_shortcut = d_shortcut.map(|ds| owm_core::flex::tensor(ds, &shape));
    (dx, owm_core::flex::tensor(d_gamma, &[p.channels]), owm_core::flex::tensor(d_beta, &[p.channels]), d_shortcut)
}

/// The backward pass of [`TrainingKernels::owm_batch_norm_train`] (parents `x`, `γ`, `β`) and, with `N = 4`,
/// of [`TrainingKernels::owm_batch_norm_train_add_relu`] (parents `x`, `γ`, `β`, shortcut).
#[derive(Debug)]
struct TrainBackward;

impl<const N: usize> Backward<Flex, N> for TrainBackward {
    type State = TrainState;

    fn backward(self, ops: Ops<Self::State, N>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let parents = ops.parents;
        let (dx, d_gamma, d_beta, d_shortcut) = train_backward(grad, &ops.state, parents.get(3).is_some_and(Option::is_some));
        for (parent, gradient) in parents.iter().zip([Some(dx), Some(d_gamma), Some(d_beta), d_shortcut]) {
            if let (Some(node), Some(gradient)) = (parent, gradient) {
                grads.register::<Flex>(node.id, gradient);
            }
        }
    }
}

impl TrainingKernels for Flex {
    fn owm_batch_norm_train(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64, relu: bool) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (y, mean, variance, _) = train_forward(&x, None, &gamma, &beta, epsilon, relu);
        (y, mean, variance)
    }

    fn owm_batch_norm_train_add_relu(
        x: FlexTensor,
        shortcut: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let (y, mean, variance, _) = train_forward(&x, Some(&shortcut), &gamma, &beta, epsilon, true);
        (y, mean, variance)
    }
}

/// A training pass's `(y, mean, variance)`.
type Trained<B> = (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>);

/// Records the training pass `forward` on autodiff, with `parents` (`x`, `γ`, `β`, and the shortcut when there
/// is one); the batch's statistics come back untracked.
fn record<C: CheckpointStrategy, const N: usize>(
    parents: [NodeGuard; N],
    (y, mean, variance, state): (FlexTensor, FlexTensor, FlexTensor, TrainState),
) -> Trained<Autodiff<Flex, C>> {
    let y = match TrainBackward.prepare::<C>(parents).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(state, y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    (y, Autodiff::<Flex, C>::from_inner(mean), Autodiff::<Flex, C>::from_inner(variance))
}

impl<C: CheckpointStrategy> TrainingKernels for Autodiff<Flex, C> {
    fn owm_batch_norm_train(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let forward = train_forward(x.primitive(), None, gamma.primitive(), beta.primitive(), epsilon, relu);
        record::<C, 3>([x.node(), gamma.node(), beta.node()], forward)
    }

    fn owm_batch_norm_train_add_relu(
        x: FloatTensor<Self>,
        shortcut: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let forward = train_forward(x.primitive(), Some(shortcut.primitive()), gamma.primitive(), beta.primitive(), epsilon, true);
        record::<C, 4>([x.node(), gamma.node(), beta.node(), shortcut.node()], forward)
    }
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

    /// OWM's training kernel against Burn's `BatchNorm` (training mode) then the shortcut's sum and the ReLU, on
    /// the same input: outputs and running statistics within 1e-5, the gradients of the input, `γ`, `β` and
    /// the shortcut within 1e-4 (relative, plus as much absolute). Only the order and width of the sums differ.
    #[test]
    fn training_should_agree_with_burns_batch_norm_and_relu() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let host = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap();
        let close = |name: &str, a: Vec<f32>, b: Vec<f32>, tolerance: f32| {
            assert_eq!(a.len(), b.len(), "{name}");
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!((x - y).abs() <= tolerance * (1.0 + y.abs()), "{name}[{i}]: {x} against Burn's {y}");
            }
        };
        for (shape, with_shortcut, relu) in
            [([4, 3, 5, 6], false, false), ([4, 3, 5, 6], false, true), ([3, 5, 17, 3], true, true), ([2, 2, 1, 1], false, true)]
        {
            let random = |lo: f64, hi: f64| Tensor::<1>::random([shape[1]], Distribution::Uniform(lo, hi), &device);
            let (mut ours, mut theirs) = (BatchNormConfig::new(shape[1]).init(&device), BatchNormConfig::new(shape[1]).init(&device));
            for (values, (ours, theirs)) in
                [random(0.5, 2.0), random(-1.0, 1.0)].into_iter().zip([(&mut ours.gamma, &mut theirs.gamma), (&mut ours.beta, &mut theirs.beta)])
            {
                *ours = ours.clone().map(|_| values.clone().require_grad());
                *theirs = theirs.clone().map(|_| values.clone().detach().require_grad());
            }
            // An offset mean, as convolutions give, to try the variance's cancellation.
            let x = (Tensor::<4>::random(shape, Distribution::Normal(0.0, 2.0), &device) + 3.0).require_grad();
            let shortcut = with_shortcut.then(|| Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad());
            let weights = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let y_ours = batch_norm(&ours, x.clone(), shortcut.clone(), relu);
            let y_theirs = {
                let y = theirs.forward(x.clone());
                let y = shortcut.clone().map_or(y.clone(), |s| y + s);
                if relu { burn::tensor::activation::relu(y) } else { y }
            };
            let flat = |t: Tensor<4>| t.reshape([-1]);
            close("output", host(flat(y_ours.clone())), host(flat(y_theirs.clone())), 1e-5);
            let (g_ours, g_theirs) = ((y_ours * weights.clone()).sum().backward(), (y_theirs * weights).sum().backward());
            close("input gradient", host(flat(x.grad(&g_ours).unwrap())), host(flat(x.grad(&g_theirs).unwrap())), 1e-4);
            close("γ gradient", host(ours.gamma.val().grad(&g_ours).unwrap()), host(theirs.gamma.val().grad(&g_theirs).unwrap()), 1e-4);
            close("β gradient", host(ours.beta.val().grad(&g_ours).unwrap()), host(theirs.beta.val().grad(&g_theirs).unwrap()), 1e-4);
            if let Some(s) = &shortcut {
                close("shortcut gradient", host(flat(s.grad(&g_ours).unwrap())), host(flat(s.grad(&g_theirs).unwrap())), 1e-4);
            }
            close("running mean", host(ours.running_mean.value_sync()), host(theirs.running_mean.value_sync()), 1e-5);
            close("running variance", host(ours.running_var.value_sync()), host(theirs.running_var.value_sync()), 1e-5);
        }
    }

    /// The training kernel's outputs, gradients and running statistics are the same bits on 1 thread and on 3:
    /// every sum runs in an order fixed by the data's layout alone.
    #[test]
    fn training_should_give_the_same_bits_whatever_the_thread_count() {
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(|| {
                let device = Device::flex().autodiff();
                let bits = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap().into_iter().map(f32::to_bits).collect::<Vec<_>>();
                let data = |seed: u64, len: usize| (0..len).map(|i| ((i as u64 * 2_654_435_761 + seed) % 1000) as f32 / 250.0 - 1.5).collect::<Vec<f32>>();
                let shape = [8, 6, 9, 7];
                let x = Tensor::<4>::from_data(TensorData::new(data(1, 8 * 6 * 9 * 7), shape), &device).require_grad();
                let shortcut = Tensor::<4>::from_data(TensorData::new(data(2, 8 * 6 * 9 * 7), shape), &device).require_grad();
                let bn = BatchNormConfig::new(6).init(&device);
                let y = batch_norm(&bn, x.clone(), Some(shortcut.clone()), true);
                let weights = Tensor::<4>::from_data(TensorData::new(data(3, 8 * 6 * 9 * 7), shape), &device);
                let grads = (y.clone() * weights).sum().backward();
                [
                    bits(y.reshape([-1])),
                    bits(x.grad(&grads).unwrap().reshape([-1])),
                    bits(shortcut.grad(&grads).unwrap().reshape([-1])),
                    bits(bn.gamma.val().grad(&grads).unwrap()),
                    bits(bn.beta.val().grad(&grads).unwrap()),
                    bits(bn.running_mean.value_sync().inner()),
                    bits(bn.running_var.value_sync().inner()),
                ]
            })
        };
        assert_eq!(run(1), run(3));
    }
}
