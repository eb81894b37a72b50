//! A bundle's whole pipeline as one ONNX graph: the fitted preprocessing of raw records as ONNX operators,
//! then the network, then the probabilities and the predicted class, so that any ONNX runtime computes what
//! `owm predict` does from the same inputs.
//!
//! | model input | graph inputs |
//! |---|---|
//! | a table | one per training column, `[batch, 1]`: `tensor(double)` for a numeric column (`NaN`: missing), `tensor(string)` for a categorical one (a training missing-value marker, `""` or `?`, is missing) |
//! | images | `input`, `tensor(float)` `[batch, C, H, W]`, pixels 0–255 |
//! | tokens | `input`, `tensor(int64)` `[batch, len]`: the ids `owm predict` gives a text (tokenisation stays outside the graph) |
//! | ids | `input`, `tensor(int64)` `[batch, fields]`: user and item ids |
//!
//! Metadata: `owm.bundle_digest` (the bundle the weights came from), `owm.weights_digest`, `owm.classes` (one
//! per line) and `owm.task`.
//!
//! Outputs: `logits` `[batch, outputs]`, `probabilities` `[batch, classes]` (softmax, or `[1 − p, p]` of a
//! binary task's sigmoid) and `label` `[batch]` (the class index; names in the metadata `classes`).
//!
//! A numeric column is filled (`Where(IsNaN)`), shifted and scaled in double precision and only then cast to
//! float, as OWM prepares it; a categorical column becomes its training index by `ai.onnx.ml`
//! `LabelEncoder` (a missing-value marker maps to the training fill, an unseen category to an extra index)
//! and its one-hot or ordinal features by a `Gather` from a constant table whose extra row is all zeros
//! (one-hot) or −1 (ordinal), as OWM encodes an unseen category. The input normalisation is `Sub` and `Div`
//! by the fitted statistics; batch norm runs in inference mode (`BatchNormalization` with the running
//! statistics). Operator sets: `ai.onnx` [`OPSET`], `ai.onnx.ml` [`ML_OPSET`]; IR version [`IR_VERSION`].
//!
//! # Key design decision: the graph is written from the typed modules, with generated protobuf types
//!
//! Burn 0.22 exports no ONNX, and tracing a run would lose the preprocessing. Each built-in model is walked
//! field by field (its `forward` is the specification), each weight becomes an initializer named by its
//! module path, and the file is encoded with `prost` messages of the `onnx.proto` subset OWM writes
//! ([`proto`]). A user's own model, which OWM cannot walk, is refused by name.
//!
//! # Example
//!
//! ```
//! use burn::prelude::*;
//! use owm_core::{InputSpec, Task};
//!
//! let device = Device::flex();
//! let input = InputSpec::Dense { features: 4 };
//! let model = owm_models::ModelConfig::Logistic.init(&input, 3, &device)?;
//! let classes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
//! let pipeline = owm_onnx::Pipeline { input: &input, task: Task::Classification, classes: &classes, preparer: None, normalization: None, bundle_digest: "", weights_digest: "" };
//! let bytes = owm_onnx::export(&model, &pipeline)?;
//! assert!(bytes.len() > 4 * 3 * 4, "the weights are in the file");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod graph;
mod network;
mod preprocess;
pub mod proto;

use owm_core::{InputSpec, Task};
use owm_data::{Normalizer, Preparer};
use owm_models::Classifier;
use prost::Message;

pub use crate::preprocess::{TENSOR_INPUT, input_names};

use crate::graph::{Attr, Graph, ML_DOMAIN};
use crate::proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto, data_type};

/// The `ai.onnx` operator set the graph is written for.
pub const OPSET: i64 = 17;
/// The `ai.onnx.ml` operator set (`LabelEncoder` version 2).
pub const ML_OPSET: i64 = 3;
/// The ONNX IR version written (ONNX 1.14 and later read it).
pub const IR_VERSION: i64 = 9;

