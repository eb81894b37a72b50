//! Classification metrics for OWM: accuracy, per-class precision, recall and F1, macro and weighted
//! averages, and the confusion matrix.
//!
//! # Key design decision: plain labels in, scikit-learn's numbers out
//!
//! [`ClassificationReport::new`] takes true and predicted class indices, not tensors, so it works with any
//! model and backend; its numbers follow scikit-learn's `classification_report` (a class that is never
//! predicted has precision 0, as with `zero_division=0`) and are checked against it in `tests/`.
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

mod error;
mod report;

pub use error::*;
pub use report::*;
