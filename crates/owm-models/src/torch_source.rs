//! The `torch.nn.Module` matching a built-in model, as Python source: the same attribute names as the Burn
//! module's paths, so the `state_dict` that `owm_share::export_pytorch` writes loads into it with no
//! hand-written code, and the same operations in the same order as each `forward`.

use std::fmt::Write as _;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use crate::{Classifier, Error, Result};

const HEADER: &str = r#"import torch
from torch import nn
import torch.nn.functional as F
"#;

const LOADER: &str = r#"

def load(path):
    """A `Model` with the weights of the state_dict in `path` (safetensors), in eval mode; every tensor must
    fit (a batch norm's `num_batches_tracked`, which OWM does not keep, aside)."""
    from safetensors.torch import load_file

    model = Model()
    missing, unexpected = model.load_state_dict(load_file(path), strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model.eval()
"#;

const RESNET_BLOCKS: &str = r#"

class Projection(nn.Module):
    def __init__(self, c_in, c_out, stride, eps):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=eps)


class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, eps):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out, eps=eps)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out, eps=eps)
        self.shortcut = Projection(c_in, c_out, stride, eps) if stride != 1 or c_in != c_out else None

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        identity = self.shortcut.bn(self.shortcut.conv(x)) if self.shortcut is not None else x
        return F.relu(y + identity)
"#;

