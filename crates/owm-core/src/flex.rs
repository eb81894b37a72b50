//! Host access to tensors of Burn's `flex` backend, for OWM's own CPU kernels (`owm-models`' convolutions,
//! `owm-optim`'s fused optimiser passes), written through Burn's backend-extension API.
//!
//! This module holds the workspace's `unsafe` code (`unsafe_code` is denied everywhere else): [`matmul`], the
//! `gemm` crate behind a check of every matrix against its slice, and [`fresh_items`], output buffers
//! written without being zeroed first, whose parts a kernel must prove written ([`Filled`]) to return.

use std::mem::MaybeUninit;

use burn::backend::flex::FlexTensor;
use burn::prelude::*;

/// Whether `t` holds f32 values on flex, with or without autodiff.
pub fn on_flex<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == burn::tensor::DType::F32 && t.device().without_autodiff() == Device::flex()
}

/// `t` laid out contiguously (itself when it already is).
pub fn contiguous(t: &FlexTensor) -> FlexTensor {
    t.to_contiguous()
}

/// The f32 values of `t`, which must be contiguous (the output of [`contiguous`]), within its own range of
/// the buffer (a view may start inside a larger one).
#[allow(clippy::expect_used, reason = "every caller passes the output of `contiguous`")]
pub fn read(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("a contiguous tensor")
}

/// `t` as a contiguous tensor that alone owns its whole buffer, so that [`values_mut`] writes in place: `t`
/// itself when it already is one, else a copy.
pub fn owned(t: FlexTensor) -> FlexTensor {
    let n = t.layout().num_elements();
    if t.is_unique() && t.is_contiguous() && t.layout().start_offset() == 0 && t.bytes().len() == n * size_of::<f32>() {
        t
    } else {
        let shape = t.layout().shape().to_vec();
        tensor(read(&contiguous(&t)).to_vec(), &shape)
    }
}

/// The f32 values of `t`, to write in place (the output of [`owned`]; any other tensor is copied first).
pub fn values_mut(t: &mut FlexTensor) -> &mut [f32] {
    t.storage_mut::<f32>()
}

/// A flex tensor of `shape` holding `values`.
pub fn tensor(values: Vec<f32>, shape: &[usize]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape.to_vec()))
}

/// Where an f32 matrix lies in a slice: `rows × cols` values, value `(r, c)` at `r·row_stride + c·col_stride`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Strided {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Distance between rows, in values.
    pub row_stride: usize,
    /// Distance between columns, in values.
    pub col_stride: usize,
}

