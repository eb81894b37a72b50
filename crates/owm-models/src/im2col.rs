//! The im2col copies behind OWM's convolution kernels ([`crate::kernels`]): each item's input laid out as a
//! matrix `[C·kh·kw, OH·OW]` for one GEMM, and the adjoint that folds such a matrix back onto the input's
//! gradient. A stride-1 "same" convolution copies each row as one shifted plane; other layers row by row.

use burn::backend::flex::FlexTensor;

/// Shapes of one convolution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvShape {
    pub(crate) batch: usize,
    pub(crate) channels: usize,
    pub(crate) height: usize,
    pub(crate) width: usize,
    pub(crate) out_channels: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) padding: usize,
    pub(crate) stride: usize,
    pub(crate) out: [usize; 2],
}

impl ConvShape {
    /// For the input `x` `[batch, C, H, W]` and `out_channels` kernels of `kernel` (`[kh, kw]`).
    pub(crate) fn new(x: &FlexTensor, out_channels: usize, kernel: [usize; 2], padding: usize, stride: usize) -> Self {
        let xs = x.layout().shape();
        let out = [(xs[2] + 2 * padding - kernel[0]) / stride + 1, (xs[3] + 2 * padding - kernel[1]) / stride + 1];
        Self { batch: xs[0], channels: xs[1], height: xs[2], width: xs[3], out_channels, kernel, padding, stride, out }
    }
    /// Rows of each item's im2col matrix (`C·kh·kw`).
    pub(crate) fn rows(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }
    /// Output positions per item (`OH·OW`), the columns of its im2col matrix.
    pub(crate) fn plane(&self) -> usize {
        self.out[0] * self.out[1]
    }
    /// For kernel row `i` and output row `oh`: the input row `oh·s + i − p`, when it lies inside the image.
    fn input_row(&self, oh: usize, i: usize) -> Option<usize> {
        (oh * self.stride + i).checked_sub(self.padding).filter(|&ih| ih < self.height)
    }
    /// For kernel column `j`: the output columns whose input column `ow·s + j − p` lies inside the image (the
    /// first of them reads column `start·s + j − p`).
    fn inside(&self, j: usize) -> std::ops::Range<usize> {
        let start = self.padding.saturating_sub(j).div_ceil(self.stride);
        start..(self.width + self.padding).saturating_sub(j).div_ceil(self.stride).min(self.out[1])
    }
    /// Whether the convolution has stride 1 and "same" padding (`kh = kw = 2p + 1`, so `OH·OW = H·W`): the case
    /// [`same_shift`] describes.
    fn same(&self) -> bool {
        self.stride == 1 && self.kernel == [2 * self.padding + 1; 2]
    }
}

/// For a convolution of stride 1 and "same" padding ([`ConvShape::same`]), where row `(c, i, j)` of the im2col
/// matrix is the image plane `c` shifted by `(i − p)·W + (j − p)`: for each kernel position, that shift and the
/// range of the row it fills, `[start, end)`, within the output rows that read inside the image. The columns that
/// wrap around a row's edge (`j ≠ p`) are the caller's to zero.
fn same_shift(s: ConvShape, i: usize, j: usize) -> (isize, std::ops::Range<usize>) {
    let (w, image) = (s.width as isize, (s.height * s.width) as isize);
    let (di, dj) = (i as isize - s.padding as isize, j as isize - s.padding as isize);
    let shift = di * w + dj;
    // Output rows oh with 0 ≤ oh + di < H, then positions whose source lies in the plane.
    let (rows_start, rows_end) = ((-di).max(0) * w, (s.height as isize - di).min(s.height as isize) * w);
    let (start, end) = (rows_start.max(-shift), rows_end.min(image - shift));
    (shift, start.max(0) as usize..end.max(start).max(0) as usize)
}

/// Zeros, in each output row `row` covers, the columns that wrap around the image's edge for kernel column
/// `j` in [`same_shift`]'s case: `ow < p − j` on the left, `ow ≥ W − (j − p)` on the right.
fn zero_wrapped(s: ConvShape, row: &mut [f32], rows: std::ops::Range<usize>, j: usize) {
    let w = s.width;
    let end = (rows.end.div_ceil(w) * w).min(row.len());
    let rows = &mut row[rows.start / w * w..end];
    if j < s.padding {
        rows.chunks_exact_mut(w).for_each(|r| r[..s.padding - j].fill(0.0));
    } else if j > s.padding {
        rows.chunks_exact_mut(w).for_each(|r| r[w - (j - s.padding)..].fill(0.0));
    }
}

