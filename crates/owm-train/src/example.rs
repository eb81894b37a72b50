//! The worked example a bundle stores (the manifest's `input` section): taken from the test data when
//! training ends, its outputs computed on the CPU, and checked again by `owm predict --check`.

use burn::prelude::Device;
use owm_data::{
    DataSource, Dataset, DatasetInfo, INPUT_FORMAT, Inputs, Normalizer, Preparer, Preprocessing, RawExample, StoredExample, StoredInput, input_signature,
};
use owm_models::Model;
use serde::Serialize;

use crate::{Predictions, Result};

/// How many records the example holds.
const EXAMPLE_RECORDS: usize = 3;

/// What re-running a stored example found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExampleCheck {
    /// Records in the example.
    pub records: usize,
    /// Whether every probability is the stored one, bit for bit, and every label the stored label.
    pub identical: bool,
    /// The largest difference from a stored probability.
    pub max_abs_diff: f64,
    /// Records whose predicted label is the stored one.
    pub labels_agree: usize,
}

impl ExampleCheck {
    /// `got` compared with `stored`.
    pub(crate) fn compare(stored: &StoredExample, got: &Predictions) -> Self {
        let mut max_abs_diff: f64 = 0.0;
        let mut bits = stored.probabilities.len() == got.predictions.len();
        for (want, have) in stored.probabilities.iter().zip(&got.predictions) {
            bits &= want.len() == have.probabilities.len();
            for (a, b) in want.iter().zip(&have.probabilities) {
                bits &= a.to_bits() == b.to_bits();
                max_abs_diff = max_abs_diff.max((a - b).abs());
            }
        }
        let labels_agree = stored.labels.iter().zip(&got.predictions).filter(|(l, p)| **l == p.label).count();
        Self { records: stored.labels.len(), identical: bits && labels_agree == stored.labels.len(), max_abs_diff, labels_agree }
    }
}

/// The `input` section of a bundle: the signature, and an example of at most three raw records with the
/// outputs `model` gives them on the CPU; when the data gives no example (tokens or ids without recorded
/// preprocessing), the reason instead.
pub(crate) fn stored_input<M: Model>(
    model: &M,
    test: &Dataset,
    preprocessing: Option<&Preprocessing>,
    source: &DataSource,
    info: &DatasetInfo,
    normalization: Option<&Normalizer>,
) -> StoredInput {
    let signature = input_signature(preprocessing, info.input.clone());
    let (example, no_example) = match example(model, test, preprocessing, source, info, normalization) {
        Ok(e) => (Some(e), None),
        Err(e) => (None, Some(e.to_string())),
    };
    StoredInput { format: INPUT_FORMAT.into(), signature, example, no_example }
}

/// The example of [`stored_input`] (same arguments), or why there is none.
fn example<M: Model>(
    model: &M,
    test: &Dataset,
    preprocessing: Option<&Preprocessing>,
    source: &DataSource,
    info: &DatasetInfo,
    normalization: Option<&Normalizer>,
) -> Result<StoredExample> {
    let unavailable = |why: &str| owm_data::Error::Unpredictable(why.into());
    let raw = match preprocessing {
        // Raw records as a file holds them: the first ones of the test file, or of the training file.
        Some(p) => {
            let path = match source {
                DataSource::Tabular { path, test, .. } | DataSource::Text { path, test, .. } => test.as_ref().unwrap_or(path),
                DataSource::Interactions { path, .. } => path,
                _ => return Err(unavailable("the data source has no raw records").into()),
            };
            RawExample::Columns { columns: p.read_raw(source, path)?.head_columns(EXAMPLE_RECORDS) }
        }
        None => {
            let n = EXAMPLE_RECORDS.min(test.len()) * test.feature_len();
            match test.inputs() {
                Inputs::Pixels { shape, values } => RawExample::Pixels { shape: *shape, values: values[..n].to_vec() },
                Inputs::Dense { shape, values } if shape.len() == 3 => RawExample::Dense { shape: shape.clone(), values: values[..n].to_vec() },
                _ => return Err(unavailable("no preprocessing of raw records is recorded").into()),
            }
        }
    };
    let preparer = preprocessing.map(|p| Preparer::new(p.clone(), source.clone()));
    let records = raw.records(preparer.as_ref())?;
    // On the CPU, wherever the model trained: `owm predict --check` demands these outputs bit for bit there.
    let cpu = Device::flex();
    let predictions = crate::predict::predictions(&model.clone().to_device(&cpu), info, normalization, &cpu, &records, "")?;
    let (probabilities, labels) = predictions.predictions.into_iter().map(|p| (p.probabilities, p.label)).unzip();
    Ok(StoredExample { raw, probabilities, labels })
}
