//! Properties of the trace: what a sink writes reads back as the same events, non-finite values included.

use owm_core::{LayerStats, StepRecord, TraceEvent, TraceSink};
use owm_trace::{JsonlSink, read_trace};
use proptest::prelude::*;

/// Any f64 the trace may hold, NaN and infinities included (stored through `serde_float`).
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY), any::<f64>().prop_filter("finite", |v| v.is_finite())]
}

/// An f32-valued statistic (layer statistics are f32 quantities).
fn stat() -> impl Strategy<Value = f64> {
    prop_oneof![Just(f64::NAN), Just(f64::INFINITY), any::<f32>().prop_filter("finite", |v| v.is_finite()).prop_map(f64::from)]
}

fn step() -> impl Strategy<Value = StepRecord> {
    (any::<u32>(), value(), 0.0f64..1.0, prop::collection::vec(("[a-z]{1,6}\\.(weight|bias)", stat(), stat()), 0..3)).prop_map(|(step, loss, lr, layers)| {
        StepRecord {
            step: u64::from(step),
            epoch: u64::from(step / 10),
            loss,
            lr,
            layers: layers
                .into_iter()
                .map(|(path, g, w)| LayerStats { path, grad_norm: g, weight_norm: w, update_norm: g, update_ratio: w, sign_flips: 0.5, zero_grads: 0.0 })
                .collect(),
            group_lrs: Default::default(),
            batch: Some(format!("{step:016x}")),
            notes: Vec::new(),
            privacy: None,
        }
    })
}

/// Equality that counts NaN equal to NaN.
fn same(a: &TraceEvent, b: &TraceEvent) -> bool {
    let canon = |e: &TraceEvent| serde_json::to_string(e).unwrap();
    canon(a) == canon(b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_events_should_read_back_the_same(steps in prop::collection::vec(step(), 0..20)) {
        let dir = owm_testkit::tempdir();
        let path = dir.path().join("trace.jsonl");
        let events: Vec<TraceEvent> = steps.into_iter().map(TraceEvent::Step).collect();
        let mut sink = JsonlSink::create(&path).unwrap();
        for e in &events {
            let _ = sink.on_event(e).unwrap();
        }
        let digest = sink.finish().unwrap();
        let trace = read_trace(&path).unwrap();
        prop_assert!(!trace.torn_tail);
        prop_assert_eq!(trace.events.len(), events.len());
        for (a, b) in trace.events.iter().zip(&events) {
            prop_assert!(same(a, b), "{:?} vs {:?}", a, b);
        }
        prop_assert_eq!(owm_trace::file_digest(&path).unwrap(), digest);
    }
}
