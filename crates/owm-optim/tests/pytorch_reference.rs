//! Runs each optimiser on a small quadratic and compares every step with PyTorch
//! (fixture written by `tools/reference_optim.py`).

use burn::module::Param;
use burn::optim::GradientsParams;
use burn::prelude::*;
use owm_core::NullSink;
use owm_optim::{Optimizer, OptimizerConfig, StepInfo};
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    w0: Vec<f32>,
    c: Vec<f32>,
    b: Vec<f32>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    config: OptimizerConfig,
    trajectory: Vec<Vec<f32>>,
}

#[derive(Module, Debug)]
struct Point {
    w: Param<Tensor<1>>,
}

/// Both sides compute in f32; Burn folds Adam's bias corrections into one factor, so allow a few ulps.
const TOL: f32 = 2e-6;

#[test]
fn should_follow_pytorch_trajectories() {
    let f: Fixture = serde_json::from_str(include_str!("fixtures/pytorch_optim.json")).unwrap();
    let device = Device::flex().autodiff();
    let tensor = |v: &[f32]| Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
    assert_eq!(f.cases.len(), 6);
    for case in f.cases {
        let mut optim = Optimizer::new(&case.config).unwrap();
        let mut point = Point { w: Param::from_data(TensorData::new(f.w0.clone(), [f.w0.len()]), &device) };
        for (step, expected) in case.trajectory.iter().enumerate() {
            let w = point.w.val();
            let loss = (tensor(&f.c) * w.clone() * w.clone()).sum().mul_scalar(0.5) + (tensor(&f.b) * w).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &point);
            let info = StepInfo { step: step as u64 + 1, epoch: 1, loss: 0.0 };
            point = optim.step(point, grads, info, &mut NullSink).unwrap().0;
            let got = point.w.val().into_data().try_to_vec::<f32>().unwrap();
            for (g, e) in got.iter().zip(expected) {
                assert!((g - e).abs() <= TOL * e.abs().max(1.0), "{} step {}: {got:?} vs {expected:?}", case.name, step + 1);
            }
        }
    }
}
