//! Transfer: load another model's tensors into a module of a different shape, with a report of what was
//! applied, adapted, skipped, missing and unused.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::Module;
use burn::prelude::*;
use owm_core::{TensorSource, Validate, glob_match, param_infos, replace_state, state_data};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::{Adapted, Applied, Error, Result, Skipped, TransferReport};

/// How a source tensor's path becomes a path of the module it is loaded into. The first rule that matches a
/// source path renames it; a path no rule matches keeps its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PathRule {
    /// The path `from` becomes `to`.
    Exact {
        /// Source path.
        from: String,
        /// Module path.
        to: String,
    },
    /// A path starting with `from` gets `to` in place of that prefix (`features.` → `body.`).
    Prefix {
        /// Source prefix.
        from: String,
        /// Module prefix.
        to: String,
    },
    /// `*` in `from` matches any run of characters; the runs fill the `*`s of `to` in order
    /// (`features.*.weight` → `body.*.weight`).
    Glob {
        /// Source pattern.
        from: String,
        /// Module pattern, with at most as many `*` as `from`.
        to: String,
    },
    /// A regular expression over the whole source path and a replacement using its groups (`$1`, `${name}`),
    /// as in the `regex` crate (`^layers\.(\d+)\.` → `blocks.$1.`).
    Regex {
        /// The expression (matched against the whole path).
        from: String,
        /// The replacement.
        to: String,
    },
}

impl PathRule {
    /// Prefix rule `from` → `to`.
    pub fn prefix(from: impl Into<String>, to: impl Into<String>) -> Self {
        Self::Prefix { from: from.into(), to: to.into() }
    }

    /// Parses `FROM=TO`: a glob when `FROM` holds `*`, a prefix when it ends in `.`, an exact path otherwise;
    /// `re:FROM=TO` for a regular expression (what `owm train --transfer-map` takes).
    ///
    /// # Errors
    ///
    /// [`Error::PathRule`] without `=`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (regex, spec) = match spec.strip_prefix("re:") {
            Some(rest) => (true, rest),
            None => (false, spec),
        };
        let (from, to) = spec.split_once('=').ok_or_else(|| Error::PathRule { rule: 0, reason: format!("`{spec}` is not FROM=TO") })?;
        let (from, to) = (from.to_string(), to.to_string());
        Ok(if regex {
            Self::Regex { from, to }
        } else if from.contains('*') {
            Self::Glob { from, to }
        } else if from.ends_with('.') {
            Self::Prefix { from, to }
        } else {
            Self::Exact { from, to }
        })
    }

    fn from(&self) -> &str {
        match self {
            Self::Exact { from, .. } | Self::Prefix { from, .. } | Self::Glob { from, .. } | Self::Regex { from, .. } => from,
        }
    }

    /// The rule as a matcher: a regular expression over the whole path and its replacement.
    fn compile(&self) -> std::result::Result<(Regex, String), String> {
        let (pattern, to) = match self {
            Self::Exact { from, to } => (format!("^{}$", regex::escape(from)), to.replace('$', "$$")),
            Self::Prefix { from, to } => (format!("^{}(.*)$", regex::escape(from)), format!("{}${{1}}", to.replace('$', "$$"))),
            Self::Glob { from, to } => {
                let stars = |s: &str| s.matches('*').count();
                if stars(to) > stars(from) {
                    return Err(format!("`{to}` has more `*` than `{from}`"));
                }
                let pattern = from.split('*').map(regex::escape).collect::<Vec<_>>().join("(.*)");
                let mut n = 0;
                let to = to.replace('$', "$$").split('*').fold(String::new(), |mut acc, piece| {
                    if n > 0 {
                        acc.push_str(&format!("${{{n}}}"));
                    }
                    n += 1;
                    acc.push_str(piece);
                    acc
                });
                (format!("^{pattern}$"), to)
            }
            Self::Regex { from, to } => (format!("^(?:{from})$"), to.clone()),
        };
        Regex::new(&pattern).map(|r| (r, to)).map_err(|e| e.to_string())
    }
}

