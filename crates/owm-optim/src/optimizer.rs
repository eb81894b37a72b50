use burn::prelude::*;
use owm_core::{Control, LayerStats, Objective, ParamSet, TraceSink, Validate};
use serde::{Deserialize, Serialize};

use crate::{
    AdaGradConfig, AdamConfig, AdamWConfig, Chain, ChainConfig, Error, EsConfig, GaConfig, GdConfig, MomentumConfig, Result, RmsPropConfig, SaConfig,
    SgdConfig, ensure,
};

/// Where a step sits in its phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepContext {
    /// Step number in the run (over all phases), from 1; trace records carry it.
    pub step: u64,
    /// Whether to record per-parameter statistics (gradient methods).
    pub layer_stats: bool,
}

/// What one optimiser step produced.
#[derive(Debug, Clone)]
pub struct Stepped {
    /// The weights after the step.
    pub params: ParamSet,
    /// The loss the step saw: the mini-batch loss before a gradient update, or the loss of the weights a search
    /// now holds. A non-finite loss stops the run; the step should then leave `params` unchanged.
    pub loss: f64,
    /// Training accuracy that goes with `loss`, when known.
    pub accuracy: Option<f64>,
    /// Training items the step consumed (gradient methods).
    pub items: u64,
    /// Candidate evaluations the step used (search methods).
    pub evaluations: u64,
    /// Epoch of the data the step used (gradient methods; search methods report their step).
    pub epoch: u64,
    /// Whether the step finished a round: an epoch of data for gradient methods, every step for search methods.
    pub epoch_end: bool,
    /// Whether the weights were updated (false for a skipped or accumulating step).
    pub applied: bool,
    /// What the trace sink answered.
    pub control: Control,
}

impl Stepped {
    /// The outcome of a gradient step from `gradient` to `params` (`applied`: whether the weights moved).
    pub fn from_gradient(params: ParamSet, gradient: &owm_core::Gradient, applied: bool, control: Control) -> Self {
        Self {
            params,
            loss: gradient.loss,
            accuracy: gradient.correct.map(|c| c as f64 / gradient.items.max(1) as f64),
            items: gradient.items as u64,
            evaluations: 0,
            epoch: gradient.epoch,
            epoch_end: gradient.epoch_end,
            applied,
            control,
        }
    }
}

/// A weight optimiser: one protocol for gradient chains and gradient-free search.
///
/// Each [`Optimizer::step`] asks the [`Objective`] what it needs (a mini-batch gradient, or the losses of
/// many candidate weight vectors), updates the flat, path-addressed weights and pushes its own trace event
/// (a [`owm_core::StepRecord`] or [`owm_core::GenerationRecord`]) into the sink. The executor in `owm-train`
/// runs optimisers in phases and stops each by its convergence criteria.
///
/// Implement it to plug in your own method; see `examples/custom_optimizer`.
pub trait Optimizer: Send {
    /// A short name for reports (`"adam"`, `"ga"`).
    fn name(&self) -> String;

    /// The settings, as data, for the trace and the bundle manifest.
    fn settings(&self) -> serde_json::Value;

    /// Whether gradients should be taken over the whole training data (gradient descent proper).
    fn full_batch(&self) -> bool {
        false
    }

    /// Whether this is a search method, whose every step is a round (a generation), rather than a gradient
    /// method, whose rounds are epochs of mini-batches.
    fn is_search(&self) -> bool {
        false
    }

    /// Runs one step (an update, or a generation) from `params`.
    ///
    /// # Errors
    ///
    /// The objective's or the sink's error.
    fn step(&mut self, params: ParamSet, objective: &mut dyn Objective, ctx: StepContext, sink: &mut dyn TraceSink) -> Result<Stepped>;

    /// Called at the end of each round (epoch or generation) with its loss; stateful schedules listen here.
    fn end_round(&mut self, _loss: f64) {}

    /// The whole optimiser state (moments, populations, RNG), as data keyed by parameter path where it is
    /// per parameter; [`Optimizer::load_state`] of it continues bit-identically on a CPU backend.
    fn state(&self) -> serde_json::Value;

    /// Restores a state written by [`Optimizer::state`] for the weights `params` (their paths, shapes and
    /// device); a state saved in a file is untrusted input, so check it against them.
    ///
    /// # Errors
    ///
    /// [`Error::State`] when the state does not fit this optimiser or these weights.
    fn load_state(&mut self, state: &serde_json::Value, params: &ParamSet) -> Result<()>;
}

