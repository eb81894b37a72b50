//! Rényi differential privacy of the sampled Gaussian mechanism: what DP-SGD with Poisson-sampled batches
//! spends per step, composed over steps, and converted to an (ε, δ) guarantee.
//!
//! The RDP of one step at order α is `log A_α / (α − 1)` (Mironov, Talwar and Zhang, "Rényi Differential
//! Privacy of the Sampled Gaussian Mechanism", 2019): a finite binomial sum for integer α, two converging
//! series with `erfc` terms for fractional α. Steps compose by adding RDP; the conversion to ε is Balle et
//! al.'s ("Hypothesis Testing Interpretations and Rényi Differential Privacy", 2020, Prop. 12), minimised over
//! the orders — the accountant Opacus calls `rdp`, checked against it on `tests/fixtures/opacus_rdp.json`
//! (`tools/opacus_rdp.py`).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The orders Opacus's RDP accountant uses: 1.1 to 10.9 by 0.1, then 12 to 63.
pub fn default_orders() -> Vec<f64> {
    (11..110).map(|i| f64::from(i) / 10.0).chain((12..64).map(f64::from)).collect()
}

/// An (ε, δ) guarantee and the RDP order that gave it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epsilon {
    /// ε.
    pub epsilon: f64,
    /// δ.
    pub delta: f64,
    /// The order α whose RDP bound gives the smallest ε.
    pub order: f64,
}

/// Composes sampled-Gaussian steps and reports the (ε, δ) they spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RdpAccountant {
    /// The RDP orders α tracked.
    pub orders: Vec<f64>,
    /// The RDP spent so far at each order.
    pub rdp: Vec<f64>,
    /// Steps composed so far.
    pub steps: u64,
}

impl Default for RdpAccountant {
    fn default() -> Self {
        let orders = default_orders();
        Self { rdp: vec![0.0; orders.len()], orders, steps: 0 }
    }
}

impl RdpAccountant {
    /// An accountant tracking `orders` (each above 1).
    pub fn with_orders(orders: Vec<f64>) -> Self {
        Self { rdp: vec![0.0; orders.len()], orders, steps: 0 }
    }

    /// Adds `steps` steps of the Gaussian mechanism with noise multiplier `sigma` on batches drawn with
    /// sampling rate `q` (each example in each batch independently with probability `q`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] unless `0 < q <= 1` and `sigma > 0`, both finite.
    pub fn compose(&mut self, q: f64, sigma: f64, steps: u64) -> Result<()> {
        check_mechanism(q, sigma)?;
        for (r, &alpha) in self.rdp.iter_mut().zip(&self.orders) {
            *r += steps as f64 * sampled_gaussian_rdp(q, sigma, alpha);
        }
        self.steps += steps;
        Ok(())
    }

    /// The ε spent for `delta`, minimised over the orders (infinite before any order gives a finite bound).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] unless `0 < delta < 1`.
    pub fn epsilon(&self, delta: f64) -> Result<Epsilon> {
        if !(delta > 0.0 && delta < 1.0) {
            return Err(Error::Setting { name: "delta", rule: "must lie in (0, 1)", value: delta });
        }
        let mut best = Epsilon { epsilon: f64::INFINITY, delta, order: f64::NAN };
        for (&r, &a) in self.rdp.iter().zip(&self.orders) {
            let eps = r - (delta.ln() + a.ln()) / (a - 1.0) + ((a - 1.0) / a).ln();
            if eps < best.epsilon {
                best = Epsilon { epsilon: eps.max(0.0), delta, order: a };
            }
        }
        Ok(best)
    }
}

/// The ε that `steps` steps with sampling rate `q` and noise multiplier `sigma` spend for `delta`.
///
/// # Errors
///
/// As [`RdpAccountant::compose`] and [`RdpAccountant::epsilon`].
pub fn dp_epsilon(q: f64, sigma: f64, steps: u64, delta: f64) -> Result<Epsilon> {
    let mut accountant = RdpAccountant::default();
    accountant.compose(q, sigma, steps)?;
    accountant.epsilon(delta)
}

/// The smallest noise multiplier whose `steps` steps at sampling rate `q` spend at most `epsilon` for
/// `delta` (bisection to a relative width of 1e-10; the result's ε never exceeds the target).
///
/// # Errors
///
/// [`Error::Setting`] for a target ε that is not positive and finite, or one no noise below 10⁶ reaches;
/// as [`dp_epsilon`] otherwise.
pub fn noise_multiplier(epsilon: f64, delta: f64, q: f64, steps: u64) -> Result<f64> {
    noise_multiplier_after(&RdpAccountant::default(), epsilon, delta, q, steps)
}

