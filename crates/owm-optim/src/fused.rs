//! Fused per-parameter work on Burn's `flex` backend: Adam's moments and update, and the per-layer
//! statistics, each one pass over host memory instead of a dozen tensor operations (each with its own
//! allocation and thread hand-off). Through Burn's backend-extension API; no fork of Burn.
//!
//! Architecture Invariant: a fused kernel computes the same IEEE operations in the same order as the tensor
//! expression it replaces (Adam), or sums in a fixed order whatever the thread count (statistics), so a seed
//! still gives bit-identical weights on the CPU and other devices keep the tensor expressions.

use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, ExtensionType, Flex, backend_extension};
use burn::prelude::*;
use owm_core::flex::{contiguous, owned, read, tensor, values_mut};
use rayon::prelude::*;

/// Items per parallel task: below this a pass runs on the calling thread.
const CHUNK: usize = 1 << 15;

/// Partial sums per statistic in [`FusedKernels::owm_layer_sums`].
const LANES: usize = 8;

/// Whether `a` and `b` have opposite signs (a sign flip from `b` to `a`; zeros and NaN never flip).
fn flip(a: f32, b: f32) -> bool {
    ((a < 0.0) & (b > 0.0)) | ((a > 0.0) & (b < 0.0))
}

/// Adam's inputs and outputs for one parameter: the incoming update (the gradient) and the two moments.
#[derive(ExtensionType)]
pub(crate) struct AdamTensors<B: Backend> {
    /// The gradient (in), the bias-corrected update `m̂ / (√v̂ + ε)` (out).
    pub update: FloatTensor<B>,
    /// First moment.
    pub m: FloatTensor<B>,
    /// Second moment.
    pub v: FloatTensor<B>,
}

/// Adam's scalars, as the tensor expression uses them (each rounded to f32 once).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamScalars {
    /// `1 − β₁`.
    pub one_minus_beta1: f64,
    /// `β₂`.
    pub beta2: f64,
    /// `1 − β₂`.
    pub one_minus_beta2: f64,
    /// `√(1 − β₂ᵗ)`.
    pub bc2_sqrt: f64,
    /// `1 − β₁ᵗ`.
    pub bc1: f64,
    /// `ε`.
    pub eps: f64,
}

/// The fused kernels, run by flex.
#[backend_extension(Flex)]
pub(crate) trait FusedKernels: Backend {
    /// One Adam step of one parameter (`first`: no moments yet; `m` and `v` are then ignored).
    fn owm_adam(#[extension_type] t: AdamTensors<Self>, first: bool, s: [f64; 6]) -> AdamTensors<Self>;
    /// The six sums of [`crate::layer_stats`] for one parameter: ‖g‖², ‖after‖², ‖after − before‖²,
    /// ‖before‖², the count of sign flips and of non-zero gradient entries.
    fn owm_layer_sums(before: FloatTensor<Self>, grad: FloatTensor<Self>, after: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// One chunk's slices of the first moment, second moment, update and gradient.
type Chunk<'a> = ((&'a mut [f32], &'a mut [f32]), (&'a mut [f32], &'a [f32]));

impl FusedKernels for Flex {
    fn owm_adam(t: AdamTensors<Self>, first: bool, s: [f64; 6]) -> AdamTensors<Self> {
        let [c1, b2, c2, s2, b1c, e] = s.map(|x| x as f32);
        let g = contiguous(&t.update);
        let g = read(&g);
        let n = [g.len()];
        // The moments are updated in place when the optimiser's state alone holds them (it hands them over).
        let zeros = || tensor(vec![0f32; g.len()], &n);
        let (mut m, mut v) = if first { (zeros(), zeros()) } else { (owned(t.m), owned(t.v)) };
        let mut u = vec![0f32; g.len()];
        // The tensor expression, operation by operation (see `Transform::Adam` in transform.rs), over zipped
        // slices: no bounds checks, so the loops vectorise (the same IEEE operations, lane by lane).
        let step = |((m, v), (u, g)): Chunk<'_>| {
            let update = |m: f32, v: f32| (m / b1c) / (v.sqrt() / s2 + e);
            // Two loops, not one with a branch inside: each vectorises.
            let slices = m.iter_mut().zip(v.iter_mut()).zip(u.iter_mut()).zip(g);
            if first {
                for (((m, v), u), &g) in slices {
                    (*m, *v) = (g * c1, g * g * c2);
                    *u = update(*m, *v);
                }
            } else {
                for (((m, v), u), &g) in slices {
                    (*m, *v) = (*m + (g - *m) * c1, *v * b2 + g * g * c2);
                    *u = update(*m, *v);
                }
            }
        };
        let (ms, vs) = (values_mut(&mut m), values_mut(&mut v));
        if g.len() > CHUNK {
            ms.par_chunks_mut(CHUNK).zip(vs.par_chunks_mut(CHUNK)).zip(u.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK))).for_each(step);
        } else {
            step(((ms, vs), (&mut u, g)));
        }
        AdamTensors { update: tensor(u, &n), m, v }
    }

