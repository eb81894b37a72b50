use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::tabular::TabularOptions;
use crate::{
    Augment, Dataset, Error, Held, InteractionOptions, Result, Splits, TextSource, load_cifar10, load_digits, load_fashion_mnist, load_image_folder,
    load_interactions, load_mnist, load_tabular, load_text,
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
        /// A separate validation file of the same layout (instead of `validation_fraction`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validation: Option<PathBuf>,
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
        /// A separate validation file (instead of `validation_fraction`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validation: Option<PathBuf>,
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
    /// Fraction of the training records held out as the validation split (stratified by class, drawn from
    /// `derive_seed(seed, "data/validation")`; after a chronological split of interactions, each user's latest
    /// training records), evaluated every epoch; 0 for none. Ignored when the source
    /// names a validation file. [`DataConfig::new`] sets 0.1; a config file without the field has none (as
    /// every config written before validation existed, so their runs replay unchanged).
    ///
    /// Tables and texts hold the validation records out before their preparation (imputation, scaling,
    /// one-hot maps, vocabulary) is fitted; the input normaliser too is fitted on the training split alone.
    #[serde(default)]
    pub validation_fraction: f64,
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

/// The validation fraction of [`DataConfig::new`] (and of the command line).
pub const DEFAULT_VALIDATION_FRACTION: f64 = 0.1;

impl DataConfig {
    /// A config for `source` with the defaults.
    pub fn new(source: DataSource) -> Self {
        Self {
            source,
            test_fraction: default_test_fraction(),
            validation_fraction: DEFAULT_VALIDATION_FRACTION,
            train_limit: None,
            test_limit: None,
            augment: None,
            classes: None,
        }
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
        let validation_seed = owm_core::derive_seed(seed, "data/validation");
        let fraction = self.validation_fraction;
        fn held(file: Option<&PathBuf>, fraction: f64, seed: u64) -> Held<'_> {
            match file {
                Some(f) => Held::File(f.as_path()),
                None if fraction > 0.0 => Held::Fraction { fraction, seed },
                None => Held::None,
            }
        }
        let splits = match &self.source {
            DataSource::Digits => load_digits()?.split(self.test_fraction, seed)?,
            DataSource::Mnist { dir } => load_mnist(dir)?,
            DataSource::FashionMnist { dir } => load_fashion_mnist(dir)?,
            DataSource::Cifar10 { dir } => load_cifar10(dir)?,
            // Tables and texts hold their validation records out before fitting their preparation; interactions,
            // after a chronological split, hold out each user's latest.
            DataSource::Tabular { path, test, validation, options } => {
                load_tabular(path, test.as_ref(), held(validation.as_ref(), fraction, validation_seed), options, self.test_fraction, seed)?
            }
            DataSource::Text { path, test, validation, text } => {
                load_text(path, test.as_ref(), held(validation.as_ref(), fraction, validation_seed), text, self.test_fraction, seed)?
            }
            DataSource::ImageFolder { dir, grayscale } => load_image_folder(dir, *grayscale, self.test_fraction, seed)?,
            DataSource::Interactions { path, options } => load_interactions(path, held(None, fraction, validation_seed), options, self.test_fraction, seed)?,
        };
        let keep = |d: Dataset| match &self.classes {
            Some(classes) => d.with_classes(classes),
            None => Ok(d),
        };
        let (train, test) = (keep(splits.train)?, keep(splits.test)?);
        // Other sources prepare nothing from their records: their validation split is carved here.
        let (train, validation) = match splits.validation {
            Some(v) => (train, Some(keep(v)?)),
            None if self.validation_fraction > 0.0 => {
                let (train, validation) = hold_out(&train, self.validation_fraction, validation_seed)?;
                (train, Some(validation))
            }
            None => (train, None),
        };
        let splits = Splits {
            train: train.truncated(self.train_limit.unwrap_or(usize::MAX)),
            test: test.truncated(self.test_limit.unwrap_or(usize::MAX)),
            validation,
            preprocessing: splits.preprocessing,
        };
        for d in [Some(&splits.train), Some(&splits.test), splits.validation.as_ref()].into_iter().flatten() {
            if d.is_empty() {
                return Err(Error::Empty(d.name.clone()));
            }
        }
        Ok(splits)
    }
}

