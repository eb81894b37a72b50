//! Precision, recall and F-beta with micro, macro, weighted and per-class averaging and an explicit
//! zero-division policy, as `sklearn.metrics.precision_recall_fscore_support`.

use serde::{Deserialize, Serialize};

use crate::{Error, Result, check_labels};

/// How per-class values are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Average {
    /// From the counts summed over classes (for single-label data, micro precision = recall = accuracy).
    Micro,
    /// Unweighted mean of the per-class values.
    Macro,
    /// Mean of the per-class values weighted by each class's support.
    Weighted,
}

/// The value of a ratio whose denominator is zero (a class never predicted, or never present).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDivision {
    /// 0 (scikit-learn's default, `"warn"`, also gives 0).
    Zero,
    /// 1.
    One,
    /// NaN, left out of averages.
    Nan,
}

impl ZeroDivision {
    fn value(self) -> f64 {
        match self {
            ZeroDivision::Zero => 0.0,
            ZeroDivision::One => 1.0,
            ZeroDivision::Nan => f64::NAN,
        }
    }
}

/// Precision, recall and F-beta.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F-beta.
    pub f: f64,
}

/// Per-class counts.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    tp: u64,
    fp: u64,
    fn_: u64,
}

impl Counts {
    fn prf(self, beta2: f64, zero: ZeroDivision) -> Prf {
        let ratio = |a: u64, b: u64| if b == 0 { zero.value() } else { a as f64 / b as f64 };
        let denominator = (1.0 + beta2) * self.tp as f64 + beta2 * self.fn_ as f64 + self.fp as f64;
        Prf {
            precision: ratio(self.tp, self.tp + self.fp),
            recall: ratio(self.tp, self.tp + self.fn_),
            f: if denominator == 0.0 { zero.value() } else { (1.0 + beta2) * self.tp as f64 / denominator },
        }
    }
}

fn counts(truth: &[usize], predicted: &[usize], num_classes: usize) -> Result<Vec<Counts>> {
    check_labels(truth, predicted, num_classes)?;
    let mut c = vec![Counts::default(); num_classes];
    for (&t, &p) in truth.iter().zip(predicted) {
        if t == p {
            c[t].tp += 1;
        } else {
            c[p].fp += 1;
            c[t].fn_ += 1;
        }
    }
    Ok(c)
}

fn check_beta(beta: f64) -> Result<f64> {
    if beta.is_finite() && beta >= 0.0 { Ok(beta * beta) } else { Err(Error::Beta(beta)) }
}

/// Per-class precision, recall, F-beta and support, for labels in `0..num_classes`.
///
/// # Errors
///
/// [`Error::Empty`], [`Error::LengthMismatch`], [`Error::UnknownLabel`], or [`Error::Beta`] for a negative or
/// non-finite `beta`.
pub fn per_class_prf(truth: &[usize], predicted: &[usize], num_classes: usize, beta: f64, zero: ZeroDivision) -> Result<Vec<(Prf, u64)>> {
    let beta2 = check_beta(beta)?;
    Ok(counts(truth, predicted, num_classes)?.into_iter().map(|c| (c.prf(beta2, zero), c.tp + c.fn_)).collect())
}

/// Averaged precision, recall and F-beta over the labels `0..num_classes` (classes absent from both lists
/// count, as with scikit-learn's `labels=range(k)`); NaN values from [`ZeroDivision::Nan`] are left out of
/// macro and weighted means.
///
/// # Errors
///
/// As [`per_class_prf`].
pub fn prf(truth: &[usize], predicted: &[usize], num_classes: usize, beta: f64, average: Average, zero: ZeroDivision) -> Result<Prf> {
    let beta2 = check_beta(beta)?;
    let counts = counts(truth, predicted, num_classes)?;
    if average == Average::Micro {
        let sum = counts.iter().fold(Counts::default(), |a, c| Counts { tp: a.tp + c.tp, fp: a.fp + c.fp, fn_: a.fn_ + c.fn_ });
        return Ok(sum.prf(beta2, zero));
    }
    let per: Vec<(Prf, f64)> = counts.iter().map(|c| (c.prf(beta2, zero), if average == Average::Weighted { (c.tp + c.fn_) as f64 } else { 1.0 })).collect();
    let mean = |get: fn(&Prf) -> f64| {
        let kept: Vec<(f64, f64)> = per.iter().map(|(p, w)| (get(p), *w)).filter(|(v, _)| !v.is_nan()).collect();
        let total: f64 = kept.iter().map(|(_, w)| w).sum();
        if kept.is_empty() {
            f64::NAN
        } else if total == 0.0 {
            zero.value()
        } else {
            kept.iter().map(|(v, w)| v * w).sum::<f64>() / total
        }
    };
    Ok(Prf { precision: mean(|p| p.precision), recall: mean(|p| p.recall), f: mean(|p| p.f) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_of_a_perfect_classifier_is_one() {
        let p = prf(&[0, 1, 2], &[0, 1, 2], 3, 1.0, Average::Macro, ZeroDivision::Zero).unwrap();
        assert_eq!((p.precision, p.recall, p.f), (1.0, 1.0, 1.0));
    }

    #[test]
    fn beta_must_be_finite_and_not_negative() {
        for beta in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(prf(&[0], &[0], 1, beta, Average::Micro, ZeroDivision::Zero), Err(Error::Beta(_))));
        }
    }

    #[test]
    fn a_never_predicted_class_takes_the_zero_division_value() {
        // Class 1 is never predicted: its precision is 0/0.
        let per = per_class_prf(&[0, 1], &[0, 0], 2, 1.0, ZeroDivision::One).unwrap();
        assert_eq!(per[1].0.precision, 1.0);
        assert_eq!(per[1].0.recall, 0.0);
        assert_eq!(per[1].0.f, 0.0);
        assert_eq!(per[1].1, 1);
    }
}