impl Strided {
    /// A dense row-major `rows × cols` matrix.
    pub fn row_major(rows: usize, cols: usize) -> Self {
        Self { rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transpose, over the same values.
    pub fn t(self) -> Self {
        Self { rows: self.cols, cols: self.rows, row_stride: self.col_stride, col_stride: self.row_stride }
    }

    /// Whether every value lies inside a slice of `len` values, with both strides representable as `isize`.
    fn fits(&self, len: usize) -> bool {
        let strides_fit = isize::try_from(self.row_stride).is_ok() && isize::try_from(self.col_stride).is_ok();
        let last = (self.rows.checked_sub(1), self.cols.checked_sub(1));
        strides_fit
            && match last {
                (Some(r), Some(c)) => {
                    r.checked_mul(self.row_stride).and_then(|a| c.checked_mul(self.col_stride).and_then(|b| a.checked_add(b))).is_some_and(|i| i < len)
                }
                _ => true,
            }
    }
}

/// `dst = lhs · rhs`, or `dst += lhs · rhs` with `accumulate`, where `dst` is dense row-major
/// `[lhs.rows, rhs.cols]`; on the calling thread.
///
/// This is the `gemm` crate's kernel that flex's own matmul calls for each matrix of a batch (same
/// micro-kernels, same order of sums: the same bits as `Flex::float_matmul` on one matrix), without
/// flex's zero-filled, re-aligned output per call. OWM's kernels call it per item from their own
/// threads, on scratch buffers they reuse.
///
/// # Panics
/// When the shapes disagree or a matrix reaches past its slice (a bug in the caller, never input data).
pub fn matmul(dst: &mut [f32], lhs: (&[f32], Strided), rhs: (&[f32], Strided), accumulate: bool) {
    let (ptr, len) = (dst.as_mut_ptr(), dst.len());
    gemm_into(ptr, len, lhs, rhs, accumulate);
}

/// [`matmul`] into `len` values at `dst`, which it only reads with `accumulate`; every one of them is
/// written when it returns.
#[allow(unsafe_code, reason = "the one GEMM call; every pointer it receives is checked against its slice first")]
fn gemm_into(dst: *mut f32, len: usize, lhs: (&[f32], Strided), rhs: (&[f32], Strided), accumulate: bool) {
    let ((a, sa), (b, sb)) = (lhs, rhs);
    let (m, n, k) = (sa.rows, sb.cols, sa.cols);
    assert_eq!(sb.rows, k, "matmul: [{m}, {k}] @ [{}, {n}]", sb.rows);
    assert_eq!(len, m * n, "matmul: the output holds {len} values, not {m}·{n}");
    assert!(sa.fits(a.len()) && sb.fits(b.len()), "matmul: a matrix reaches past its slice ({sa:?} in {}, {sb:?} in {})", a.len(), b.len());
    assert!(isize::try_from(n).is_ok(), "matmul: {n} columns");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            // SAFETY: `dst` is valid for writes of `len = m·n` values (the callers' exclusive borrows).
            unsafe { std::ptr::write_bytes(dst, 0, len) };
        }
        return;
    }
    let stride = |s: usize| s as isize;
    // SAFETY: `dst` comes from an exclusive borrow of exactly `m·n` values (initialised, or with
    // `accumulate` false, which the kernel then never reads: it writes `lhs · rhs` over every value),
    // written at `r·n + c` for `r < m`, `c < n`; `fits` checked that every `(r, c)` the kernel reads of
    // `lhs` (`r < m`, `c < k`) and of `rhs` (`r < k`, `c < n`) lies inside its shared borrow, with strides
    // that fit `isize`. `dst` cannot alias either input (an exclusive borrow beside shared ones), and
    // `Parallelism::None` keeps the work on this thread, inside the borrows' lifetime.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            stride(n),
            accumulate,
            a.as_ptr(),
            stride(sa.col_stride),
            stride(sa.row_stride),
            b.as_ptr(),
            stride(sb.col_stride),
            stride(sb.row_stride),
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// One item's part of a buffer [`fresh_items`] allocates: not yet written, so it cannot be read. A kernel
/// turns it into [`Filled`] by writing every value ([`Fresh::matmul`], [`Fresh::write_all`]).
#[derive(Debug)]
pub struct Fresh<'a>(&'a mut [MaybeUninit<f32>]);

/// An item's part of a [`fresh_items`] buffer with every value written: the proof its closure returns.
#[derive(Debug)]
pub struct Filled<'a>(&'a mut [f32]);

