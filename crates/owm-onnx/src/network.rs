//! Each built-in model as ONNX operators, layer by layer as its Burn `forward` computes it, weights named by
//! their module paths.

use burn::nn::conv::{Conv1d, Conv2d};
use burn::nn::{BatchNorm, Embedding, Linear, PaddingConfig1d, PaddingConfig2d};
use owm_models::{BasicBlock, Classifier, EmbeddingBag, FactorizationMachine, IdLogistic, LeNet5, MatrixFactorization, Mlp, ResNet, TextCnn};

use crate::graph::{Attr, Graph};
use crate::{Error, Result};

/// The logits of `model` for the model input `x` (float features or images, int64 tokens or ids): the
/// name of a float value `[batch, outputs]`.
pub(crate) fn logits(g: &mut Graph, model: &Classifier, x: &str) -> Result<String> {
    match model {
        Classifier::Mlp(m) => mlp(g, m, x),
        Classifier::LeNet5(m) => lenet(g, m, x),
        Classifier::ResNet(m) => resnet(g, m, x),
        Classifier::IdLogistic(m) => id_logistic(g, m, x),
        Classifier::EmbeddingBag(m) => embedding_bag(g, m, x),
        Classifier::TextCnn(m) => text_cnn(g, m, x),
        Classifier::MatrixFactorization(m) => matrix_factorization(g, m, x),
        Classifier::FactorizationMachine(m) => factorization_machine(g, m, x),
    }
}

/// `x·W + b` (Burn stores `W` as `[in, out]`, as `Gemm` reads it without transposing).
fn linear(g: &mut Graph, path: &str, layer: &Linear, x: &str) -> Result<String> {
    let w = g.weight(&format!("{path}.weight"), &layer.weight)?;
    let mut inputs = vec![x.to_string(), w];
    if let Some(b) = &layer.bias {
        inputs.push(g.weight(&format!("{path}.bias"), b)?);
    }
    Ok(g.node("Gemm", &refs(&inputs), vec![]))
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}

fn relu(g: &mut Graph, x: &str) -> String {
    g.node("Relu", &[x], vec![])
}

fn conv_node(g: &mut Graph, inputs: Vec<String>, kernel: &[usize], pads: &[usize], strides: &[usize], dilations: &[usize], groups: usize) -> String {
    let i64s = |v: &[usize]| v.iter().map(|&d| d as i64).collect::<Vec<_>>();
    g.node(
        "Conv",
        &refs(&inputs),
        vec![
            Attr::Ints("kernel_shape", i64s(kernel)),
            Attr::Ints("pads", i64s(pads)),
            Attr::Ints("strides", i64s(strides)),
            Attr::Ints("dilations", i64s(dilations)),
            Attr::Int("group", groups as i64),
        ],
    )
}

fn conv2d(g: &mut Graph, path: &str, conv: &Conv2d, x: &str) -> Result<String> {
    let pads = match conv.padding {
        PaddingConfig2d::Valid => [0; 4],
        // Burn's order (top, left, bottom, right) is ONNX's (x1 begin, x2 begin, x1 end, x2 end).
        PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
        PaddingConfig2d::Same => return Err(Error::Unsupported(format!("`{path}`: \"same\" padding"))),
    };
    let mut inputs = vec![x.to_string(), g.weight(&format!("{path}.weight"), &conv.weight)?];
    if let Some(b) = &conv.bias {
        inputs.push(g.weight(&format!("{path}.bias"), b)?);
    }
    Ok(conv_node(g, inputs, &conv.kernel_size, &pads, &conv.stride, &conv.dilation, conv.groups))
}

fn conv1d(g: &mut Graph, path: &str, conv: &Conv1d, x: &str) -> Result<String> {
    let pads = match conv.padding {
        PaddingConfig1d::Valid => [0; 2],
        PaddingConfig1d::Explicit(l, r) => [l, r],
        PaddingConfig1d::Same => return Err(Error::Unsupported(format!("`{path}`: \"same\" padding"))),
    };
    let mut inputs = vec![x.to_string(), g.weight(&format!("{path}.weight"), &conv.weight)?];
    if let Some(b) = &conv.bias {
        inputs.push(g.weight(&format!("{path}.bias"), b)?);
    }
    Ok(conv_node(g, inputs, &[conv.kernel_size], &pads, &[conv.stride], &[conv.dilation], conv.groups))
}

/// Inference-mode batch norm: the running statistics, as Burn uses them outside training.
fn batch_norm(g: &mut Graph, path: &str, bn: &BatchNorm, x: &str) -> Result<String> {
    let inputs = vec![
        x.to_string(),
        g.weight(&format!("{path}.gamma"), &bn.gamma)?,
        g.weight(&format!("{path}.beta"), &bn.beta)?,
        g.tensor(&format!("{path}.running_mean"), bn.running_mean.value())?,
        g.tensor(&format!("{path}.running_var"), bn.running_var.value())?,
    ];
    Ok(g.node("BatchNormalization", &refs(&inputs), vec![Attr::Float("epsilon", bn.epsilon as f32)]))
}

