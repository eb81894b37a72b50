use burn::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, Normalizer, Result};

/// An in-memory labelled image (or feature) dataset.
///
/// Items are stored as `f32` features in channel-major order (`[channels, height, width]` per item),
/// with integer class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name used in errors and manifests (`"digits/train"`).
    pub name: String,
    /// Item shape `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Class names, one per class.
    pub class_names: Vec<String>,
    features: Vec<f32>,
    labels: Vec<usize>,
}

/// A train/test pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// The split to fit on.
    pub train: Dataset,
    /// The held-out split.
    pub test: Dataset,
}

/// What a manifest records about the data a model was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Dataset name.
    pub name: String,
    /// Item shape `[channels, height, width]`.
    pub shape: [usize; 3],
    /// Class names.
    pub class_names: Vec<String>,
    /// Items in the training split.
    pub train_len: usize,
    /// Items in the test split.
    pub test_len: usize,
    /// SHA-256 of the training split ([`Dataset::fingerprint`]).
    pub train_fingerprint: String,
    /// SHA-256 of the test split.
    pub test_fingerprint: String,
}

impl Dataset {
    /// Builds a dataset, checking that features and labels agree.
    ///
    /// # Errors
    ///
    /// [`Error::FeatureCount`] when `features.len()` is not `labels.len()` items of `shape`; [`Error::NonFinite`]
    /// for a NaN or infinite feature; [`Error::UnknownLabel`] for a label outside the classes.
    pub fn new(
        name: impl Into<String>,
        shape: [usize; 3],
        class_names: Vec<String>,
        features: Vec<f32>,
        labels: Vec<usize>,
    ) -> Result<Self> {
        let name = name.into();
        let per_item: usize = shape.iter().product();
        if features.len() != labels.len() * per_item {
            return Err(Error::FeatureCount { expected: labels.len() * per_item, found: features.len() });
        }
        if let Some(i) = features.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite { dataset: name, item: i / per_item, feature: i % per_item, value: features[i] });
        }
        if let Some(i) = labels.iter().position(|&l| l >= class_names.len()) {
            return Err(Error::UnknownLabel { dataset: name, item: i, label: labels[i], num_classes: class_names.len() });
        }
        Ok(Self { name, shape, class_names, features, labels })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Features per item (`channels * height * width`).
    pub fn feature_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The labels, in item order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The features of item `i`.
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pub fn item(&self, i: usize) -> &[f32] {
        let f = self.feature_len();
        &self.features[i * f..(i + 1) * f]
    }

    /// The items at `indices`, as a new dataset named `name`.
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn subset(&self, name: impl Into<String>, indices: &[usize]) -> Dataset {
        let f = self.feature_len();
        let mut features = Vec::with_capacity(indices.len() * f);
        for &i in indices {
            features.extend_from_slice(self.item(i));
        }
        Dataset {
            name: name.into(),
            shape: self.shape,
            class_names: self.class_names.clone(),
            features,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// The first `n` items (all of them when `n >= len`).
    pub fn truncated(self, n: usize) -> Dataset {
        if n >= self.len() {
            return self;
        }
        let f = self.feature_len();
        let mut d = self;
        d.features.truncate(n * f);
        d.labels.truncate(n);
        d
    }

    /// A seeded shuffle split into `(train, test)` with `round(len * test_fraction)` test items.
    ///
    /// # Errors
    ///
    /// [`Error::TestFraction`] unless `0 < test_fraction < 1`; [`Error::Empty`] if either side would be empty.
    pub fn split(&self, test_fraction: f64, seed: u64) -> Result<Splits> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(Error::TestFraction(test_fraction));
        }
        let order = owm_core::Rng::derived(seed, "data/split").permutation(self.len());
        let n_test = (self.len() as f64 * test_fraction).round() as usize;
        if n_test == 0 || n_test == self.len() {
            return Err(Error::Empty(format!("{} (split of {} items)", self.name, self.len())));
        }
        let (test, train) = order.split_at(n_test);
        Ok(Splits { train: self.subset(format!("{}/train", self.name), train), test: self.subset(format!("{}/test", self.name), test) })
    }

    /// SHA-256 over the shape, class count, labels and feature bytes (little-endian `f32`): two datasets with
    /// the same fingerprint hold the same items in the same order.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for d in self.shape {
            h.update((d as u64).to_le_bytes());
        }
        h.update((self.num_classes() as u64).to_le_bytes());
        h.update((self.len() as u64).to_le_bytes());
        for &l in &self.labels {
            h.update((l as u32).to_le_bytes());
        }
        for v in &self.features {
            h.update(v.to_le_bytes());
        }
        format!("{:x}", h.finalize())
    }

    /// A batch of the items at `indices` on `device`, normalised by `norm` when given.
    ///
    /// # Shapes
    ///
    /// Returns images `[batch, channels, height, width]` and labels `[batch]`.
    ///
    /// # Panics
    ///
    /// If an index is out of range, or `norm` was fitted on data with another feature count (use
    /// [`Normalizer::check`] first).
    pub fn batch(&self, indices: &[usize], norm: Option<&Normalizer>, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let f = self.feature_len();
        let mut buf = Vec::with_capacity(indices.len() * f);
        for &i in indices {
            let item = self.item(i);
            match norm {
                Some(n) => buf.extend(item.iter().zip(&n.mean).zip(&n.std).map(|((x, m), s)| (x - m) / s)),
                None => buf.extend_from_slice(item),
            }
        }
        let [c, h, w] = self.shape;
        let images = Tensor::<4>::from_data(TensorData::new(buf, [indices.len(), c, h, w]), device);
        let labels: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [indices.len()]), device);
        (images, labels)
    }
}