/// The built-in optimisers, as stored in experiment configs and bundle manifests.
///
/// JSON: `{"kind": "adam", "lr": 0.001}`, `{"kind": "sgd", "lr": 0.1, "momentum": 0.9}`,
/// `{"kind": "chain", "lr": 0.01, "transforms": [{"kind": "clip_by_global_norm", "max_norm": 1}, {"kind": "adam"}, {"kind": "lr"}]}`,
/// `{"kind": "ga", "population": 50}`.
/// The gradient presets build a [`ChainConfig`]; each takes the [`crate::ChainExtras`] (schedule, clipping,
/// accumulation, skip-if-non-finite, per-path groups) as extra fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// Full-batch gradient descent.
    Gd(GdConfig),
    /// Mini-batch SGD, momentum optional (`torch.optim.SGD`).
    Sgd(SgdConfig),
    /// SGD with heavy-ball momentum 0.9 by default.
    Momentum(MomentumConfig),
    /// SGD with Nesterov momentum 0.9 by default.
    Nesterov(MomentumConfig),
    /// Adam with coupled L2 decay (`torch.optim.Adam`).
    Adam(AdamConfig),
    /// Adam with decoupled weight decay (`torch.optim.AdamW`).
    Adamw(AdamWConfig),
    /// RMSProp (`torch.optim.RMSprop`).
    Rmsprop(RmsPropConfig),
    /// AdaGrad (`torch.optim.Adagrad`).
    Adagrad(AdaGradConfig),
    /// An explicit chain of gradient transforms.
    Chain(ChainConfig),
    /// Genetic algorithm over the flat weights.
    Ga(GaConfig),
    /// Simulated annealing over the flat weights.
    Sa(SaConfig),
    /// Evolution strategy (OpenAI-ES with antithetic sampling) over the flat weights.
    Es(EsConfig),
    /// A user's own [`Optimizer`], run through `owm_train::TrainOptions::phases`: recorded as what it is (its
    /// name and settings), never built from the config.
    Custom {
        /// [`Optimizer::name`].
        name: String,
        /// [`Optimizer::settings`].
        #[serde(default)]
        settings: serde_json::Value,
    },
}

