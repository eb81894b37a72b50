use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use owm_core::{Control, LayerStats, StepRecord, TraceEvent, TraceSink, Validate, flat_grads, flat_params};
use serde::{Deserialize, Serialize};

use crate::{AdamConfig, Error, GdConfig, Result, SgdConfig};

/// Which optimiser to use, as stored in experiment configs and bundle manifests.
///
/// JSON: `{"kind": "gd", "lr": 0.5}`, `{"kind": "sgd", "lr": 0.1, "momentum": 0.9}`,
/// `{"kind": "adam", "lr": 0.001}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OptimizerConfig {
    /// Full-batch gradient descent.
    Gd(GdConfig),
    /// Mini-batch SGD with optional momentum.
    Sgd(SgdConfig),
    /// Adam.
    Adam(AdamConfig),
}

impl OptimizerConfig {
    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Gd(c) => c.lr,
            OptimizerConfig::Sgd(c) => c.lr,
            OptimizerConfig::Adam(c) => c.lr,
        }
    }

    /// A short name for reports (`"gd"`, `"sgd"`, `"adam"`).
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Gd(_) => "gd",
            OptimizerConfig::Sgd(_) => "sgd",
            OptimizerConfig::Adam(_) => "adam",
        }
    }
}

impl Validate for OptimizerConfig {
    type Error = Error;

    fn check(&self) -> Result<()> {
        match self {
            OptimizerConfig::Gd(c) => c.check(),
            OptimizerConfig::Sgd(c) => c.check(),
            OptimizerConfig::Adam(c) => c.check(),
        }
    }
}

/// Where a step sits in the run, for its trace record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepInfo {
    /// Step number, from 1.
    pub step: u64,
    /// Epoch number, from 1.
    pub epoch: u64,
    /// The loss the gradients came from.
    pub loss: f64,
}

/// A ready-to-step optimiser: Burn's `ModuleOptimizer` plus the learning rate and per-layer tracing.
#[derive(Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    inner: ModuleOptimizer,
    layer_stats: bool,
}

impl std::fmt::Debug for Optimizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Optimizer").field("config", &self.config).field("layer_stats", &self.layer_stats).finish()
    }
}

impl Optimizer {
    /// Builds the optimiser after checking the config.
    ///
    /// # Errors
    ///
    /// The variant of [`Error`] for the first rule `config` breaks.
    pub fn new(config: &OptimizerConfig) -> Result<Self> {
        config.check()?;
        let inner = match config {
            OptimizerConfig::Gd(_) => burn::optim::SgdConfig::new().init(),
            OptimizerConfig::Sgd(c) => c.to_burn().init(),
            OptimizerConfig::Adam(c) => c.to_burn().init(),
        };
        Ok(Self { config: config.clone(), inner, layer_stats: true })
    }

    /// Turns per-layer statistics on (the default) or off; off, a step record carries only loss and lr and the
    /// step costs no extra read-back.
    pub fn with_layer_stats(mut self, on: bool) -> Self {
        self.layer_stats = on;
        self
    }

    /// The config this optimiser was built from.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Whether each gradient must be taken over the whole training split (gradient descent).
    pub fn full_batch(&self) -> bool {
        matches!(self.config, OptimizerConfig::Gd(_))
    }

    /// Applies one update to `module` and pushes its [`StepRecord`] into `sink`.
    ///
    /// With layer statistics on, the four norms of every parameter are computed on the device and read back in
    /// one transfer.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] when the sink fails.
    pub fn step<M: Module>(
        &mut self,
        module: M,
        grads: GradientsParams,
        info: StepInfo,
        sink: &mut dyn TraceSink,
    ) -> Result<(M, Control)> {
        let lr = self.config.lr();
        let before = self.layer_stats.then(|| (flat_params(&module), flat_grads(&module, &grads)));
        let module = self.inner.step(lr, module, grads);
        let layers = match before {
            Some((before, grads)) => layer_stats(before, grads, flat_params(&module)),
            None => Vec::new(),
        };
        let record = StepRecord { step: info.step, epoch: info.epoch, loss: info.loss, lr, layers };
        let control = sink.on_event(&TraceEvent::Step(record))?;
        Ok((module, control))
    }
}

