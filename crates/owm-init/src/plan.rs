use burn::module::Module;
use burn::prelude::TensorData;
use owm_core::{InitRecord, Rng, TensorSource, Validate, derive_seed, param_data, replace_params};
use serde::{Deserialize, Serialize};

use crate::{Error, InitStrategy, Result};

/// One rule of a plan: parameters whose path matches `pattern` get `strategy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitRule {
    /// A path pattern where `*` matches any run of characters (dots included): `"*.bias"`, `"conv1.*"`, `"*"`.
    pub pattern: String,
    /// The strategy.
    pub strategy: InitStrategy,
}

/// An ordered list of rules; the first rule whose pattern matches a parameter's path decides its init.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InitPlan {
    /// The rules, tried in order.
    pub rules: Vec<InitRule>,
}

impl InitPlan {
    /// An empty plan: every parameter keeps the module's own init.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a rule.
    pub fn rule(mut self, pattern: impl Into<String>, strategy: InitStrategy) -> Self {
        self.rules.push(InitRule { pattern: pattern.into(), strategy });
        self
    }

    /// Zero biases (`*.bias`, and a model's own top-level `bias`), batch-norm scales of 1 and shifts of 0:
    /// the rules the presets start with.
    fn norms() -> Self {
        Self::new()
            .rule("*.bias", InitStrategy::Zeros)
            .rule("bias", InitStrategy::Zeros)
            .rule("*.gamma", InitStrategy::Constant { value: 1.0 })
            .rule("*.beta", InitStrategy::Zeros)
    }

    /// He (Kaiming) uniform weights for ReLU networks, zero biases (`*.bias`, and a model's own top-level
    /// `bias`), batch norms starting as the identity: OWM's default plan.
    pub fn he_uniform() -> Self {
        Self::norms().rule("*", InitStrategy::KaimingUniform { gain: std::f64::consts::SQRT_2, mode: crate::FanMode::FanIn })
    }

    /// PyTorch's default weight init for `Linear` and `Conv*` (`kaiming_uniform_(a=√5)`, i.e.
    /// `U(±1/√fan_in)`: Kaiming uniform with gain `1/√3`) with zero biases (PyTorch draws biases from the
    /// same range; a rank-1 parameter has no fan-in of its own here).
    pub fn torch_uniform() -> Self {
        Self::norms().rule("*", InitStrategy::KaimingUniform { gain: 1.0 / 3f64.sqrt(), mode: crate::FanMode::FanIn })
    }

    /// The first rule matching `path`.
    pub fn rule_for(&self, path: &str) -> Option<&InitRule> {
        self.rules.iter().find(|r| glob_match(&r.pattern, path))
    }

    /// Re-initialises `module`: each parameter matched by a rule gets values drawn with the seed
    /// `derive_seed(root_seed, "init/" + path)`; the others keep theirs.
    ///
    /// Returns the module and one record per parameter, in module order, with the mean and standard deviation
    /// read back from the module.
    ///
    /// # Errors
    ///
    /// The plan's [`Validate::check`] rules, then [`Error::NeedsMatrix`] when a fan-based strategy matches a
    /// rank-1 parameter.
    pub fn apply<M: Module>(&self, module: M, root_seed: u64) -> Result<(M, Vec<InitRecord>)> {
        self.apply_with(module, root_seed, &[])
    }

