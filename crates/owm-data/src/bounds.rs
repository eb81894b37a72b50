//! Declared public bounds of the input features, and the normalisers built from them: one that reads no data
//! ([`Normalizer::from_bounds`]) and one from differentially private estimates of the training split's means
//! and standard deviations ([`Normalizer::fit_private`]), whose privacy the bounds make possible: every
//! value is clamped into them, so one example moves a sum by at most the bounds' width.

use std::str::FromStr;

use owm_core::Rng;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Dataset, Error, Normalizer, Result};

/// Public bounds of each input feature: `LO:HI` for every feature, or comma-separated `NAME=LO:HI` entries
/// for named features (a table's prepared columns), `*=LO:HI` giving the rest. Written and read as that text.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureBounds {
    every: Option<(f64, f64)>,
    named: Vec<(String, (f64, f64))>,
}

/// What a private normaliser estimates from the training split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimate {
    /// Nothing: each feature scaled from its bounds to [-1, 1] (no privacy spent).
    #[default]
    Bounds,
    /// The means: features centred on them, in their own units.
    Center,
    /// The means and standard deviations: features standardised (each deviation at least a quarter of the
    /// bounds' width, so that a feature the noise makes look constant is not blown up).
    Standard,
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Estimate::Bounds => "bounds",
            Estimate::Center => "center",
            Estimate::Standard => "standard",
        })
    }
}

impl Estimate {
    /// How many Gaussian releases the estimate makes (each with the same noise multiplier).
    pub fn releases(self) -> u64 {
        match self {
            Estimate::Bounds => 0,
            Estimate::Center => 1,
            Estimate::Standard => 2,
        }
    }
}

fn bounds_err(spec: &str, reason: impl std::fmt::Display) -> Error {
    Error::Bounds(format!("`{spec}`: {reason}"))
}

fn parse_range(spec: &str, text: &str) -> Result<(f64, f64)> {
    let (lo, hi) = text.split_once(':').ok_or_else(|| bounds_err(spec, format!("`{text}` is not LO:HI")))?;
    let number = |t: &str| t.trim().parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| bounds_err(spec, format!("`{t}` is not a finite number")));
    let (lo, hi) = (number(lo)?, number(hi)?);
    if lo >= hi {
        return Err(bounds_err(spec, format!("the lower bound {lo} is not below the upper bound {hi}")));
    }
    Ok((lo, hi))
}

impl FromStr for FeatureBounds {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self> {
        if !spec.contains('=') {
            return Ok(Self { every: Some(parse_range(spec, spec)?), named: Vec::new() });
        }
        let mut bounds = Self { every: None, named: Vec::new() };
        for entry in spec.split(',') {
            let (name, range) = entry.split_once('=').ok_or_else(|| bounds_err(spec, format!("`{entry}` is not NAME=LO:HI")))?;
            let (name, range) = (name.trim(), parse_range(spec, range)?);
            if name == "*" {
                bounds.every = Some(range);
            } else if bounds.named.iter().any(|(n, _)| n == name) {
                return Err(bounds_err(spec, format!("`{name}` is given twice")));
            } else {
                bounds.named.push((name.to_string(), range));
            }
        }
        Ok(bounds)
    }
}

impl std::fmt::Display for FeatureBounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<String> = self.named.iter().map(|(n, (lo, hi))| format!("{n}={lo}:{hi}")).collect();
        match (self.every, parts.is_empty()) {
            (Some((lo, hi)), true) => return write!(f, "{lo}:{hi}"),
            (Some((lo, hi)), false) => parts.push(format!("*={lo}:{hi}")),
            (None, _) => {}
        }
        f.write_str(&parts.join(","))
    }
}

