//! A trace as a TensorBoard event file (`owm trace RUN --tensorboard DIR`), written from the trace alone, so
//! TensorBoard, the Hugging Face Hub's metrics tab or any TFRecord reader shows OWM's runs.
//!
//! The file is a TFRecord stream: each record is its length (u64, little-endian), the masked CRC-32C of the
//! length, an `Event` protobuf, and the masked CRC-32C of the event. The first event says
//! `file_version = "brain.Event:2"`; then, per step, scalars as `Summary.Value.simple_value` (`loss`, `lr`,
//! `lr/GROUP`, `PARAM/grad_norm`, `update_ratio` and the other per-layer statistics, `privacy/…`), search
//! generations (`search/…`), epochs (`epoch/…`) and validation metrics (`validation/…`), the recorded weight
//! distributions as `HistogramProto`s, and the run's settings as TensorBoard's HParams session start.
//!
//! The trace records no clock, so an event's `wall_time` is its step: the same trace gives the same bytes.

use owm_core::TraceEvent;
use prost::Message;

use crate::Trace;

/// `tensorboard.Event`.
#[derive(Clone, PartialEq, prost::Message)]
struct Event {
    #[prost(double, tag = "1")]
    wall_time: f64,
    #[prost(int64, tag = "2")]
    step: i64,
    #[prost(string, tag = "3")]
    file_version: String,
    #[prost(message, optional, tag = "5")]
    summary: Option<Summary>,
}

/// `tensorboard.Summary`.
#[derive(Clone, PartialEq, prost::Message)]
struct Summary {
    #[prost(message, repeated, tag = "1")]
    value: Vec<Value>,
}

/// `tensorboard.Summary.Value`: a scalar, a histogram, or plugin data alone.
#[derive(Clone, PartialEq, prost::Message)]
struct Value {
    #[prost(string, tag = "1")]
    tag: String,
    #[prost(float, optional, tag = "2")]
    simple_value: Option<f32>,
    #[prost(message, optional, tag = "5")]
    histo: Option<HistogramProto>,
    #[prost(message, optional, tag = "9")]
    metadata: Option<SummaryMetadata>,
}

/// `tensorboard.HistogramProto`: `bucket[i]` values at or below `bucket_limit[i]` (and above the previous limit).
#[derive(Clone, PartialEq, prost::Message)]
struct HistogramProto {
    #[prost(double, tag = "1")]
    min: f64,
    #[prost(double, tag = "2")]
    max: f64,
    #[prost(double, tag = "3")]
    num: f64,
    #[prost(double, tag = "4")]
    sum: f64,
    #[prost(double, tag = "5")]
    sum_squares: f64,
    #[prost(double, repeated, tag = "6")]
    bucket_limit: Vec<f64>,
    #[prost(double, repeated, tag = "7")]
    bucket: Vec<f64>,
}

/// `tensorboard.SummaryMetadata` with its `PluginData`.
#[derive(Clone, PartialEq, prost::Message)]
struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    plugin_data: Option<PluginData>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct PluginData {
    #[prost(string, tag = "1")]
    plugin_name: String,
    #[prost(bytes = "vec", tag = "2")]
    content: Vec<u8>,
}

/// `tensorboard.hparams.HParamsPluginData` with a `SessionStartInfo`.
#[derive(Clone, PartialEq, prost::Message)]
struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    version: i32,
    #[prost(message, optional, tag = "3")]
    session_start_info: Option<SessionStartInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SessionStartInfo {
    #[prost(btree_map = "string, message", tag = "1")]
    hparams: std::collections::BTreeMap<String, HParamValue>,
}

/// `google.protobuf.Value`: a number, a string or a bool.
#[derive(Clone, PartialEq, prost::Message)]
struct HParamValue {
    #[prost(oneof = "Kind", tags = "2, 3, 4")]
    kind: Option<Kind>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
enum Kind {
    #[prost(double, tag = "2")]
    Number(f64),
    #[prost(string, tag = "3")]
    Text(String),
    #[prost(bool, tag = "4")]
    Bool(bool),
}

/// The event file's name in its folder: fixed, so the same trace gives the same file.
pub const TENSORBOARD_FILE: &str = "events.out.tfevents.0.owm";

/// The TFRecord mask of a CRC-32C, as TensorFlow writes it.
fn masked_crc(bytes: &[u8]) -> u32 {
    let crc = crc32c::crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn record(out: &mut Vec<u8>, event: &Event) {
    let data = event.encode_to_vec();
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc(&len).to_le_bytes());
    out.extend_from_slice(&data);
    out.extend_from_slice(&masked_crc(&data).to_le_bytes());
}

fn scalar(tag: impl Into<String>, value: f64) -> Value {
    Value { tag: tag.into(), simple_value: Some(value as f32), histo: None, metadata: None }
}

/// `counts` of equal-width bins over `[min, max]` as a TensorBoard histogram, its sums from the recorded
/// mean and standard deviation.
fn histogram(min: f64, max: f64, mean: f64, std: f64, counts: &[u64]) -> HistogramProto {
    let n = counts.iter().sum::<u64>() as f64;
    let width = (max - min) / counts.len().max(1) as f64;
    let bucket_limit = (1..=counts.len()).map(|i| if i == counts.len() { max } else { min + width * i as f64 }).collect();
    HistogramProto {
        min,
        max,
        num: n,
        sum: mean * n,
        sum_squares: (std * std + mean * mean) * n,
        bucket_limit,
        bucket: counts.iter().map(|&c| c as f64).collect(),
    }
}

/// The run's settings as HParams: every number, string and bool of the config by its dotted path (lists as
/// their JSON).
fn hparams(config: &serde_json::Value) -> std::collections::BTreeMap<String, HParamValue> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut std::collections::BTreeMap<String, HParamValue>) {
        let kind = match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    walk(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v, out);
                }
                return;
            }
            serde_json::Value::Null => return,
            serde_json::Value::Bool(b) => Kind::Bool(*b),
            serde_json::Value::Number(n) => Kind::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Kind::Text(s.clone()),
            serde_json::Value::Array(_) => Kind::Text(v.to_string()),
        };
        out.insert(prefix.to_string(), HParamValue { kind: Some(kind) });
    }
    let mut out = std::collections::BTreeMap::new();
    walk("", config, &mut out);
    out
}

