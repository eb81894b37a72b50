//! The explanation of a run flags what went wrong, and stays quiet about a healthy run.

use owm_init::{FanMode, InitPlan, InitStrategy};
use owm_optim::{AdamConfig, ConvergenceConfig, OptimizerConfig, PathGroup, SgdConfig};
use owm_trace::{Explanation, Severity, explain, read_trace};
use owm_train::{ExperimentConfig, files, train};

fn explained(config: &ExperimentConfig) -> Explanation {
    let dir = owm_testkit::tempdir();
    let run = train(config, &dir.path().join("run"), false).unwrap();
    explain(&read_trace(run.run_dir.join(files::TRACE)).unwrap())
}

fn fired<'a>(e: &'a Explanation, rule: &str) -> Vec<&'a owm_trace::Finding> {
    e.findings.iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn the_default_run_should_raise_nothing_alarming() {
    let e = explained(&ExperimentConfig::default());
    assert_eq!(e.at_least(Severity::Warning).count(), 0, "{e:#?}");
    assert!(e.stop.contains("reached the epoch budget (200)"), "{}", e.stop);
    assert_eq!(fired(&e, "changed_most").len(), 1, "{e:#?}");
}

#[test]
fn a_learning_rate_far_too_high_should_be_flagged_as_diverging() {
    let config =
        ExperimentConfig { optimizer: OptimizerConfig::Sgd(SgdConfig::new(5.0)), convergence: ConvergenceConfig::epochs(3), ..ExperimentConfig::default() };
    let e = explained(&config);
    let diverged = fired(&e, "diverged");
    assert!(diverged.iter().any(|f| f.severity == Severity::Alarm), "{e:#?}");
    assert!(!fired(&e, "lr_too_high").is_empty() || !fired(&e, "exploding_gradients").is_empty(), "{e:#?}");
}

#[test]
fn a_frozen_layer_should_be_named() {
    let mut adam = AdamConfig::new(1e-3);
    adam.extras.groups = vec![PathGroup::freeze("layers.0.*")];
    let config = ExperimentConfig { optimizer: OptimizerConfig::Adam(adam), convergence: ConvergenceConfig::epochs(3), ..ExperimentConfig::default() };
    let e = explained(&config);
    let frozen: Vec<Option<&str>> = fired(&e, "frozen").iter().map(|f| f.path.as_deref()).collect();
    assert_eq!(frozen, [Some("layers.0.weight"), Some("layers.0.bias")], "{e:#?}");
    assert!(fired(&e, "frozen").iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn dead_relu_units_should_be_flagged() {
    // Hidden biases of −4 put most hidden units below zero for every input: their ReLUs never fire.
    let init = InitPlan::new()
        .rule("layers.0.bias", InitStrategy::Constant { value: -4.0 })
        .rule("*.bias", InitStrategy::Zeros)
        .rule("*", InitStrategy::KaimingUniform { gain: std::f64::consts::SQRT_2, mode: FanMode::FanIn });
    let config = ExperimentConfig { init, convergence: ConvergenceConfig::epochs(3), ..ExperimentConfig::default() };
    let e = explained(&config);
    let dead = fired(&e, "dead_units");
    assert_eq!(dead.iter().map(|f| f.path.as_deref()).collect::<Vec<_>>(), [Some("layers.0.bias")], "{e:#?}");
}
