//! Every gradient preset, schedule and global-norm clipping against PyTorch
//! (fixture written by `tools/reference_presets.py`).

use burn::prelude::*;
use owm_core::{Fitness, Gradient, NullSink, Objective, ParamMeta, ParamSet, Sample};
use owm_optim::{OptimizerConfig, PlateauState, Schedule, StepContext};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    steps: u64,
    x: Vec<f32>,
    y: Vec<i64>,
    init: Init,
    presets: Vec<Preset>,
    schedules: Vec<ScheduleCase>,
}

#[derive(Deserialize, Clone)]
struct Init {
    w1: Vec<f32>,
    b1: Vec<f32>,
    w2: Vec<f32>,
    b2: Vec<f32>,
}

#[derive(Deserialize)]
struct Preset {
    name: String,
    config: OptimizerConfig,
    #[serde(rename = "final")]
    weights: Init,
    losses: Vec<f64>,
}

#[derive(Deserialize)]
struct ScheduleCase {
    name: String,
    schedule: Schedule,
    lrs: Vec<f64>,
    #[serde(default)]
    metrics: Vec<f64>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("../fixtures/pytorch_presets.json")).unwrap()
}

/// `tanh(x·W1 + b1)·W2 + b2`, mean cross-entropy, gradients by Burn's autodiff.
struct Net {
    params: Vec<ParamMeta>,
    x: Tensor<2>,
    y: Tensor<1, Int>,
}

impl Objective for Net {
    fn params(&self) -> &[ParamMeta] {
        &self.params
    }

    fn gradient(&mut self, params: &ParamSet) -> owm_core::Result<Gradient> {
        let t: Vec<Tensor<1>> = params.tensors().iter().map(|t| t.clone().autodiff().require_grad()).collect();
        let w1 = t[0].clone().reshape([4, 5]);
        let w2 = t[2].clone().reshape([5, 3]);
        let h = (self.x.clone().autodiff().matmul(w1) + t[1].clone().unsqueeze()).tanh();
        let logits = h.matmul(w2) + t[3].clone().unsqueeze();
        let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&logits.device()).forward(logits, self.y.clone().autodiff());
        let value = loss.clone().into_data().convert::<f64>().try_into_vec::<f64>().unwrap()[0];
        let grads = loss.backward();
        let grads = t.iter().map(|p| p.grad(&grads)).collect();
        Ok(Gradient { loss: value, grads, items: 8, correct: None, epoch: 1, epoch_end: true, batch: None, rows: Vec::new() })
    }

    fn evaluate(&mut self, _: &[Vec<f32>], _: Sample) -> owm_core::Result<Vec<Fitness>> {
        unreachable!("gradient presets only")
    }

    fn train_items(&self) -> usize {
        8
    }
}

fn start(f: &Fixture, device: &Device) -> (ParamSet, Net) {
    let metas: Vec<ParamMeta> =
        [("w1", vec![4, 5]), ("b1", vec![5]), ("w2", vec![5, 3]), ("b2", vec![3])].into_iter().map(|(p, s)| ParamMeta { path: p.into(), shape: s }).collect();
    let v = |d: &[f32]| Tensor::<1>::from_data(TensorData::new(d.to_vec(), [d.len()]), device);
    let values = vec![v(&f.init.w1), v(&f.init.b1), v(&f.init.w2), v(&f.init.b2)];
    let x = Tensor::<2>::from_data(TensorData::new(f.x.clone(), [8, 4]), device);
    let y = Tensor::<1, Int>::from_data(TensorData::new(f.y.clone(), [8]), device);
    (ParamSet::new(metas.clone(), values).unwrap(), Net { params: metas, x, y })
}

/// Both sides compute in f32 and round differently (fused vs. separate bias corrections, say); over 100
/// steps the weights agree within 1e-4 relative (absolute below 1).
const TOL: f64 = 1e-4;

#[test]
fn presets_should_follow_pytorch_for_100_steps() {
    let f = fixture();
    let device = Device::flex();
    assert_eq!(f.presets.len(), 12);
    for case in &f.presets {
        let (mut params, mut net) = start(&f, &device);
        let mut optim = case.config.build(0).unwrap();
        for step in 1..=f.steps {
            let stepped = optim.step(params, &mut net, StepContext { step, layer_stats: false }, &mut NullSink).unwrap();
            let want = case.losses[step as usize - 1];
            assert!((stepped.loss - want).abs() <= TOL * want.abs().max(1.0), "{} step {step}: loss {} vs {want}", case.name, stepped.loss);
            params = stepped.params;
        }
        let got = params.to_host();
        let want: Vec<f32> = [&case.weights.w1, &case.weights.b1, &case.weights.w2, &case.weights.b2].into_iter().flatten().copied().collect();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let (g, w) = (f64::from(*g), f64::from(*w));
            assert!((g - w).abs() <= TOL * w.abs().max(1.0), "{}: weight {i}: {g} vs {w}", case.name);
        }
    }
}

#[test]
fn clipping_should_report_the_norm_pytorch_clipped_from() {
    let f = fixture();
    let norms: Vec<f64> = serde_json::from_str::<serde_json::Value>(include_str!("../fixtures/pytorch_presets.json")).unwrap()["presets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sgd_clip_norm")
        .unwrap()["clip_norms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let case = f.presets.iter().find(|p| p.name == "sgd_clip_norm").unwrap();
    let (mut params, mut net) = start(&f, &Device::flex());
    let mut optim = case.config.build(0).unwrap();
    let mut trace = Vec::new();
    for step in 1..=f.steps {
        params = optim.step(params, &mut net, StepContext { step, layer_stats: false }, &mut trace).unwrap().params;
    }
    let mut clipped = 0;
    for (event, want) in trace.iter().zip(&norms) {
        let owm_core::TraceEvent::Step(r) = event else { panic!("{event:?}") };
        if *want > 0.25 {
            clipped += 1;
            let note = r.notes.first().unwrap_or_else(|| panic!("step {}: no clip note, torch norm {want}", r.step));
            let got: f64 = note.split_whitespace().nth(3).unwrap().parse().unwrap();
            assert!((got - want).abs() <= 1e-4 * want, "step {}: {got} vs {want}", r.step);
        } else {
            assert!(r.notes.is_empty(), "step {}: {:?} but torch norm {want}", r.step, r.notes);
        }
    }
    assert!(clipped >= 5, "the case should exercise clipping ({clipped} clipped steps)");
}

#[test]
fn schedules_should_follow_pytorch_for_1000_steps() {
    let f = fixture();
    assert_eq!(f.schedules.len(), 7);
    for case in &f.schedules {
        let mut plateau = case.schedule.plateau_state(0.1);
        for (t, want) in case.lrs.iter().enumerate() {
            let got = match &plateau {
                Some(p) => p.lr,
                None => case.schedule.lr(0.1, t as u64),
            };
            // PyTorch updates cosine annealing recursively; closed and recursive forms differ by rounding.
            assert!((got - want).abs() <= 1e-9 + 1e-6 * want.abs(), "{} step {t}: {got} vs {want}", case.name);
            if let Some(p) = &mut plateau {
                let _ = PlateauState::observe(p, &case.schedule, case.metrics[t]);
            }
        }
    }
}
