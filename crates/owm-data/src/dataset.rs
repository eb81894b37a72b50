use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use owm_core::{InputSpec, Task};

use crate::{Error, Preprocessing, Result};

mod batch;

/// The inputs of a dataset's items, stored compactly until a batch is assembled.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// `f32` numbers, `shape` per item: `[features]` for a table, `[channels, height, width]` for images.
    Dense {
        /// Item shape (1-D: dense features; 3-D: images).
        shape: Vec<usize>,
        /// Row-major values.
        values: Vec<f32>,
    },
    /// Raw `u8` pixels `[channels, height, width]` per item, turned into `f32` (0..255) only when batched.
    Pixels {
        /// Item shape.
        shape: [usize; 3],
        /// Row-major pixels.
        values: Vec<u8>,
    },
    /// Token ids padded to `len` per item.
    Tokens {
        /// Tokens per item.
        len: usize,
        /// Vocabulary size.
        vocab: usize,
        /// Row-major ids.
        ids: Vec<u32>,
    },
    /// One categorical id per field per item.
    Ids {
        /// Distinct ids of each field.
        cardinalities: Vec<usize>,
        /// Row-major ids.
        ids: Vec<u32>,
    },
}

impl Inputs {
    /// What a model reads per item.
    pub fn spec(&self) -> InputSpec {
        match self {
            Inputs::Dense { shape, .. } => match shape[..] {
                [c, h, w] => InputSpec::Image { shape: [c, h, w] },
                _ => InputSpec::Dense { features: shape.iter().product() },
            },
            Inputs::Pixels { shape, .. } => InputSpec::Image { shape: *shape },
            Inputs::Tokens { len, vocab, .. } => InputSpec::Tokens { len: *len, vocab: *vocab },
            Inputs::Ids { cardinalities, .. } => InputSpec::Ids { cardinalities: cardinalities.clone() },
        }
    }

    fn stored_len(&self) -> usize {
        match self {
            Inputs::Dense { values, .. } => values.len(),
            Inputs::Pixels { values, .. } => values.len(),
            Inputs::Tokens { ids, .. } | Inputs::Ids { ids, .. } => ids.len(),
        }
    }

    /// The same kind of inputs holding only `indices` (each item's `per` values copied once).
    fn select(&self, indices: &[usize], per: usize) -> Inputs {
        fn pick<T: Copy>(v: &[T], indices: &[usize], per: usize) -> Vec<T> {
            let mut out = Vec::with_capacity(indices.len() * per);
            for &i in indices {
                out.extend_from_slice(&v[i * per..(i + 1) * per]);
            }
            out
        }
        match self {
            Inputs::Dense { shape, values } => Inputs::Dense { shape: shape.clone(), values: pick(values, indices, per) },
            Inputs::Pixels { shape, values } => Inputs::Pixels { shape: *shape, values: pick(values, indices, per) },
            Inputs::Tokens { len, vocab, ids } => Inputs::Tokens { len: *len, vocab: *vocab, ids: pick(ids, indices, per) },
            Inputs::Ids { cardinalities, ids } => Inputs::Ids { cardinalities: cardinalities.clone(), ids: pick(ids, indices, per) },
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            Inputs::Dense { values, .. } => values.truncate(len),
            Inputs::Pixels { values, .. } => values.truncate(len),
            Inputs::Tokens { ids, .. } | Inputs::Ids { ids, .. } => ids.truncate(len),
        }
    }
}

/// An in-memory labelled dataset of any input kind: images (as `f32` or raw `u8` pixels), rows of features,
/// token sequences or categorical ids, each item with a class label, and optionally a group (the user of a
/// recommendation) for ranking metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Name used in errors and manifests (`"digits/train"`).
    pub name: String,
    /// Class names, one per class (`["0", "1"]` for a binary task).
    pub class_names: Vec<String>,
    /// What is predicted.
    pub task: Task,
    inputs: Inputs,
    labels: Vec<usize>,
    groups: Option<Vec<u32>>,
}

/// A train/test pair (and the validation split carved from training, when there is one), with the
/// preprocessing fitted on the training side.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// The split to fit on.
    pub train: Dataset,
    /// The held-out split, touched once, at the end.
    pub test: Dataset,
    /// The split watched every epoch (validation curves, early stopping), when there is one.
    pub validation: Option<Dataset>,
    /// How raw records became inputs (fitted on the training records), for the bundle.
    pub preprocessing: Option<Preprocessing>,
}

impl Splits {
    /// A pair without preprocessing.
    pub fn new(train: Dataset, test: Dataset) -> Self {
        Self { train, test, validation: None, preprocessing: None }
    }
}