/// Item `b`'s im2col matrix `[C·kh·kw, OH·OW]` into `cols`: row `(c, i, j)`, column `(oh, ow)` holds
/// `x[b, c, oh + i − p, ow + j − p]`. Only positions inside the image are written (and, for "same" padding,
/// zeros where a shifted row wraps around the edge); the rest (padding) must already hold zeros, as they do in
/// a scratch buffer only ever filled by this function for one shape.
pub(crate) fn im2col_item(x: &[f32], b: usize, s: ConvShape, cols: &mut [f32]) {
    let (plane, image) = (s.plane(), s.height * s.width);
    if s.same() {
        // One copy of the shifted plane per row, instead of one per output row.
        for (row, dst) in cols.chunks_mut(plane).enumerate() {
            let (c, i, j) = (row / (s.kernel[0] * s.kernel[1]), row / s.kernel[1] % s.kernel[0], row % s.kernel[1]);
            let (shift, range) = same_shift(s, i, j);
            let src = &x[(b * s.channels + c) * image..][..image];
            let from = (range.start as isize + shift) as usize;
            dst[range.clone()].copy_from_slice(&src[from..from + range.len()]);
            zero_wrapped(s, dst, range, j);
        }
        return;
    }
    for (row, dst) in cols.chunks_mut(plane).enumerate() {
        let (c, i, j) = (row / (s.kernel[0] * s.kernel[1]), row / s.kernel[1] % s.kernel[0], row % s.kernel[1]);
        let src = &x[(b * s.channels + c) * image..][..image];
        let inside = s.inside(j);
        if inside.is_empty() {
            continue;
        }
        for oh in 0..s.out[0] {
            let Some(ih) = s.input_row(oh, i) else { continue };
            let out = &mut dst[oh * s.out[1]..][..s.out[1]];
            let start = ih * s.width + inside.start * s.stride + j - s.padding;
            if s.stride > 1 {
                out[inside.clone()].iter_mut().zip(src[start..].iter().step_by(s.stride)).for_each(|(o, &v)| *o = v);
            } else {
                out[inside.clone()].copy_from_slice(&src[start..start + inside.len()]);
            }
        }
    }
}

/// The adjoint of [`im2col_item`]: adds each entry of one item's `cols` `[C·kh·kw, OH·OW]` onto the input
/// position `dx` `[C, H, W]` it was copied from, in a fixed order.
pub(crate) fn col2im_item(cols: &mut [f32], s: ConvShape, dx: &mut [f32]) {
    let (plane, image) = (s.plane(), s.height * s.width);
    if s.same() {
        // One sum of the shifted row per kernel position, the entries that wrapped around the edge zeroed first
        // (they belong to padding): each input value takes its terms in the same order as below.
        for (c, dst) in dx.chunks_mut(image).enumerate() {
            for i in 0..s.kernel[0] {
                for j in 0..s.kernel[1] {
                    let (shift, range) = same_shift(s, i, j);
                    let src = &mut cols[((c * s.kernel[0] + i) * s.kernel[1] + j) * plane..][..plane];
                    zero_wrapped(s, src, range.clone(), j);
                    let to = (range.start as isize + shift) as usize;
                    dst[to..to + range.len()].iter_mut().zip(&src[range]).for_each(|(d, g)| *d += g);
                }
            }
        }
        return;
    }
    for (c, dst) in dx.chunks_mut(image).enumerate() {
        for i in 0..s.kernel[0] {
            for j in 0..s.kernel[1] {
                let src = &cols[((c * s.kernel[0] + i) * s.kernel[1] + j) * plane..][..plane];
                let inside = s.inside(j);
                if inside.is_empty() {
                    continue;
                }
                for oh in 0..s.out[0] {
                    let Some(ih) = s.input_row(oh, i) else { continue };
                    let start = ih * s.width + inside.start * s.stride + j - s.padding;
                    if s.stride > 1 {
                        dst[start..].iter_mut().step_by(s.stride).zip(&src[oh * s.out[1]..][inside.clone()]).for_each(|(d, g)| *d += g);
                    } else {
                        for (d, g) in dst[start..start + inside.len()].iter_mut().zip(&src[oh * s.out[1]..][inside.clone()]) {
                            *d += g;
                        }
                    }
                }
            }
        }
    }
}

/// A zeroed scratch matrix `[C·kh·kw, OH·OW]` for one item, made once per rayon job and reused across its items.
pub(crate) fn scratch(s: ConvShape) -> Vec<f32> {
    vec![0f32; s.rows() * s.plane()]
}
