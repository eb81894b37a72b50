//! A served model: a loaded [`Predictor`], what its requests may hold, and how its answers are written.

use std::path::Path;

use owm_core::InputSpec;
use owm_data::{Inputs, Records};
use owm_train::{Predictions, Predictor};
use serde_json::{Map, Value, json};

use crate::protocol::{Datatype, InferRequest, InferResponse, Input, ModelMetadata, OutputTensor, TensorMetadata};
use crate::{Error, Result};

/// The name of a model's one tensor input (the model's input as given, after preprocessing).
pub const TENSOR_INPUT: &str = "input";
/// The output naming each record's predicted class.
pub const LABEL_OUTPUT: &str = "label";
/// The output holding each record's class probabilities, `[records, classes]`.
pub const PROBABILITIES_OUTPUT: &str = "probabilities";

/// A model to serve: a verified bundle's [`Predictor`] under a name and a version.
#[derive(Debug)]
pub struct ServedModel {
    name: String,
    version: String,
    predictor: Predictor,
}

impl ServedModel {
    /// Serves `predictor` as `name`, version `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>, predictor: Predictor) -> Self {
        Self { name: name.into(), version: version.into(), predictor }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The predictor.
    pub fn predictor(&self) -> &Predictor {
        &self.predictor
    }

    /// The bundle digest, whether its signature verified (and by which key), and the class names.
    pub fn parameters(&self) -> Map<String, Value> {
        let p = &self.predictor;
        let mut m = Map::new();
        m.insert("bundle_digest".into(), p.bundle_digest().into());
        m.insert("signature_verified".into(), p.signer().is_some().into());
        if let Some(s) = p.signer() {
            m.insert("signer".into(), s.public_key.clone().into());
        }
        m.insert("classes".into(), p.classes().into());
        m
    }

    /// The model's input tensor: its datatype and shape (`-1` records).
    pub fn tensor_input(&self) -> TensorMetadata {
        let (datatype, item): (&str, Vec<usize>) = match self.predictor.input() {
            InputSpec::Dense { features } => ("FP32", vec![*features]),
            InputSpec::Image { shape } => ("FP32", shape.to_vec()),
            InputSpec::Tokens { len, .. } => ("INT64", vec![*len]),
            InputSpec::Ids { cardinalities } => ("INT64", vec![cardinalities.len()]),
        };
        TensorMetadata { name: TENSOR_INPUT.into(), datatype, shape: std::iter::once(-1).chain(item.into_iter().map(|d| d as i64)).collect() }
    }

    /// The metadata of this model, listing `versions` (every version served under its name).
    pub fn metadata(&self, versions: Vec<String>) -> ModelMetadata {
        let mut parameters = self.parameters();
        if let Some(fields) = self.predictor.signature() {
            let records: Vec<Value> =
                fields.iter().map(|f| json!({"name": f.name, "datatype": if f.numeric { "FP64" } else { "BYTES" }, "shape": [-1]})).collect();
            parameters.insert("content_type".into(), "pd".into());
            parameters.insert("records".into(), records.into());
        }
        let classes = self.predictor.classes().len() as i64;
        ModelMetadata {
            name: self.name.clone(),
            versions,
            platform: "owm",
            inputs: vec![self.tensor_input()],
            outputs: vec![
                TensorMetadata { name: LABEL_OUTPUT.into(), datatype: "BYTES", shape: vec![-1] },
                TensorMetadata { name: PROBABILITIES_OUTPUT.into(), datatype: "FP32", shape: vec![-1, classes] },
            ],
            parameters,
        }
    }

    /// The records `request` holds: the model's input tensor as given (one input named [`TENSOR_INPUT`]), or raw
    /// records, one input per field of [`Predictor::signature`] (named by it, one value per record), prepared
    /// as the bundle's training data was.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] naming what does not fit: a tensor of another shape or datatype than the model's, an
    /// id out of range, a field that is missing or unknown, a value that does not fit its column, an output the
    /// model does not have.
    pub fn records(&self, request: &InferRequest) -> Result<Records> {
        if let Some(other) = request.outputs.iter().find(|o| ![LABEL_OUTPUT, PROBABILITIES_OUTPUT].contains(&o.as_str())) {
            return Err(Error::Request(format!("output `{other}` is not one of `{LABEL_OUTPUT}`, `{PROBABILITIES_OUTPUT}`")));
        }
        let prepared = match request.inputs.as_slice() {
            [one] if one.name == TENSOR_INPUT && request.content_type.as_deref() != Some("pd") => self.tensor_records(one)?,
            inputs => {
                let columns = inputs.iter().map(column).collect::<Result<Vec<_>>>()?;
                self.predictor.prepare_columns(Path::new("request"), columns).map_err(|e| Error::Request(e.to_string()))?
            }
        };
        if prepared.is_empty() {
            return Err(Error::Request("the request holds no record".into()));
        }
        Ok(prepared)
    }