fn flatten(g: &mut Graph, x: &str) -> String {
    g.node("Flatten", &[x], vec![Attr::Int("axis", 1)])
}

/// Flattens images (a no-op on features, already `[batch, features]`), then the layers with ReLU between.
fn mlp(g: &mut Graph, m: &Mlp, x: &str) -> Result<String> {
    let mut x = flatten(g, x);
    for (i, layer) in m.layers.iter().enumerate() {
        if i > 0 {
            x = relu(g, &x);
        }
        x = linear(g, &format!("layers.{i}"), layer, &x)?;
    }
    Ok(x)
}

fn relu_max_pool2(g: &mut Graph, x: &str) -> String {
    let r = relu(g, x);
    g.node("MaxPool", &[&r], vec![Attr::Ints("kernel_shape", vec![2, 2]), Attr::Ints("strides", vec![2, 2])])
}

fn lenet(g: &mut Graph, m: &LeNet5, x: &str) -> Result<String> {
    let c1 = conv2d(g, "conv1", &m.conv1, x)?;
    let p1 = relu_max_pool2(g, &c1);
    let c2 = conv2d(g, "conv2", &m.conv2, &p1)?;
    let p2 = relu_max_pool2(g, &c2);
    let f = flatten(g, &p2);
    let h1 = linear(g, "fc1", &m.fc1, &f)?;
    let h1 = relu(g, &h1);
    let h2 = linear(g, "fc2", &m.fc2, &h1)?;
    let h2 = relu(g, &h2);
    linear(g, "fc3", &m.fc3, &h2)
}

fn block(g: &mut Graph, path: &str, b: &BasicBlock, x: &str) -> Result<String> {
    let y = conv2d(g, &format!("{path}.conv1"), &b.conv1, x)?;
    let y = batch_norm(g, &format!("{path}.bn1"), &b.bn1, &y)?;
    let y = relu(g, &y);
    let y = conv2d(g, &format!("{path}.conv2"), &b.conv2, &y)?;
    let y = batch_norm(g, &format!("{path}.bn2"), &b.bn2, &y)?;
    let identity = match &b.shortcut {
        Some(p) => {
            let s = conv2d(g, &format!("{path}.shortcut.conv"), &p.conv, x)?;
            batch_norm(g, &format!("{path}.shortcut.bn"), &p.bn, &s)?
        }
        None => x.to_string(),
    };
    let sum = g.node("Add", &[&y, &identity], vec![]);
    Ok(relu(g, &sum))
}

fn resnet(g: &mut Graph, m: &ResNet, x: &str) -> Result<String> {
    let y = conv2d(g, "stem", &m.stem, x)?;
    let y = batch_norm(g, "stem_bn", &m.stem_bn, &y)?;
    let mut y = relu(g, &y);
    for (i, b) in m.blocks.iter().enumerate() {
        y = block(g, &format!("blocks.{i}"), b, &y)?;
    }
    let pooled = g.node("GlobalAveragePool", &[&y], vec![]);
    let pooled = flatten(g, &pooled);
    linear(g, "fc", &m.fc, &pooled)
}

/// Rows of the table `path` at `ids` (any shape): `ids.shape + [width]`.
fn lookup(g: &mut Graph, path: &str, table: &Embedding, ids: &str) -> Result<String> {
    let w = g.weight(&format!("{path}.weight"), &table.weight)?;
    Ok(g.node("Gather", &[&w, ids], vec![Attr::Int("axis", 0)]))
}

/// Column `f` of the ids `[batch, fields]`: `[batch]`.
fn field(g: &mut Graph, ids: &str, f: usize) -> String {
    let index = g.ints(&[], &[f as i64]);
    g.node("Gather", &[ids, &index], vec![Attr::Int("axis", 1)])
}

/// `Σ over the last axis`, kept as a column `[batch, 1]` or dropped.
fn sum_last(g: &mut Graph, x: &str, axis: i64, keep: bool) -> String {
    let axes = g.ints(&[1], &[axis]);
    g.node("ReduceSum", &[x, &axes], vec![Attr::Int("keepdims", i64::from(keep))])
}

/// `a + b + …` in order, as Burn adds the fields.
fn add_all(g: &mut Graph, terms: Vec<String>) -> Result<String> {
    let mut terms = terms.into_iter();
    let first = terms.next().ok_or_else(|| Error::Unsupported("a model without fields".into()))?;
    Ok(terms.fold(first, |acc, t| g.node("Add", &[&acc, &t], vec![])))
}