impl<'a> Fresh<'a> {
    /// `lhs · rhs` written over the part (dense row-major `[lhs.rows, rhs.cols]`), as [`matmul`] without
    /// `accumulate`.
    ///
    /// # Panics
    /// As [`matmul`]: when the shapes disagree with each other or with the part.
    pub fn matmul(self, lhs: (&[f32], Strided), rhs: (&[f32], Strided)) -> Filled<'a> {
        gemm_into(self.0.as_mut_ptr().cast(), self.0.len(), lhs, rhs, false);
        self.filled()
    }

    /// The part written with `values`, in order.
    ///
    /// # Panics
    /// When `values` yields fewer values than the part holds.
    pub fn write_all(self, values: impl IntoIterator<Item = f32>) -> Filled<'a> {
        let mut written = 0;
        self.0.iter_mut().zip(values).for_each(|(slot, v)| {
            slot.write(v);
            written += 1;
        });
        assert_eq!(written, self.0.len(), "write_all: {written} values for a part of {}", self.0.len());
        self.filled()
    }

    /// Every value has been written (the caller's contract: [`Fresh::matmul`] and [`Fresh::write_all`]).
    #[allow(unsafe_code, reason = "the callers have written every value of the part")]
    fn filled(self) -> Filled<'a> {
        let (ptr, len) = (self.0.as_mut_ptr().cast::<f32>(), self.0.len());
        // SAFETY: the part's `len` values were all written (by GEMM over `m·n = len` values, or one by one
        // with their count checked), and `MaybeUninit<f32>` has `f32`'s layout; the borrow moves into
        // `Filled` with its lifetime.
        Filled(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
    }
}

impl Filled<'_> {
    /// The written values, to update in place (a bias, say).
    pub fn values(&mut self) -> &mut [f32] {
        self.0
    }
}