/// What to do when a source tensor and the module tensor it maps to differ in shape.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMismatch {
    /// Fail, naming the tensor and both shapes.
    #[default]
    Error,
    /// Keep the module's own values and list the tensor as skipped.
    Skip,
    /// Adapt the two cases with a known meaning — the classifier head for another number of classes (a new
    /// head, as initialised: Hugging Face's `ignore_mismatched_sizes`), the first convolution for another
    /// number of input channels (timm's `adapt_input_conv`) — and fail on any other.
    Adapt,
}

/// How a tensor was adapted to its new shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Adaptation {
    /// The classifier head has another number of outputs: the module keeps the head it was initialised with.
    NewHead {
        /// Outputs of the source's head.
        from_outputs: usize,
        /// Outputs of the module's head.
        outputs: usize,
    },
    /// The first convolution reads another number of input channels: for one channel the source kernels are
    /// summed over their channels; otherwise channel `c` takes source channel `c mod from_channels`, scaled
    /// by `from_channels / channels` so a layer fed the same signal on every channel keeps its response.
    InputChannels {
        /// Input channels of the source's kernel.
        from_channels: usize,
        /// Input channels of the module's kernel.
        channels: usize,
    },
}

/// Loads the tensors of a [`TensorSource`] (a bundle, a PyTorch `state_dict`) into a module whose paths or
/// shapes differ: paths renamed by [`PathRule`]s, module paths matched by `exclude` left as initialised,
/// shape mismatches handled by an [`OnMismatch`] policy.
///
/// JSON: `{"source": "runs/digits04/bundle", "rules": [{"kind": "prefix", "from": "features.", "to": "body."}],
/// "exclude": ["fc3.*"], "on_mismatch": "adapt", "freeze": true}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transfer {
    /// The source's name (a bundle folder), as given to [`Transfer::apply`].
    pub source: String,
    /// Renaming rules, first match wins; unmatched paths keep their name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<PathRule>,
    /// Module paths (globs) never loaded: they keep the values the init plan drew (a new head).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// What to do with a shape mismatch.
    #[serde(default)]
    pub on_mismatch: OnMismatch,
    /// Freeze the applied and adapted-in-place tensors during training (the optimiser's path groups; a new
    /// head stays trainable).
    #[serde(default)]
    pub freeze: bool,
}

impl Transfer {
    /// Everything from `source` under the same paths, failing on any shape mismatch, nothing frozen.
    pub fn from(source: impl Into<String>) -> Self {
        Self { source: source.into(), rules: Vec::new(), exclude: Vec::new(), on_mismatch: OnMismatch::Error, freeze: false }
    }

    /// Adds a renaming rule.
    pub fn rule(mut self, rule: PathRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Leaves the module paths matching `pattern` as initialised.
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.exclude.push(pattern.into());
        self
    }

    /// Sets the shape-mismatch policy.
    pub fn on_mismatch(mut self, policy: OnMismatch) -> Self {
        self.on_mismatch = policy;
        self
    }

    /// Freezes what was transferred.
    pub fn freeze(mut self, freeze: bool) -> Self {
        self.freeze = freeze;
        self
    }

    /// The rules as matchers, in order.
    fn compiled(&self) -> Result<Vec<(Regex, String)>> {
        let compile = |(i, rule): (usize, &PathRule)| {
            let err = |reason: String| Error::PathRule { rule: i, reason };
            if rule.from().is_empty() {
                return Err(err("`from` is empty".into()));
            }
            rule.compile().map_err(err)
        };
        self.rules.iter().enumerate().map(compile).collect()
    }

    /// The module path a source tensor maps to.
    fn target(rules: &[(Regex, String)], path: &str) -> String {
        rules.iter().find(|(re, _)| re.is_match(path)).map_or_else(|| path.to_string(), |(re, to)| re.replace(path, to.as_str()).into_owned())
    }