    fn tensor_records(&self, input: &Input) -> Result<Records> {
        let expected = self.tensor_input();
        let item: Vec<usize> = expected.shape[1..].iter().map(|&d| d as usize).collect();
        let err = |reason: String| Error::Request(format!("input `{TENSOR_INPUT}`: {reason}"));
        if input.shape.len() != expected.shape.len() || input.shape[1..] != item[..] {
            return Err(err(format!("shape {:?}; the model reads {:?} (-1: any number of records)", input.shape, expected.shape)));
        }
        let numbers = || input.data.iter().map(|v| v.as_f64()).collect::<Option<Vec<f64>>>().ok_or_else(|| err("a value is missing (null)".into()));
        let ids = || -> Result<Vec<u32>> {
            if !matches!(input.datatype, Datatype::Int { .. }) {
                return Err(err(format!("datatype {}; the model reads whole-number ids (INT64, INT32, ...)", input.datatype_name)));
            }
            numbers()?.into_iter().map(|v| u32::try_from(v as i64).map_err(|_| err(format!("id {v} is out of range")))).collect()
        };
        let inputs = match self.predictor.input() {
            InputSpec::Tokens { len, vocab } => Inputs::Tokens { len: *len, vocab: *vocab, ids: ids()? },
            InputSpec::Ids { cardinalities } => Inputs::Ids { cardinalities: cardinalities.clone(), ids: ids()? },
            InputSpec::Dense { .. } | InputSpec::Image { .. } => {
                if matches!(input.datatype, Datatype::Bytes | Datatype::Bool) {
                    return Err(err(format!("datatype {}; the model reads numbers (FP32)", input.datatype_name)));
                }
                Inputs::Dense { shape: item, values: numbers()?.into_iter().map(|v| v as f32).collect() }
            }
        };
        let rows = input.rows();
        Ok(Records { ids: (1..=rows).map(|r| r.to_string()).collect(), inputs, known: vec![None; rows], imputed: Default::default() })
    }

    /// The response to `request` for its `predictions`, with the outputs it asked for.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for an output this model does not have ([`ServedModel::records`] refuses it first).
    pub fn response(&self, request: &InferRequest, predictions: &Predictions) -> Result<InferResponse> {
        let names = if request.outputs.is_empty() { vec![LABEL_OUTPUT.to_string(), PROBABILITIES_OUTPUT.to_string()] } else { request.outputs.clone() };
        let rows = predictions.predictions.len();
        let outputs = names
            .into_iter()
            .map(|name| match name.as_str() {
                LABEL_OUTPUT => Ok(OutputTensor {
                    name,
                    shape: vec![rows],
                    datatype: "BYTES",
                    data: predictions.predictions.iter().map(|p| Value::from(p.label.clone())).collect(),
                }),
                PROBABILITIES_OUTPUT => Ok(OutputTensor {
                    name,
                    shape: vec![rows, predictions.classes.len()],
                    datatype: "FP32",
                    data: predictions.predictions.iter().flat_map(|p| p.probabilities.iter().map(|&q| Value::from(q as f32))).collect(),
                }),
                other => Err(Error::Request(format!("output `{other}` is not one of `{LABEL_OUTPUT}`, `{PROBABILITIES_OUTPUT}`"))),
            })
            .collect::<Result<_>>()?;
        let mut parameters = self.parameters();
        if !predictions.imputed.is_empty() {
            parameters.insert("imputed".into(), json!(predictions.imputed));
        }
        Ok(InferResponse { model_name: self.name.clone(), model_version: self.version.clone(), id: request.id.clone(), parameters, outputs })
    }
}

/// A raw-record input as a named column: one value per record, as text (numbers as JSON writes them).
fn column(input: &Input) -> Result<(String, Vec<Option<String>>)> {
    if input.shape.len() > 2 || input.shape.get(1).is_some_and(|&d| d != 1) {
        return Err(Error::Request(format!("input `{}`: shape {:?}; a record field takes one value per record ([N] or [N, 1])", input.name, input.shape)));
    }
    let values = input
        .data
        .iter()
        .map(|v| match v {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        })
        .collect();
    Ok((input.name.clone(), values))
}