/// What a manifest records about the data a model was trained on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInfo {
    /// Dataset name.
    pub name: String,
    /// What a model reads per item.
    pub input: InputSpec,
    /// What is predicted.
    #[serde(default)]
    pub task: Task,
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
    /// Items in the validation split (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub validation_len: usize,
    /// SHA-256 of the validation split, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_fingerprint: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Dataset {
    /// Builds a dataset of `f32` images (or features) of shape `[channels, height, width]` with class labels.
    ///
    /// # Errors
    ///
    /// As [`Dataset::with_inputs`].
    pub fn new(name: impl Into<String>, shape: [usize; 3], class_names: Vec<String>, features: Vec<f32>, labels: Vec<usize>) -> Result<Self> {
        Self::with_inputs(name, Inputs::Dense { shape: shape.to_vec(), values: features }, class_names, labels)
    }

    /// Builds a classification dataset from any inputs, checking that inputs and labels agree.
    ///
    /// # Errors
    ///
    /// [`Error::FeatureCount`] when the inputs do not hold `labels.len()` items; [`Error::NonFinite`] for a NaN
    /// or infinite feature; [`Error::TokenRange`] for an id outside its vocabulary or field;
    /// [`Error::UnknownLabel`] for a label outside the classes.
    pub fn with_inputs(name: impl Into<String>, inputs: Inputs, class_names: Vec<String>, labels: Vec<usize>) -> Result<Self> {
        let name = name.into();
        let per_item = inputs.spec().item_len();
        if inputs.stored_len() != labels.len() * per_item {
            return Err(Error::FeatureCount { expected: labels.len() * per_item, found: inputs.stored_len() });
        }
        match &inputs {
            Inputs::Dense { values, .. } => {
                if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                    return Err(Error::NonFinite { dataset: name, item: i / per_item, feature: i % per_item, value: values[i] });
                }
            }
            Inputs::Pixels { .. } => {}
            Inputs::Tokens { vocab, ids, .. } => {
                if let Some(i) = ids.iter().position(|&t| t as usize >= *vocab) {
                    return Err(Error::TokenRange { dataset: name, item: i / per_item, field: i % per_item, id: ids[i], limit: *vocab });
                }
            }
            Inputs::Ids { cardinalities, ids } => {
                if let Some(i) = ids.iter().enumerate().position(|(i, &t)| t as usize >= cardinalities[i % per_item]) {
                    let limit = cardinalities[i % per_item];
                    return Err(Error::TokenRange { dataset: name, item: i / per_item, field: i % per_item, id: ids[i], limit });
                }
            }
        }
        if let Some(i) = labels.iter().position(|&l| l >= class_names.len()) {
            return Err(Error::UnknownLabel { dataset: name, item: i, label: labels[i], num_classes: class_names.len() });
        }
        Ok(Self { name, class_names, task: Task::Classification, inputs, labels, groups: None })
    }

    /// Items to predict on, whose classes are unknown: only their inputs are meant to be read (every label is
    /// 0, and [`Dataset::batch`]'s labels mean nothing).
    ///
    /// # Errors
    ///
    /// As [`Dataset::with_inputs`]; [`Error::UnknownLabel`] for a binary `task` without two classes.
    pub fn unlabelled(name: impl Into<String>, inputs: Inputs, class_names: Vec<String>, task: Task) -> Result<Self> {
        let items = inputs.stored_len() / inputs.spec().item_len().max(1);
        let data = Self::with_inputs(name, inputs, class_names, vec![0; items])?;
        if task == Task::Binary { data.binary() } else { Ok(data) }
    }

    /// The same data predicted as a yes/no [`Task::Binary`] (label 1 is "yes").
    ///
    /// # Errors
    ///
    /// [`Error::UnknownLabel`] unless there are exactly two classes.
    pub fn binary(mut self) -> Result<Self> {
        if self.class_names.len() != 2 {
            return Err(Error::UnknownLabel { dataset: self.name, item: 0, label: 2, num_classes: self.class_names.len() });
        }
        self.task = Task::Binary;
        Ok(self)
    }

    /// The same data with a group per item (the user of a recommendation), used for ranking metrics.
    ///
    /// # Errors
    ///
    /// [`Error::FeatureCount`] unless there is one group per item.
    pub fn with_groups(mut self, groups: Vec<u32>) -> Result<Self> {
        if groups.len() != self.len() {
            return Err(Error::FeatureCount { expected: self.len(), found: groups.len() });
        }
        self.groups = Some(groups);
        Ok(self)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// What a model reads per item.
    pub fn input_spec(&self) -> InputSpec {
        self.inputs.spec()
    }

    /// The stored inputs.
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Numbers per item (`channels * height * width` for images, features, tokens or fields).
    pub fn feature_len(&self) -> usize {
        self.inputs.spec().item_len()
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The labels, in item order.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// The group of each item, when the data has groups.
    pub fn groups(&self) -> Option<&[u32]> {
        self.groups.as_deref()
    }

    /// Whether the inputs are numbers a [`crate::Normalizer`] can standardise (features or pixels, not ids).
    pub fn is_numeric(&self) -> bool {
        matches!(self.inputs, Inputs::Dense { .. } | Inputs::Pixels { .. })
    }

    /// Appends the numeric features of item `i` as `f32` to `out` (ids as their value).
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pub fn item_into(&self, i: usize, out: &mut Vec<f32>) {
        let f = self.feature_len();
        let r = i * f..(i + 1) * f;
        match &self.inputs {
            Inputs::Dense { values, .. } => out.extend_from_slice(&values[r]),
            Inputs::Pixels { values, .. } => out.extend(values[r].iter().map(|&b| f32::from(b))),
            Inputs::Tokens { ids, .. } | Inputs::Ids { ids, .. } => out.extend(ids[r].iter().map(|&t| t as f32)),
        }
    }

    /// The numeric features of item `i` as `f32` (see [`Dataset::item_into`] to reuse a buffer).
    ///
    /// # Panics
    ///
    /// If `i >= self.len()`.
    pub fn item(&self, i: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.feature_len());
        self.item_into(i, &mut out);
        out
    }

    /// The items at `indices`, as a new dataset named `name`.
    ///
    /// # Panics
    ///
    /// If an index is out of range.
    pub fn subset(&self, name: impl Into<String>, indices: &[usize]) -> Dataset {
        Dataset {
            name: name.into(),
            class_names: self.class_names.clone(),
            task: self.task,
            inputs: self.inputs.select(indices, self.feature_len()),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            groups: self.groups.as_ref().map(|g| indices.iter().map(|&i| g[i]).collect()),
        }
    }

    /// Only the items of the classes named `classes`, relabelled by position in that list (`["5", "6"]`
    /// makes class "5" label 0): PyTorch's `Subset` by target, for training on part of the classes.
    ///
    /// # Errors
    ///
    /// [`Error::Classes`] for an empty list, a repeated or unknown name, or a yes/no task (whose classes are
    /// fixed).
    pub fn with_classes(&self, classes: &[String]) -> Result<Dataset> {
        let err = |reason: String| Error::Classes { dataset: self.name.clone(), reason };
        if classes.is_empty() {
            return Err(err("the class list is empty".into()));
        }
        if self.task != Task::Classification {
            return Err(err("a yes/no task keeps both of its classes".into()));
        }
        let mut new_label = vec![None; self.class_names.len()];
        for (i, name) in classes.iter().enumerate() {
            let old =
                self.class_names.iter().position(|c| c == name).ok_or_else(|| err(format!("no class `{name}` (classes: {})", self.class_names.join(", "))))?;
            if new_label[old].replace(i).is_some() {
                return Err(err(format!("class `{name}` is named twice")));
            }
        }
        let indices: Vec<usize> = (0..self.len()).filter(|&i| new_label[self.labels[i]].is_some()).collect();
        let mut d = self.subset(self.name.clone(), &indices);
        d.labels.iter_mut().for_each(|l| *l = new_label[*l].unwrap_or(*l));
        d.class_names = classes.to_vec();
        Ok(d)
    }

    /// The first `n` items (all of them when `n >= len`).
    pub fn truncated(self, n: usize) -> Dataset {
        if n >= self.len() {
            return self;
        }
        let f = self.feature_len();
        let mut d = self;
        d.inputs.truncate(n * f);
        d.labels.truncate(n);
        if let Some(g) = &mut d.groups {
            g.truncate(n);
        }
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
        Ok(Splits::new(self.subset(format!("{}/train", self.name), train), self.subset(format!("{}/test", self.name), test)))
    }

    /// SHA-256 over the input kind and shape (for `f32` images: the three dimensions), class count, labels,
    /// groups and input bytes (little-endian):
    /// two datasets with the same fingerprint hold the same items in the same order.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        match &self.inputs {
            // `f32` images hash as they always have (their shape), so recorded fingerprints stay valid.
            Inputs::Dense { shape, .. } if shape.len() == 3 => shape.iter().for_each(|&d| h.update((d as u64).to_le_bytes())),
            inputs => {
                let kind = match inputs {
                    Inputs::Dense { .. } => "dense",
                    Inputs::Pixels { .. } => "pixels",
                    Inputs::Tokens { .. } => "tokens",
                    Inputs::Ids { .. } => "ids",
                };
                h.update(format!("owm-inputs/{kind}/").as_bytes());
                h.update(owm_core::json::to_vec(&self.input_spec()));
            }
        }
        h.update((self.num_classes() as u64).to_le_bytes());
        h.update((self.len() as u64).to_le_bytes());
        for &l in &self.labels {
            h.update((l as u32).to_le_bytes());
        }
        for g in self.groups.iter().flatten() {
            h.update(g.to_le_bytes());
        }
        match &self.inputs {
            Inputs::Dense { values, .. } => values.iter().for_each(|v| h.update(v.to_le_bytes())),
            Inputs::Pixels { values, .. } => h.update(values),
            Inputs::Tokens { ids, .. } | Inputs::Ids { ids, .. } => ids.iter().for_each(|v| h.update(v.to_le_bytes())),
        }
        format!("{:x}", h.finalize())
    }
}

