//! The light optimiser protocol: a per-tensor [`UpdateRule`], and the executor [`RuleOptimizer`] that does
//! everything else for it, as burn's per-tensor `SimpleOptimizer::step` and Optax's `GradientTransformation`
//! keep the update apart from the machinery.

use std::collections::BTreeMap;

use burn::prelude::*;
use owm_core::{Control, Objective, ParamSet, StepRecord, TraceEvent, TraceSink};
use serde::Serialize;

use crate::search::{from_data, to_data};
use crate::{Error, Optimizer, Result, StepContext, Stepped, layer_stats};

/// A gradient optimiser as its update rule alone: the new value of one parameter from its value, its
/// gradient and the state the rule keeps for it.
///
/// Wrap it in a [`RuleOptimizer`] to get an [`Optimizer`]: the executor fetches the gradient, skips a
/// non-finite loss, applies the rule parameter by parameter, computes the per-layer statistics, writes the
/// step record, and saves and restores the rule's state (tensors keyed by parameter path and slot name),
/// exactly as for the built-in optimisers.
///
/// The rule's settings are its serialised fields, and its name its type's name in lower case; override
/// [`UpdateRule::name`] or [`UpdateRule::lr`] where those do not fit. See `examples/custom_optimizer`.
pub trait UpdateRule: Serialize + Send + Sized {
    /// The new value of one parameter (flattened) from its value `weight` and gradient `grad`; `state`
    /// holds this parameter's slots.
    ///
    /// # Shapes
    ///
    /// `weight`, `grad`, every slot and the result: `[numel]` of the parameter.
    fn update(&self, weight: Tensor<1>, grad: Tensor<1>, state: &mut Slots<'_>) -> Tensor<1>;

    /// A short name for reports: the type's name in lower case (`Lion` → `"lion"`).
    fn name(&self) -> String {
        let full = std::any::type_name::<Self>();
        let short = full.split('<').next().unwrap_or(full).rsplit("::").next().unwrap_or(full);
        short.to_lowercase()
    }

    /// The learning rate the step record shows: the `lr` setting, if there is one.
    fn lr(&self) -> f64 {
        to_data(self).get("lr").and_then(serde_json::Value::as_f64).unwrap_or(0.0)
    }
}

/// The state an [`UpdateRule`] keeps for one parameter: tensors of the parameter's size, by name.
pub struct Slots<'a> {
    path: &'a str,
    slots: &'a mut BTreeMap<String, Tensor<1>>,
    like: &'a Tensor<1>,
}

impl Slots<'_> {
    /// Takes slot `name` out (zeros of the parameter's size when it is new); [`Slots::put`] stores it back.
    pub fn take(&mut self, name: &str) -> Tensor<1> {
        self.slots.remove(&key(self.path, name)).unwrap_or_else(|| self.like.zeros_like())
    }

    /// Stores slot `name`.
    pub fn put(&mut self, name: &str, value: Tensor<1>) {
        self.slots.insert(key(self.path, name), value);
    }
}

/// The state key of slot `name` of parameter `path`.
fn key(path: &str, name: &str) -> String {
    format!("{path}/{name}")
}

/// The executor of an [`UpdateRule`]: an [`Optimizer`] like the built-ins, traced like them.
pub struct RuleOptimizer<R> {
    rule: R,
    /// `"{path}/{slot}"` → tensor.
    slots: BTreeMap<String, Tensor<1>>,
}

impl<R: UpdateRule> RuleOptimizer<R> {
    /// `rule` with no state yet.
    pub fn new(rule: R) -> Self {
        Self { rule, slots: BTreeMap::new() }
    }

    /// The rule.
    pub fn rule(&self) -> &R {
        &self.rule
    }
}

impl<R: UpdateRule> Optimizer for RuleOptimizer<R> {
    fn name(&self) -> String {
        self.rule.name()
    }

    fn settings(&self) -> serde_json::Value {
        to_data(&self.rule)
    }