    /// Loads `source` into `module` (parameters and batch-norm statistics) and reports, for every module
    /// tensor, whether it was applied, adapted, skipped or missing, and which source tensors went unused.
    ///
    /// # Errors
    ///
    /// The rules of [`Validate::check`]; [`Error::Transfer`] when `source` is not the named source, when two
    /// source tensors map to one module tensor, for a shape mismatch under [`OnMismatch::Error`] or one with no
    /// known adaptation under [`OnMismatch::Adapt`].
    pub fn apply<M: Module>(&self, module: M, source: &dyn TensorSource) -> Result<(M, TransferReport)> {
        self.check()?;
        let fail = |path: &str, reason: String| Error::Transfer { path: path.into(), reason };
        if source.name() != self.source {
            return Err(fail("", format!("expected source `{}`, given `{}`", self.source, source.name())));
        }
        let rules = self.compiled()?;
        let source_paths = source.paths();
        // Module path → source path, refusing two sources for one target.
        let mut by_target: BTreeMap<String, String> = BTreeMap::new();
        for from in &source_paths {
            let to = Self::target(&rules, from);
            if let Some(other) = by_target.insert(to.clone(), from.clone()) {
                return Err(fail(&to, format!("both `{other}` and `{from}` map to it")));
            }
        }
        let layout = Layout::of(&module);
        let mut report = TransferReport { source: source.name().into(), digest: source.digest().into(), ..TransferReport::default() };
        let mut used = BTreeSet::new();
        let mut plan: BTreeMap<String, Vec<f32>> = BTreeMap::new();
        for (path, shape) in state_data(&module).into_iter().map(|(p, d)| (p, d.shape().to_vec())) {
            let Some(from) = by_target.get(&path).cloned() else {
                report.missing.push(path);
                continue;
            };
            used.insert(from.clone());
            if self.exclude.iter().any(|p| glob_match(p, &path)) {
                report.skipped.push(Skipped { path, from, reason: "excluded".into() });
                continue;
            }
            let (from_shape, values) = source.tensor(&from).ok_or_else(|| fail(&path, format!("the source lists `{from}` but cannot read it")))?;
            if from_shape == shape {
                plan.insert(path.clone(), values);
                report.applied.push(Applied { path, from });
                continue;
            }
            let mismatch = format!("source `{from}` is {from_shape:?}, the module's is {shape:?}");
            match self.on_mismatch {
                OnMismatch::Error => return Err(fail(&path, format!("{mismatch} (on_mismatch: skip or adapt)"))),
                OnMismatch::Skip => report.skipped.push(Skipped { path, from, reason: mismatch }),
                OnMismatch::Adapt => {
                    let how = layout
                        .adaptation(&path, &from_shape, &shape)
                        .ok_or_else(|| fail(&path, format!("{mismatch}, and it is neither the classifier head nor the first convolution")))?;
                    if let Adaptation::InputChannels { .. } = how {
                        plan.insert(path.clone(), adapt_input_channels(&values, &from_shape, shape[1]));
                    }
                    report.adapted.push(Adapted { path, from, from_shape, shape, how });
                }
            }
        }
        report.unused = source_paths.into_iter().filter(|p| !used.contains(p)).collect();
        let module = replace_state(module, |path, shape| Ok(plan.remove(path).map(|v| TensorData::new(v, shape.to_vec()))))?;
        Ok((module, report))
    }
}

impl Validate for Transfer {
    type Error = Error;

    fn check(&self) -> Result<()> {
        if self.source.is_empty() {
            return Err(Error::Transfer { path: String::new(), reason: "the source name is empty".into() });
        }
        self.compiled()?;
        if let Some(i) = self.exclude.iter().position(String::is_empty) {
            return Err(Error::EmptyPattern(i));
        }
        Ok(())
    }
}

/// Where the classifier head and the first convolution of a module are.
struct Layout {
    /// Module prefix of the last parameter (`fc3.` of `fc3.bias`).
    head: Option<String>,
    /// Path of the first rank-4 `Conv2d` kernel.
    first_conv: Option<String>,
}

impl Layout {
    fn of<M: Module>(module: &M) -> Self {
        let infos = param_infos(module);
        let head = infos.last().and_then(|p| p.path.rsplit_once('.')).map(|(prefix, _)| format!("{prefix}."));
        let first_conv = infos.iter().find(|p| p.owner == "Conv2d" && p.shape.len() == 4).map(|p| p.path.clone());
        Self { head, first_conv }
    }