    fn owm_layer_sums(before: FloatTensor<Self>, grad: FloatTensor<Self>, after: FloatTensor<Self>) -> FloatTensor<Self> {
        let (b, g, a) = (contiguous(&before), contiguous(&grad), contiguous(&after));
        let (b, g, a) = (read(&b), read(&g), read(&a));
        // Fixed chunks summed in order: the same sums whatever the thread count. Within a chunk, blocks of
        // `LANES²` items go through `LANES` f32 (and integer) partial sums, which vectorise; each block's lanes
        // are then added, in order, to f64 sums, so rounding stays that of a few f32 additions per item.
        let part = |i: usize| {
            let r = i * CHUNK..((i + 1) * CHUNK).min(a.len());
            let (b, g, a) = (&b[r.clone()], &g[r.clone()], &a[r]);
            let mut sums = [0f64; 6];
            let whole = a.len() / (LANES * LANES) * (LANES * LANES);
            let (bb, gb, ab) = (b[..whole].as_chunks::<LANES>().0, g[..whole].as_chunks::<LANES>().0, a[..whole].as_chunks::<LANES>().0);
            for ((b, g), a) in bb.chunks_exact(LANES).zip(gb.chunks_exact(LANES)).zip(ab.chunks_exact(LANES)) {
                let (mut squares, mut counts) = ([[0f32; LANES]; 4], [[0u32; LANES]; 2]);
                for ((b, g), a) in b.iter().zip(g).zip(a) {
                    for k in 0..LANES {
                        let (b, g, a) = (b[k], g[k], a[k]);
                        squares[0][k] += g * g;
                        squares[1][k] += a * a;
                        squares[2][k] += (a - b) * (a - b);
                        squares[3][k] += b * b;
                        counts[0][k] += u32::from(flip(a, b));
                        counts[1][k] += u32::from(g != 0.0);
                    }
                }
                squares.iter().enumerate().for_each(|(q, l)| sums[q] += l.iter().map(|&x| f64::from(x)).sum::<f64>());
                counts.iter().enumerate().for_each(|(q, l)| sums[4 + q] += f64::from(l.iter().sum::<u32>()));
            }
            for ((&b, &g), &a) in b[whole..].iter().zip(&g[whole..]).zip(&a[whole..]) {
                let (b64, g64, a64) = (f64::from(b), f64::from(g), f64::from(a));
                sums[0] += g64 * g64;
                sums[1] += a64 * a64;
                sums[2] += (a64 - b64) * (a64 - b64);
                sums[3] += b64 * b64;
                sums[4] += f64::from(u8::from(flip(a, b)));
                sums[5] += f64::from(u8::from(g != 0.0));
            }
            sums
        };
        let parts: Vec<[f64; 6]> = if a.len() > CHUNK { (0..a.len().div_ceil(CHUNK)).into_par_iter().map(part).collect() } else { vec![part(0)] };
        let sums = parts.iter().fold([0f64; 6], |mut acc, p| {
            acc.iter_mut().zip(p).for_each(|(a, p)| *a += p);
            acc
        });
        tensor(sums.map(|s| s as f32).to_vec(), &[6])
    }
}

/// Whether the fused kernels take `t`: f32 on flex without autodiff (the optimiser's own tensors).
fn on_flex(t: &Tensor<1>) -> bool {
    owm_core::flex::on_flex(t) && !t.device().is_autodiff()
}

/// One Adam step of one parameter: the update `m̂ / (√v̂ + ε)` and the new moments. Fused on flex; the tensor
/// expression elsewhere.
pub(crate) fn adam(g: Tensor<1>, moments: Option<(Tensor<1>, Tensor<1>)>, s: AdamScalars) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let first = moments.is_none();
    if on_flex(&g) && moments.as_ref().is_none_or(|(m, v)| on_flex(m) && on_flex(v)) {
        let (m, v) = moments.unwrap_or_else(|| (g.clone(), g.clone()));
        let scalars = [s.one_minus_beta1, s.beta2, s.one_minus_beta2, s.bc2_sqrt, s.bc1, s.eps];
        let out = <Dispatch as FusedKernels>::owm_adam(AdamTensors { update: g.into_dispatch(), m: m.into_dispatch(), v: v.into_dispatch() }, first, scalars);
        return (Tensor::from_dispatch(out.update), Tensor::from_dispatch(out.m), Tensor::from_dispatch(out.v));
    }
    let m = match &moments {
        Some((m, _)) => m.clone() + (g.clone() - m.clone()).mul_scalar(s.one_minus_beta1),
        None => g.clone().mul_scalar(s.one_minus_beta1),
    };
    let g2 = g.square().mul_scalar(s.one_minus_beta2);
    let v = match moments {
        Some((_, v)) => v.mul_scalar(s.beta2) + g2,
        None => g2,
    };
    let denom = v.clone().sqrt().div_scalar(s.bc2_sqrt).add_scalar(s.eps);
    (m.clone().div_scalar(s.bc1) / denom, m, v)
}