impl OptimizerConfig {
    /// A short name for reports (`"adam"`, `"ga"`).
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Gd(_) => "gd",
            OptimizerConfig::Sgd(_) => "sgd",
            OptimizerConfig::Momentum(_) => "momentum",
            OptimizerConfig::Nesterov(_) => "nesterov",
            OptimizerConfig::Adam(_) => "adam",
            OptimizerConfig::Adamw(_) => "adamw",
            OptimizerConfig::Rmsprop(_) => "rmsprop",
            OptimizerConfig::Adagrad(_) => "adagrad",
            OptimizerConfig::Chain(_) => "chain",
            OptimizerConfig::Ga(_) => "ga",
            OptimizerConfig::Sa(_) => "sa",
            OptimizerConfig::Es(_) => "es",
            OptimizerConfig::Custom { .. } => "custom",
        }
    }

    /// The learning rate, for gradient methods (and the evolution strategy's step size).
    pub fn lr(&self) -> Option<f64> {
        match self {
            OptimizerConfig::Ga(_) | OptimizerConfig::Sa(_) | OptimizerConfig::Custom { .. } => None,
            OptimizerConfig::Es(c) => Some(c.lr),
            other => other.chain().map(|c| c.lr),
        }
    }

    /// The transform chain a gradient preset stands for (`None` for search methods).
    pub fn chain(&self) -> Option<ChainConfig> {
        Some(match self {
            OptimizerConfig::Gd(c) => c.chain(),
            OptimizerConfig::Sgd(c) => c.chain(),
            OptimizerConfig::Momentum(c) => c.chain(false),
            OptimizerConfig::Nesterov(c) => c.chain(true),
            OptimizerConfig::Adam(c) => c.chain(),
            OptimizerConfig::Adamw(c) => c.chain(),
            OptimizerConfig::Rmsprop(c) => c.chain(),
            OptimizerConfig::Adagrad(c) => c.chain(),
            OptimizerConfig::Chain(c) => c.clone(),
            OptimizerConfig::Ga(_) | OptimizerConfig::Sa(_) | OptimizerConfig::Es(_) | OptimizerConfig::Custom { .. } => return None,
        })
    }

    /// The path groups and privacy settings of a gradient method's chain; `None` for a search method.
    fn chain_parts(&mut self) -> Option<(&mut Vec<crate::PathGroup>, &mut Option<crate::DpSgd>)> {
        Some(match self {
            OptimizerConfig::Gd(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Sgd(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Momentum(c) | OptimizerConfig::Nesterov(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Adam(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Adamw(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Rmsprop(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Adagrad(c) => (&mut c.extras.groups, &mut c.extras.privacy),
            OptimizerConfig::Chain(c) => (&mut c.groups, &mut c.privacy),
            OptimizerConfig::Ga(_) | OptimizerConfig::Sa(_) | OptimizerConfig::Es(_) | OptimizerConfig::Custom { .. } => return None,
        })
    }

    /// [`Error::Custom`] for a user's optimiser, which a config records but cannot build.
    fn built_in(&self) -> Result<()> {
        match self {
            OptimizerConfig::Custom { name, .. } => Err(Error::Custom(name.clone())),
            _ => Ok(()),
        }
    }

    /// Freezes the parameters at `paths` (exact paths or globs) ahead of any other path group: how a transfer
    /// keeps its loaded layers fixed.
    ///
    /// # Errors
    ///
    /// [`Error::GradientOnly`] for a search method, which moves every weight it is given; [`Error::Custom`]
    /// for a user's optimiser.
    pub fn freeze(&mut self, paths: &[String]) -> Result<()> {
        self.built_in()?;
        let name = self.name();
        let (groups, _) = self.chain_parts().ok_or(Error::GradientOnly { method: name, what: "freezing some weights" })?;
        groups.splice(0..0, paths.iter().map(crate::PathGroup::freeze));
        Ok(())
    }

    /// Trains with differential privacy: the chain's gradient becomes DP-SGD's (see [`crate::DpSgd`]).
    ///
    /// # Errors
    ///
    /// [`Error::GradientOnly`] for a search method (its candidates see every example, unclipped and
    /// unnoised); [`Error::Custom`] for a user's optimiser; the settings' [`Validate::check`] rules.
    pub fn make_private(&mut self, dp: crate::DpSgd) -> Result<()> {
        self.built_in()?;
        dp.check()?;
        let name = self.name();
        let (_, privacy) = self.chain_parts().ok_or(Error::GradientOnly { method: name, what: "differentially private training" })?;
        *privacy = Some(dp);
        Ok(())
    }

    /// Builds the optimiser after checking the config; `seed` seeds the search methods' generators.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule the config breaks; [`Error::Custom`] for a user's optimiser.
    #[allow(clippy::expect_used, reason = "every kind but the search methods and user optimisers has a chain")]
    pub fn build(&self, seed: u64) -> Result<Box<dyn Optimizer>> {
        self.check()?;
        self.built_in()?;
        Ok(match self {
            OptimizerConfig::Ga(c) => Box::new(crate::SearchOptimizer::new("ga", crate::Ga::new(c.clone(), seed)?)),
            OptimizerConfig::Sa(c) => Box::new(crate::SearchOptimizer::new("sa", crate::Sa::new(c.clone(), seed)?)),
            OptimizerConfig::Es(c) => Box::new(crate::SearchOptimizer::new("es", crate::Es::new(c.clone(), seed)?)),
            other => Box::new(Chain::new(other.name(), other.chain().expect("gradient preset"))?),
        })
    }
}

impl Validate for OptimizerConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        match self {
            OptimizerConfig::Gd(c) => c.check(),
            OptimizerConfig::Sgd(c) => c.check(),
            OptimizerConfig::Momentum(c) => c.check(false),
            OptimizerConfig::Nesterov(c) => c.check(true),
            OptimizerConfig::Adam(c) => c.check(),
            OptimizerConfig::Adamw(c) => c.check(),
            OptimizerConfig::Rmsprop(c) => c.check(),
            OptimizerConfig::Adagrad(c) => c.check(),
            OptimizerConfig::Chain(c) => c.check(),
            OptimizerConfig::Ga(c) => c.check(),
            OptimizerConfig::Sa(c) => c.check(),
            OptimizerConfig::Es(c) => c.check(),
            // A user optimiser checks its own settings; the record needs its name.
            OptimizerConfig::Custom { name, .. } => ensure(!name.is_empty(), "name", "must not be empty", 0.0),
        }
    }
}

/// Per parameter: ‖g‖, ‖w‖, ‖Δw‖, ‖Δw‖/‖w_before‖, the fraction of weights that changed sign and the
/// fraction of exactly-zero gradient entries, computed on the device and read back in one transfer: the
/// statistics of a [`owm_core::StepRecord`]'s `layers`, for an optimiser written against [`Optimizer`] itself
/// ([`crate::RuleOptimizer`] computes them for an [`crate::UpdateRule`]).
///
/// # Errors
///
/// [`owm_core::Error::Device`] when the device cannot be read back.
pub fn layer_stats(
    before: Vec<(String, Tensor<1>)>,
    grads: Vec<(String, Option<Tensor<1>>)>,
    after: Vec<(String, Tensor<1>)>,
) -> owm_core::Result<Vec<LayerStats>> {
    if after.is_empty() {
        return Ok(Vec::new());
    }
    let sums: Vec<Tensor<1>> = before.iter().zip(&grads).zip(&after).map(|(((_, b), (_, g)), (_, a))| crate::fused::layer_sums(b, g.as_ref(), a)).collect();
    let values = read_sums(sums, &after[0].0)?;
    Ok(after.into_iter().zip(values.chunks_exact(SUMS)).map(|((path, a), v)| stats_of(path, v, a.dims()[0])).collect())
}

/// Sums per parameter in [`crate::fused::layer_sums`].
pub(crate) const SUMS: usize = 6;

/// The sums of [`crate::fused::layer_sums`], concatenated and read back in one transfer (`first`: the first
/// parameter's path, for the error).
pub(crate) fn read_sums(sums: Vec<Tensor<1>>, first: &str) -> owm_core::Result<Vec<f64>> {
    owm_core::device_data(Tensor::cat(sums, 0))?
        .convert::<f64>()
        .try_to_vec::<f64>()
        .map_err(|e| owm_core::Error::Param { path: first.to_string(), reason: format!("per-layer statistics could not be read back: {e:?}") })
}

/// The statistics of the parameter at `path` of `numel` values from its six sums `v`.
pub(crate) fn stats_of(path: String, v: &[f64], numel: usize) -> LayerStats {
    // Values are f32 quantities: round them to f32 so that what is traced reads back identical.
    let f32_exact = |v: f64| f64::from(v as f32);
    let n = numel.max(1) as f64;
    let (g, w, u, w0) = (v[0].sqrt(), v[1].sqrt(), v[2].sqrt(), v[3].sqrt());
    LayerStats {
        path,
        grad_norm: f32_exact(g),
        weight_norm: f32_exact(w),
        update_norm: f32_exact(u),
        update_ratio: f32_exact(if w0 > 0.0 {
            u / w0
        } else if u == 0.0 {
            0.0
        } else {
            f64::INFINITY
        }),
        sign_flips: f32_exact(v[4] / n),
        zero_grads: f32_exact(1.0 - v[5] / n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use owm_core::{Fitness, Gradient, ParamMeta, Sample, TraceEvent};

    /// L = 0.5·‖w‖² on one parameter `w`.
    struct Half {
        params: Vec<ParamMeta>,
    }

    impl Objective for Half {
        fn params(&self) -> &[ParamMeta] {
            &self.params
        }
        fn gradient(&mut self, params: &ParamSet) -> owm_core::Result<Gradient> {
            let w = params.tensors()[0].clone();
            let loss = w.clone().square().sum().into_data().convert::<f64>().try_into_vec::<f64>().unwrap()[0] * 0.5;
            Ok(Gradient { loss, grads: vec![Some(w)], items: 1, correct: None, epoch: 1, epoch_end: true, batch: None, rows: Vec::new() })
        }
        fn evaluate(&mut self, _: &[Vec<f32>], _: Sample) -> owm_core::Result<Vec<Fitness>> {
            unreachable!("gradient methods only")
        }
        fn train_items(&self) -> usize {
            1
        }
    }

    fn point(values: Vec<f32>) -> (ParamSet, Half) {
        let meta = ParamMeta { path: "w".into(), shape: vec![values.len()] };
        let n = values.len();
        let t = Tensor::<1>::from_data(TensorData::new(values, [n]), &Device::flex());
        (ParamSet::new(vec![meta.clone()], vec![t]).unwrap(), Half { params: vec![meta] })
    }

    #[test]
    fn should_trace_norms_of_a_known_step() {
        // L = 0.5·‖w‖², so g = w = [3, 4]; one GD step with lr 0.5 gives w = [1.5, 2].
        let (params, mut objective) = point(vec![3.0, 4.0]);
        let mut optim = OptimizerConfig::Gd(GdConfig::new(0.5)).build(0).unwrap();
        let mut trace = Vec::new();
        let ctx = StepContext { step: 1, layer_stats: true };
        let stepped = optim.step(params, &mut objective, ctx, &mut trace).unwrap();
        assert_eq!((stepped.control, stepped.loss, stepped.applied), (Control::Continue, 12.5, true));
        assert_eq!(stepped.params.to_host(), [1.5, 2.0]);
        let TraceEvent::Step(record) = &trace[0] else { panic!("{trace:?}") };
        let l = &record.layers[0];
        assert_eq!((l.path.as_str(), l.grad_norm, l.weight_norm, l.update_norm, l.update_ratio), ("w", 5.0, 2.5, 2.5, 0.5));
        assert_eq!((record.loss, record.lr), (12.5, 0.5));
    }

    #[test]
    fn state_should_be_keyed_by_parameter_path() {
        let (params, mut objective) = point(vec![3.0, 4.0]);
        let mut optim = OptimizerConfig::Adam(AdamConfig::new(0.1)).build(0).unwrap();
        let _ = optim.step(params, &mut objective, StepContext { step: 1, layer_stats: false }, &mut Vec::new()).unwrap();
        let state = optim.state();
        let slots: Vec<&str> = state["slots"].as_object().unwrap().keys().map(String::as_str).collect();
        // Group 0, transform 1 (Adam after the weight decay), path `w`: first moment (1 − β₁)·g, second (1 − β₂)·g².
        assert_eq!(slots, ["0/1/w/m", "0/1/w/v"]);
        let m = serde_json::from_value::<owm_core::serde_float::Packed>(state["slots"]["0/1/w/m"].clone()).unwrap().0;
        assert!((m[0] - 0.3).abs() < 1e-6 && (m[1] - 0.4).abs() < 1e-6, "{m:?}");
        assert_eq!(state["counts"]["0/1"], 1);
    }

    #[test]
    fn a_state_that_does_not_fit_the_weights_should_be_refused() {
        let (params, mut objective) = point(vec![3.0, 4.0]);
        let mut optim = OptimizerConfig::Adam(AdamConfig::new(0.1)).build(0).unwrap();
        let _ = optim.step(params.clone(), &mut objective, StepContext { step: 1, layer_stats: false }, &mut Vec::new()).unwrap();
        let good = optim.state();
        assert!(optim.load_state(&good, &params).is_ok());
        let mut short = good.clone();
        short["slots"]["0/1/w/m"] = serde_json::json!([1.0]);
        let err = optim.load_state(&short, &params).unwrap_err();
        assert!(matches!(&err, Error::State(m) if m.contains("0/1/w/m")), "{err}");
        let mut stranger = good;
        stranger["slots"]["0/1/other/m"] = serde_json::json!([1.0, 2.0]);
        assert!(matches!(optim.load_state(&stranger, &params), Err(Error::State(_))));
    }

    #[test]
    fn should_skip_layer_statistics_when_off() {
        let (params, mut objective) = point(vec![1.0]);
        let mut optim = OptimizerConfig::Sgd(SgdConfig::new(0.1)).build(0).unwrap();
        let mut trace = Vec::new();
        let _ = optim.step(params, &mut objective, StepContext { step: 1, layer_stats: false }, &mut trace).unwrap();
        assert!(matches!(&trace[0], TraceEvent::Step(r) if r.layers.is_empty()));
    }

    #[test]
    fn should_put_frozen_paths_ahead_of_other_groups_and_refuse_search_methods() {
        let mut adam = OptimizerConfig::Adam(AdamConfig::new(0.1));
        if let OptimizerConfig::Adam(c) = &mut adam {
            c.extras.groups.push(crate::PathGroup { pattern: "*".into(), freeze: false, lr: Some(0.5), transforms: None });
        }
        adam.freeze(&["body.weight".into()]).unwrap();
        let groups = adam.chain().unwrap().groups;
        assert_eq!((groups[0].pattern.as_str(), groups[0].freeze), ("body.weight", true));
        assert_eq!(groups[1].pattern, "*");
        let mut ga = OptimizerConfig::Ga(GaConfig::default());
        assert!(matches!(ga.freeze(&["w".into()]), Err(Error::GradientOnly { method: "ga", .. })));
    }

    #[test]
    fn should_freeze_a_path_group() {
        let (params, mut objective) = point(vec![1.0]);
        let chain = ChainConfig::new(0.1, vec![crate::Transform::Lr]).with_group(crate::PathGroup::freeze("w"));
        let mut optim = OptimizerConfig::Chain(chain).build(0).unwrap();
        let stepped = optim.step(params, &mut objective, StepContext { step: 1, layer_stats: false }, &mut Vec::new()).unwrap();
        assert_eq!((stepped.params.to_host(), stepped.applied), (vec![1.0], false));
    }

    /// Fixed gradients, one per call; the loss stays finite.
    struct Scripted {
        params: Vec<ParamMeta>,
        grads: Vec<Vec<f32>>,
    }

    impl Objective for Scripted {
        fn params(&self) -> &[ParamMeta] {
            &self.params
        }
        fn gradient(&mut self, _: &ParamSet) -> owm_core::Result<Gradient> {
            let g = self.grads.remove(0);
            let n = g.len();
            let t = Tensor::<1>::from_data(TensorData::new(g, [n]), &Device::flex());
            Ok(Gradient { loss: 1.0, grads: vec![Some(t)], items: 1, correct: None, epoch: 1, epoch_end: true, batch: None, rows: Vec::new() })
        }
        fn evaluate(&mut self, _: &[Vec<f32>], _: Sample) -> owm_core::Result<Vec<Fitness>> {
            unreachable!("gradient methods only")
        }
        fn train_items(&self) -> usize {
            1
        }
    }

    fn run_scripted(chain: ChainConfig, grads: Vec<Vec<f32>>) -> (Vec<f32>, Vec<TraceEvent>, serde_json::Value) {
        let (mut params, _) = point(vec![1.0, 1.0]);
        let mut objective = Scripted { params: params.metas().to_vec(), grads };
        let mut optim = OptimizerConfig::Chain(chain).build(0).unwrap();
        let mut trace = Vec::new();
        for step in 1..=objective.grads.len() as u64 {
            params = optim.step(params, &mut objective, StepContext { step, layer_stats: false }, &mut trace).unwrap().params;
        }
        (params.to_host(), trace, optim.state())
    }

    #[test]
    fn accumulation_should_apply_the_mean_gradient_every_n_calls() {
        use crate::Transform::{Accumulate, Lr};
        let (w, trace, _) = run_scripted(ChainConfig::new(0.5, vec![Accumulate { steps: 2 }, Lr]), vec![vec![1.0, 2.0], vec![3.0, 0.0]]);
        // Mean gradient [2, 1], one update at lr 0.5.
        assert_eq!(w, [0.0, 0.5]);
        let TraceEvent::Step(first) = &trace[0] else { panic!() };
        assert_eq!(first.notes, ["accumulating 1/2"]);
    }

    #[test]
    fn a_non_finite_gradient_should_be_skipped_without_touching_the_state() {
        use crate::Transform::{Adam, Lr, SkipNonFinite};
        let chain = ChainConfig::new(0.1, vec![SkipNonFinite, Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, Lr]);
        let (skipped, trace, state) = run_scripted(chain.clone(), vec![vec![f32::NAN, 1.0], vec![1.0, 1.0]]);
        let (clean, _, clean_state) = run_scripted(chain, vec![vec![1.0, 1.0]]);
        assert_eq!(skipped, clean, "the skipped step changed nothing");
        assert_eq!(state, clean_state, "nor the Adam moments and step count");
        let TraceEvent::Step(first) = &trace[0] else { panic!() };
        assert_eq!(first.notes, ["skipped: 1 non-finite gradient values"]);
    }

    #[test]
    fn a_path_group_should_get_its_own_rate() {
        let (params, mut objective) = point(vec![1.0]);
        let group = crate::PathGroup { pattern: "w".into(), freeze: false, lr: Some(0.5), transforms: None };
        let chain = ChainConfig::new(0.1, vec![crate::Transform::Lr]).with_group(group);
        let mut optim = OptimizerConfig::Chain(chain).build(0).unwrap();
        let stepped = optim.step(params, &mut objective, StepContext { step: 1, layer_stats: false }, &mut Vec::new()).unwrap();
        assert_eq!(stepped.params.to_host(), [0.5]);
    }

    #[test]
    fn should_reject_an_invalid_config() {
        assert!(matches!(OptimizerConfig::Adam(AdamConfig::new(-1.0)).build(0), Err(Error::LearningRate(_))));
    }
}
