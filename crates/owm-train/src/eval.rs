use std::path::Path;

use burn::prelude::Device;
use owm_core::{BackendKind, InputSpec};
use owm_data::{DataConfig, DatasetInfo, Normalizer};
use owm_eval::Evaluation;
use owm_models::Model;
use owm_share::Bundle;
use serde::de::DeserializeOwned;

use crate::{Error, ExperimentConfig, Result, evaluate_model};

/// The result of re-evaluating a bundle.
#[derive(Debug, Clone)]
pub struct BundleEvaluation {
    /// The verified bundle.
    pub bundle: Bundle,
    /// The evaluation just computed.
    pub report: Evaluation,
    /// The evaluation recorded in the manifest at training time.
    pub recorded: Option<Evaluation>,
    /// Whether the test split evaluated has the fingerprint recorded at training time.
    pub same_test_data: bool,
}

/// Verifies the bundle in `dir`, rebuilds its model and test split from the manifest (or from `data`, to
/// evaluate on other files of the same shape), and evaluates it on `backend`.
///
/// # Errors
///
/// Any bundle verification error (tampered tensor, bad manifest), [`Error::Manifest`] for a manifest section
/// that cannot be used, and data errors naming the file.
pub fn evaluate_bundle(dir: &Path, backend: BackendKind, data: Option<DataConfig>) -> Result<BundleEvaluation> {
    evaluate_bundle_with(dir, backend, data, None)
}

/// [`evaluate_bundle`] of a bundle whose weights may be encrypted: they are decrypted in memory with
/// `identities` and never written to disk.
///
/// # Errors
///
/// As [`evaluate_bundle`], and `owm_share::Error::Encryption` when no identity opens the weights.
pub fn evaluate_bundle_with(
    dir: &Path,
    backend: BackendKind,
    data: Option<DataConfig>,
    identities: Option<&owm_share::Identities>,
) -> Result<BundleEvaluation> {
    evaluate(dir, data, identities, |experiment, input, outputs| {
        let device = backend.device()?;
        Ok((experiment.model.init(input, outputs, &device)?, device))
    })
}

/// [`evaluate_bundle_with`] of a bundle of your own model ([`crate::train_model`]): its weights are loaded
/// into `model` (on `device`), which must have the bundle's parameter paths and shapes.
///
/// # Errors
///
/// As [`evaluate_bundle_with`], and a bundle error naming a tensor that does not fit `model`.
pub fn evaluate_bundle_into<M: Model>(
    dir: &Path,
    model: M,
    device: &Device,
    data: Option<DataConfig>,
    identities: Option<&owm_share::Identities>,
) -> Result<BundleEvaluation> {
    evaluate(dir, data, identities, |_, _, _| Ok((model, device.clone())))
}

/// Verifies the bundle, loads its test split (or `data`'s), loads the weights into the model `build` makes
/// for it and evaluates.
fn evaluate<M: Model>(
    dir: &Path,
    data: Option<DataConfig>,
    identities: Option<&owm_share::Identities>,
    build: impl FnOnce(&ExperimentConfig, &InputSpec, usize) -> Result<(M, Device)>,
) -> Result<BundleEvaluation> {
    let bundle = owm_share::load_bundle_with(dir, identities)?;
    let m = &bundle.manifest;
    let experiment: ExperimentConfig = section(dir, "experiment", &m.experiment)?;
    let normalization: Option<Normalizer> = section(dir, "normalization", &m.normalization)?;
    let dataset: DatasetInfo = section(dir, "dataset", &m.dataset)?;
    let recorded: Option<Evaluation> = serde_json::from_value(m.evaluation.clone()).ok();

    let data = data.unwrap_or(experiment.data.clone());
    let splits = data.load(experiment.seed)?;
    let test = &splits.test;
    if let Some(norm) = &normalization {
        norm.check(test)?;
    }
    let (model, device) = build(&experiment, &test.input_spec(), test.task.outputs(test.num_classes()))?;
    let model = bundle.load_into(model)?;
    let report = evaluate_model(&model, test, Some(&splits.train), normalization.as_ref(), &device, experiment.seed)?;
    let same_test_data = test.fingerprint() == dataset.test_fingerprint;
    Ok(BundleEvaluation { bundle, report, recorded, same_test_data })
}

fn section<T: DeserializeOwned>(dir: &Path, name: &'static str, value: &serde_json::Value) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Manifest { dir: dir.to_path_buf(), section: name, reason: e.to_string() })
}