impl Splits {
    /// The provenance record of this pair.
    pub fn info(&self, name: &str) -> DatasetInfo {
        DatasetInfo {
            name: name.to_owned(),
            input: self.train.input_spec(),
            task: self.train.task,
            class_names: self.train.class_names.clone(),
            train_len: self.train.len(),
            test_len: self.test.len(),
            train_fingerprint: self.train.fingerprint(),
            test_fingerprint: self.test.fingerprint(),
            validation_len: self.validation.as_ref().map_or(0, Dataset::len),
            validation_fingerprint: self.validation.as_ref().map(Dataset::fingerprint),
        }
    }
}

/// `["0", "1", ..., "9"]`.
pub(crate) fn digit_names() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use burn::prelude::*;
    use owm_core::Input;

    use super::*;
    use crate::Normalizer;

    fn tiny() -> Dataset {
        Dataset::new("tiny", [1, 1, 2], digit_names()[..3].to_vec(), (0..12).map(|v| v as f32).collect(), vec![0, 1, 2, 0, 1, 2]).unwrap()
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
        let Input::Image(x) = x else { panic!("images expected") };
        assert_eq!(x.dims(), [2, 1, 1, 2]);
        assert_eq!(x.into_data().try_to_vec::<f32>().unwrap(), [1.5, 2.0, -0.5, 0.0]);
        assert_eq!(y.into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), [2, 0]);
    }
}

