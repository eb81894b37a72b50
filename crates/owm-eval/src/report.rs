use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Precision, recall, F1 and support of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    /// Of the items predicted as this class, the fraction that are (0 if none were predicted).
    pub precision: f64,
    /// Of the items of this class, the fraction predicted as it (0 if there are none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Number of true items of this class.
    pub support: u64,
}

/// The evaluation of a classifier on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationReport {
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Unweighted mean of per-class precision.
    pub macro_precision: f64,
    /// Unweighted mean of per-class recall.
    pub macro_recall: f64,
    /// Unweighted mean of per-class F1.
    pub macro_f1: f64,
    /// Support-weighted mean of per-class F1.
    pub weighted_f1: f64,
    /// Per-class metrics, by class index.
    pub per_class: Vec<ClassMetrics>,
    /// `confusion[t][p]`: items of true class `t` predicted as `p`.
    pub confusion: Vec<Vec<u64>>,
    /// Number of items evaluated.
    pub total: u64,
}

/// Checks that `truth` and `predicted` are equally long, not empty, and in `0..num_classes`.
pub(crate) fn check_labels(truth: &[usize], predicted: &[usize], num_classes: usize) -> Result<()> {
    if truth.len() != predicted.len() {
        return Err(Error::LengthMismatch { truth: truth.len(), predicted: predicted.len() });
    }
    if truth.is_empty() {
        return Err(Error::Empty);
    }
    for (which, labels) in [("true", truth), ("predicted", predicted)] {
        if let Some(index) = labels.iter().position(|&l| l >= num_classes) {
            return Err(Error::UnknownLabel { which, index, label: labels[index], num_classes });
        }
    }
    Ok(())
}

impl ClassificationReport {
    /// Computes every metric from true and predicted labels in `0..num_classes`.
    ///
    /// # Errors
    ///
    /// [`Error::Empty`], [`Error::LengthMismatch`], or [`Error::UnknownLabel`] naming the first bad label.
    pub fn new(truth: &[usize], predicted: &[usize], num_classes: usize) -> Result<Self> {
        check_labels(truth, predicted, num_classes)?;
        let mut confusion = vec![vec![0u64; num_classes]; num_classes];
        for (&t, &p) in truth.iter().zip(predicted) {
            confusion[t][p] += 1;
        }
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<ClassMetrics> = (0..num_classes)
            .map(|c| {
                let tp = confusion[c][c];
                let support: u64 = confusion[c].iter().sum();
                let predicted_as: u64 = confusion.iter().map(|row| row[c]).sum();
                let (precision, recall) = (ratio(tp, predicted_as), ratio(tp, support));
                let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
                ClassMetrics { precision, recall, f1, support }
            })
            .collect();
        let total = truth.len() as u64;
        let mean = |f: fn(&ClassMetrics) -> f64| per_class.iter().map(f).sum::<f64>() / num_classes as f64;
        Ok(Self {
            accuracy: ratio((0..num_classes).map(|c| confusion[c][c]).sum(), total),
            macro_precision: mean(|m| m.precision),
            macro_recall: mean(|m| m.recall),
            macro_f1: mean(|m| m.f1),
            weighted_f1: per_class.iter().map(|m| m.f1 * m.support as f64).sum::<f64>() / total as f64,
            per_class,
            confusion,
            total,
        })
    }

    /// A Markdown table of the per-class metrics and the averages, with `class_names` as row labels.
    pub fn to_markdown(&self, class_names: &[String]) -> String {
        let mut out = String::from("| class | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n");
        for (i, m) in self.per_class.iter().enumerate() {
            let name = class_names.get(i).map_or_else(|| i.to_string(), Clone::clone);
            out += &format!("| {name} | {:.4} | {:.4} | {:.4} | {} |\n", m.precision, m.recall, m.f1, m.support);
        }
        out += &format!(
            "| **macro avg** | {:.4} | {:.4} | {:.4} | {} |\n\naccuracy {:.4} on {} items, weighted F1 {:.4}\n",
            self.macro_precision, self.macro_recall, self.macro_f1, self.total, self.accuracy, self.total, self.weighted_f1
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn should_reject_mismatched_lengths() {
        assert!(matches!(ClassificationReport::new(&[0], &[0, 1], 2), Err(Error::LengthMismatch { .. })));
    }

    #[test]
    fn should_reject_empty_input() {
        assert!(matches!(ClassificationReport::new(&[], &[], 2), Err(Error::Empty)));
    }

    #[test]
    fn should_name_an_unknown_label() {
        let err = ClassificationReport::new(&[0, 1], &[0, 5], 2).unwrap_err();
        assert!(matches!(err, Error::UnknownLabel { which: "predicted", index: 1, label: 5, .. }), "{err}");
    }

    #[test]
    fn should_give_zero_precision_to_a_class_never_predicted() {
        let r = ClassificationReport::new(&[0, 1, 2], &[0, 0, 0], 3).unwrap();
        assert_eq!(r.per_class[1], ClassMetrics { precision: 0.0, recall: 0.0, f1: 0.0, support: 1 });
        assert!(r.to_markdown(&["a".into(), "b".into(), "c".into()]).contains("| b | 0.0000 |"));
    }
}