/// The mean embedding of the non-padding tokens (id 0 is padding), then the output layer.
fn embedding_bag(g: &mut Graph, m: &EmbeddingBag, tokens: &str) -> Result<String> {
    let zero = g.ints(&[], &[0]);
    let pad = g.node("Equal", &[tokens, &zero], vec![]);
    let real = g.node("Not", &[&pad], vec![]);
    let mask = g.node("Cast", &[&real], vec![Attr::Int("to", crate::proto::data_type::FLOAT as i64)]); // [n, len]
    let count = sum_last(g, &mask, 1, true);
    let one = g.floats(&[], &[1.0]);
    let count = g.node("Max", &[&count, &one], vec![]); // [n, 1]
    let axis = g.ints(&[1], &[2]);
    let mask3 = g.node("Unsqueeze", &[&mask, &axis], vec![]); // [n, len, 1]
    let e = lookup(g, "embedding", &m.embedding, tokens)?; // [n, len, dim]
    let e = g.node("Mul", &[&e, &mask3], vec![]);
    let sum = sum_last(g, &e, 1, false); // [n, dim]
    let mean = g.node("Div", &[&sum, &count], vec![]);
    linear(g, "output", &m.output, &mean)
}

/// Embeddings as channels, each window width's convolution, ReLU and max over time, concatenated.
fn text_cnn(g: &mut Graph, m: &TextCnn, tokens: &str) -> Result<String> {
    let e = lookup(g, "embedding", &m.embedding, tokens)?; // [n, len, dim]
    let e = g.node("Transpose", &[&e], vec![Attr::Ints("perm", vec![0, 2, 1])]); // [n, dim, len]
    let mut pooled = Vec::with_capacity(m.convs.len());
    for (i, conv) in m.convs.iter().enumerate() {
        let c = conv1d(g, &format!("convs.{i}"), conv, &e)?;
        let c = relu(g, &c);
        pooled.push(g.node("ReduceMax", &[&c], vec![Attr::Ints("axes", vec![2]), Attr::Int("keepdims", 0)]));
    }
    let features = g.node("Concat", &refs(&pooled), vec![Attr::Int("axis", 1)]);
    linear(g, "output", &m.output, &features)
}

fn id_logistic(g: &mut Graph, m: &IdLogistic, ids: &str) -> Result<String> {
    let mut terms = Vec::with_capacity(m.fields.len());
    for (f, table) in m.fields.iter().enumerate() {
        let column = field(g, ids, f);
        terms.push(lookup(g, &format!("fields.{f}"), table, &column)?);
    }
    let sum = add_all(g, terms)?;
    let bias = g.weight("bias", &m.bias)?;
    Ok(g.node("Add", &[&sum, &bias], vec![]))
}

/// `⟨user, item⟩ + user bias + item bias + bias`.
fn matrix_factorization(g: &mut Graph, m: &MatrixFactorization, ids: &str) -> Result<String> {
    let (user, item) = (field(g, ids, 0), field(g, ids, 1));
    let u = lookup(g, "users", &m.users, &user)?;
    let i = lookup(g, "items", &m.items, &item)?;
    let product = g.node("Mul", &[&u, &i], vec![]);
    let dot = sum_last(g, &product, 1, true);
    let ub = lookup(g, "user_bias", &m.user_bias, &user)?;
    let ib = lookup(g, "item_bias", &m.item_bias, &item)?;
    let bias = g.weight("bias", &m.bias)?;
    add_all(g, vec![dot, ub, ib, bias])
}

/// Linear terms plus `½ Σ_d ((Σ_f v_fd)² − Σ_f v_fd²)` plus the bias.
fn factorization_machine(g: &mut Graph, m: &FactorizationMachine, ids: &str) -> Result<String> {
    let (mut linear_terms, mut factors, mut squares) = (Vec::new(), Vec::new(), Vec::new());
    for (f, (lin, fac)) in m.linear.iter().zip(&m.factors).enumerate() {
        let column = field(g, ids, f);
        linear_terms.push(lookup(g, &format!("linear.{f}"), lin, &column)?);
        let v = lookup(g, &format!("factors.{f}"), fac, &column)?;
        squares.push(g.node("Mul", &[&v, &v], vec![]));
        factors.push(v);
    }
    let linear = add_all(g, linear_terms)?;
    let total = add_all(g, factors)?;
    let squares = add_all(g, squares)?;
    let total_sq = g.node("Mul", &[&total, &total], vec![]);
    let diff = g.node("Sub", &[&total_sq, &squares], vec![]);
    let sum = sum_last(g, &diff, 1, true);
    let half = g.floats(&[], &[0.5]);
    let pairs = g.node("Mul", &[&sum, &half], vec![]);
    let bias = g.weight("bias", &m.bias)?;
    add_all(g, vec![linear, pairs, bias])
}
