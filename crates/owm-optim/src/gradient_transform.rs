//! The chain's seam: one stage of a [`crate::Chain`], built in ([`crate::Transform`]) or user-written, in
//! the manner of Optax's `GradientTransformation`.

use std::collections::BTreeMap;

use burn::prelude::*;

use owm_core::TableRows;

use crate::Result;

/// One stage of a gradient chain: it turns a group's updates (which start as the gradients) into new
/// updates, or skips the step.
///
/// The built-in stages are the variants of [`crate::Transform`]. A user's stage implements this trait and
/// goes into a chain in two parts: [`crate::Transform::custom`] records it in the [`crate::ChainConfig`]
/// (by name and settings, so the run's config and manifest say what ran), and
/// [`crate::Chain::with_transforms`] gives the chain its implementation. Its state lives in the chain
/// (slots by parameter path, a counter), so it is checkpointed and resumed with the run.
///
/// ```
/// use std::sync::Arc;
/// use burn::prelude::*;
/// use owm_optim::{Chain, ChainConfig, Flow, GradientTransform, Transform, TransformContext};
///
/// /// Gradient centralisation: subtract each gradient's mean.
/// #[derive(Debug)]
/// struct Centralise;
///
/// impl GradientTransform for Centralise {
///     fn name(&self) -> String {
///         "centralise".into()
///     }
///     fn settings(&self) -> serde_json::Value {
///         serde_json::Value::Null
///     }
///     fn update(&self, updates: Vec<Tensor<1>>, _: &mut TransformContext<'_>) -> owm_optim::Result<Flow> {
///         Ok(Flow::Apply(updates.into_iter().map(|u| u.clone() - u.mean()).collect()))
///     }
/// }
///
/// let config = ChainConfig::new(0.01, vec![Transform::custom(&Centralise), Transform::Lr]);
/// let chain = Chain::with_transforms("sgd-gc", config, vec![Arc::new(Centralise)])?;
/// # Ok::<(), owm_optim::Error>(())
/// ```
pub trait GradientTransform: Send + Sync + std::fmt::Debug {
    /// The name the chain's config records it by (`"clip_by_global_norm"`); unique within a chain.
    fn name(&self) -> String;

    /// The settings, as data, for the config and the manifest.
    fn settings(&self) -> serde_json::Value;

    /// The group's new updates, one per parameter of `ctx.paths()`, or [`Flow::Skip`] to skip the whole
    /// step for this group (weights unchanged, the learning-rate schedule not advanced).
    ///
    /// # Shapes
    ///
    /// `updates[i]`, `ctx.params()[i]`, every slot of parameter `i` and each returned update: `[numel]` of
    /// parameter `i`; on a lazy step of a table ([`crate::ChainConfig::lazy`]), `[rows read · row width]`,
    /// the rows the batch read of each, so the stage works on them alone.
    ///
    /// # Errors
    ///
    /// Whatever the transform cannot do (a device read that failed); the step fails with it.
    fn update(&self, updates: Vec<Tensor<1>>, ctx: &mut TransformContext<'_>) -> Result<Flow>;
}

/// What a stage of a chain decided for one group.
#[derive(Debug)]
pub enum Flow {
    /// Go on with these updates.
    Apply(Vec<Tensor<1>>),
    /// Skip the step for this group.
    Skip,
}

/// What a [`GradientTransform`] sees of one group at one step: the parameters, its own state and the
/// learning rate.
pub struct TransformContext<'a> {
    /// `"{group}/{stage}"`: the prefix of this stage's state keys.
    prefix: String,
    paths: &'a [&'a str],
    params: &'a [Tensor<1>],
    /// Per parameter, the rows a lazy step works on (`None`: all of it).
    rows: &'a [Option<TableRows>],
    slots: &'a mut BTreeMap<String, Tensor<1>>,
    counts: &'a mut BTreeMap<String, u64>,
    lr: f64,
    notes: &'a mut Vec<String>,
}

/// The chain's state that a [`TransformContext`] opens to one stage.
pub(crate) struct ChainSlots<'a> {
    pub(crate) slots: &'a mut BTreeMap<String, Tensor<1>>,
    pub(crate) counts: &'a mut BTreeMap<String, u64>,
    pub(crate) notes: &'a mut Vec<String>,
}

