//! Host access to tensors of Burn's `flex` backend, for OWM's own CPU kernels (`owm-models`' convolutions,
//! `owm-optim`'s fused optimiser passes), written through Burn's backend-extension API.
//!
//! [`matmul`] is the workspace's one `unsafe` call (`unsafe_code` is denied everywhere else): the `gemm` crate
//! behind a check of every matrix against its slice.

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
#[allow(unsafe_code, reason = "the one GEMM call; every pointer it receives is checked against its slice first")]
pub fn matmul(dst: &mut [f32], lhs: (&[f32], Strided), rhs: (&[f32], Strided), accumulate: bool) {
    let ((a, sa), (b, sb)) = (lhs, rhs);
    let (m, n, k) = (sa.rows, sb.cols, sa.cols);
    assert_eq!(sb.rows, k, "matmul: [{m}, {k}] @ [{}, {n}]", sb.rows);
    assert_eq!(dst.len(), m * n, "matmul: the output holds {} values, not {m}·{n}", dst.len());
    assert!(sa.fits(a.len()) && sb.fits(b.len()), "matmul: a matrix reaches past its slice ({sa:?} in {}, {sb:?} in {})", a.len(), b.len());
    assert!(isize::try_from(n).is_ok(), "matmul: {n} columns");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let stride = |s: usize| s as isize;
    // SAFETY: `dst` is an exclusive borrow of exactly `m·n` values, written at `r·n + c` for `r < m`,
    // `c < n`; `fits` checked that every `(r, c)` the kernel reads of `lhs` (`r < m`, `c < k`) and of
    // `rhs` (`r < k`, `c < n`) lies inside its shared borrow, with strides that fit `isize`. `dst` cannot
    // alias either input (an exclusive borrow beside shared ones), and `Parallelism::None` keeps the work
    // on this thread, inside the borrows' lifetime.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
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
}
