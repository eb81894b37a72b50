//! The Open Inference Protocol's REST messages (KServe v2) as JSON: an inference request read and checked, the
//! response and metadata written.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Result};

/// A tensor's element type, as the protocol names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    /// `BOOL`.
    Bool,
    /// `UINT8` … `UINT64`, `INT8` … `INT64`: whole numbers in the type's range.
    Int {
        /// Whether negative numbers are allowed.
        signed: bool,
        /// Bits.
        bits: u32,
    },
    /// `FP16`, `FP32`, `FP64`.
    Float,
    /// `BYTES`: strings.
    Bytes,
}

impl Datatype {
    /// The datatype named `name` (`FP32`, `INT64`, `BYTES`, …).
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for a name the protocol does not define.
    pub fn parse(name: &str) -> Result<Self> {
        let int = |signed, bits| Datatype::Int { signed, bits };
        Ok(match name {
            "BOOL" => Datatype::Bool,
            "UINT8" => int(false, 8),
            "UINT16" => int(false, 16),
            "UINT32" => int(false, 32),
            "UINT64" => int(false, 64),
            "INT8" => int(true, 8),
            "INT16" => int(true, 16),
            "INT32" => int(true, 32),
            "INT64" => int(true, 64),
            "FP16" | "FP32" | "FP64" => Datatype::Float,
            "BYTES" => Datatype::Bytes,
            other => return Err(Error::Request(format!("datatype `{other}` is not one of BOOL, UINT8-64, INT8-64, FP16, FP32, FP64, BYTES"))),
        })
    }

    /// Whether `v` (not null) is a value of this type.
    fn admits(self, v: &Value) -> bool {
        match (self, v) {
            (Datatype::Bool, Value::Bool(_)) | (Datatype::Bytes, Value::String(_)) | (Datatype::Float, Value::Number(_)) => true,
            (Datatype::Int { signed, bits }, Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
                (_, Some(u)) => bits == 64 || u < 1u64 << (bits - u32::from(signed)),
                (Some(i), None) => signed && (bits == 64 || i >= -(1i64 << (bits - 1))),
                (None, None) => false,
            },
            _ => false,
        }
    }
}

/// One input tensor of a request, checked: its data flattened row-major and of its datatype.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its datatype.
    pub datatype: Datatype,
    /// The name the request gave the datatype.
    pub datatype_name: String,
    /// Its elements, row-major; `null` where a value is missing.
    pub data: Vec<Value>,
}

impl Input {
    /// Rows: the first dimension (1 for a scalar).
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }
}

/// An inference request, checked: every input's data fits its shape and datatype.
#[derive(Debug, Clone, PartialEq)]
pub struct InferRequest {
    /// The request's id, echoed in the response.
    pub id: Option<String>,
    /// `parameters.content_type` (`"pd"`: one input per column of raw records, as MLServer's pandas codec).
    pub content_type: Option<String>,
    /// The inputs.
    pub inputs: Vec<Input>,
    /// The outputs asked for (none: all).
    pub outputs: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<RawInput>,
    #[serde(default)]
    outputs: Vec<RawOutput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    #[allow(dead_code, reason = "accepted as the protocol allows; no input parameter changes what OWM does")]
    parameters: Map<String, Value>,
    data: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    name: String,
    #[serde(default)]
    #[allow(dead_code, reason = "accepted as the protocol allows; no output parameter changes what OWM does")]
    parameters: Map<String, Value>,
}

impl InferRequest {
    /// Reads and checks an inference request's JSON body.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] naming what is wrong: JSON that does not parse (with its line and column), a field
    /// the protocol does not define, no input, a repeated input name, a negative dimension, an unknown datatype,
    /// data whose element count is not the shape's, or an element that is not of the datatype.
    pub fn parse(body: &[u8]) -> Result<Self> {
        let raw: RawRequest = serde_json::from_slice(body).map_err(|e| Error::Request(format!("the request is not an inference request: {e}")))?;
        if raw.inputs.is_empty() {
            return Err(Error::Request("the request has no inputs".into()));
        }
        let content_type = match raw.parameters.get("content_type") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => return Err(Error::Request(format!("parameters.content_type is {other}, not a string"))),
        };
        let mut inputs: Vec<Input> = Vec::with_capacity(raw.inputs.len());
        for input in raw.inputs {
            if inputs.iter().any(|i| i.name == input.name) {
                return Err(Error::Request(format!("input `{}` is given twice", input.name)));
            }
            inputs.push(check_input(input)?);
        }
        Ok(Self { id: raw.id, content_type, inputs, outputs: raw.outputs.into_iter().map(|o| o.name).collect() })
    }
}