#[cfg(test)]
mod typed_tests {
    use burn::prelude::*;
    use owm_core::Input;

    use super::*;

    #[test]
    fn should_batch_pixels_tokens_and_ids() {
        let device = Device::flex();
        let pixels = Inputs::Pixels { shape: [1, 1, 2], values: vec![0, 255, 7, 9] };
        let d = Dataset::with_inputs("p", pixels, vec!["a".into(), "b".into()], vec![0, 1]).unwrap();
        let Input::Image(x) = d.batch(&[1], None, &device).0 else { panic!("images") };
        assert_eq!(x.into_data().try_to_vec::<f32>().unwrap(), [7.0, 9.0]);
        let tokens = Inputs::Tokens { len: 3, vocab: 5, ids: vec![2, 3, 0, 4, 0, 0] };
        let d = Dataset::with_inputs("t", tokens, vec!["a".into(), "b".into()], vec![0, 1]).unwrap();
        let Input::Tokens(x) = d.batch(&[1, 0], None, &device).0 else { panic!("tokens") };
        assert_eq!(x.into_data().convert::<i64>().try_to_vec::<i64>().unwrap(), [4, 0, 0, 2, 3, 0]);
        let ids = Inputs::Ids { cardinalities: vec![2, 3], ids: vec![1, 2, 0, 0] };
        let d = Dataset::with_inputs("i", ids, vec!["no".into(), "yes".into()], vec![1, 0]).unwrap().binary().unwrap();
        let d = d.with_groups(vec![1, 0]).unwrap();
        let s = d.subset("s", &[1]);
        assert_eq!((s.groups(), s.labels(), s.task), (Some(&[0u32][..]), &[0usize][..], Task::Binary));
    }

    #[test]
    fn should_reject_ids_outside_their_field() {
        let ids = Inputs::Ids { cardinalities: vec![2, 3], ids: vec![1, 2, 0, 3] };
        let err = Dataset::with_inputs("i", ids, vec!["a".into()], vec![0, 0]).unwrap_err();
        assert!(matches!(err, Error::TokenRange { item: 1, field: 1, id: 3, limit: 3, .. }), "{err}");
    }

    #[test]
    fn fingerprints_should_tell_input_kinds_apart() {
        let names = vec!["a".into(), "b".into()];
        let dense = Dataset::with_inputs("d", Inputs::Dense { shape: vec![2], values: vec![1.0, 2.0] }, names.clone(), vec![0]).unwrap();
        let image = Dataset::new("d", [1, 1, 2], names, vec![1.0, 2.0], vec![0]).unwrap();
        assert_ne!(dense.fingerprint(), image.fingerprint());
    }
}