impl<'a> TransformContext<'a> {
    pub(crate) fn new(
        group: usize,
        stage: usize,
        (paths, params, rows): (&'a [&'a str], &'a [Tensor<1>], &'a [Option<TableRows>]),
        lr: f64,
        state: ChainSlots<'a>,
    ) -> Self {
        let ChainSlots { slots, counts, notes } = state;
        Self { prefix: format!("{group}/{stage}"), paths, params, rows, slots, counts, lr, notes }
    }

    /// The group's parameter paths, in the order of the updates.
    pub fn paths(&self) -> &[&str] {
        self.paths
    }

    /// The group's weights before this step, in the order of the updates.
    pub fn params(&self) -> &[Tensor<1>] {
        self.params
    }

    /// Takes this stage's slot `name` of parameter `i` out of the state (`None` on its first step);
    /// [`TransformContext::put`] stores it back. On a lazy step of a table it is the rows the batch read.
    pub fn take(&mut self, i: usize, name: &str) -> Option<Tensor<1>> {
        let key = self.key(i, name);
        match self.rows.get(i).and_then(Option::as_ref) {
            Some(rows) => self.slots.get(&key).map(|full| rows.gather(full)),
            None => self.slots.remove(&key),
        }
    }

    /// Stores this stage's slot `name` of parameter `i`; it must have the size of the parameter's update (on
    /// a lazy step of a table, the rows the batch read: the other rows keep their values, zero at first).
    pub fn put(&mut self, i: usize, name: &str, value: Tensor<1>) {
        let key = self.key(i, name);
        let value = match self.rows.get(i).and_then(Option::as_ref) {
            Some(rows) => {
                let full = self.slots.remove(&key).unwrap_or_else(|| Tensor::zeros([rows.numel()], &value.device()));
                rows.scatter(full, value)
            }
            None => value,
        };
        self.slots.insert(key, value);
    }

    /// Counts one more call of this stage and returns the count (1 on the first call): Adam's step, an
    /// accumulation's position.
    pub fn tick(&mut self) -> u64 {
        let count = self.counts.entry(self.prefix.clone()).or_insert(0);
        *count += 1;
        *count
    }

    /// The group's learning rate for this update, from the chain's schedule.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Adds a note to the step's record (`"clipped global norm 3.2 to 1"`).
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    fn key(&self, i: usize, name: &str) -> String {
        format!("{}/{}/{name}", self.prefix, self.paths.get(i).copied().unwrap_or("?"))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use owm_core::{ParamSet, TraceEvent, TraceSink, Validate};

    use super::*;
    use crate::testing::{Half, start};
    use crate::{Chain, ChainConfig, Error, Optimizer, StepContext, Transform};

    /// An exponential moving average of the updates, `e ← β·e + (1 − β)·u` from `e = 0`, noting its step.
    #[derive(Debug)]
    struct Ema {
        beta: f64,
    }

    impl GradientTransform for Ema {
        fn name(&self) -> String {
            "ema".into()
        }
        fn settings(&self) -> serde_json::Value {
            serde_json::json!({ "beta": self.beta })
        }
        fn update(&self, updates: Vec<Tensor<1>>, ctx: &mut TransformContext<'_>) -> Result<Flow> {
            let n = ctx.tick();
            ctx.note(format!("ema {n}"));
            let mut out = Vec::new();
            for (i, u) in updates.into_iter().enumerate() {
                let e = ctx.take(i, "ema").unwrap_or_else(|| u.zeros_like()).mul_scalar(self.beta) + u.mul_scalar(1.0 - self.beta);
                ctx.put(i, "ema", e.clone());
                out.push(e);
            }
            Ok(Flow::Apply(out))
        }
    }

    fn config(beta: f64) -> ChainConfig {
        ChainConfig::new(0.5, vec![Transform::custom(&Ema { beta }), Transform::Lr])
    }

    fn ema_chain(beta: f64) -> Result<Chain> {
        Chain::with_transforms("ema", config(beta), vec![Arc::new(Ema { beta })])
    }

    fn run(chain: &mut Chain, mut params: ParamSet, steps: u64, sink: &mut dyn TraceSink) -> ParamSet {
        let mut objective = Half(params.metas().to_vec());
        for step in 1..=steps {
            params = chain.step(params, &mut objective, StepContext { step, layer_stats: true }, sink).unwrap().params;
        }
        params
    }

    #[test]
    fn a_user_transform_should_take_the_steps_its_formula_gives() {
        // g = w. e₁ = 0.5·[3, 4] = [1.5, 2], w₁ = w₀ − 0.5·e₁ = [2.25, 3];
        // e₂ = 0.5·e₁ + 0.5·w₁ = [1.875, 2.5], w₂ = [1.3125, 1.75]: exact in binary.
        let mut events = Vec::new();
        let w = run(&mut ema_chain(0.5).unwrap(), start(), 2, &mut events).to_host();
        assert_eq!(w, vec![1.3125, 1.75]);
        let notes: Vec<_> = events.iter().map(|e| if let TraceEvent::Step(r) = e { r.notes.clone() } else { Vec::new() }).collect();
        assert_eq!(notes, vec![vec!["ema 1".to_string()], vec!["ema 2".to_string()]]);
    }

    #[test]
    fn a_user_transform_should_be_recorded_by_name_and_settings() {
        let recorded = ema_chain(0.5).unwrap().settings()["transforms"][0].clone();
        assert_eq!(recorded, serde_json::json!({ "kind": "custom", "name": "ema", "settings": { "beta": 0.5 } }));
    }

    #[test]
    fn a_user_transform_should_resume_from_the_chain_state_bit_for_bit() {
        let end = run(&mut ema_chain(0.9).unwrap(), start(), 9, &mut Vec::new());
        let mut first = ema_chain(0.9).unwrap();
        let middle = run(&mut first, start(), 5, &mut Vec::new());
        let mut second = ema_chain(0.9).unwrap();
        second.load_state(&first.state(), &middle).unwrap();
        assert_eq!(run(&mut second, middle, 4, &mut Vec::new()).to_host(), end.to_host());
    }

    #[test]
    fn a_recorded_transform_without_its_implementation_should_be_named() {
        assert!(matches!(Chain::new("ema", config(0.5)), Err(Error::CustomTransform(name)) if name == "ema"));
    }

    #[test]
    fn an_implementation_with_other_settings_should_be_refused() {
        let err = Chain::with_transforms("ema", config(0.5), vec![Arc::new(Ema { beta: 0.9 })]).unwrap_err();
        assert!(matches!(err, Error::TransformSettings { ref name, .. } if name == "ema"), "{err}");
    }

    #[test]
    fn a_custom_transform_needs_a_name() {
        let t = Transform::Custom { name: String::new(), settings: serde_json::Value::Null };
        assert!(matches!(ChainConfig::new(0.1, vec![t, Transform::Lr]).check(), Err(Error::TransformName)));
    }
}
