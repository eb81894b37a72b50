//! "Pretrained" as an init strategy: some parameters from a verified bundle, the rest drawn at random; the
//! trace, the init records and the manifest's lineage say which tensor came from which bundle.

use owm_core::{TraceEvent, WeightsAt};
use owm_init::{InitPlan, InitStrategy};
use owm_optim::ConvergenceConfig;
use owm_train::{ExperimentConfig, train};

fn config(epochs: u64) -> ExperimentConfig {
    ExperimentConfig { convergence: ConvergenceConfig::epochs(epochs), ..ExperimentConfig::default() }
}

#[test]
fn a_pretrained_rule_should_start_from_the_bundles_tensors_and_record_it() {
    let dir = owm_testkit::tempdir();
    let base = train(&config(5), &dir.path().join("base"), false).unwrap();
    let source = base.bundle_dir.to_str().unwrap().to_string();
    let mut c = config(1);
    c.init = InitPlan::new().rule("layers.0.*", InitStrategy::Pretrained { source: source.clone(), from: None });
    c.init.rules.extend(InitPlan::he_uniform().rules);
    let run = train(&c, &dir.path().join("transfer"), false).unwrap();

    let trace = owm_trace::read_trace(run.run_dir.join("trace.jsonl")).unwrap();
    let initial = trace
        .events
        .iter()
        .find_map(|e| match e {
            TraceEvent::Weights(w) if w.at == WeightsAt::Initial => Some(w.digests.clone()),
            _ => None,
        })
        .unwrap();
    let digest = |path: &str| initial.iter().find(|(p, _)| p == path).map(|(_, d)| d.clone()).unwrap();
    assert_eq!(digest("layers.0.weight"), base.manifest.tensors["layers.0.weight"].sha256, "starts from the base's tensor");
    assert_eq!(digest("layers.0.bias"), base.manifest.tensors["layers.0.bias"].sha256);
    assert_ne!(digest("layers.1.weight"), base.manifest.tensors["layers.1.weight"].sha256, "the head is drawn afresh");
    let record = trace
        .events
        .iter()
        .find_map(|e| match e {
            TraceEvent::ParamInit(r) if r.path == "layers.0.weight" => Some(r.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(record.strategy["kind"], "pretrained");
    assert_eq!(record.strategy["source"], source.as_str());
    assert_eq!(record.strategy["digest"], base.manifest.bundle_digest.as_str());
    assert_eq!(run.manifest.lineage[0].bundle_digest, base.manifest.bundle_digest);

    // A source that is not a bundle is named.
    let mut missing = c.clone();
    missing.init.rules[0].strategy = InitStrategy::Pretrained { source: dir.path().join("nowhere").display().to_string(), from: None };
    let err = train(&missing, &dir.path().join("missing"), false).unwrap_err().to_string();
    assert!(err.contains("nowhere"), "{err}");
}