impl Serialize for FeatureBounds {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for FeatureBounds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl FeatureBounds {
    /// The bounds of each of `count` features, named by `names` where the data names them.
    ///
    /// # Errors
    ///
    /// [`Error::Bounds`] for a name no feature has, or a feature left without bounds.
    pub fn resolve(&self, count: usize, names: Option<&[String]>) -> Result<Vec<(f64, f64)>> {
        let spec = self.to_string();
        let names = names.filter(|n| n.len() == count);
        if let Some((name, _)) = self.named.iter().find(|(n, _)| names.is_none_or(|all| !all.contains(n))) {
            let known = names.map_or("the data's features have no names: give LO:HI".to_string(), |n| format!("features: {}", n.join(", ")));
            return Err(bounds_err(&spec, format!("no feature `{name}` ({known})")));
        }
        (0..count)
            .map(|i| {
                let name = names.map(|n| n[i].as_str());
                self.named
                    .iter()
                    .find(|(n, _)| Some(n.as_str()) == name)
                    .map(|(_, r)| *r)
                    .or(self.every)
                    .ok_or_else(|| bounds_err(&spec, format!("feature `{}` has no bounds (add `*=LO:HI` for the rest)", name.unwrap_or_default())))
            })
            .collect()
    }
}

impl Normalizer {
    /// Scales each feature from its `bounds` to [-1, 1]: the midpoint as mean, half the width as deviation.
    pub fn from_bounds(bounds: &[(f64, f64)]) -> Self {
        let mean = bounds.iter().map(|(lo, hi)| (0.5 * (lo + hi)) as f32).collect();
        let std = bounds.iter().map(|(lo, hi)| (0.5 * (hi - lo)) as f32).collect();
        Self { mean, std }
    }