/// The noise multiplier of `releases` Gaussian mechanisms without sampling (each adds noise of this many times
/// its query's L2 sensitivity) that together spend `epsilon` for `delta` on their own. Solved over orders up to
/// 2¹⁴ as well as the default ones: a small ε is only reached at orders beyond the default's 63, where
/// `log(1/δ)/(α−1)` has shrunk.
///
/// # Errors
///
/// As [`noise_multiplier`].
pub fn gaussian_noise_multiplier(epsilon: f64, delta: f64, releases: u64) -> Result<f64> {
    noise_multiplier_after(&RdpAccountant::with_orders(gaussian_orders()), epsilon, delta, 1.0, releases)
}

/// The orders [`gaussian_noise_multiplier`] tracks: the default ones, then powers of two up to 2¹⁴.
pub fn gaussian_orders() -> Vec<f64> {
    default_orders().into_iter().chain((6..=14).map(|k| f64::from(1u32 << k))).collect()
}

/// [`noise_multiplier`] for steps that follow what `spent` has already composed (a private estimate of the
/// inputs' statistics, say): the smallest noise whose steps, composed with `spent`, stay within `epsilon`.
///
/// # Errors
///
/// As [`noise_multiplier`]; also when `spent` alone leaves no room below `epsilon`.
pub fn noise_multiplier_after(spent: &RdpAccountant, epsilon: f64, delta: f64, q: f64, steps: u64) -> Result<f64> {
    if !(epsilon > 0.0 && epsilon.is_finite()) {
        return Err(Error::Setting { name: "target epsilon", rule: "must be positive and finite", value: epsilon });
    }
    let spends = |sigma: f64| {
        let mut total = spent.clone();
        total.compose(q, sigma, steps)?;
        total.epsilon(delta).map(|e| e.epsilon)
    };
    let mut hi = 1.0;
    while spends(hi)? > epsilon {
        hi *= 2.0;
        if hi > 1e6 {
            return Err(Error::Setting { name: "target epsilon", rule: "is not reached with noise multipliers up to 1e6", value: epsilon });
        }
    }
    let mut lo = 0.0;
    while (hi - lo) > 1e-10 * hi {
        let mid = 0.5 * (lo + hi);
        if spends(mid)? > epsilon { lo = mid } else { hi = mid }
    }
    Ok(hi)
}

fn check_mechanism(q: f64, sigma: f64) -> Result<()> {
    if !(q > 0.0 && q <= 1.0) {
        return Err(Error::Setting { name: "sampling rate", rule: "must lie in (0, 1]", value: q });
    }
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(Error::Setting { name: "noise multiplier", rule: "must be positive and finite", value: sigma });
    }
    Ok(())
}

/// RDP at order `alpha` of one step of the sampled Gaussian mechanism.
pub fn sampled_gaussian_rdp(q: f64, sigma: f64, alpha: f64) -> f64 {
    if q == 1.0 {
        return alpha / (2.0 * sigma * sigma);
    }
    if alpha.is_infinite() {
        return f64::INFINITY;
    }
    let log_a = if alpha.fract() == 0.0 { log_a_integer(q, sigma, alpha) } else { log_a_fractional(q, sigma, alpha) };
    log_a / (alpha - 1.0)
}

/// `log A_α` for integer α: `Σ_i C(α, i) (1−q)^(α−i) q^i exp((i² − i) / 2σ²)`.
fn log_a_integer(q: f64, sigma: f64, alpha: f64) -> f64 {
    let n = alpha as u64;
    let mut log_binom = 0.0f64;
    let mut log_a = f64::NEG_INFINITY;
    for i in 0..=n {
        let fi = i as f64;
        if i > 0 {
            log_binom += ((n - i + 1) as f64).ln() - fi.ln();
        }
        let term = log_binom + fi * q.ln() + (alpha - fi) * (1.0 - q).ln() + (fi * fi - fi) / (2.0 * sigma * sigma);
        log_a = log_add(log_a, term);
    }
    log_a
}

/// `log A_α` for fractional α: the two series of Mironov et al. §3.3, summed until their terms fall below
/// e⁻³⁰.
fn log_a_fractional(q: f64, sigma: f64, alpha: f64) -> f64 {
    let (mut log_a0, mut log_a1) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let z0 = sigma * sigma * (1.0 / q - 1.0).ln() + 0.5;
    let (mut log_coef, mut positive) = (0.0f64, true);
    let s2 = 2.0 * sigma * sigma;
    for i in 0..100_000u32 {
        let fi = f64::from(i);
        if i > 0 {
            let factor = alpha - fi + 1.0;
            log_coef += factor.abs().ln() - fi.ln();
            positive ^= factor < 0.0;
        }
        let j = alpha - fi;
        let log_t0 = log_coef + fi * q.ln() + j * (1.0 - q).ln();
        let log_t1 = log_coef + j * q.ln() + fi * (1.0 - q).ln();
        let log_e0 = 0.5f64.ln() + log_erfc((fi - z0) / (2f64.sqrt() * sigma));
        let log_e1 = 0.5f64.ln() + log_erfc((z0 - j) / (2f64.sqrt() * sigma));
        let log_s0 = log_t0 + (fi * fi - fi) / s2 + log_e0;
        let log_s1 = log_t1 + (j * j - j) / s2 + log_e1;
        if positive {
            log_a0 = log_add(log_a0, log_s0);
            log_a1 = log_add(log_a1, log_s1);
        } else {
            log_a0 = log_sub(log_a0, log_s0);
            log_a1 = log_sub(log_a1, log_s1);
        }
        if log_s0.max(log_s1) < -30.0 {
            break;
        }
    }
    log_add(log_a0, log_a1)
}