    /// The adaptation that makes `from` fit `to` at `path`, if there is one.
    fn adaptation(&self, path: &str, from: &[usize], to: &[usize]) -> Option<Adaptation> {
        let differ: Vec<usize> = (0..to.len()).filter(|&i| from.len() == to.len() && from[i] != to[i]).collect();
        let last = to.len().checked_sub(1)?;
        if self.head.as_deref().is_some_and(|h| path.starts_with(h)) && differ == [last] {
            return Some(Adaptation::NewHead { from_outputs: from[last], outputs: to[last] });
        }
        if self.first_conv.as_deref() == Some(path) && differ == [1] {
            return Some(Adaptation::InputChannels { from_channels: from[1], channels: to[1] });
        }
        None
    }
}

/// A `[out, in, k…]` kernel adapted to `channels` input channels (see [`Adaptation::InputChannels`]).
fn adapt_input_channels(values: &[f32], shape: &[usize], channels: usize) -> Vec<f32> {
    let (out, from) = (shape[0], shape[1]);
    let k: usize = shape[2..].iter().product();
    let mut adapted = vec![0.0f32; out * channels * k];
    for o in 0..out {
        for c in 0..channels {
            let dst = &mut adapted[(o * channels + c) * k..][..k];
            if channels == 1 {
                for s in 0..from {
                    dst.iter_mut().zip(&values[(o * from + s) * k..][..k]).for_each(|(d, v)| *d += v);
                }
            } else {
                let scale = from as f32 / channels as f32;
                let src = &values[(o * from + c % from) * k..][..k];
                dst.iter_mut().zip(src).for_each(|(d, v)| *d = v * scale);
            }
        }
    }
    adapted
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::nn::{Linear, LinearConfig};

    #[derive(Module, Debug)]
    struct Net {
        conv: Conv2d,
        body: Linear,
        head: Linear,
    }

    fn net(channels: usize, classes: usize) -> Net {
        let device = Device::flex();
        Net {
            conv: Conv2dConfig::new([channels, 2], [1, 1]).init(&device),
            body: LinearConfig::new(3, 4).init(&device),
            head: LinearConfig::new(4, classes).init(&device),
        }
    }

    /// Tensors by path, counting from 1 so each value says where it came from.
    struct Source(BTreeMap<String, (Vec<usize>, Vec<f32>)>);

    impl Source {
        fn of<M: Module>(module: &M) -> Self {
            let mut n = 0.0;
            Self(
                state_data(module)
                    .into_iter()
                    .map(|(p, d)| {
                        let len = d.num_elements();
                        let values = (0..len).map(|_| {
                            n += 1.0;
                            n
                        });
                        (p, (d.shape().to_vec(), values.collect()))
                    })
                    .collect(),
            )
        }
    }

    impl TensorSource for Source {
        fn name(&self) -> &str {
            "base"
        }
        fn digest(&self) -> &str {
            "d1"
        }
        fn paths(&self) -> Vec<String> {
            self.0.keys().cloned().collect()
        }
        fn tensor(&self, path: &str) -> Option<(Vec<usize>, Vec<f32>)> {
            self.0.get(path).cloned()
        }
    }

    fn values<M: Module>(m: &M, path: &str) -> Vec<f32> {
        state_data(m).into_iter().find(|(p, _)| p == path).map(|(_, d)| d.try_to_vec::<f32>().unwrap()).unwrap()
    }

    #[test]
    fn should_load_every_tensor_of_a_same_shaped_model() {
        let source = Source::of(&net(1, 5));
        let (m, report) = Transfer::from("base").apply(net(1, 5), &source).unwrap();
        assert_eq!(report.applied.len(), 6);
        assert!(report.adapted.is_empty() && report.skipped.is_empty() && report.missing.is_empty() && report.unused.is_empty());
        assert_eq!(values(&m, "head.weight"), source.0["head.weight"].1);
    }

    #[test]
    fn should_fail_on_a_shape_mismatch_by_default_naming_the_tensor() {
        let err = Transfer::from("base").apply(net(1, 3), &Source::of(&net(1, 5))).unwrap_err().to_string();
        assert!(err.contains("head.weight") && err.contains("[4, 5]") && err.contains("[4, 3]"), "{err}");
    }

    #[test]
    fn should_skip_and_report_mismatches_under_skip() {
        let fresh = net(3, 3);
        let head = values(&fresh, "head.weight");
        let (m, report) = Transfer::from("base").on_mismatch(OnMismatch::Skip).apply(fresh, &Source::of(&net(1, 5))).unwrap();
        let skipped: Vec<&str> = report.skipped.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(skipped, ["conv.weight", "head.weight", "head.bias"]);
        assert_eq!(report.applied.len(), 3);
        assert_eq!(values(&m, "head.weight"), head, "a skipped tensor keeps its values");
    }

    #[test]
    fn should_adapt_a_new_head_and_the_first_convolution() {
        let source = Source::of(&net(2, 10));
        let fresh = net(3, 4);
        let head = values(&fresh, "head.weight");
        let (m, report) = Transfer::from("base").on_mismatch(OnMismatch::Adapt).apply(fresh, &source).unwrap();
        let adapted: Vec<(&str, &Adaptation)> = report.adapted.iter().map(|a| (a.path.as_str(), &a.how)).collect();
        let channels = Adaptation::InputChannels { from_channels: 2, channels: 3 };
        let new_head = Adaptation::NewHead { from_outputs: 10, outputs: 4 };
        assert_eq!(adapted, [("conv.weight", &channels), ("head.weight", &new_head), ("head.bias", &new_head)]);
        assert_eq!(values(&m, "head.weight"), head, "a new head keeps its initial values");
        // Source kernel [2 out, 2 in, 1, 1] = [[1, 2], [3, 4]]: three channels tile it, scaled by 2/3.
        let s = 2.0f32 / 3.0;
        assert_eq!(values(&m, "conv.weight"), [s, 2.0 * s, s, 3.0 * s, 4.0 * s, 3.0 * s]);
        assert_eq!(report.transferred(), ["conv.bias", "body.weight", "body.bias", "conv.weight"]);
    }

    #[test]
    fn should_sum_kernels_into_one_input_channel() {
        let (m, _) = Transfer::from("base").on_mismatch(OnMismatch::Adapt).apply(net(1, 10), &Source::of(&net(2, 10))).unwrap();
        assert_eq!(values(&m, "conv.weight"), [3.0, 7.0]);
    }

    #[test]
    fn should_refuse_to_adapt_a_hidden_layer() {
        #[derive(Module, Debug)]
        struct Wider {
            conv: Conv2d,
            body: Linear,
            head: Linear,
        }
        let device = Device::flex();
        let wider = Wider {
            conv: Conv2dConfig::new([1, 2], [1, 1]).init(&device),
            body: LinearConfig::new(3, 6).init(&device),
            head: LinearConfig::new(6, 5).init(&device),
        };
        let err = Transfer::from("base").on_mismatch(OnMismatch::Adapt).apply(wider, &Source::of(&net(1, 5))).unwrap_err().to_string();
        assert!(err.contains("body.weight") && err.contains("neither"), "{err}");
    }

    #[test]
    fn should_rename_by_rules_and_list_missing_and_unused() {
        #[derive(Module, Debug)]
        struct Renamed {
            trunk: Linear,
            classifier: Linear,
        }
        let device = Device::flex();
        let target = Renamed { trunk: LinearConfig::new(3, 4).init(&device), classifier: LinearConfig::new(4, 5).init(&device) };
        let source = Source::of(&net(1, 5));
        let transfer = Transfer::from("base").rule(PathRule::parse("body.=trunk.").unwrap()).rule(PathRule::parse("re:head\\.(weight)=classifier.$1").unwrap());
        let (m, report) = transfer.apply(target, &source).unwrap();
        let applied: Vec<(&str, &str)> = report.applied.iter().map(|a| (a.path.as_str(), a.from.as_str())).collect();
        assert_eq!(applied, [("trunk.weight", "body.weight"), ("trunk.bias", "body.bias"), ("classifier.weight", "head.weight")]);
        assert_eq!(report.missing, ["classifier.bias"]);
        assert_eq!(report.unused, ["conv.bias", "conv.weight", "head.bias"]);
        assert_eq!(values(&m, "trunk.weight"), source.0["body.weight"].1);
    }

    #[test]
    fn should_map_glob_stars_in_order() {
        let rule = PathRule::parse("layers.*.*=blocks.*.inner.*").unwrap();
        assert!(matches!(rule, PathRule::Glob { .. }));
        let compiled = [rule.compile().unwrap()];
        assert_eq!(Transfer::target(&compiled, "layers.3.weight"), "blocks.3.inner.weight");
        assert_eq!(Transfer::target(&compiled, "fc.weight"), "fc.weight");
        assert_eq!(Transfer::target(&[PathRule::parse("fc.weight=head.w").unwrap().compile().unwrap()], "fc.weight"), "head.w");
    }

    #[test]
    fn should_exclude_paths_and_report_them_skipped() {
        let fresh = net(1, 5);
        let head = values(&fresh, "head.bias");
        let (m, report) = Transfer::from("base").exclude("head.*").apply(fresh, &Source::of(&net(1, 5))).unwrap();
        assert_eq!(
            report.skipped.iter().map(|s| (s.path.as_str(), s.reason.as_str())).collect::<Vec<_>>(),
            [("head.weight", "excluded"), ("head.bias", "excluded")]
        );
        assert_eq!(values(&m, "head.bias"), head);
    }

    #[test]
    fn should_refuse_two_sources_for_one_tensor() {
        let transfer = Transfer::from("base").rule(PathRule::parse("conv.bias=body.bias").unwrap());
        let err = transfer.apply(net(1, 5), &Source::of(&net(1, 5))).unwrap_err().to_string();
        assert!(err.contains("body.bias") && err.contains("both"), "{err}");
    }

    #[test]
    fn rules_must_have_a_source_side_and_compile() {
        let empty = Transfer::from("base").rule(PathRule::prefix("", "x."));
        assert!(matches!(empty.check(), Err(Error::PathRule { rule: 0, .. })));
        let bad = Transfer::from("base").rule(PathRule::Regex { from: "(".into(), to: "x".into() });
        assert!(matches!(bad.check(), Err(Error::PathRule { rule: 0, .. })));
        let stars = Transfer::from("base").rule(PathRule::Glob { from: "a.*".into(), to: "*.*".into() });
        assert!(matches!(stars.check(), Err(Error::PathRule { rule: 0, .. })));
        assert!(matches!(PathRule::parse("nothing"), Err(Error::PathRule { .. })));
        assert!(matches!(Transfer::from("base").exclude("").check(), Err(Error::EmptyPattern(0))));
    }

    #[test]
    fn should_record_the_source_of_each_transferred_parameter() {
        let fresh = net(1, 5);
        let (fresh, mut records) = crate::InitPlan::he_uniform().apply(fresh, 1).unwrap();
        let (m, report) = Transfer::from("base").exclude("head.*").apply(fresh, &Source::of(&net(1, 5))).unwrap();
        report.annotate(&mut records, &m).unwrap();
        let body = records.iter().find(|r| r.path == "body.weight").unwrap();
        assert_eq!(body.strategy["kind"], "pretrained");
        assert_eq!(body.strategy["digest"], "d1");
        assert_eq!(body.mean, f64::from(values(&m, "body.weight").iter().sum::<f32>()) / 12.0);
        let head = records.iter().find(|r| r.path == "head.weight").unwrap();
        assert_ne!(head.strategy["kind"], "pretrained");
    }

    #[test]
    fn should_round_trip_through_json() {
        let t = Transfer::from("b").rule(PathRule::parse("a.=b.").unwrap()).exclude("fc.*").on_mismatch(OnMismatch::Adapt).freeze(true);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Transfer>(&json).unwrap(), t);
        assert_eq!(serde_json::from_str::<Transfer>(r#"{"source":"b"}"#).unwrap(), Transfer::from("b"));
    }
}