fn dims<const D: usize>(t: &burn::module::Param<Tensor<D>>) -> [usize; D] {
    t.val().dims()
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `nn.Linear` from a Burn `Linear` (`[in, out]`).
fn linear(l: &burn::nn::Linear) -> String {
    let [i, o] = dims(&l.weight);
    format!("nn.Linear({i}, {o}, bias={})", py_bool(l.bias.is_some()))
}

fn embedding(e: &burn::nn::Embedding) -> String {
    let [n, d] = dims(&e.weight);
    format!("nn.Embedding({n}, {d})")
}

fn padding(conv: &Conv2d) -> Result<usize> {
    match conv.padding {
        PaddingConfig2d::Valid => Ok(0),
        PaddingConfig2d::Explicit(t, l, b, r) if t == l && l == b && b == r => Ok(t),
        _ => Err(Error::Unsupported("a convolution without equal padding on every side".into())),
    }
}

fn conv2d(conv: &Conv2d) -> Result<String> {
    let [o, i, kh, kw] = dims(&conv.weight);
    let [sh, sw] = conv.stride;
    Ok(format!("nn.Conv2d({i}, {o}, ({kh}, {kw}), stride=({sh}, {sw}), padding={}, bias={})", padding(conv)?, py_bool(conv.bias.is_some())))
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("nn.ModuleList([{}])", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// The Python source of a module `Model` with the parameter names and the forward pass of `model`, and of
/// `load(path)`, which builds it and loads the state_dict in `path`; `doc` becomes its docstring.
///
/// # Errors
///
/// [`Error::Unsupported`] for a layer the generator does not write (asymmetric padding).
pub fn torch_module_source(model: &Classifier, doc: &str) -> Result<String> {
    let (mut init, forward, extra): (Vec<String>, Vec<String>, &str) = match model {
        Classifier::Mlp(m) => {
            let last = m.layers.len() - 1;
            let forward = std::iter::once("x = x.flatten(1)".to_string())
                .chain((0..m.layers.len()).map(|i| if i < last { format!("x = F.relu(self.layers[{i}](x))") } else { format!("return self.layers[{i}](x)") }))
                .collect();
            (vec![format!("self.layers = {}", list(m.layers.iter().map(linear)))], forward, "")
        }
        Classifier::LeNet5(m) => (
            vec![
                format!("self.conv1 = {}", conv2d(&m.conv1)?),
                format!("self.conv2 = {}", conv2d(&m.conv2)?),
                format!("self.fc1 = {}", linear(&m.fc1)),
                format!("self.fc2 = {}", linear(&m.fc2)),
                format!("self.fc3 = {}", linear(&m.fc3)),
            ],
            [
                "x = F.max_pool2d(F.relu(self.conv1(x)), 2)",
                "x = F.max_pool2d(F.relu(self.conv2(x)), 2).flatten(1)",
                "x = F.relu(self.fc1(x))",
                "x = F.relu(self.fc2(x))",
                "return self.fc3(x)",
            ]
            .map(String::from)
            .to_vec(),
            "",
        ),
        Classifier::ResNet(m) => {
            let eps = m.stem_bn.epsilon;
            let blocks = m.blocks.iter().map(|b| {
                let [o, i, _, _] = dims(&b.conv1.weight);
                format!("BasicBlock({i}, {o}, {}, {eps:?})", b.conv1.stride[0])
            });
            let [w, _, _, _] = dims(&m.stem.weight);
            (
                vec![
                    format!("self.stem = {}", conv2d(&m.stem)?),
                    format!("self.stem_bn = nn.BatchNorm2d({w}, eps={eps:?})"),
                    format!("self.blocks = {}", list(blocks)),
                    format!("self.fc = {}", linear(&m.fc)),
                ],
                ["x = F.relu(self.stem_bn(self.stem(x)))", "for block in self.blocks:", "    x = block(x)", "return self.fc(x.mean(3).mean(2))"]
                    .map(String::from)
                    .to_vec(),
                RESNET_BLOCKS,
            )
        }
        Classifier::EmbeddingBag(m) => (
            vec![format!("self.embedding = {}", embedding(&m.embedding)), format!("self.output = {}", linear(&m.output))],
            [
                "mask = (x != 0).float()",
                "count = mask.sum(1, keepdim=True).clamp_min(1.0)",
                "e = self.embedding(x) * mask.unsqueeze(2)",
                "return self.output(e.sum(1) / count)",
            ]
            .map(String::from)
            .to_vec(),
            "",
        ),
        Classifier::TextCnn(m) => {
            let convs = m.convs.iter().map(|c| {
                let [o, i, k] = dims(&c.weight);
                format!("nn.Conv1d({i}, {o}, {k}, bias={})", py_bool(c.bias.is_some()))
            });
            (
                vec![
                    format!("self.embedding = {}", embedding(&m.embedding)),
                    format!("self.convs = {}", list(convs)),
                    format!("self.output = {}", linear(&m.output)),
                ],
                ["e = self.embedding(x).transpose(1, 2)", "return self.output(torch.cat([F.relu(c(e)).amax(2) for c in self.convs], 1))"]
                    .map(String::from)
                    .to_vec(),
                "",
            )
        }
        Classifier::IdLogistic(m) => {
            let [outputs] = dims(&m.bias);
            (
                vec![format!("self.fields = {}", list(m.fields.iter().map(embedding))), format!("self.bias = nn.Parameter(torch.zeros({outputs}))")],
                vec!["return sum(t(x[:, f]) for f, t in enumerate(self.fields)) + self.bias".into()],
                "",
            )
        }
        Classifier::MatrixFactorization(m) => (
            ["users", "items", "user_bias", "item_bias"]
                .into_iter()
                .zip([&m.users, &m.items, &m.user_bias, &m.item_bias])
                .map(|(n, e)| format!("self.{n} = {}", embedding(e)))
                .chain(["self.bias = nn.Parameter(torch.zeros(1))".into()])
                .collect(),
            [
                "u, i = x[:, 0], x[:, 1]",
                "dot = (self.users(u) * self.items(i)).sum(1, keepdim=True)",
                "return dot + self.user_bias(u) + self.item_bias(i) + self.bias",
            ]
            .map(String::from)
            .to_vec(),
            "",
        ),
        Classifier::FactorizationMachine(m) => (
            vec![
                format!("self.linear = {}", list(m.linear.iter().map(embedding))),
                format!("self.factors = {}", list(m.factors.iter().map(embedding))),
                "self.bias = nn.Parameter(torch.zeros(1))".into(),
            ],
            [
                "linear = sum(t(x[:, f]) for f, t in enumerate(self.linear))",
                "v = [t(x[:, f]) for f, t in enumerate(self.factors)]",
                "total, squares = sum(v), sum(e * e for e in v)",
                "return linear + (total * total - squares).sum(1, keepdim=True) * 0.5 + self.bias",
            ]
            .map(String::from)
            .to_vec(),
            "",
        ),
    };
    init.insert(0, "super().__init__()".into());
    let mut out = format!("\"\"\"{doc}\"\"\"\n{HEADER}{extra}\n\nclass Model(nn.Module):\n    def __init__(self):\n");
    for line in init {
        let _ = writeln!(out, "        {line}");
    }
    out.push_str("\n    def forward(self, x):\n");
    for line in forward {
        let _ = writeln!(out, "        {line}");
    }
    out.push_str(LOADER);
    Ok(out)
}