/// The event file of `trace`, as bytes (write it as [`TENSORBOARD_FILE`] in the run's TensorBoard folder).
pub fn tensorboard_events(trace: &Trace) -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, &Event { file_version: "brain.Event:2".into(), ..Default::default() });
    let mut emit = |step: u64, value: Vec<Value>| {
        if !value.is_empty() {
            record(&mut out, &Event { wall_time: step as f64, step: step as i64, file_version: String::new(), summary: Some(Summary { value }) });
        }
    };
    for event in &trace.events {
        match event {
            TraceEvent::RunStarted { config, .. } => {
                let data = HParamsPluginData { version: 0, session_start_info: Some(SessionStartInfo { hparams: hparams(config) }) };
                let plugin_data = PluginData { plugin_name: "hparams".into(), content: data.encode_to_vec() };
                let tag = "_hparams_/session_start_info".to_string();
                emit(0, vec![Value { tag, simple_value: None, histo: None, metadata: Some(SummaryMetadata { plugin_data: Some(plugin_data) }) }]);
            }
            TraceEvent::Step(s) => {
                let mut values = vec![scalar("loss", s.loss), scalar("lr", s.lr)];
                values.extend(s.group_lrs.iter().map(|(g, lr)| scalar(format!("lr/{g}"), *lr)));
                for l in &s.layers {
                    let stats = [
                        ("grad_norm", l.grad_norm),
                        ("weight_norm", l.weight_norm),
                        ("update_norm", l.update_norm),
                        ("update_ratio", l.update_ratio),
                        ("sign_flips", l.sign_flips),
                        ("zero_grads", l.zero_grads),
                    ];
                    values.extend(stats.into_iter().map(|(name, v)| scalar(format!("{}/{name}", l.path), v)));
                }
                if let Some(p) = &s.privacy {
                    values.extend([scalar("privacy/clip_fraction", p.clip_fraction), scalar("privacy/noise_std", p.noise_std)]);
                }
                emit(s.step, values);
            }
            TraceEvent::Generation(g) => {
                let mut values = vec![scalar("loss", g.loss), scalar("search/best_loss", g.best_loss), scalar("search/mean_loss", g.mean_loss)];
                values.extend([scalar("search/std_loss", g.std_loss), scalar("search/worst_loss", g.worst_loss)]);
                values.extend(g.stats.iter().map(|(k, v)| scalar(format!("search/{k}"), *v)));
                emit(g.step, values);
            }
            TraceEvent::EpochEnd(e) => {
                let mut values = vec![scalar("epoch/train_loss", e.train_loss)];
                values.extend(e.train_accuracy.map(|a| scalar("epoch/train_accuracy", a)));
                emit(e.steps, values);
            }
            TraceEvent::Validation(v) => emit(v.steps, v.metrics.iter().map(|(k, m)| scalar(format!("validation/{k}"), *m)).collect()),
            TraceEvent::Distribution(d) => {
                let histo = histogram(d.min, d.max, d.mean, d.std, &d.counts);
                emit(d.step, vec![Value { tag: d.path.clone(), simple_value: None, histo: Some(histo), metadata: None }]);
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crc_should_be_tensorflows_masked_crc32c() {
        // CRC-32C of "123456789" is 0xe3069283 (RFC 3720's check value); TensorFlow's mask rotates it right by
        // 15 bits and adds 0xa282ead8.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8));
    }

    #[test]
    fn a_histogram_should_keep_counts_and_end_at_the_maximum() {
        let h = histogram(-1.0, 1.0, 0.0, 0.5, &[1, 2, 3, 4]);
        assert_eq!(h.bucket_limit, [-0.5, 0.0, 0.5, 1.0]);
        assert_eq!((h.num, h.sum, h.sum_squares), (10.0, 0.0, 2.5));
    }
}