/// The six sums of [`crate::layer_stats`] for one parameter, as a `[6]` tensor: fused on flex, tensor
/// reductions elsewhere (`None` for a parameter without a gradient: its two gradient sums are NaN).
pub(crate) fn layer_sums(before: &Tensor<1>, grad: Option<&Tensor<1>>, after: &Tensor<1>) -> Tensor<1> {
    let device = after.device();
    if let Some(g) = grad.filter(|g| on_flex(g) && on_flex(before) && on_flex(after)) {
        return Tensor::from_dispatch(<Dispatch as FusedKernels>::owm_layer_sums(
            before.clone().into_dispatch(),
            g.clone().into_dispatch(),
            after.clone().into_dispatch(),
        ));
    }
    let sq = |t: Tensor<1>| t.square().sum();
    // Counts through sign(): |sign(min(a·b, 0))| is 1 exactly where a and b have opposite signs.
    let nonzero = |t: Tensor<1>| t.sign().abs().sum();
    let nan = || Tensor::<1>::full([1], f32::NAN, &device);
    Tensor::cat(
        vec![
            grad.cloned().map_or_else(nan, sq),
            sq(after.clone()),
            sq(after.clone() - before.clone()),
            sq(before.clone()),
            nonzero((after.clone() * before.clone()).clamp_max(0.0)),
            grad.cloned().map_or_else(nan, nonzero),
        ],
        0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    /// Values in [-1, 1] from a fixed linear congruential sequence, every `zero_every`-th an exact zero.
    fn values(n: usize, seed: u64, zero_every: usize) -> Vec<f32> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if i % zero_every == 0 { 0.0 } else { (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0 }
            })
            .collect()
    }

    /// The fused sums against plain f64 sums, on a length that spans parallel chunks, whole blocks of lanes
    /// and a tail: the four squared norms within 1e-6 (relative; f32 lanes per block), the counts exactly.
    #[test]
    fn fused_layer_sums_should_match_f64_sums() {
        let device = Device::flex();
        let n = 2 * CHUNK + 3 * LANES * LANES + 5;
        let (b, g, a) = (values(n, 1, 7), values(n, 2, 5), values(n, 3, 11));
        let t = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [n]), &device);
        let fused = host(layer_sums(&t(&b), Some(&t(&g)), &t(&a)));
        let mut want = [0f64; 6];
        for i in 0..n {
            let (b, g, a) = (f64::from(b[i]), f64::from(g[i]), f64::from(a[i]));
            want[0] += g * g;
            want[1] += a * a;
            want[2] += (a - b) * (a - b);
            want[3] += b * b;
            want[4] += f64::from(u8::from(a * b < 0.0));
            want[5] += f64::from(u8::from(g != 0.0));
        }
        for (i, (got, want)) in fused.iter().zip(want).enumerate() {
            let tolerance = if i < 4 { 1e-6 * want } else { 0.0 };
            assert!((f64::from(*got) - want).abs() <= tolerance, "sum {i}: {got} against {want}");
        }
    }

    /// Adam writes its moments in place only when nothing else holds them: a clone kept elsewhere (a
    /// checkpoint, say) keeps its values, and the step equals the tensor expression, bit for bit.
    #[test]
    fn fused_adam_should_leave_moments_held_elsewhere_untouched() {
        let device = Device::flex();
        let n = CHUNK + 3;
        let (g, m, v) = (values(n, 4, 9), values(n, 5, 13), values(n, 6, 17).iter().map(|x| x.abs()).collect::<Vec<_>>());
        let t = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [n]), &device);
        let (kept_m, kept_v) = (t(&m), t(&v));
        let s = AdamScalars {
            one_minus_beta1: 0.1,
            beta2: 0.999,
            one_minus_beta2: 0.001,
            bc2_sqrt: (1.0f64 - 0.999f64.powi(3)).sqrt(),
            bc1: 1.0 - 0.9f64.powi(3),
            eps: 1e-8,
        };
        let (update, new_m, new_v) = adam(t(&g), Some((kept_m.clone(), kept_v.clone())), s);
        assert_eq!((host(kept_m), host(kept_v)), (m.clone(), v.clone()), "the held moments are unchanged");
        let [c1, b2, c2, s2, b1c, e] = [s.one_minus_beta1, s.beta2, s.one_minus_beta2, s.bc2_sqrt, s.bc1, s.eps].map(|x| x as f32);
        let want_m: Vec<f32> = m.iter().zip(&g).map(|(m, g)| m + (g - m) * c1).collect();
        let want_v: Vec<f32> = v.iter().zip(&g).map(|(v, g)| v * b2 + g * g * c2).collect();
        let want_u: Vec<f32> = want_m.iter().zip(&want_v).map(|(m, v)| (m / b1c) / (v.sqrt() / s2 + e)).collect();
        assert_eq!((host(new_m), host(new_v), host(update)), (want_m, want_v, want_u));
    }
}