/// A buffer of `items · per_item` values written item by item across rayon's threads without being zeroed
/// first: `fill(state, i, part)` writes item `i`'s part and returns it [`Filled`]; `state` comes from `init`,
/// once per rayon job (a scratch buffer the job's items reuse), as in `for_each_init`.
///
/// A fresh activation buffer of megabytes is otherwise zeroed only for a kernel to overwrite it: 5–7% of the
/// residual network's training step went to `memset` (`docs/benchmarks.md`).
///
/// # Panics
/// When `fill` returns another part than the one it was given, or panics.
#[allow(unsafe_code, reason = "every part was filled, which `Filled` proves")]
pub fn fresh_items<T>(
    items: usize,
    per_item: usize,
    init: impl Fn() -> T + Sync + Send,
    fill: impl for<'a> Fn(&mut T, usize, Fresh<'a>) -> Filled<'a> + Sync + Send,
) -> Vec<f32> {
    use rayon::prelude::*;
    let Some(len) = items.checked_mul(per_item) else { panic!("fresh_items: {items} items of {per_item} values overflow") };
    let mut out = Vec::with_capacity(len);
    if per_item > 0 {
        out.spare_capacity_mut()[..len].par_chunks_mut(per_item).enumerate().for_each_init(init, |state, (i, part)| {
            let at = part.as_ptr().cast::<f32>();
            let filled = fill(state, i, Fresh(part));
            assert!(std::ptr::eq(filled.0.as_ptr(), at) && filled.0.len() == per_item, "fresh_items: item {i} returned another part");
        });
    }
    // SAFETY: every part of the first `len` values was filled: `Filled` is only made from a `Fresh` whose
    // values were all written, and each was checked to be its item's whole part. A panic above leaves the
    // length at 0.
    unsafe { out.set_len(len) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by definition, in f64.
    fn naive(a: &[f32], sa: Strided, b: &[f32], sb: Strided) -> Vec<f64> {
        let mut out = vec![0f64; sa.rows * sb.cols];
        for r in 0..sa.rows {
            for c in 0..sb.cols {
                out[r * sb.cols + c] =
                    (0..sa.cols).map(|i| f64::from(a[r * sa.row_stride + i * sa.col_stride]) * f64::from(b[i * sb.row_stride + c * sb.col_stride])).sum();
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0).collect()
    }

    #[test]
    fn products_of_plain_and_transposed_matrices_should_match_the_definition() {
        let (m, k, n) = (7, 25, 33);
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        let (sa, sb) = (Strided::row_major(m, k), Strided::row_major(k, n));
        let expected = naive(&a, sa, &b, sb);
        let mut out = vec![f32::NAN; m * n];
        matmul(&mut out, (&a, sa), (&b, sb), false);
        // Kept as the transpose `[n, k]` and read through `t()`: the same product.
        let bt: Vec<f32> = (0..n).flat_map(|c| (0..k).map(|i| b[i * n + c]).collect::<Vec<_>>()).collect();
        let mut out_t = vec![0f32; m * n];
        matmul(&mut out_t, (&a, sa), (&bt, Strided::row_major(n, k).t()), false);
        for ((x, y), e) in out.iter().zip(&out_t).zip(&expected) {
            assert!((f64::from(*x) - e).abs() <= 1e-5 * (1.0 + e.abs()), "{x} against {e}");
            assert!((f64::from(*y) - e).abs() <= 1e-5 * (1.0 + e.abs()), "{y} against {e}");
        }
        // Accumulating adds the product again.
        matmul(&mut out, (&a, sa), (&b, sb), true);
        for (x, e) in out.iter().zip(&expected) {
            assert!((f64::from(*x) - 2.0 * e).abs() <= 2e-5 * (1.0 + e.abs()), "{x} against 2·{e}");
        }
    }

    #[test]
    fn the_product_should_be_bit_identical_to_flex_matmul() {
        let (m, k, n) = (16, 150, 100);
        let (a, b) = (values(m * k, 3), values(k * n, 4));
        let mut out = vec![0f32; m * n];
        matmul(&mut out, (&a, Strided::row_major(m, k)), (&b, Strided::row_major(k, n)), false);
        let device = Device::flex();
        let flex = Tensor::<2>::from_data(TensorData::new(a, [m, k]), &device).matmul(Tensor::<2>::from_data(TensorData::new(b, [k, n]), &device));
        assert_eq!(out, flex.into_data().try_into_vec::<f32>().unwrap_or_default());
    }

    #[test]
    #[should_panic(expected = "reaches past its slice")]
    fn a_matrix_longer_than_its_slice_should_be_refused() {
        let mut out = vec![0f32; 4];
        matmul(&mut out, (&[1.0; 4], Strided::row_major(2, 2)), (&[1.0; 3], Strided::row_major(2, 2)), false);
    }

    #[test]
    #[should_panic(expected = "the output holds")]
    fn an_output_of_the_wrong_size_should_be_refused() {
        let mut out = vec![0f32; 3];
        matmul(&mut out, (&[1.0; 4], Strided::row_major(2, 2)), (&[1.0; 4], Strided::row_major(2, 2)), false);
    }

    #[test]
    fn fresh_items_should_hold_what_each_item_wrote() {
        let (m, k, n, items) = (5, 9, 700, 6);
        let (a, b) = (values(m * k, 5), values(items * k * n, 6));
        let rhs = |i: usize| (&b[i * k * n..][..k * n], Strided::row_major(k, n));
        // GEMM over some items, values one by one over the others, a scratch state per job.
        let out = fresh_items(
            items,
            m * n,
            || vec![0f32; m * n],
            |scratch, i, part| {
                if i % 2 == 0 {
                    part.matmul((&a, Strided::row_major(m, k)), rhs(i))
                } else {
                    scratch.iter_mut().enumerate().for_each(|(j, v)| *v = (i * j) as f32);
                    part.write_all(scratch.iter().copied())
                }
            },
        );
        assert_eq!(out.len(), items * m * n);
        for (i, part) in out.chunks(m * n).enumerate() {
            let expected: Vec<f32> = if i % 2 == 0 {
                let mut e = vec![0f32; m * n];
                matmul(&mut e, (&a, Strided::row_major(m, k)), rhs(i), false);
                e
            } else {
                (0..m * n).map(|j| (i * j) as f32).collect()
            };
            assert_eq!(part, expected, "item {i}");
        }
        assert!(fresh_items(0, 4, || (), |(), _, part| part.write_all([])).is_empty());
    }

    #[test]
    #[should_panic(expected = "write_all: 3 values for a part of 4")]
    fn a_part_written_short_should_be_refused() {
        fresh_items(2, 4, || (), |(), _, part| part.write_all([1.0, 2.0, 3.0]));
    }
}