/// ‖g‖, ‖w‖, ‖Δw‖ and ‖Δw‖/‖w_before‖ per parameter, computed on the device and read back in one transfer.
fn layer_stats(
    before: Vec<(String, Tensor<1>)>,
    grads: Vec<(String, Option<Tensor<1>>)>,
    after: Vec<(String, Tensor<1>)>,
) -> Vec<LayerStats> {
    let Some(device) = after.first().map(|(_, t)| t.device()) else { return Vec::new() };
    let sq = |t: Tensor<1>| t.square().sum();
    let mut sums = Vec::with_capacity(after.len() * 4);
    for (((_, b), (_, g)), (_, a)) in before.iter().zip(&grads).zip(&after) {
        sums.push(g.clone().map_or_else(|| Tensor::<1>::full([1], f32::NAN, &device), sq));
        sums.push(sq(a.clone()));
        sums.push(sq(a.clone() - b.clone()));
        sums.push(sq(b.clone()));
    }
    let values = Tensor::cat(sums, 0).into_data().convert::<f64>().try_to_vec::<f64>().unwrap_or_default();
    after
        .into_iter()
        .zip(values.chunks_exact(4))
        .map(|((path, _), v)| {
            let (g, w, u, w0) = (v[0].sqrt(), v[1].sqrt(), v[2].sqrt(), v[3].sqrt());
            LayerStats {
                path,
                grad_norm: g,
                weight_norm: w,
                update_norm: u,
                update_ratio: if w0 > 0.0 { u / w0 } else if u == 0.0 { 0.0 } else { f64::INFINITY },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;

    #[derive(Module, Debug)]
    struct Point {
        w: Param<Tensor<1>>,
    }

    #[test]
    fn should_trace_norms_of_a_known_step() {
        let device = Device::flex().autodiff();
        let point = Point { w: Param::from_data(TensorData::new(vec![3.0f32, 4.0], [2]), &device) };
        // L = 0.5·‖w‖², so g = w = [3, 4]; one GD step with lr 0.5 gives w = [1.5, 2].
        let loss = point.w.val().square().sum().mul_scalar(0.5);
        let grads = GradientsParams::from_grads(loss.backward(), &point);
        let mut optim = Optimizer::new(&OptimizerConfig::Gd(GdConfig::new(0.5))).unwrap();
        let mut trace = Vec::new();
        let info = StepInfo { step: 1, epoch: 1, loss: 12.5 };
        let (point, control) = optim.step(point, grads, info, &mut trace).unwrap();
        assert_eq!(control, Control::Continue);
        assert_eq!(point.w.val().into_data().try_to_vec::<f32>().unwrap(), [1.5, 2.0]);
        let TraceEvent::Step(record) = &trace[0] else { panic!("{trace:?}") };
        let l = &record.layers[0];
        assert_eq!((l.path.as_str(), l.grad_norm, l.weight_norm, l.update_norm, l.update_ratio), ("w", 5.0, 2.5, 2.5, 0.5));
        assert_eq!((record.loss, record.lr), (12.5, 0.5));
    }

    #[test]
    fn should_skip_layer_statistics_when_off() {
        let device = Device::flex().autodiff();
        let point = Point { w: Param::from_data(TensorData::new(vec![1.0f32], [1]), &device) };
        let grads = GradientsParams::from_grads(point.w.val().sum().backward(), &point);
        let mut optim = Optimizer::new(&OptimizerConfig::Sgd(SgdConfig::new(0.1))).unwrap().with_layer_stats(false);
        let mut trace = Vec::new();
        let _ = optim.step(point, grads, StepInfo { step: 1, epoch: 1, loss: 1.0 }, &mut trace).unwrap();
        assert!(matches!(&trace[0], TraceEvent::Step(r) if r.layers.is_empty()));
    }

    #[test]
    fn should_reject_an_invalid_config() {
        assert!(matches!(Optimizer::new(&OptimizerConfig::Adam(AdamConfig::new(-1.0))), Err(Error::LearningRate(_))));
    }
}