/// `ln(e^a + e^b)` without overflow.
fn log_add(a: f64, b: f64) -> f64 {
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    if lo == f64::NEG_INFINITY { hi } else { hi + (lo - hi).exp().ln_1p() }
}

/// `ln(e^a − e^b)` for `a ≥ b` (−∞ when they are equal).
fn log_sub(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        a
    } else if a <= b {
        f64::NEG_INFINITY
    } else {
        a + (-(b - a).exp()).ln_1p()
    }
}

/// `ln erfc(x)`, by its asymptotic series where `erfc` underflows.
fn log_erfc(x: f64) -> f64 {
    if x < 25.0 {
        return libm::erfc(x).ln();
    }
    let x2 = x * x;
    -x2 - x.ln() - 0.5 * std::f64::consts::PI.ln() + (1.0 - 0.5 / x2 + 0.75 / (x2 * x2) - 1.875 / (x2 * x2 * x2)).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_epsilon_should_be_reached_at_the_orders_beyond_63() {
        // At δ = 1e-5 the default orders cannot go below log(1/δ)/62 ≈ 0.19; the Gaussian orders reach 0.1.
        assert!(noise_multiplier(0.1, 1e-5, 1.0, 1).is_err());
        let sigma = gaussian_noise_multiplier(0.1, 1e-5, 1).unwrap();
        let mut a = RdpAccountant::with_orders(gaussian_orders());
        a.compose(1.0, sigma, 1).unwrap();
        let e = a.epsilon(1e-5).unwrap().epsilon;
        assert!(e <= 0.1 && e > 0.1 - 1e-6, "{e}");
        // The classic calibration sqrt(2 ln(1.25/δ))/ε = 48.4 is looser than RDP's.
        assert!(sigma < (2.0 * (1.25f64 / 1e-5).ln()).sqrt() / 0.1, "{sigma}");
    }

    #[test]
    fn the_default_orders_are_opacus_s() {
        let orders = default_orders();
        assert_eq!(orders.len(), 99 + 52);
        assert_eq!((orders[0], orders[98], orders[99], orders[150]), (1.1, 10.9, 12.0, 63.0));
    }

    #[test]
    fn full_batches_spend_the_gaussian_mechanism_s_rdp() {
        // q = 1: RDP(α) = α / 2σ², exactly.
        assert_eq!(sampled_gaussian_rdp(1.0, 2.0, 3.0), 3.0 / 8.0);
    }

    #[test]
    fn integer_and_fractional_formulas_should_meet() {
        // Orders just beside an integer give RDP just beside the integer order's.
        for (q, sigma) in [(0.01, 1.0), (0.1, 2.0), (0.3, 0.8)] {
            let at = sampled_gaussian_rdp(q, sigma, 4.0);
            let near = sampled_gaussian_rdp(q, sigma, 4.0 + 1e-7);
            assert!((at - near).abs() <= 1e-5 * at, "q {q} sigma {sigma}: {at} vs {near}");
        }
    }

    #[test]
    fn log_erfc_should_be_continuous_where_the_series_takes_over() {
        let (below, above) = (log_erfc(25.0 - 1e-9), log_erfc(25.0));
        assert!((below - above).abs() < 1e-6 * below.abs(), "{below} vs {above}");
    }

    #[test]
    fn settings_must_be_in_range() {
        assert!(matches!(dp_epsilon(0.0, 1.0, 1, 1e-5), Err(Error::Setting { name: "sampling rate", .. })));
        assert!(matches!(dp_epsilon(0.1, 0.0, 1, 1e-5), Err(Error::Setting { name: "noise multiplier", .. })));
        assert!(matches!(dp_epsilon(0.1, 1.0, 1, 1.0), Err(Error::Setting { name: "delta", .. })));
        assert!(matches!(noise_multiplier(-1.0, 1e-5, 0.1, 1), Err(Error::Setting { name: "target epsilon", .. })));
    }
}