/// What went wrong exporting a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Something the exporter does not write.
    #[error("cannot export to ONNX: {0}")]
    Unsupported(String),
    /// A weight that could not be read as `f32`.
    #[error("weight `{path}` cannot be read as f32: {reason}")]
    Tensor {
        /// Its module path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The model does not fit in one protobuf message.
    #[error("the ONNX model would take {0} bytes; a protobuf message holds at most 2 GiB (external data files are not written)")]
    TooLarge(usize),
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything but the network that the graph computes: what the model reads, the recorded preprocessing
/// of raw records, and the input normalisation.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline<'a> {
    /// What the network reads.
    pub input: &'a InputSpec,
    /// Classification or a binary score.
    pub task: Task,
    /// Class names, in probability order.
    pub classes: &'a [String],
    /// The recorded preprocessing; `None` for images.
    pub preparer: Option<&'a Preparer>,
    /// The fitted input normalisation, when training used one.
    pub normalization: Option<&'a Normalizer>,
    /// The bundle the weights came from, recorded in the metadata (`owm.bundle_digest`); empty for a model
    /// written into that bundle, whose manifest then lists it (and whose digest it would otherwise have to
    /// contain).
    pub bundle_digest: &'a str,
    /// The digest of the weights (the manifest's `weights_digest`), recorded in the metadata
    /// (`owm.weights_digest`).
    pub weights_digest: &'a str,
}

/// `model` with `pipeline` as one ONNX model: the encoded `ModelProto`.
///
/// # Errors
///
/// [`Error::Unsupported`] for inputs without a recorded preprocessing that the graph cannot take as they
/// are, or a layer the exporter does not write; [`Error::TooLarge`] past protobuf's 2 GiB.
pub fn export(model: &Classifier, pipeline: &Pipeline) -> Result<Vec<u8>> {
    let proto = model_proto(model, pipeline)?;
    let len = proto.encoded_len();
    if len > i32::MAX as usize {
        return Err(Error::TooLarge(len));
    }
    Ok(proto.encode_to_vec())
}

/// The `ModelProto` of [`export`], before encoding.
///
/// # Errors
///
/// As [`export`], but for the size.
pub fn model_proto(model: &Classifier, pipeline: &Pipeline) -> Result<ModelProto> {
    let mut g = Graph::default();
    let features = preprocess::inputs(&mut g, pipeline)?;
    let features = match pipeline.normalization {
        Some(norm) => {
            let shape: Vec<usize> = std::iter::once(1).chain(item_shape(pipeline.input)).collect();
            let mean = g.floats(&shape, &norm.mean);
            let std = g.floats(&shape, &norm.std);
            let centred = g.node("Sub", &[&features, &mean], vec![]);
            g.node("Div", &[&centred, &std], vec![])
        }
        None => features,
    };
    let logits = network::logits(&mut g, model, &features)?;
    let outputs = pipeline.task.outputs(pipeline.classes.len());
    let probabilities = match pipeline.task {
        Task::Classification => g.node("Softmax", &[&logits], vec![Attr::Int("axis", 1)]),
        Task::Binary => {
            let p = g.node("Sigmoid", &[&logits], vec![]);
            let one = g.floats(&[], &[1.0]);
            let q = g.node("Sub", &[&one, &p], vec![]);
            g.node("Concat", &[&q, &p], vec![Attr::Int("axis", 1)])
        }
    };
    let label = g.node("ArgMax", &[&probabilities], vec![Attr::Int("axis", 1), Attr::Int("keepdims", 0)]);
    g.output(&logits, "logits", data_type::FLOAT, &[None, Some(outputs)], "the network's output");
    g.output(&probabilities, "probabilities", data_type::FLOAT, &[None, Some(pipeline.classes.len())], "one per class, in the metadata's `classes` order");
    g.output(&label, "label", data_type::INT64, &[None], "the predicted class's index in `classes`");

    let metadata = [
        ("owm.bundle_digest", pipeline.bundle_digest.to_string()),
        ("owm.weights_digest", pipeline.weights_digest.to_string()),
        ("owm.classes", pipeline.classes.join("\n")),
        ("owm.task", format!("{:?}", pipeline.task).to_lowercase()),
    ];
    let opsets = [("", OPSET), (ML_DOMAIN, ML_OPSET)];
    Ok(ModelProto {
        ir_version: IR_VERSION,
        producer_name: "owm".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: "An OWM bundle's model with its recorded preprocessing (owm export --onnx).".into(),
        graph: Some(g.finish("owm", "raw inputs -> preprocessing -> network -> probabilities")),
        opset_import: opsets.into_iter().map(|(domain, version)| OperatorSetIdProto { domain: domain.into(), version }).collect(),
        metadata_props: metadata
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| StringStringEntryProto { key: key.into(), value })
            .collect(),
    })
}

/// One item's shape as the network reads it.
fn item_shape(input: &InputSpec) -> Vec<usize> {
    match input {
        InputSpec::Dense { features } => vec![*features],
        InputSpec::Image { shape } => shape.to_vec(),
        InputSpec::Tokens { len, .. } => vec![*len],
        InputSpec::Ids { cardinalities } => vec![cardinalities.len()],
    }
}
