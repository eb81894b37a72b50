//! Seeded bootstrap confidence intervals for any metric.

use owm_core::Rng;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A percentile bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// The metric on all items.
    pub value: f64,
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Coverage, e.g. 0.95.
    pub level: f64,
    /// Resamples drawn.
    pub resamples: usize,
    /// The seed they were drawn with (recorded so the interval can be recomputed).
    pub seed: u64,
}

/// The percentile bootstrap interval of `metric` over `items` items: `metric` receives the indices of a
/// resample (drawn with replacement from `Rng::new(seed)`) and returns its value; resamples whose metric is
/// undefined (an error, or NaN) are skipped.
///
/// # Errors
///
/// [`Error::Empty`] for no items; [`Error::Bootstrap`] for a level outside (0, 1), no resamples, or when no
/// resample gives a value; the metric's error on all items.
pub fn bootstrap(items: usize, resamples: usize, level: f64, seed: u64, metric: impl Fn(&[usize]) -> Result<f64>) -> Result<Interval> {
    if items == 0 {
        return Err(Error::Empty);
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(Error::Bootstrap(format!("level must be in (0, 1), got {level}")));
    }
    if resamples == 0 {
        return Err(Error::Bootstrap("at least one resample is needed".into()));
    }
    let all: Vec<usize> = (0..items).collect();
    let value = metric(&all)?;
    let mut rng = Rng::new(seed);
    let mut values: Vec<f64> = (0..resamples)
        .filter_map(|_| {
            let sample: Vec<usize> = (0..items).map(|_| rng.below(items as u64) as usize).collect();
            metric(&sample).ok().filter(|v| !v.is_nan())
        })
        .collect();
    if values.is_empty() {
        return Err(Error::Bootstrap("the metric is undefined on every resample".into()));
    }
    values.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        // Linear interpolation between order statistics (NumPy's default).
        let pos = q * (values.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
    };
    let tail = (1.0 - level) / 2.0;
    Ok(Interval { value, low: quantile(tail), high: quantile(1.0 - tail), level, resamples, seed })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,000 items, 700 correct: accuracy 0.7, standard error √(0.21/1000) ≈ 0.0145.
    fn accuracy(sample: &[usize]) -> Result<f64> {
        Ok(sample.iter().filter(|&&i| i < 700).count() as f64 / sample.len() as f64)
    }

    #[test]
    fn should_cover_the_normal_approximation_of_an_accuracy() {
        let ci = bootstrap(1000, 2000, 0.95, 7, accuracy).unwrap();
        assert_eq!(ci.value, 0.7);
        // The normal approximation gives 0.7 ± 0.0284; the bootstrap agrees within a few thousandths.
        assert!((ci.low - 0.6716).abs() < 0.005 && (ci.high - 0.7284).abs() < 0.005, "{ci:?}");
    }

    #[test]
    fn the_same_seed_should_give_the_same_interval() {
        assert_eq!(bootstrap(1000, 200, 0.9, 3, accuracy).unwrap(), bootstrap(1000, 200, 0.9, 3, accuracy).unwrap());
        assert_ne!(bootstrap(1000, 200, 0.9, 3, accuracy).unwrap(), bootstrap(1000, 200, 0.9, 4, accuracy).unwrap());
    }

    #[test]
    fn level_must_be_between_zero_and_one() {
        assert!(matches!(bootstrap(10, 10, 1.0, 0, accuracy), Err(Error::Bootstrap(_))));
    }

    #[test]
    fn resamples_must_be_positive() {
        assert!(matches!(bootstrap(10, 0, 0.9, 0, accuracy), Err(Error::Bootstrap(_))));
    }

    #[test]
    fn items_must_be_positive() {
        assert!(matches!(bootstrap(0, 10, 0.9, 0, accuracy), Err(Error::Empty)));
    }
}
