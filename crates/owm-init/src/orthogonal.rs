use owm_core::Rng;

/// A `rows × cols` matrix with orthonormal rows (if `rows <= cols`) or columns, times `gain`.
///
/// As PyTorch's `orthogonal_`: draw a Gaussian matrix, take the Q of its QR decomposition with the signs fixed
/// so that R has a positive diagonal (modified Gram–Schmidt with re-orthogonalisation gives that Q directly),
/// transposed when there are fewer rows than columns.
///
/// ## References
///
/// Saxe, McClelland and Ganguli, "Exact solutions to the nonlinear dynamics of learning in deep linear neural
/// networks", ICLR 2014, arXiv:1312.6120.
pub(crate) fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut Rng) -> Vec<f32> {
    let (m, n) = if rows < cols { (cols, rows) } else { (rows, cols) };
    // Column-major m × n Gaussian matrix; columns are orthonormalised in place.
    let mut q: Vec<f64> = (0..m * n).map(|_| rng.normal(0.0, 1.0)).collect();
    for j in 0..n {
        for _pass in 0..2 {
            for k in 0..j {
                let dot: f64 = (0..m).map(|i| q[k * m + i] * q[j * m + i]).sum();
                for i in 0..m {
                    q[j * m + i] -= dot * q[k * m + i];
                }
            }
        }
        let norm = (0..m).map(|i| q[j * m + i].powi(2)).sum::<f64>().sqrt();
        for i in 0..m {
            q[j * m + i] /= norm;
        }
    }
    // Row-major rows × cols output: Q itself (rows = m) or its transpose (rows = n).
    let mut out = vec![0f32; rows * cols];
    for r in 0..rows {
        for c in 0..cols {
            let v = if rows >= cols { q[c * m + r] } else { q[r * m + c] };
            out[r * cols + c] = (gain * v) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram(v: &[f32], rows: usize, cols: usize, by_rows: bool) -> Vec<f64> {
        let (k, len) = if by_rows { (rows, cols) } else { (cols, rows) };
        let at = |a: usize, i: usize| f64::from(if by_rows { v[a * cols + i] } else { v[i * cols + a] });
        (0..k).flat_map(|a| (0..k).map(move |b| (0..len).map(|i| at(a, i) * at(b, i)).sum())).collect()
    }

    #[test]
    fn should_give_orthonormal_columns_for_tall_matrices() {
        let v = orthogonal(50, 20, 1.0, &mut Rng::new(1));
        for (i, g) in gram(&v, 50, 20, false).iter().enumerate() {
            let want = if i / 20 == i % 20 { 1.0 } else { 0.0 };
            assert!((g - want).abs() < 1e-5, "{i}: {g}");
        }
    }

    #[test]
    fn should_give_orthonormal_rows_for_wide_matrices_times_gain() {
        let v = orthogonal(6, 75, 2.0, &mut Rng::new(2));
        for (i, g) in gram(&v, 6, 75, true).iter().enumerate() {
            let want = if i / 6 == i % 6 { 4.0 } else { 0.0 };
            assert!((g - want).abs() < 1e-4, "{i}: {g}");
        }
    }
}
