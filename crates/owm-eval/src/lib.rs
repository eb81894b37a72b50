//! Metrics for OWM: accuracy, per-class precision, recall and F1, macro and weighted averages and the
//! confusion matrix ([`ClassificationReport`]); F-beta with micro, macro, weighted and per-class averaging and
//! an explicit [`ZeroDivision`] policy ([`prf`], [`per_class_prf`]); ROC AUC, average precision and log loss
//! of scores; NDCG@k, HitRate@k, Recall@k and MAP@k of rankings ([`ranking`]); seeded percentile
//! [`bootstrap`] intervals for any of them.
//!
//! # Key design decision: plain labels in, scikit-learn's numbers out
//!
//! Every function takes plain labels, scores and probabilities, not tensors, so it works with any model and
//! backend; the numbers follow `sklearn.metrics` (the report's zero divisions give 0, as with
//! `zero_division=0`) and are checked against it on fixtures written by `tools/reference_metrics.py`.
//!
//! # Example
//!
//! ```
//! use owm_eval::ClassificationReport;
//!
//! let report = ClassificationReport::new(&[0, 1, 1, 2], &[0, 1, 2, 2], 3)?;
//! assert_eq!(report.accuracy, 0.75);
//! assert_eq!(report.confusion[1], [0, 1, 1]); // one "1" predicted as "2"
//! # Ok::<(), owm_eval::Error>(())
//! ```
// Library code returns errors: a panic is kept only where an invariant makes it unreachable, and says why.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
// The public API is what lib.rs re-exports by name: a `pub` item it does not reach is a mistake.
#![warn(unreachable_pub)]

mod bootstrap;
mod error;
mod evaluation;
mod fbeta;
mod report;
mod scores;

pub use bootstrap::{Interval, bootstrap};
pub use error::{Error, Result};
pub use evaluation::{BOOTSTRAP_LEVEL, BOOTSTRAP_RESAMPLES, BinaryScores, Evaluation, Predictions, RANKING_K, RankingReport};
pub use fbeta::{Average, Prf, ZeroDivision, per_class_prf, prf};
pub(crate) use report::check_labels;
pub use report::{ClassMetrics, ClassificationReport};
pub use scores::{RankingMetrics, average_precision, log_loss, ranking, roc_auc};
