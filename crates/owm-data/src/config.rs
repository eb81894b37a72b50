use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::tabular::TabularOptions;
use crate::{
    Augment, Error, InteractionOptions, Result, Splits, TextSource, load_cifar10, load_digits, load_fashion_mnist, load_image_folder, load_interactions,
    load_mnist, load_tabular, load_text,
};

/// Where a run's data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DataSource {
    /// The embedded 8×8 digits (no files needed), split by `test_fraction`.
    Digits,
    /// MNIST IDX files in `dir`.
    Mnist {
        /// Folder with `train-images-idx3-ubyte[.gz]` and the three other files.
        dir: PathBuf,
    },
    /// Fashion-MNIST IDX files in `dir` (same names as MNIST).
    FashionMnist {
        /// Folder with the four IDX files.
        dir: PathBuf,
    },
    /// CIFAR-10 binary batches in `dir`.
    Cifar10 {
        /// `cifar-10-batches-bin` or its parent.
        dir: PathBuf,
    },
    /// A CSV table (tabular classification, e.g. UCI heart disease), see [`load_tabular`].
    Tabular {
        /// The CSV file (split by `test_fraction`, stratified, unless `test` is given).
        path: PathBuf,
        /// A separate test file of the same layout.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test: Option<PathBuf>,
        /// Target, kinds, cleaning, scaling and encoding.
        #[serde(default)]
        options: TabularOptions,
    },
    /// A `label<TAB>text` file (text classification, e.g. THUCNews), see [`load_text`].
    Text {
        /// The text file (split by `test_fraction`, stratified, unless `test` is given).
        path: PathBuf,
        /// A separate test file.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        test: Option<PathBuf>,
        /// Tokeniser, length and vocabulary.
        #[serde(default, flatten)]
        text: TextSource,
    },
    /// A folder of PNG/JPEG images, one sub-folder per class (`train/` and `test/` inside, or split by
    /// `test_fraction`), see [`load_image_folder`].
    ImageFolder {
        /// The folder.
        dir: PathBuf,
        /// Read images as one luma channel instead of RGB.
        #[serde(default)]
        grayscale: bool,
    },
    /// A `user,item,label[,timestamp]` file (click-through recommendation), see [`load_interactions`].
    Interactions {
        /// The interactions file.
        path: PathBuf,
        /// Split, negatives, side features.
        #[serde(flatten)]
        options: InteractionOptions,
    },
}

/// The data section of an experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataConfig {
    /// The source.
    pub source: DataSource,
    /// Held-out fraction for sources without their own test split (digits, tables, texts, interactions).
    /// Default 0.2.
    #[serde(default = "default_test_fraction")]
    pub test_fraction: f64,
    /// Use only the first N training items (after the split). Default: all.
    #[serde(default)]
    pub train_limit: Option<usize>,
    /// Use only the first N test items. Default: all.
    #[serde(default)]
    pub test_limit: Option<usize>,
    /// Augment training images (each gradient batch, seeded by epoch and position). Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub augment: Option<Augment>,
    /// Keep only these classes (by name, e.g. `["5", "6", "7", "8", "9"]`), relabelled in this order, in both
    /// splits. Default: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
}

fn default_test_fraction() -> f64 {
    0.2
}

impl DataConfig {
    /// A config for `source` with the defaults.
    pub fn new(source: DataSource) -> Self {
        Self { source, test_fraction: default_test_fraction(), train_limit: None, test_limit: None, augment: None, classes: None }
    }

    /// The embedded digits with a held-out 20%.
    pub fn digits() -> Self {
        Self::new(DataSource::Digits)
    }