    fn step(&mut self, params: ParamSet, objective: &mut dyn Objective, ctx: StepContext, sink: &mut dyn TraceSink) -> Result<Stepped> {
        let gradient = objective.gradient(&params)?;
        if gradient.grads.len() != params.len() {
            return Err(Error::Dimension { expected: params.len(), got: gradient.grads.len() });
        }
        if !gradient.loss.is_finite() {
            return Ok(Stepped::from_gradient(params, &gradient, false, Control::Continue));
        }
        let grads = gradient.dense(params.metas(), &params.device().unwrap_or_else(Device::flex))?;
        let values = params.tensors().to_vec();
        let mut updated = values.clone();
        for ((meta, w), g) in params.metas().iter().zip(&mut updated).zip(&grads) {
            let Some(g) = g else { continue };
            let mut state = Slots { path: &meta.path, slots: &mut self.slots, like: g };
            *w = self.rule.update(w.clone(), g.clone(), &mut state);
        }
        let layers = if ctx.layer_stats {
            let named = |v: &[Tensor<1>]| params.metas().iter().zip(v).map(|(m, t)| (m.path.clone(), t.clone())).collect::<Vec<_>>();
            let grads = params.metas().iter().zip(grads).map(|(m, g)| (m.path.clone(), g)).collect();
            layer_stats(named(&values), grads, named(&updated))?
        } else {
            Vec::new()
        };
        let record = StepRecord { layers, ..StepRecord::from_gradient(ctx.step, &gradient, self.rule.lr()) };
        let control = sink.on_event(&TraceEvent::Step(record))?;
        Ok(Stepped::from_gradient(params.with_tensors(updated)?, &gradient, true, control))
    }

    fn state(&self) -> serde_json::Value {
        to_data(&self.slots.iter().map(|(k, t)| (k.clone(), crate::chain::host(t))).collect::<BTreeMap<_, _>>())
    }

    fn load_state(&mut self, state: &serde_json::Value, params: &ParamSet) -> Result<()> {
        let saved: BTreeMap<String, Vec<f32>> = from_data(state)?;
        let device = params.device().unwrap_or_else(Device::flex);
        let mut slots = BTreeMap::new();
        for (key, values) in saved {
            // A saved state is untrusted input: each slot must belong to a weight of its size.
            let numel = key.rsplit_once('/').and_then(|(path, _)| params.metas().iter().find(|m| m.path == path)).map(|m| m.numel());
            if numel != Some(values.len()) {
                return Err(Error::State(format!("slot `{key}` ({} values) matches no parameter of that size", values.len())));
            }
            let n = values.len();
            slots.insert(key, Tensor::<1>::from_data(TensorData::new(values, [n]), &device));
        }
        self.slots = slots;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use owm_core::NullSink;

    use super::*;
    use crate::testing::{Half, start};

    /// Heavy-ball momentum as a rule: `v ← μ·v + g`, `w ← w − lr·v`.
    #[derive(Serialize)]
    struct HeavyBall {
        lr: f64,
        mu: f64,
    }

    impl UpdateRule for HeavyBall {
        fn update(&self, weight: Tensor<1>, grad: Tensor<1>, state: &mut Slots<'_>) -> Tensor<1> {
            let v = state.take("velocity").mul_scalar(self.mu) + grad;
            state.put("velocity", v.clone());
            weight - v.mul_scalar(self.lr)
        }
    }

    fn heavy_ball() -> RuleOptimizer<HeavyBall> {
        RuleOptimizer::new(HeavyBall { lr: 0.5, mu: 0.9 })
    }

    fn run(optimizer: &mut RuleOptimizer<HeavyBall>, mut params: ParamSet, steps: u64) -> ParamSet {
        let mut objective = Half(params.metas().to_vec());
        for step in 1..=steps {
            params = optimizer.step(params, &mut objective, StepContext { step, layer_stats: true }, &mut NullSink).unwrap().params;
        }
        params
    }

    #[test]
    fn a_rule_should_be_named_and_set_by_its_type() {
        let o = heavy_ball();
        assert_eq!((o.name(), o.settings()), ("heavyball".to_string(), serde_json::json!({ "lr": 0.5, "mu": 0.9 })));
        assert_eq!(o.rule().lr(), 0.5);
    }

    #[test]
    fn a_rule_should_take_the_steps_its_formula_gives() {
        // v₁ = g₀ = [3, 4], w₁ = [1.5, 2]; v₂ = 0.9·v₁ + w₁ = [4.2, 5.6], w₂ = w₁ − 0.5·v₂ = [−0.6, −0.8].
        let w = run(&mut heavy_ball(), start(), 2).to_host();
        assert!((w[0] + 0.6).abs() < 1e-6 && (w[1] + 0.8).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn a_rule_should_resume_from_its_state_bit_for_bit() {
        let end = run(&mut heavy_ball(), start(), 9);
        let mut first = heavy_ball();
        let middle = run(&mut first, start(), 5);
        let mut second = heavy_ball();
        second.load_state(&first.state(), &middle).unwrap();
        assert_eq!(run(&mut second, middle, 4).to_host(), end.to_host());
    }

    #[test]
    fn a_state_for_other_weights_should_be_refused() {
        let err = heavy_ball().load_state(&serde_json::json!({ "y/velocity": [0.0, 0.0] }), &start()).unwrap_err();
        assert!(err.to_string().contains("slot `y/velocity`"), "{err}");
    }
}
