//! A bundle's model applied to new records (`owm predict`): the bundle is verified and loaded once, and the
//! preprocessing it recorded prepares raw records in the layouts training reads.

use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::Device;
use owm_core::{BackendKind, InputSpec, Task};
use owm_data::{Dataset, DatasetInfo, Normalizer, Preparer, PreprocessingSection, RawField, Records, StoredInput};
use owm_models::{Classifier, Model, ModelConfig};
use owm_share::{PublicKey, Signed};
use serde::Serialize;

use crate::eval::section;
use crate::example::ExampleCheck;
use crate::{Error, ExperimentConfig, Result};

/// A bundle's model, ready to predict on records: load once, predict many.
#[derive(Debug)]
pub struct Predictor {
    model: Classifier,
    device: Device,
    /// The recorded preprocessing, ready for many calls; `None` for a model of images without one.
    preparer: Option<Preparer>,
    normalization: Option<Normalizer>,
    info: DatasetInfo,
    bundle_digest: String,
    weights_digest: String,
    signatures: Vec<Signed>,
    stored_input: Option<StoredInput>,
}

/// The prediction for one record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The record's id: its 1-based line in its file, or an image's path.
    pub record: String,
    /// The predicted class, by name.
    pub label: String,
    /// The probability of each class, in [`Predictions::classes`] order.
    pub probabilities: Vec<f64>,
    /// The record's class as its file gives it, where it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known: Option<String>,
}

/// Predictions for the records of one file, naming the bundle they came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predictions {
    /// The bundle's digest (its manifest's `bundle_digest`).
    pub bundle_digest: String,
    /// Class names, in the order of each prediction's probabilities.
    pub classes: Vec<String>,
    /// One per record, in file order.
    pub predictions: Vec<Prediction>,
    /// Missing values filled from training, per column.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub imputed: BTreeMap<String, u64>,
}

impl Predictor {
    /// Verifies the bundle in `dir` (decrypting its weights in memory with `identities` when they are
    /// encrypted), builds its model on `backend` and loads the weights.
    ///
    /// # Errors
    ///
    /// Any bundle verification error; [`Error::Manifest`] for a section that cannot be used, or a bundle that
    /// recorded no preprocessing of raw records and does not read images; a model error for a user's model, which
    /// only its own program can build.
    pub fn load(dir: &Path, backend: BackendKind, identities: Option<&owm_share::Identities>) -> Result<Self> {
        Self::load_trusting(dir, backend, identities, None)
    }

    /// [`Predictor::load`], also checking the bundle's signatures (see [`owm_share::check_signature`]): with
    /// `trusted`, the bundle must be signed by that key; without, every signature there must hold.
    ///
    /// # Errors
    ///
    /// As [`Predictor::load`]; [`owm_share::Error::Signature`] naming what fails.
    pub fn load_trusting(dir: &Path, backend: BackendKind, identities: Option<&owm_share::Identities>, trusted: Option<&PublicKey>) -> Result<Self> {
        let signatures = owm_share::check_signature(dir, trusted)?;
        let bundle = owm_share::load_bundle_with(dir, identities)?;
        let m = &bundle.manifest;
        let model: ModelConfig = section(dir, "model", &m.model)?;
        let info: DatasetInfo = section(dir, "dataset", &m.dataset)?;
        let normalization: Option<Normalizer> = section(dir, "normalization", &m.normalization)?;
        let preprocessing = section::<Option<PreprocessingSection>>(dir, "preprocessing", &m.preprocessing)?
            .map(PreprocessingSection::into_preprocessing)
            .transpose()
            .map_err(|e| Error::Manifest { dir: dir.to_path_buf(), section: "preprocessing", source: e.into() })?;
        let stored_input: Option<StoredInput> = section(dir, "input", &m.input)?;
        if preprocessing.is_none() && !matches!(info.input, InputSpec::Image { .. }) {
            return Err(Error::Manifest {
                dir: dir.to_path_buf(),
                section: "preprocessing",
                source: format!("no preprocessing of raw records is recorded for data `{}`", info.name).into(),
            });
        }
        let device = backend.device()?;
        let model = model.init(&info.input, info.task.outputs(info.class_names.len()), &device)?;
        let model = bundle.load_into(model)?;
        let (bundle_digest, weights_digest) = (m.bundle_digest.clone(), m.weights_digest.clone());
        // Raw records are read as the training data was: the experiment's data source says how.
        let preparer = match preprocessing {
            Some(p) => Some(Preparer::new(p, section::<ExperimentConfig>(dir, "experiment", &m.experiment)?.data.source)),
            None => None,
        };
        Ok(Self { model, device, preparer, normalization, info, bundle_digest, weights_digest, signatures, stored_input })
    }

    /// Who signed the bundle, when a signature was verified with a key when the predictor was loaded: the
    /// trusted key's, else OWM's Ed25519 signature (its key is inside). An OpenSSF signature checked without
    /// its key is not one (see [`Signed::verified`]).
    pub fn signer(&self) -> Option<&Signed> {
        self.signatures.iter().find(|s| s.trusted).or_else(|| self.signatures.iter().find(|s| s.verified))
    }

    /// What the model reads.
    pub fn input(&self) -> &InputSpec {
        &self.info.input
    }

    /// What the model predicts.
    pub fn task(&self) -> Task {
        self.info.task
    }

    /// The model, its weights loaded.
    pub fn model(&self) -> &Classifier {
        &self.model
    }

    /// The input normalisation fitted on the training split, when training used one.
    pub fn normalization(&self) -> Option<&Normalizer> {
        self.normalization.as_ref()
    }

