//! What a bundle's model takes, and one worked example: the manifest's `input` section. The signature names a
//! raw record's fields and the tensor the network reads; the example holds a few raw records of the test data
//! with the outputs the trained model gave them on the CPU, so that `owm predict --check` can show, anywhere,
//! that the bundle still computes exactly that.

use std::path::Path;

use owm_core::InputSpec;
use serde::{Deserialize, Serialize};

use crate::{Error, Inputs, Preparer, Preprocessing, RawField, RawRecords, Records, Result};

/// The format of the manifest's `input` section.
pub const INPUT_FORMAT: &str = "owm-input/1";

/// The format of the manifest's `preprocessing` section.
pub const PREPROCESSING_FORMAT: &str = "owm-preprocessing/1";

/// The manifest's `preprocessing` section: the [`Preprocessing`] with its format, so that a reader knows
/// which layout it reads (bundles written before the format was recorded have none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreprocessingSection {
    /// [`PREPROCESSING_FORMAT`], or empty in a bundle written before it.
    #[serde(default)]
    pub format: String,
    /// The preprocessing.
    #[serde(flatten)]
    pub preprocessing: Preprocessing,
}

impl PreprocessingSection {
    /// `preprocessing` in the current format.
    pub fn new(preprocessing: Preprocessing) -> Self {
        Self { format: PREPROCESSING_FORMAT.into(), preprocessing }
    }

    /// The preprocessing, when its format is one this version reads.
    ///
    /// # Errors
    ///
    /// [`Error::Unpredictable`] naming a format this version does not read.
    pub fn into_preprocessing(self) -> Result<Preprocessing> {
        if self.format.is_empty() || self.format == PREPROCESSING_FORMAT {
            Ok(self.preprocessing)
        } else {
            Err(Error::Unpredictable(format!("the preprocessing is in format `{}`; this OWM reads `{PREPROCESSING_FORMAT}`", self.format)))
        }
    }
}

/// What a model takes: a raw record's fields and the tensor its network reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSignature {
    /// A raw record's fields, in order (a table's columns with their kinds, `text`, or `user` and `item`);
    /// empty for images, whose records are images.
    pub fields: Vec<RawField>,
    /// The tensor the network reads (feature count, token length and vocabulary, image shape, id fields).
    pub tensor: InputSpec,
}

/// A few raw records, as stored in the example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RawExample {
    /// Named columns of raw values (`null`: missing), as an inference request sends them.
    Columns {
        /// `(name, values)` per field.
        columns: Vec<(String, Vec<Option<String>>)>,
    },
    /// Images' pixels (0–255), channels first.
    Pixels {
        /// One image's shape.
        shape: [usize; 3],
        /// Row-major pixels.
        values: Vec<u8>,
    },
    /// Images stored as numbers (the embedded digits).
    Dense {
        /// One image's shape.
        shape: Vec<usize>,
        /// Row-major values.
        values: Vec<f32>,
    },
}

impl RawExample {
    /// The example's records, prepared by `preparer` (columns) or taken as they are (images).
    ///
    /// # Errors
    ///
    /// As [`Preparer::columns`]; [`Error::Unpredictable`] for columns without a preparer.
    pub fn records(&self, preparer: Option<&Preparer>) -> Result<Records> {
        let images =
            |inputs: Inputs, n: usize| Records { ids: (1..=n).map(|i| i.to_string()).collect(), inputs, known: vec![None; n], imputed: Default::default() };
        Ok(match self {
            RawExample::Columns { columns } => {
                let p = preparer.ok_or_else(|| Error::Unpredictable("raw columns need the recorded preprocessing".into()))?;
                p.columns(Path::new("the stored example"), columns.clone())?
            }
            RawExample::Pixels { shape, values } => {
                images(Inputs::Pixels { shape: *shape, values: values.clone() }, values.len() / shape.iter().product::<usize>().max(1))
            }
            RawExample::Dense { shape, values } => {
                images(Inputs::Dense { shape: shape.clone(), values: values.clone() }, values.len() / shape.iter().product::<usize>().max(1))
            }
        })
    }
}

/// Raw records and the outputs the trained model gave them on the CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredExample {
    /// The records.
    pub raw: RawExample,
    /// Each record's class probabilities.
    pub probabilities: Vec<Vec<f64>>,
    /// Each record's predicted class.
    pub labels: Vec<String>,
}

/// The manifest's `input` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredInput {
    /// [`INPUT_FORMAT`].
    pub format: String,
    /// What the model takes.
    pub signature: InputSignature,
    /// A worked example, when the training data gave one.
    pub example: Option<StoredExample>,
    /// Why there is no example, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_example: Option<String>,
}

impl RawRecords {
    /// The first `n` records as named columns of raw values, as [`Preprocessing::raw_records`] reads them
    /// back: a table's columns, `text` and `label`, or `user`, `item` and `label`.
    pub fn head_columns(&self, n: usize) -> Vec<(String, Vec<Option<String>>)> {
        match self {
            RawRecords::Table { table, .. } => {
                let rows = &table.rows[..n.min(table.rows.len())];
                table.columns.iter().enumerate().map(|(c, name)| (name.clone(), rows.iter().map(|(_, r)| r[c].clone()).collect())).collect()
            }
            RawRecords::Texts(texts) => {
                let texts = &texts[..n.min(texts.len())];
                vec![("text".into(), texts.iter().map(|t| Some(t.text.clone())).collect()), ("label".into(), texts.iter().map(|t| t.known.clone()).collect())]
            }
            RawRecords::Pairs { pairs, .. } => {
                let pairs = &pairs[..n.min(pairs.len())];
                vec![
                    ("user".into(), pairs.iter().map(|p| Some(p.user.clone())).collect()),
                    ("item".into(), pairs.iter().map(|p| Some(p.item.clone())).collect()),
                    ("label".into(), pairs.iter().map(|p| p.label.map(|l| l.to_string())).collect()),
                ]
            }
        }
    }
}

/// The signature of a model that reads `tensor` with records prepared by `preprocessing`.
pub fn input_signature(preprocessing: Option<&Preprocessing>, tensor: InputSpec) -> InputSignature {
    InputSignature { fields: preprocessing.map(Preprocessing::signature).unwrap_or_default(), tensor }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preprocessing_section_should_read_its_format_a_legacy_one_and_refuse_an_unknown_one() {
        let p = Preprocessing::Interactions { users: vec!["u".into()], items: vec!["i".into()], negatives: 4, side_fields: Vec::new() };
        let current = serde_json::to_value(PreprocessingSection::new(p.clone())).unwrap();
        assert_eq!(current["format"], PREPROCESSING_FORMAT);
        let read = |v: serde_json::Value| serde_json::from_value::<PreprocessingSection>(v).unwrap().into_preprocessing();
        assert_eq!(read(current.clone()).unwrap(), p);
        // A bundle written before the format was recorded holds the preprocessing alone.
        assert_eq!(read(serde_json::to_value(&p).unwrap()).unwrap(), p);
        let mut newer = current;
        newer["format"] = "owm-preprocessing/9".into();
        assert!(matches!(read(newer), Err(Error::Unpredictable(m)) if m.contains("owm-preprocessing/9")));
    }
}