    /// A short name for reports (`"digits"`, `"mnist"`, ...).
    pub fn name(&self) -> &'static str {
        match self.source {
            DataSource::Digits => "digits",
            DataSource::Mnist { .. } => "mnist",
            DataSource::FashionMnist { .. } => "fashion-mnist",
            DataSource::Cifar10 { .. } => "cifar10",
            DataSource::Tabular { .. } => "tabular",
            DataSource::Text { .. } => "text",
            DataSource::ImageFolder { .. } => "images",
            DataSource::Interactions { .. } => "interactions",
        }
    }

    /// Loads the train and test splits; `seed` drives the split of sources without one.
    ///
    /// # Errors
    ///
    /// The config rules of [`owm_core::Validate::check`], then any reader error.
    pub fn load(&self, seed: u64) -> Result<Splits> {
        owm_core::Validate::check(self)?;
        let splits = match &self.source {
            DataSource::Digits => load_digits()?.split(self.test_fraction, seed)?,
            DataSource::Mnist { dir } => load_mnist(dir)?,
            DataSource::FashionMnist { dir } => load_fashion_mnist(dir)?,
            DataSource::Cifar10 { dir } => load_cifar10(dir)?,
            DataSource::Tabular { path, test, options } => load_tabular(path, test.as_ref(), options, self.test_fraction, seed)?,
            DataSource::Text { path, test, text } => load_text(path, test.as_ref(), text, self.test_fraction, seed)?,
            DataSource::ImageFolder { dir, grayscale } => load_image_folder(dir, *grayscale, self.test_fraction, seed)?,
            DataSource::Interactions { path, options } => load_interactions(path, options, self.test_fraction, seed)?,
        };
        let (train, test) = match &self.classes {
            Some(classes) => (splits.train.with_classes(classes)?, splits.test.with_classes(classes)?),
            None => (splits.train, splits.test),
        };
        let splits = Splits {
            train: train.truncated(self.train_limit.unwrap_or(usize::MAX)),
            test: test.truncated(self.test_limit.unwrap_or(usize::MAX)),
            preprocessing: splits.preprocessing,
        };
        for d in [&splits.train, &splits.test] {
            if d.is_empty() {
                return Err(Error::Empty(d.name.clone()));
            }
        }
        Ok(splits)
    }
}

impl owm_core::Validate for DataConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(Error::TestFraction(self.test_fraction));
        }
        if self.train_limit == Some(0) {
            return Err(Error::ZeroLimit("train_limit"));
        }
        if self.test_limit == Some(0) {
            return Err(Error::ZeroLimit("test_limit"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use owm_core::Validate;

    #[test]
    fn should_split_the_embedded_digits_80_20() {
        let s = DataConfig::digits().load(42).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (1438, 359));
    }

    #[test]
    fn test_fraction_must_lie_in_the_open_unit_interval() {
        let c = DataConfig { test_fraction: 1.5, ..DataConfig::digits() };
        assert!(matches!(c.check(), Err(Error::TestFraction(_))));
    }

    #[test]
    fn limits_must_be_positive() {
        let c = DataConfig { train_limit: Some(0), ..DataConfig::digits() };
        assert!(matches!(c.check(), Err(Error::ZeroLimit("train_limit"))));
        let c = DataConfig { test_limit: Some(0), ..DataConfig::digits() };
        assert!(matches!(c.check(), Err(Error::ZeroLimit("test_limit"))));
    }

    #[test]
    fn should_keep_only_the_named_classes_relabelled_in_order() {
        let all = DataConfig::digits().load(42).unwrap();
        let c = DataConfig { classes: Some(vec!["7".into(), "5".into()]), ..DataConfig::digits() };
        let s = c.load(42).unwrap();
        assert_eq!(s.train.class_names, ["7", "5"]);
        let count = |d: &crate::Dataset, l: usize| d.labels().iter().filter(|&&x| x == l).count();
        assert_eq!(count(&s.train, 0), count(&all.train, 7));
        assert_eq!(count(&s.train, 1), count(&all.train, 5));
        assert_eq!(s.train.len(), count(&all.train, 7) + count(&all.train, 5));
        assert_eq!(s.test.len(), count(&all.test, 7) + count(&all.test, 5));
    }

    #[test]
    fn should_refuse_an_unknown_repeated_or_empty_class_list() {
        let d = load_digits().unwrap();
        for classes in [vec!["x".to_string()], vec!["1".into(), "1".into()], vec![]] {
            assert!(matches!(d.with_classes(&classes), Err(Error::Classes { .. })), "{classes:?}");
        }
    }

    #[test]
    fn should_round_trip_through_json() {
        let c = DataConfig { train_limit: Some(10), ..DataConfig::new(DataSource::Mnist { dir: "data/mnist".into() }) };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<DataConfig>(&json).unwrap(), c);
        let minimal: DataConfig = serde_json::from_str(r#"{"source":{"kind":"digits"}}"#).unwrap();
        assert_eq!(minimal, DataConfig::digits());
    }
}