/// A seeded stratified split of `data` into `(rest, validation)` with `fraction` of each class held out
/// ([`stratified_split`](crate::tabular::stratified_split)), each side in the original order.
fn hold_out(data: &Dataset, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
    let (rest, held) = crate::tabular::stratified_split(data.labels(), fraction, seed);
    if rest.is_empty() || held.is_empty() {
        return Err(Error::Empty(format!("{} (validation split of {} items)", data.name, data.len())));
    }
    Ok((data.subset(data.name.clone(), &rest), data.subset(format!("{}/validation", data.name), &held)))
}

impl owm_core::Validate for DataConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if !(self.test_fraction > 0.0 && self.test_fraction < 1.0) {
            return Err(Error::TestFraction(self.test_fraction));
        }
        if !(0.0..1.0).contains(&self.validation_fraction) {
            return Err(Error::ValidationFraction(self.validation_fraction));
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
    use crate::Inputs;
    use owm_core::Validate;

    #[test]
    fn should_split_the_embedded_digits_80_20() {
        let s = DataConfig { validation_fraction: 0.0, ..DataConfig::digits() }.load(42).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (1438, 359));
    }

    #[test]
    fn test_fraction_must_lie_in_the_open_unit_interval() {
        let c = DataConfig { test_fraction: 1.5, ..DataConfig::digits() };
        assert!(matches!(c.check(), Err(Error::TestFraction(_))));
    }

    #[test]
    fn validation_fraction_must_lie_in_zero_to_one() {
        for f in [-0.1, 1.0, f64::NAN] {
            let c = DataConfig { validation_fraction: f, ..DataConfig::digits() };
            assert!(matches!(c.check(), Err(Error::ValidationFraction(_))), "{f}");
        }
    }

    #[test]
    fn should_hold_out_a_stratified_validation_split_of_the_training_records() {
        let none = DataConfig { validation_fraction: 0.0, ..DataConfig::digits() }.load(42).unwrap();
        let s = DataConfig::digits().load(42).unwrap();
        let v = s.validation.as_ref().unwrap();
        // 10% of each class of the 1438 training items, rounded per class.
        assert_eq!((s.train.len(), v.len(), s.test), (1293, 145, none.test.clone()));
        assert!(none.validation.is_none());
        let count = |d: &crate::Dataset, l: usize| d.labels().iter().filter(|&&x| x == l).count();
        for class in 0..10 {
            assert_eq!(count(&s.train, class) + count(v, class), count(&none.train, class));
            assert!(count(v, class).abs_diff(count(&none.train, class) / 10) <= 1, "class {class}");
        }
        // The same seed draws the same split; another seed another.
        assert_eq!(DataConfig::digits().load(42).unwrap().validation.unwrap().fingerprint(), v.fingerprint());
        assert_ne!(DataConfig::digits().load(7).unwrap().validation.unwrap().fingerprint(), v.fingerprint());
    }

    #[test]
    fn a_validation_file_should_be_prepared_with_what_the_training_file_fits() {
        let dir = owm_testkit::tempdir();
        let write = |name: &str, rows: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("x,colour,y\n{rows}")).unwrap();
            path
        };
        let train = write("train.csv", "1,red,a\n2,blue,b\n3,red,a\n4,blue,b\n5,red,a\n6,blue,b\n7,red,a\n8,blue,b\n9,red,a\n10,blue,b\n");
        let validation = write("val.csv", "5.5,red,a\n100,green,b\n");
        let options = crate::tabular::TabularOptions { target: "y".into(), ..Default::default() };
        let source = DataSource::Tabular { path: train, test: None, validation: Some(validation), options };
        let s = DataConfig::new(source).load(1).unwrap();
        let v = s.validation.unwrap();
        assert_eq!((v.len(), v.name.as_str(), s.train.len() + s.test.len()), (2, "train/validation", 10));
        // Scaled by the training rows' statistics; the unseen colour encodes as zeros.
        let Inputs::Dense { values, shape } = v.inputs() else { panic!("dense") };
        assert_eq!(shape, &[3]);
        assert!(values[0].abs() < 0.5 && values[3] > 10.0 && values[4..6] == [0.0, 0.0], "{values:?}");
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
        // A file without the field has no validation split (as every config written before it existed).
        assert_eq!(minimal, DataConfig { validation_fraction: 0.0, ..DataConfig::digits() });
    }
}