fn check_input(input: RawInput) -> Result<Input> {
    let err = |reason: String| Error::Request(format!("input `{}`: {reason}", input.name));
    let shape = input
        .shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| err(format!("dimension {d} of shape {:?} is negative", input.shape))))
        .collect::<Result<Vec<_>>>()?;
    let datatype = Datatype::parse(&input.datatype).map_err(|e| err(e.to_string()))?;
    let mut data = Vec::new();
    flatten(input.data, &mut data);
    let expected = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if expected != Some(data.len()) {
        return Err(err(format!("{} elements, shape {:?} holds {}", data.len(), shape, expected.map_or("too many".to_string(), |n| n.to_string()))));
    }
    if let Some((i, v)) = data.iter().enumerate().find(|(_, v)| !v.is_null() && !datatype.admits(v)) {
        return Err(err(format!("element {i} ({v}) is not of datatype {}", input.datatype)));
    }
    Ok(Input { name: input.name, shape, datatype, datatype_name: input.datatype, data })
}

/// Appends the elements of `v` (nested arrays read row-major, as the protocol allows) to `out`.
fn flatten(v: Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.into_iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

/// An output tensor of a response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutputTensor {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its datatype.
    pub datatype: &'static str,
    /// Its elements, row-major.
    pub data: Value,
}

/// An inference response.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InferResponse {
    /// The model's name.
    pub model_name: String,
    /// The model's version.
    pub model_version: String,
    /// The request's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The bundle digest, whether its signature verified, its signer, the class names, and the missing values
    /// filled in as in training, per column (`imputed`, when there were any).
    pub parameters: Map<String, Value>,
    /// The outputs asked for.
    pub outputs: Vec<OutputTensor>,
}

/// A tensor's name, datatype and shape (-1: any length), in model metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorMetadata {
    /// Its name.
    pub name: String,
    /// Its datatype.
    pub datatype: &'static str,
    /// Its shape; -1 for a dimension of any length.
    pub shape: Vec<i64>,
}

/// A model's metadata (`GET /v2/models/{name}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelMetadata {
    /// Its name.
    pub name: String,
    /// Every version served under the name.
    pub versions: Vec<String>,
    /// `owm`.
    pub platform: &'static str,
    /// The model's input tensor.
    pub inputs: Vec<TensorMetadata>,
    /// The outputs: `label` and `probabilities`.
    pub outputs: Vec<TensorMetadata>,
    /// The bundle digest, whether its signature verified, the class names, and the raw record fields (`records`,
    /// one input per field with `parameters.content_type = "pd"`).
    pub parameters: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<InferRequest> {
        InferRequest::parse(json.as_bytes())
    }

    #[test]
    fn should_read_nested_and_flat_data_row_major() {
        let flat = parse(r#"{"inputs":[{"name":"input","shape":[2,2],"datatype":"FP32","data":[1,2,3,4.5]}]}"#).unwrap();
        let nested =
            parse(r#"{"id":"r1","inputs":[{"name":"input","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]}],"outputs":[{"name":"label"}]}"#).unwrap();
        assert_eq!(flat.inputs, nested.inputs);
        assert_eq!((nested.id.as_deref(), nested.outputs.as_slice(), nested.inputs[0].rows()), (Some("r1"), ["label".to_string()].as_slice(), 2));
    }

    #[test]
    fn should_refuse_what_the_protocol_does_not_allow() {
        let cases = [
            ("{", "not an inference request"),
            (r#"{"inputs":[]}"#, "no inputs"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"extra":1}"#, "unknown field"),
            (r#"{"inputs":[{"name":"a","shape":[-1],"datatype":"FP32","data":[1]}]}"#, "negative"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"FP8","data":[1]}]}"#, "FP8"),
            (r#"{"inputs":[{"name":"a","shape":[3],"datatype":"FP32","data":[1,2]}]}"#, "2 elements"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":["x"]}]}"#, "not of datatype FP32"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"UINT8","data":[256]}]}"#, "not of datatype UINT8"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"INT8","data":[-129]}]}"#, "not of datatype INT8"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"INT64","data":[1.5]}]}"#, "not of datatype INT64"),
            (r#"{"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":["y"]},{"name":"a","shape":[1],"datatype":"BYTES","data":["x"]}]}"#, "twice"),
            (r#"{"parameters":{"content_type":1},"inputs":[{"name":"a","shape":[1],"datatype":"BYTES","data":["x"]}]}"#, "content_type"),
            (r#"{"inputs":[{"name":"a","shape":[4294967296,4294967296,4294967296],"datatype":"FP32","data":[1]}]}"#, "too many"),
        ];
        for (json, expected) in cases {
            let err = parse(json).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
        assert!(parse(r#"{"inputs":[{"name":"a","shape":[2],"datatype":"INT8","data":[-128,127]}]}"#).is_ok());
        assert!(parse(r#"{"inputs":[{"name":"a","shape":[2],"datatype":"BYTES","data":["x",null]}]}"#).is_ok());
    }
}
