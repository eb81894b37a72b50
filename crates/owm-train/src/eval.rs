use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::Device;
use owm_core::{BackendKind, InputSpec, Task};
use owm_data::{DataConfig, DatasetInfo, Normalizer};
use owm_eval::Evaluation;
use owm_models::Model;
use owm_share::Bundle;
use serde::de::DeserializeOwned;

use owm_data::{Dataset, Inputs};

use crate::{Error, ExperimentConfig, Result};

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

/// Predicted class of every item of `data` (argmax, or logit > 0 for a binary task), in batches of `batch`
/// on `device`.
pub fn predict<M: Model>(model: &M, data: &Dataset, norm: Option<&Normalizer>, device: &Device, batch: usize) -> Vec<usize> {
    let outputs = data.task.outputs(data.num_classes());
    logits(model, data, norm, device, batch).chunks(outputs).map(|row| data.task.probabilities(row).1).collect()
}

/// Logits of every item of `data`, row-major `[items, outputs]`, computed in batches of `batch` on `device`.
pub fn logits<M: Model>(model: &M, data: &Dataset, norm: Option<&Normalizer>, device: &Device, batch: usize) -> Vec<f32> {
    let indices: Vec<usize> = (0..data.len()).collect();
    let mut out = Vec::with_capacity(data.len() * data.task.outputs(data.num_classes()));
    for chunk in indices.chunks(batch.max(1)) {
        let (inputs, _) = data.batch(chunk, norm, device);
        let data = model.forward(inputs).into_data().convert::<f32>();
        #[allow(clippy::expect_used, reason = "the data was converted to f32 just above")]
        out.extend(data.try_to_vec::<f32>().expect("f32 logits"));
    }
    out
}

/// The metrics of `model` on a validation split, as early stopping and the report read them: `val_loss` (the
/// task's training loss, cross-entropy or binary cross-entropy, averaged in f64 from the logits),
/// `val_accuracy`, `val_macro_f1`, and `val_roc_auc` for a binary task when both classes occur. Values the data
/// leaves undefined are left out.
///
/// # Errors
///
/// A metric error ([`owm_eval::Error`]), e.g. labels outside the classes.
pub fn validation_metrics<M: Model>(model: &M, data: &Dataset, norm: Option<&Normalizer>, device: &Device) -> Result<BTreeMap<String, f64>> {
    let outputs = data.task.outputs(data.num_classes());
    let logits = logits(model, data, norm, device, 256);
    let (mut loss, mut predicted, mut positive) = (0.0, Vec::with_capacity(data.len()), Vec::new());
    for (row, &y) in logits.chunks(outputs).zip(data.labels()) {
        let z: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        loss += match data.task {
            Task::Classification => {
                let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
                max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln() - z[y]
            }
            // max(z, 0) − z·y + ln(1 + e^−|z|), as the training loss.
            Task::Binary => z[0].max(0.0) - z[0] * y as f64 + (-z[0].abs()).exp().ln_1p(),
        };
        let (probs, best) = data.task.probabilities(row);
        predicted.push(best);
        if data.task == Task::Binary {
            positive.push(probs[1]);
        }
    }
    let report = owm_eval::ClassificationReport::new(data.labels(), &predicted, data.num_classes())?;
    let mut metrics = BTreeMap::from([
        ("val_loss".to_string(), loss / data.len().max(1) as f64),
        ("val_accuracy".to_string(), report.accuracy),
        ("val_macro_f1".to_string(), report.macro_f1),
    ]);
    if data.task == Task::Binary {
        let truth: Vec<bool> = data.labels().iter().map(|&y| y == 1).collect();
        if let Ok(auc) = owm_eval::roc_auc(&truth, &positive) {
            metrics.insert("val_roc_auc".to_string(), auc);
        }
    }
    metrics.retain(|_, v| v.is_finite());
    Ok(metrics)
}

/// Evaluates `model` on `test` with its task's metrics ([`Evaluation`]): the classification report, the
/// probability scores of a binary task, rankings per group (beside a popularity baseline from `train`'s
/// positives when the items are ids), and bootstrap intervals seeded from `seed`.
///
/// # Errors
///
/// A metric error ([`owm_eval::Error`]), e.g. an empty test split.
pub fn evaluate_model<M: Model>(
    model: &M,
    test: &Dataset,
    train: Option<&Dataset>,
    norm: Option<&Normalizer>,
    device: &Device,
    seed: u64,
) -> Result<Evaluation> {
    let outputs = test.task.outputs(test.num_classes());
    let (probs, predicted): (Vec<Vec<f64>>, Vec<usize>) =
        logits(model, test, norm, device, 256).chunks(outputs).map(|row| test.task.probabilities(row)).unzip();
    let baseline = train.and_then(|train| popularity(train, test));
    let fingerprint = test.fingerprint();
    Ok(Evaluation::new(owm_eval::Predictions {
        task: test.task,
        truth: test.labels(),
        probs: &probs,
        predicted: &predicted,
        num_classes: test.num_classes(),
        groups: test.groups(),
        baseline: baseline.as_deref().map(|b| ("popularity", b)),
        dataset: &fingerprint,
        seed: owm_core::derive_seed(seed, "eval/bootstrap"),
    })?)
}

/// The popularity baseline of a recommendation test split: each (user, item) row scored by the number of
/// positive training rows of its item (field 1 of the ids).
fn popularity(train: &Dataset, test: &Dataset) -> Option<Vec<f64>> {
    let (Inputs::Ids { ids: train_ids, cardinalities }, Inputs::Ids { ids: test_ids, .. }) = (train.inputs(), test.inputs()) else {
        return None;
    };
    let fields = cardinalities.len();
    if fields < 2 || test.groups().is_none() {
        return None;
    }
    let mut counts = vec![0f64; cardinalities[1]];
    for (row, &label) in train_ids.chunks(fields).zip(train.labels()) {
        if label + 1 == train.num_classes() {
            counts[row[1] as usize] += 1.0;
        }
    }
    Some(test_ids.chunks(fields).map(|row| counts.get(row[1] as usize).copied().unwrap_or(0.0)).collect())
}

pub(crate) fn section<T: DeserializeOwned>(dir: &Path, name: &'static str, value: &serde_json::Value) -> Result<T> {
    serde_json::from_value(value.clone()).map_err(|e| Error::Manifest { dir: dir.to_path_buf(), section: name, source: e.into() })
}
