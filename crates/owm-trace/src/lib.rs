//! Crash-safe training traces: a JSON Lines file sink, a tolerant reader, charts, the explanation of a run
//! in words, and queries with CSV export.
//!
//! A trace is one [`owm_core::TraceEvent`] per line: the run's config, how every parameter was initialised,
//! every optimisation step with per-parameter statistics and a digest of its batch, weight digests,
//! histograms, epoch summaries and why the run stopped.
//! [`explain`] turns a trace into sentences by documented rules; [`Query`] selects steps, paths and
//! statistics; the chart functions draw SVG with plotters.
//!
//! # Key design decision: one flushed line per event
//!
//! [`JsonlSink`] writes each event as a complete line and flushes it before returning, so a run killed at any
//! point leaves a trace whose every complete line parses; [`read_trace`] reports a torn last line instead of
//! failing.
//! The sink hashes the bytes it writes, so the trace digest recorded in a bundle is known the moment training
//! ends, and [`file_digest`] recomputes it from the file.
//!
//! # Example
//!
//! ```
//! use owm_core::{EpochRecord, TraceEvent, TraceSink};
//! use owm_trace::{JsonlSink, read_trace};
//!
//! let dir = owm_testkit::tempdir();
//! let path = dir.path().join("trace.jsonl");
//! let mut sink = JsonlSink::create(&path)?;
//! let _ = sink.on_event(&TraceEvent::EpochEnd(EpochRecord { epoch: 1, steps: 10, train_loss: 0.3, train_accuracy: None }))?;
//! let digest = sink.finish()?;
//! let trace = read_trace(&path)?;
//! assert_eq!(trace.events.len(), 1);
//! assert_eq!(owm_trace::file_digest(&path)?, digest);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod error;
mod explain;
mod jsonl;
mod plot;
mod query;
mod tensorboard;

pub use error::{Error, Result};
pub use explain::{Explanation, Finding, Severity, explain};
pub use jsonl::{JsonlSink, Trace, file_digest, find_checkpoint, read_trace, truncate_after_checkpoint};
pub use plot::{
    Series, accuracy_chart, escape, grad_norm_chart, heatmap, histogram_chart, layer_series, line_chart, loss_chart, lr_chart, update_ratio_chart,
    weight_norm_chart,
};
pub use query::{Query, Row, Stat, write_csv};
pub use tensorboard::{TENSORBOARD_FILE, tensorboard_events};
