//! What `TraceConfig` asks for is what the trace holds.

use owm_core::{TraceEvent, WeightsAt};
use owm_optim::ConvergenceConfig;
use owm_train::{ExperimentConfig, TraceConfig, files, train};

#[test]
fn the_trace_should_hold_what_the_trace_config_asks_for() {
    let trace_config = TraceConfig {
        stats_every: 5,
        paths: vec!["layers.1.*".into()],
        histogram_every: 20,
        histogram_bins: 8,
        digest_every: 30,
        snapshot_paths: vec!["layers.1.bias".into()],
        snapshot_steps: vec![0, 10],
        checkpoint_every: 0,
        validation_every: 1,
    };
    let config = ExperimentConfig { convergence: ConvergenceConfig::steps(45), trace: trace_config, ..ExperimentConfig::default() };
    let dir = owm_testkit::tempdir();
    let run = train(&config, &dir.path().join("run"), false).unwrap();
    let trace = owm_trace::read_trace(run.run_dir.join(files::TRACE)).unwrap();

    // Statistics every 5th step, of layers.1.* only; every step keeps its loss and batch digest.
    for s in trace.steps() {
        let paths: Vec<&str> = s.layers.iter().map(|l| l.path.as_str()).collect();
        let expected: &[&str] = if s.step % 5 == 0 { &["layers.1.weight", "layers.1.bias"] } else { &[] };
        assert_eq!(paths, expected, "step {}", s.step);
        assert_eq!(s.batch.as_deref().map(str::len), Some(16));
    }
    // Histograms of the kept paths at 0, 20, 40 and the final 45, each counting every value.
    let histograms: Vec<(u64, &str, u64)> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Distribution(d) => Some((d.step, d.path.as_str(), d.counts.iter().sum())),
            _ => None,
        })
        .collect();
    let expected: Vec<(u64, &str, u64)> = [0, 20, 40, 45].iter().flat_map(|&s| [(s, "layers.1.weight", 1280), (s, "layers.1.bias", 10)]).collect();
    assert_eq!(histograms, expected);
    // Digests at 0, 30 and the end; snapshots at 0 (zero biases) and 10.
    let digests: Vec<(u64, WeightsAt)> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Weights(w) => Some((w.step, w.at)),
            _ => None,
        })
        .collect();
    assert_eq!(digests, [(0, WeightsAt::Initial), (30, WeightsAt::Periodic), (45, WeightsAt::Final)]);
    let snapshots: Vec<(u64, Vec<f32>)> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            TraceEvent::Snapshot(s) => Some((s.step, s.values.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(snapshots.len(), 2);
    assert_eq!((snapshots[0].0, snapshots[0].1.clone()), (0, vec![0.0; 10]));
    assert_eq!(snapshots[1].0, 10);
    assert!(snapshots[1].1.iter().any(|v| *v != 0.0));
    // The final digests are the bundle's tensor digests.
    let Some(TraceEvent::Weights(last)) = trace.events.iter().rev().find(|e| matches!(e, TraceEvent::Weights(_))) else { panic!() };
    for (path, digest) in &last.digests {
        assert_eq!(&run.manifest.tensors[path].sha256, digest, "{path}");
    }
    // The environment is recorded.
    let Some(TraceEvent::RunStarted { env: Some(env), .. }) = trace.events.first() else { panic!("no env") };
    assert_eq!((env.burn.as_str(), env.backend.as_str()), ("0.22.1", "flex"));
    assert!(env.threads >= 1);
}