    /// A normaliser from differentially private estimates of `data`'s statistics, every value clamped into
    /// its `bounds`: each estimate is a sum released with Gaussian noise of standard deviation `sigma` times
    /// the sum's L2 sensitivity (the bounds' widths; their squares for the deviations), divided by the
    /// number of items (public, as DP-SGD's sampling rate takes it), then clamped into what the bounds allow.
    /// [`Estimate::Center`] releases the sums; [`Estimate::Standard`] also the squared deviations from the
    /// released means. The noise is drawn from `rng`.
    ///
    /// # Errors
    ///
    /// As [`Normalizer::fit`]; [`Error::FeatureCount`] when `bounds` does not give one range per feature.
    pub fn fit_private(data: &Dataset, bounds: &[(f64, f64)], estimate: Estimate, sigma: f64, rng: &mut Rng) -> Result<Self> {
        let fitted = Self::fit(data)?;
        if bounds.len() != fitted.mean.len() {
            return Err(Error::FeatureCount { expected: bounds.len(), found: fitted.mean.len() });
        }
        if estimate == Estimate::Bounds {
            return Ok(Self::from_bounds(bounds));
        }
        let n = data.len() as f64;
        let clamped = |i: usize, item: &mut Vec<f32>| {
            item.clear();
            data.item_into(i, item);
            item.iter().zip(bounds).map(|(&x, &(lo, hi))| f64::from(x).clamp(lo, hi)).collect::<Vec<f64>>()
        };
        let release = |sums: Vec<f64>, widths: Vec<f64>, rng: &mut Rng| {
            let sensitivity = widths.iter().map(|w| w * w).sum::<f64>().sqrt();
            sums.into_iter().map(|s| (s + rng.normal(0.0, sigma * sensitivity)) / n).collect::<Vec<f64>>()
        };
        let mut item = Vec::with_capacity(bounds.len());
        let mut sums = vec![0f64; bounds.len()];
        for i in 0..data.len() {
            for (s, x) in sums.iter_mut().zip(clamped(i, &mut item)) {
                *s += x;
            }
        }
        let means: Vec<f64> =
            release(sums, bounds.iter().map(|(lo, hi)| hi - lo).collect(), rng).into_iter().zip(bounds).map(|(m, &(lo, hi))| m.clamp(lo, hi)).collect();
        let std = if estimate == Estimate::Standard {
            let mut squares = vec![0f64; bounds.len()];
            for i in 0..data.len() {
                for ((s, x), m) in squares.iter_mut().zip(clamped(i, &mut item)).zip(&means) {
                    *s += (x - m) * (x - m);
                }
            }
            let widths: Vec<f64> = bounds.iter().map(|(lo, hi)| (hi - lo) * (hi - lo)).collect();
            release(squares, widths, rng).into_iter().zip(bounds).map(|(v, &(lo, hi))| (v.max(0.0).sqrt().clamp(0.25 * (hi - lo), hi - lo)) as f32).collect()
        } else {
            vec![1.0; bounds.len()]
        };
        Ok(Self { mean: means.into_iter().map(|m| m as f32).collect(), std })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bounds_should_parse_print_and_resolve() {
        let all: FeatureBounds = "0:16".parse().unwrap();
        assert_eq!(all.to_string(), "0:16");
        assert_eq!(all.resolve(2, None).unwrap(), [(0.0, 16.0), (0.0, 16.0)]);
        let named: FeatureBounds = "age=0:100, chol=100:600,*=-1:1".parse().unwrap();
        assert_eq!(named.to_string(), "age=0:100,chol=100:600,*=-1:1");
        assert_eq!(named.resolve(3, Some(&names(&["chol", "sex", "age"]))).unwrap(), [(100.0, 600.0), (-1.0, 1.0), (0.0, 100.0)]);
        assert_eq!(serde_json::to_string(&named).unwrap(), "\"age=0:100,chol=100:600,*=-1:1\"");
    }

    #[test]
    fn bad_bounds_should_be_refused_naming_the_part() {
        for (spec, part) in [("16:0", "not below"), ("0:x", "`x` is not a finite"), ("0-16", "not LO:HI"), ("a=0:1,a=0:2", "given twice"), ("a", "not LO:HI")] {
            let e = spec.parse::<FeatureBounds>().unwrap_err().to_string();
            assert!(e.contains(part), "{spec}: {e}");
        }
        let only_age: FeatureBounds = "age=0:100".parse().unwrap();
        let e = only_age.resolve(2, Some(&names(&["age", "sex"]))).unwrap_err().to_string();
        assert!(e.contains("feature `sex` has no bounds"), "{e}");
        let e = only_age.resolve(2, None).unwrap_err().to_string();
        assert!(e.contains("no feature `age`") && e.contains("have no names"), "{e}");
    }

    #[test]
    fn private_estimates_should_approach_the_statistics_as_the_noise_vanishes_and_stay_in_bounds() {
        // numpy: x = [[0, 10], [4, 10], [8, 10], [20, 10]] clamped to [0, 10] → [[0,10],[4,10],[8,10],[10,10]];
        // mean [5.5, 10], population std [3.840572873, 0].
        let d = Dataset::new("d", [1, 1, 2], vec!["a".into()], vec![0.0, 10.0, 4.0, 10.0, 8.0, 10.0, 20.0, 10.0], vec![0; 4]).unwrap();
        let bounds = [(0.0, 10.0), (0.0, 10.0)];
        let exact = Normalizer::fit_private(&d, &bounds, Estimate::Standard, 1e-12, &mut Rng::new(1)).unwrap();
        assert!((exact.mean[0] - 5.5).abs() < 1e-6 && (exact.mean[1] - 10.0).abs() < 1e-6, "{exact:?}");
        assert!((exact.std[0] - 3.840_573).abs() < 1e-5 && exact.std[1] == 2.5, "a constant feature keeps a quarter of its width: {exact:?}");
        let centred = Normalizer::fit_private(&d, &bounds, Estimate::Center, 1e-12, &mut Rng::new(1)).unwrap();
        assert_eq!(centred.std, [1.0, 1.0]);
        let noisy = Normalizer::fit_private(&d, &bounds, Estimate::Standard, 1e3, &mut Rng::new(1)).unwrap();
        assert!(noisy.mean.iter().all(|m| (0.0..=10.0).contains(m)) && noisy.std.iter().all(|s| (2.5..=10.0).contains(s)), "{noisy:?}");
        assert_eq!(Normalizer::fit_private(&d, &bounds, Estimate::Bounds, 1.0, &mut Rng::new(1)).unwrap(), Normalizer::from_bounds(&bounds));
        assert_eq!(Normalizer::from_bounds(&bounds).mean, [5.0, 5.0]);
    }
}