    /// [`InitPlan::apply`] with tensor sources for [`InitStrategy::Pretrained`] rules, found by name; the
    /// record of a pretrained parameter names the source, its digest and the tensor taken.
    ///
    /// # Errors
    ///
    /// As [`InitPlan::apply`], and [`Error::Source`] for a source not given, a tensor it lacks, or one of
    /// another shape.
    pub fn apply_with<M: Module>(&self, module: M, root_seed: u64, sources: &[&dyn TensorSource]) -> Result<(M, Vec<InitRecord>)> {
        self.check()?;
        let mut failure = None;
        let module = replace_params(module, |path, shape| {
            let Some(rule) = self.rule_for(path) else { return Ok(None) };
            let mut rng = Rng::new(param_seed(root_seed, path));
            let values = match &rule.strategy {
                InitStrategy::Pretrained { source, from } => pretrained(sources, source, from.as_deref().unwrap_or(path), path, shape),
                strategy => strategy.sample(path, shape, &mut rng),
            };
            match values {
                Ok(values) => Ok(Some(TensorData::new(values, shape.to_vec()))),
                Err(e) => {
                    let reason = e.to_string();
                    failure = Some(e);
                    Err(owm_core::Error::Param { path: path.into(), reason })
                }
            }
        });
        let module = match (module, failure) {
            (_, Some(e)) => return Err(e),
            (m, None) => m?,
        };
        let records = param_data(&module)
            .into_iter()
            .map(|(path, data)| {
                let rule = self.rule_for(&path);
                let values = data.clone().convert::<f32>().try_to_vec::<f32>().map_err(|e| {
                    Error::from(owm_core::Error::Param { path: path.clone(), reason: format!("init statistics could not be read back: {e:?}") })
                })?;
                let (mean, std) = moments(&values);
                Ok(InitRecord {
                    shape: data.shape().to_vec(),
                    rule: rule.map(|r| r.pattern.clone()),
                    strategy: rule.map_or(serde_json::json!("module_default"), |r| {
                        let mut v = owm_core::json::to_value(&r.strategy);
                        // A pretrained value names the content it came from, not only where it was.
                        if let InitStrategy::Pretrained { source, .. } = &r.strategy
                            && let Some(src) = sources.iter().find(|s| s.name() == source)
                        {
                            v["digest"] = serde_json::json!(src.digest());
                        }
                        v
                    }),
                    seed: param_seed(root_seed, &path),
                    path,
                    mean,
                    std,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((module, records))
    }
}

/// The seed of the parameter at `path` under `root_seed`.
pub fn param_seed(root_seed: u64, path: &str) -> u64 {
    derive_seed(root_seed, &format!("init/{path}"))
}

impl Validate for InitPlan {
    type Error = Error;

    fn check(&self) -> Result<()> {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.pattern.is_empty() {
                return Err(Error::EmptyPattern(i));
            }
            rule.strategy.check()?;
        }
        Ok(())
    }
}

pub(crate) fn moments(v: &[f32]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The values of `from` in the source named `source`, checked against `shape`.
fn pretrained(sources: &[&dyn TensorSource], source: &str, from: &str, path: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let err = |reason: String| Error::Source { path: path.into(), name: source.into(), reason };
    let src = sources.iter().find(|s| s.name() == source).ok_or_else(|| err("no such source was given".into()))?;
    let (got, values) = src.tensor(from).ok_or_else(|| err(format!("it has no tensor `{from}`")))?;
    if got != shape {
        return Err(err(format!("`{from}` is {got:?}, the parameter is {shape:?}")));
    }
    Ok(values)
}

pub use owm_core::glob_match;

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::prelude::*;

    #[derive(Module, Debug)]
    struct Net {
        fc1: Linear,
        fc2: Linear,
    }

    fn net(device: &Device) -> Net {
        Net { fc1: LinearConfig::new(8, 16).init(device), fc2: LinearConfig::new(16, 4).init(device) }
    }

    struct Source(Vec<(String, Vec<usize>, Vec<f32>)>);
    impl TensorSource for Source {
        fn paths(&self) -> Vec<String> {
            vec!["w".into()]
        }
        fn name(&self) -> &str {
            "teacher"
        }
        fn digest(&self) -> &str {
            "abc"
        }
        fn tensor(&self, path: &str) -> Option<(Vec<usize>, Vec<f32>)> {
            self.0.iter().find(|(p, _, _)| p == path).map(|(_, s, v)| (s.clone(), v.clone()))
        }
    }

    #[test]
    fn pretrained_rules_should_copy_tensors_from_their_source_and_say_so() {
        use burn::nn::LinearConfig;
        let device = burn::prelude::Device::flex();
        let net: Linear = LinearConfig::new(2, 3).init(&device);
        let source = Source(vec![("w".into(), vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]);
        let plan = InitPlan::new().rule("weight", InitStrategy::Pretrained { source: "teacher".into(), from: Some("w".into()) }).rule("*", InitStrategy::Zeros);
        let (net, records) = plan.apply_with(net, 1, &[&source]).unwrap();
        assert_eq!(net.weight.val().into_data().try_to_vec::<f32>().unwrap(), [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(records[0].strategy["digest"], "abc");
        assert_eq!(records[0].strategy["kind"], "pretrained");
        let err = plan.apply(LinearConfig::new(2, 3).init(&device), 1).unwrap_err();
        assert!(matches!(err, Error::Source { .. }), "{err}");
        let wrong = InitPlan::new().rule("weight", InitStrategy::Pretrained { source: "teacher".into(), from: None });
        let err = wrong.apply_with(LinearConfig::new(2, 3).init(&device), 1, &[&source]).unwrap_err().to_string();
        assert!(err.contains("no tensor `weight`"), "{err}");
    }

    #[test]
    fn should_match_globs() {
        assert!(glob_match("*.bias", "layers.0.bias"));
        assert!(glob_match("conv*.weight", "conv1.weight"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("*.bias", "layers.0.weight"));
        assert!(!glob_match("fc1.*", "fc10"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn should_apply_the_first_matching_rule_and_record_it() {
        let plan = InitPlan::new().rule("fc2.*", InitStrategy::Constant { value: 0.5 }).rule("*.bias", InitStrategy::Zeros);
        let (_, records) = plan.apply(net(&Device::flex()), 1).unwrap();
        let by_path: Vec<(&str, Option<&str>)> = records.iter().map(|r| (r.path.as_str(), r.rule.as_deref())).collect();
        assert_eq!(by_path, [("fc1.weight", None), ("fc1.bias", Some("*.bias")), ("fc2.weight", Some("fc2.*")), ("fc2.bias", Some("fc2.*"))]);
        assert_eq!((records[2].mean, records[2].std), (0.5, 0.0));
        assert_eq!(records[0].strategy, serde_json::json!("module_default"));
    }

    #[test]
    fn should_give_identical_weights_for_a_seed_and_independent_streams_per_path() {
        let device = Device::flex();
        let plan = InitPlan::he_uniform();
        let (a, _) = plan.apply(net(&device), 7).unwrap();
        let (b, _) = plan.apply(net(&device), 7).unwrap();
        let (c, _) = plan.apply(net(&device), 8).unwrap();
        assert_eq!(param_data(&a), param_data(&b));
        assert_ne!(param_data(&a), param_data(&c));
        // A model that only has fc2 draws fc2 exactly as the full model does.
        #[derive(Module, Debug)]
        struct Only {
            fc2: Linear,
        }
        let (only, _) = plan.apply(Only { fc2: LinearConfig::new(16, 4).init(&device) }, 7).unwrap();
        assert_eq!(param_data(&only)[0].1, param_data(&a)[2].1);
    }

    #[test]
    fn should_reject_fan_based_init_of_a_bias() {
        let plan = InitPlan::new().rule("*", InitStrategy::XavierUniform { gain: 1.0 });
        let err = plan.apply(net(&Device::flex()), 1).unwrap_err();
        assert!(matches!(err, Error::NeedsMatrix { ref path, .. } if path == "fc1.bias"), "{err}");
    }

    #[test]
    fn patterns_must_not_be_empty() {
        let plan = InitPlan::new().rule("", InitStrategy::Zeros);
        assert!(matches!(plan.check(), Err(Error::EmptyPattern(0))));
    }
}