impl Splits {
    /// The provenance record of this pair.
    pub fn info(&self, name: &str) -> DatasetInfo {
        DatasetInfo {
            name: name.to_owned(),
            shape: self.train.shape,
            class_names: self.train.class_names.clone(),
            train_len: self.train.len(),
            test_len: self.test.len(),
            train_fingerprint: self.train.fingerprint(),
            test_fingerprint: self.test.fingerprint(),
        }
    }
}

/// `["0", "1", ..., "9"]`.
pub(crate) fn digit_names() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        Dataset::new("tiny", [1, 1, 2], digit_names()[..3].to_vec(), (0..12).map(|v| v as f32).collect(), vec![0, 1, 2, 0, 1, 2])
            .unwrap()
    }

    #[test]
    fn should_split_reproducibly_and_disjointly() {
        let d = tiny();
        let a = d.split(0.5, 1).unwrap();
        let b = d.split(0.5, 1).unwrap();
        assert_eq!(a, b);
        assert_eq!((a.train.len(), a.test.len()), (3, 3));
        let mut firsts: Vec<f32> = (0..3).flat_map(|i| [a.train.item(i)[0], a.test.item(i)[0]]).collect();
        firsts.sort_by(f32::total_cmp);
        assert_eq!(firsts, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
    }

    #[test]
    fn test_fraction_must_lie_in_the_open_unit_interval() {
        assert!(matches!(tiny().split(0.0, 1), Err(Error::TestFraction(_))));
        assert!(matches!(tiny().split(1.0, 1), Err(Error::TestFraction(_))));
        assert!(matches!(tiny().split(0.01, 1), Err(Error::Empty(_))));
    }

    #[test]
    fn should_reject_unknown_labels_and_nan_features() {
        let err = Dataset::new("d", [1, 1, 1], digit_names()[..2].to_vec(), vec![0.0, 1.0], vec![0, 2]).unwrap_err();
        assert!(matches!(err, Error::UnknownLabel { item: 1, label: 2, .. }), "{err}");
        let err = Dataset::new("d", [1, 1, 1], digit_names()[..2].to_vec(), vec![0.0, f32::NAN], vec![0, 1]).unwrap_err();
        assert!(matches!(err, Error::NonFinite { item: 1, .. }), "{err}");
    }

    #[test]
    fn should_fingerprint_content_and_order() {
        let d = tiny();
        assert_eq!(d.fingerprint(), tiny().fingerprint());
        assert_ne!(d.fingerprint(), d.subset("x", &[1, 0, 2, 3, 4, 5]).fingerprint());
    }

    #[test]
    fn should_batch_normalised_items() {
        let d = tiny();
        let norm = Normalizer { mean: vec![1.0, 1.0], std: vec![2.0, 2.0] };
        let (x, y) = d.batch(&[2, 0], Some(&norm), &Device::flex());
        assert_eq!(x.dims(), [2, 1, 1, 2]);
        assert_eq!(x.into_data().try_to_vec::<f32>().unwrap(), [1.5, 2.0, -0.5, 0.0]);
        assert_eq!(y.into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), [2, 0]);
    }
}
