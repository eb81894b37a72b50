//! The same pipeline on the other compiled backends: `wgpu` (Mesa's lavapipe in CI) and `ndarray`.
#![cfg(any(feature = "wgpu", feature = "ndarray"))]

use burn::prelude::*;
use owm_core::BackendKind;
use owm_data::{DataConfig, Normalizer};
use owm_init::InitPlan;
use owm_models::ModelConfig;
use owm_optim::ConvergenceConfig;
use owm_train::{ExperimentConfig, files, logits, train};

/// Logits of the same (host-initialised) LeNet-5 and MLP weights on `backend` and on flex.
fn max_logit_gap(backend: BackendKind) -> f32 {
    let test = DataConfig::digits().load(42).unwrap().test;
    let norm = Normalizer::fit(&test).unwrap();
    let mut gap = 0f32;
    for model in [ModelConfig::Mlp { hidden: vec![64, 32] }, ModelConfig::LeNet5 { conv1_padding: 4 }] {
        let out = |device: Device| {
            let m = model.init(&test.input_spec(), 10, &device).unwrap();
            let (m, _) = InitPlan::he_uniform().apply(m, 9).unwrap();
            logits(&m, &test, Some(&norm), &device, 128)
        };
        let (cpu, other) = (out(Device::flex()), out(backend.device().unwrap()));
        assert_eq!(cpu.len(), other.len());
        gap = cpu.iter().zip(&other).map(|(a, b)| (a - b).abs()).fold(gap, f32::max);
    }
    gap
}

fn epoch_losses(backend: BackendKind) -> Vec<f64> {
    let dir = owm_testkit::tempdir();
    let config = ExperimentConfig { backend: backend.clone(), convergence: ConvergenceConfig::epochs(3), ..ExperimentConfig::default() };
    let report = train(&config, &dir.path().join("run"), false).unwrap();
    assert_eq!(report.manifest.backend, backend.name());
    assert!(report.evaluation.report.accuracy > 0.8, "accuracy {} on {backend}", report.evaluation.report.accuracy);
    let trace = owm_trace::read_trace(report.run_dir.join(files::TRACE)).unwrap();
    trace.epochs().map(|r| r.train_loss).collect()
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_logits_should_match_cpu_within_1e_4() {
    let gap = max_logit_gap(BackendKind::Wgpu);
    assert!(gap < 1e-4, "max |cpu - wgpu| logit gap {gap}");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_training_should_decrease_the_loss() {
    let losses = epoch_losses(BackendKind::Wgpu);
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_logits_should_match_cpu_within_1e_4() {
    let gap = max_logit_gap(BackendKind::NdArray);
    assert!(gap < 1e-4, "max |cpu - ndarray| logit gap {gap}");
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_training_should_decrease_the_loss() {
    let losses = epoch_losses(BackendKind::NdArray);
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
}

/// Losses of the same candidate weight vectors evaluated by the pipeline's objective on `backend` and on flex.
fn candidate_loss_gap(backend: BackendKind) -> f64 {
    let splits = DataConfig::digits().load(42).unwrap();
    let norm = Normalizer::fit(&splits.train).unwrap();
    let model = ModelConfig::Mlp { hidden: vec![32] };
    let losses = |device: Device| {
        let m = model.init(&splits.train.input_spec(), 10, &device.clone().autodiff()).unwrap();
        let (m, _) = InitPlan::he_uniform().apply(m, 9).unwrap();
        let x0 = owm_core::ParamSet::of(&m).to_host();
        let candidates: Vec<Vec<f32>> = (0..4).map(|k| x0.iter().map(|w| w * (1.0 + 0.1 * k as f32)).collect()).collect();
        let mut objective = owm_train::DatasetObjective::new(m, &splits.train, Some(&norm), &device, 42, 32);
        owm_core::Objective::evaluate(&mut objective, &candidates, owm_core::Sample::Full).unwrap()
    };
    let (cpu, other) = (losses(Device::flex()), losses(backend.device().unwrap()));
    cpu.iter().zip(&other).map(|(a, b)| (a.loss - b.loss).abs().max((a.accuracy.unwrap() - b.accuracy.unwrap()).abs())).fold(0.0, f64::max)
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_candidate_losses_should_match_cpu_within_1e_4() {
    let gap = candidate_loss_gap(BackendKind::Wgpu);
    assert!(gap < 1e-4, "max |cpu - wgpu| candidate loss gap {gap}");
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_should_run_a_ga_then_adam() {
    let dir = owm_testkit::tempdir();
    let mut config = ExperimentConfig {
        backend: BackendKind::Wgpu,
        model: ModelConfig::Mlp { hidden: vec![32] },
        optimizer: owm_optim::OptimizerConfig::Ga(owm_optim::GaConfig { population: 8, ..Default::default() }),
        convergence: ConvergenceConfig::steps(3),
        ..ExperimentConfig::default()
    };
    config.then =
        vec![owm_optim::PhaseConfig { optimizer: owm_optim::OptimizerConfig::Adam(owm_optim::AdamConfig::new(1e-3)), until: ConvergenceConfig::epochs(2) }];
    let report = train(&config, &dir.path().join("run"), false).unwrap();
    assert_eq!(report.training.phases.len(), 2);
    // Three small generations then two epochs: far from converged, but well above chance (0.1).
    assert!(report.evaluation.report.accuracy > 0.5, "accuracy {}", report.evaluation.report.accuracy);
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_candidate_losses_should_match_cpu_within_1e_4() {
    let gap = candidate_loss_gap(BackendKind::NdArray);
    assert!(gap < 1e-4, "max |cpu - ndarray| candidate loss gap {gap}");
}
