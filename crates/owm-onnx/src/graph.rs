//! A small builder of ONNX graphs: nodes get fresh output names, constants become initializers, and weights
//! keep their module paths as names (`layers.0.weight`), so the ONNX file names each weight as the bundle does.

use burn::module::Param;
use burn::prelude::*;

use crate::proto::{
    AttributeProto, Dimension, DimensionValue, GraphProto, NodeProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
    attribute_type, data_type,
};
use crate::{Error, Result};

/// The `ai.onnx.ml` domain (`LabelEncoder`).
pub(crate) const ML_DOMAIN: &str = "ai.onnx.ml";

/// The batch dimension's name in input and output shapes.
const BATCH: &str = "batch";

/// An attribute of a node.
pub(crate) enum Attr<'a> {
    Int(&'a str, i64),
    Ints(&'a str, Vec<i64>),
    Float(&'a str, f32),
    Strings(&'a str, Vec<String>),
}

impl Attr<'_> {
    fn proto(self) -> AttributeProto {
        let named = |name: &str, r#type| AttributeProto { name: name.to_string(), r#type, ..Default::default() };
        match self {
            Attr::Int(n, i) => AttributeProto { i, ..named(n, attribute_type::INT) },
            Attr::Ints(n, ints) => AttributeProto { ints, ..named(n, attribute_type::INTS) },
            Attr::Float(n, f) => AttributeProto { f, ..named(n, attribute_type::FLOAT) },
            Attr::Strings(n, s) => AttributeProto { strings: s.into_iter().map(String::into_bytes).collect(), ..named(n, attribute_type::STRINGS) },
        }
    }
}

/// A graph under construction.
#[derive(Default)]
pub(crate) struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    next: usize,
}

/// A value's type: element type and shape, `None` for the batch dimension.
fn value_info(name: &str, elem_type: i32, shape: &[Option<usize>], doc: &str) -> ValueInfoProto {
    let dim = shape
        .iter()
        .map(|d| Dimension { value: Some(d.map_or_else(|| DimensionValue::DimParam(BATCH.into()), |d| DimensionValue::DimValue(d as i64))) })
        .collect();
    let tensor_type = TensorTypeProto { elem_type, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto { name: name.into(), r#type: Some(TypeProto { tensor_type: Some(tensor_type) }), doc_string: doc.into() }
}

impl Graph {
    /// Declares a graph input of `elem_type` and `shape` (`None`: the batch).
    pub(crate) fn input(&mut self, name: &str, elem_type: i32, shape: &[Option<usize>], doc: &str) -> String {
        self.inputs.push(value_info(name, elem_type, shape, doc));
        name.to_string()
    }

    /// Names the value `value` as the graph output `name`.
    pub(crate) fn output(&mut self, value: &str, name: &str, elem_type: i32, shape: &[Option<usize>], doc: &str) {
        self.op("Identity", &[value], vec![], name);
        self.outputs.push(value_info(name, elem_type, shape, doc));
    }

    /// A fresh value name.
    fn fresh(&mut self, op: &str) -> String {
        self.next += 1;
        format!("{}_{}", op.to_lowercase(), self.next)
    }

    fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<Attr>, output: &str) {
        self.push(op, "", inputs, attrs, output);
    }

    fn push(&mut self, op: &str, domain: &str, inputs: &[&str], attrs: Vec<Attr>, output: &str) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.to_string()],
            name: format!("{op}:{output}"),
            op_type: op.into(),
            attribute: attrs.into_iter().map(Attr::proto).collect(),
            domain: domain.into(),
        });
    }

    /// Operator `op` of the default domain on `inputs`; its output's name.
    pub(crate) fn node(&mut self, op: &str, inputs: &[&str], attrs: Vec<Attr>) -> String {
        let out = self.fresh(op);
        self.op(op, inputs, attrs, &out);
        out
    }

    /// Operator `op` of the `ai.onnx.ml` domain on `inputs`; its output's name.
    pub(crate) fn ml_node(&mut self, op: &str, inputs: &[&str], attrs: Vec<Attr>) -> String {
        let out = self.fresh(op);
        self.push(op, ML_DOMAIN, inputs, attrs, &out);
        out
    }

    fn initializer(&mut self, name: String, dims: &[usize], data_type: i32, raw_data: Vec<u8>) -> String {
        let dims = dims.iter().map(|&d| d as i64).collect();
        self.initializers.push(TensorProto { dims, data_type, name: name.clone(), raw_data });
        name
    }

    /// A float constant of shape `dims`.
    pub(crate) fn floats(&mut self, dims: &[usize], values: &[f32]) -> String {
        let name = self.fresh("const");
        self.initializer(name, dims, data_type::FLOAT, values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// A double constant of shape `dims`.
    pub(crate) fn doubles(&mut self, dims: &[usize], values: &[f64]) -> String {
        let name = self.fresh("const");
        self.initializer(name, dims, data_type::DOUBLE, values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// An int64 constant of shape `dims` (`[]`: a scalar).
    pub(crate) fn ints(&mut self, dims: &[usize], values: &[i64]) -> String {
        let name = self.fresh("const");
        self.initializer(name, dims, data_type::INT64, values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    /// The weight `param` as an initializer named by its module `path`.
    pub(crate) fn weight<const D: usize>(&mut self, path: &str, param: &Param<Tensor<D>>) -> Result<String> {
        self.tensor(path, param.val())
    }

    /// The tensor `tensor` (a weight or a buffer) as an initializer named `path`.
    pub(crate) fn tensor<const D: usize>(&mut self, path: &str, tensor: Tensor<D>) -> Result<String> {
        let dims = tensor.dims().to_vec();
        let values = tensor.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Tensor { path: path.into(), reason: format!("{e:?}") })?;
        Ok(self.initializer(path.into(), &dims, data_type::FLOAT, values.iter().flat_map(|v| v.to_le_bytes()).collect()))
    }

    /// The finished graph.
    pub(crate) fn finish(self, name: &str, doc: &str) -> GraphProto {
        GraphProto { node: self.nodes, name: name.into(), initializer: self.initializers, doc_string: doc.into(), input: self.inputs, output: self.outputs }
    }
}
