use serde::{Deserialize, Serialize};

use crate::{Dataset, Error, Result};

/// Per-feature standardisation `(x - mean) / std`, fitted on a training split and saved with the model.
///
/// A feature with (near) zero variance on the training split gets `std = 1`, as scikit-learn's
/// `StandardScaler` does, so constant pixels (the border of the digits) map to `x - mean`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// Mean of each feature.
    pub mean: Vec<f32>,
    /// Standard deviation of each feature (population, `ddof = 0`).
    pub std: Vec<f32>,
}

/// Which statistics a [`Normalizer`] shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormalizeBy {
    /// One mean and std per input feature (per pixel for images), as scikit-learn's `StandardScaler`.
    #[default]
    Feature,
    /// One mean and std per image channel, as `torchvision.transforms.Normalize`; keeps the relative
    /// brightness of pixels, which convolutions rely on. Non-image inputs fall back to per feature.
    Channel,
}

impl Normalizer {
    /// Fits the statistics of `data` shared as `by` says (per feature, or per channel of an image).
    ///
    /// # Errors
    ///
    /// As [`Normalizer::fit`].
    pub fn fit_by(data: &Dataset, by: NormalizeBy) -> Result<Self> {
        let owm_core::InputSpec::Image { shape: [c, h, w] } = data.input_spec() else { return Self::fit(data) };
        if by == NormalizeBy::Feature || data.is_empty() || !data.is_numeric() {
            return Self::fit(data);
        }
        let plane = h * w;
        let (mut sum, mut sq) = (vec![0f64; c], vec![0f64; c]);
        let mut item = Vec::with_capacity(c * plane);
        for i in 0..data.len() {
            item.clear();
            data.item_into(i, &mut item);
            for (j, &x) in item.iter().enumerate() {
                sum[j / plane] += f64::from(x);
                sq[j / plane] += f64::from(x) * f64::from(x);
            }
        }
        let n = (data.len() * plane) as f64;
        let (mut mean, mut std) = (Vec::with_capacity(c * plane), Vec::with_capacity(c * plane));
        for ch in 0..c {
            let m = sum[ch] / n;
            let s = (sq[ch] / n - m * m).max(0.0).sqrt();
            mean.extend(std::iter::repeat_n(m as f32, plane));
            std.extend(std::iter::repeat_n(if s < 1e-6 { 1.0 } else { s as f32 }, plane));
        }
        Ok(Self { mean, std })
    }

    /// Fits the mean and standard deviation of every feature of `data` (accumulated in `f64`).
    ///
    /// # Errors
    ///
    /// [`Error::Empty`] for an empty dataset; [`Error::NotNumeric`] for token or id inputs.
    pub fn fit(data: &Dataset) -> Result<Self> {
        if data.is_empty() {
            return Err(Error::Empty(data.name.clone()));
        }
        if !data.is_numeric() {
            return Err(Error::NotNumeric(data.name.clone()));
        }
        let f = data.feature_len();
        let n = data.len() as f64;
        let mut sum = vec![0f64; f];
        let mut sq = vec![0f64; f];
        let mut item = Vec::with_capacity(f);
        for i in 0..data.len() {
            item.clear();
            data.item_into(i, &mut item);
            for (j, &x) in item.iter().enumerate() {
                sum[j] += f64::from(x);
                sq[j] += f64::from(x) * f64::from(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(s, m)| {
                let var = (s / n - m * m).max(0.0);
                if var.sqrt() < 1e-6 { 1.0 } else { var.sqrt() as f32 }
            })
            .collect();
        Ok(Self { mean: mean.into_iter().map(|m| m as f32).collect(), std })
    }

    /// Checks that the normaliser fits items of `data`.
    ///
    /// # Errors
    ///
    /// [`Error::FeatureCount`] on a mismatch; [`Error::NonFinite`] if a saved mean or std is not finite or a std
    /// is not positive.
    pub fn check(&self, data: &Dataset) -> Result<()> {
        if self.mean.len() != data.feature_len() || self.std.len() != data.feature_len() {
            return Err(Error::FeatureCount { expected: self.mean.len(), found: data.feature_len() });
        }
        let bad =
            self.mean.iter().chain(&self.std).position(|v| !v.is_finite()).or_else(|| self.std.iter().position(|&s| s <= 0.0).map(|i| i + self.mean.len()));
        match bad {
            Some(i) => Err(Error::NonFinite {
                dataset: format!("normaliser of {}", data.name),
                item: usize::from(i >= self.mean.len()),
                feature: i % self.mean.len(),
                value: if i < self.mean.len() { self.mean[i] } else { self.std[i - self.mean.len()] },
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_statistics_should_pool_every_pixel_of_a_channel() {
        // numpy: x = np.array([0, 2, 4, 6], float) → mean 3, std 2.2360680 (both items, both pixels).
        let d = Dataset::new("d", [1, 1, 2], vec!["a".into()], vec![0.0, 2.0, 4.0, 6.0], vec![0, 0]).unwrap();
        let n = Normalizer::fit_by(&d, NormalizeBy::Channel).unwrap();
        assert_eq!(n.mean, [3.0, 3.0]);
        assert!((n.std[0] - 5f32.sqrt()).abs() < 1e-6 && n.std[0] == n.std[1]);
    }

    #[test]
    fn should_match_numpy_mean_and_population_std() {
        // numpy: x = np.array([[0, 5], [2, 5], [4, 5]], float); x.mean(0) -> [2, 5]; x.std(0) -> [1.63299316, 0]
        let d = Dataset::new("d", [1, 1, 2], vec!["a".into()], vec![0.0, 5.0, 2.0, 5.0, 4.0, 5.0], vec![0, 0, 0]).unwrap();
        let n = Normalizer::fit(&d).unwrap();
        assert_eq!(n.mean, [2.0, 5.0]);
        assert!((n.std[0] - 1.632_993_2).abs() < 1e-6);
        assert_eq!(n.std[1], 1.0, "zero-variance features are scaled by 1");
        n.check(&d).unwrap();
    }

    #[test]
    fn should_reject_a_normaliser_of_another_shape_or_with_nan() {
        let d = Dataset::new("d", [1, 1, 2], vec!["a".into()], vec![0.0, 1.0], vec![0]).unwrap();
        let n = Normalizer { mean: vec![0.0], std: vec![1.0] };
        assert!(matches!(n.check(&d), Err(Error::FeatureCount { expected: 1, found: 2 })));
        let n = Normalizer { mean: vec![0.0, f32::NAN], std: vec![1.0, 1.0] };
        assert!(matches!(n.check(&d), Err(Error::NonFinite { feature: 1, .. })));
    }
}