    /// The recorded preprocessing of raw records; `None` for a model of images.
    pub fn preparer(&self) -> Option<&Preparer> {
        self.preparer.as_ref()
    }

    /// The fields of a raw record ([`owm_data::Preprocessing::signature`]); `None` for a model of images,
    /// whose records are images.
    pub fn signature(&self) -> Option<Vec<RawField>> {
        self.preparer.as_ref().map(|p| p.preprocessing().signature())
    }

    /// Records prepared from named columns of raw values, as a request sends them
    /// ([`owm_data::Preprocessing::raw_records`]; `origin` names the request in errors).
    ///
    /// # Errors
    ///
    /// As [`Preparer::columns`]; [`owm_data::Error::Unpredictable`] for a
    /// model of images.
    pub fn prepare_columns(&self, origin: &Path, columns: Vec<(String, Vec<Option<String>>)>) -> Result<Records> {
        let p = self.preparer.as_ref().ok_or_else(|| owm_data::Error::Unpredictable("a model of images reads pixels, not named columns".into()))?;
        Ok(p.columns(origin, columns)?)
    }

    /// Class names, in the order of the probabilities.
    pub fn classes(&self) -> &[String] {
        &self.info.class_names
    }

    /// The digest of the bundle the model came from.
    pub fn bundle_digest(&self) -> &str {
        &self.bundle_digest
    }

    /// The digest of its weights (the manifest's `weights_digest`).
    pub fn weights_digest(&self) -> &str {
        &self.weights_digest
    }

    /// Predictions for the records of `path`: a file in the layout training read (see
    /// [`Preparer::records`]), or, for a model of images, an image file, a folder of them, a CIFAR-10 batch or
    /// an IDX file (see [`owm_data::read_image_records`]; pixels are normalised as in training).
    ///
    /// # Errors
    ///
    /// As [`Preparer::records`] and [`owm_data::read_image_records`], naming file, line and column (or
    /// image) of what does not fit.
    pub fn predict_file(&self, path: &Path) -> Result<Predictions> {
        self.predict(&self.records(path)?)
    }

    /// The records of `path` prepared for the model, as [`Predictor::predict_file`] reads them.
    ///
    /// # Errors
    ///
    /// As [`Predictor::predict_file`].
    pub fn records(&self, path: &Path) -> Result<Records> {
        Ok(match (&self.preparer, &self.info.input) {
            (Some(p), _) => p.records(path)?,
            (None, InputSpec::Image { shape }) => owm_data::read_image_records(path, *shape)?,
            (None, other) => return Err(owm_data::Error::Unpredictable(format!("no recorded preprocessing prepares records for {other:?}")).into()),
        })
    }

    /// Predictions for prepared `records`, in batches of 256.
    ///
    /// # Errors
    ///
    /// A data error when the records do not have the inputs the model was trained on.
    pub fn predict(&self, records: &Records) -> Result<Predictions> {
        predictions(&self.model, &self.info, self.normalization.as_ref(), &self.device, records, &self.bundle_digest)
    }

    /// What the model takes and its worked example, as the bundle recorded them (bundles written before
    /// OWM recorded them have none).
    pub fn stored_input(&self) -> Option<&StoredInput> {
        self.stored_input.as_ref()
    }

    /// Re-runs the bundle's stored example ([`StoredInput::example`]): its raw records prepared and predicted
    /// as [`Predictor::predict`] does, compared with the outputs stored at training time, which were computed
    /// on the CPU (`flex`): on the CPU they must be the same bit for bit.
    ///
    /// # Errors
    ///
    /// [`owm_data::Error::Unpredictable`] for a bundle without a stored example (saying why there is none);
    /// the errors of preparing and predicting its records.
    pub fn check(&self) -> Result<ExampleCheck> {
        let stored = self.stored_input.as_ref();
        let Some(example) = stored.and_then(|s| s.example.as_ref()) else {
            let why = stored.and_then(|s| s.no_example.clone()).unwrap_or_else(|| "it was written before OWM stored examples".into());
            return Err(owm_data::Error::Unpredictable(format!("the bundle stores no input example: {why}")).into());
        };
        let got = self.predict(&example.raw.records(self.preparer.as_ref())?)?;
        Ok(ExampleCheck::compare(example, &got))
    }
}

/// Predictions of `model` (reading `info`'s input, normalised by `normalization`) on `device` for prepared
/// `records`, in batches of 256, naming `bundle_digest`.
///
/// # Errors
///
/// A data error when the records do not have the inputs the model was trained on.
pub(crate) fn predictions<M: Model>(
    model: &M,
    info: &DatasetInfo,
    normalization: Option<&Normalizer>,
    device: &Device,
    records: &Records,
    bundle_digest: &str,
) -> Result<Predictions> {
    let data = Dataset::unlabelled("records", records.inputs.clone(), info.class_names.clone(), info.task)?;
    if data.input_spec() != info.input {
        return Err(owm_data::Error::Unpredictable(format!("the records give {:?}; the model reads {:?}", data.input_spec(), info.input)).into());
    }
    if let Some(norm) = normalization {
        norm.check(&data)?;
    }
    let outputs = info.task.outputs(info.class_names.len());
    let logits = crate::logits(model, &data, normalization, device, 256);
    let predictions = logits
        .chunks(outputs)
        .zip(records.ids.iter().zip(&records.known))
        .map(|(row, (record, known))| {
            let (probabilities, best) = info.task.probabilities(row);
            Prediction { record: record.clone(), label: info.class_names[best].clone(), probabilities, known: known.clone() }
        })
        .collect();
    Ok(Predictions { bundle_digest: bundle_digest.to_string(), classes: info.class_names.clone(), predictions, imputed: records.imputed.clone() })
}
