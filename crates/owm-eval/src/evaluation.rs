//! The evaluation record of a trained model: what a task's metrics say on the test split, with bootstrap
//! intervals and the fingerprint of the data they were computed on.

use std::collections::BTreeMap;

use owm_core::Task;
use serde::{Deserialize, Serialize};

use crate::{ClassificationReport, Interval, RankingMetrics, Result, average_precision, bootstrap, log_loss, ranking, roc_auc};

/// Resamples of the bootstrap intervals in an [`Evaluation`].
pub const BOOTSTRAP_RESAMPLES: usize = 200;
/// Coverage of those intervals.
pub const BOOTSTRAP_LEVEL: f64 = 0.95;
/// Cut-off of the ranking metrics.
pub const RANKING_K: usize = 10;

/// Scores of the predicted probability of the positive class (binary tasks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinaryScores {
    /// Area under the ROC curve (ties averaged).
    pub roc_auc: f64,
    /// Average precision (area under the precision-recall curve, step-wise as scikit-learn).
    pub average_precision: f64,
    /// Mean negative log-likelihood of the labels.
    pub log_loss: f64,
}

/// Ranking quality per group (user): the model's and a baseline's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingReport {
    /// Groups ranked (those with at least one positive and one other item).
    pub groups: usize,
    /// The model's ranking.
    pub model: RankingMetrics,
    /// The baseline's name (`"popularity"`) and ranking, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<(String, RankingMetrics)>,
}

/// Everything measured on a test split: the classification report (accuracy, precision, recall, F1,
/// confusion), and per task the probability scores and rankings, with seeded bootstrap intervals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Accuracy, per-class and averaged precision/recall/F1, confusion matrix (predictions: argmax, or
    /// probability ≥ 0.5 for a binary task); zero divisions count 0, as scikit-learn's `zero_division=0`.
    #[serde(flatten)]
    pub report: ClassificationReport,
    /// The task evaluated.
    #[serde(default)]
    pub task: Task,
    /// Binary tasks: ROC AUC, average precision, log loss.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<BinaryScores>,
    /// Data with groups: NDCG/HitRate/Recall/MAP@k per group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranking: Option<RankingReport>,
    /// Percentile bootstrap intervals by metric name (`accuracy`, `macro_f1`, `roc_auc`), over test items.
    #[serde(default)]
    pub intervals: BTreeMap<String, Interval>,
    /// SHA-256 of the test split evaluated.
    #[serde(default)]
    pub dataset: String,
}

/// The inputs of an [`Evaluation`].
#[derive(Debug, Clone, Copy)]
pub struct Predictions<'a> {
    /// The task.
    pub task: Task,
    /// True class per item.
    pub truth: &'a [usize],
    /// Class probabilities per item (`[1 − p, p]` for binary).
    pub probs: &'a [Vec<f64>],
    /// Predicted class per item.
    pub predicted: &'a [usize],
    /// Number of classes.
    pub num_classes: usize,
    /// Group (user) per item, for ranking metrics.
    pub groups: Option<&'a [u32]>,
    /// A baseline's name and score per item, ranked beside the model.
    pub baseline: Option<(&'a str, &'a [f64])>,
    /// Fingerprint of the data.
    pub dataset: &'a str,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Evaluation {
    /// Computes the record.
    ///
    /// # Errors
    ///
    /// Any metric error (empty data, labels outside the classes, a probability row of the wrong length or
    /// outside [0, 1]). Scores the data leaves undefined (ROC AUC of one class) are left out instead.
    pub fn new(p: Predictions<'_>) -> Result<Self> {
        let report = ClassificationReport::new(p.truth, p.predicted, p.num_classes)?;
        let mut intervals = BTreeMap::new();
        let boot = |f: &dyn Fn(&[usize]) -> Result<f64>| bootstrap(p.truth.len(), BOOTSTRAP_RESAMPLES, BOOTSTRAP_LEVEL, p.seed, f);
        let pick = |idx: &[usize], v: &[usize]| idx.iter().map(|&i| v[i]).collect::<Vec<_>>();
        intervals.insert("accuracy".to_string(), boot(&|idx| Ok(idx.iter().filter(|&&i| p.truth[i] == p.predicted[i]).count() as f64 / idx.len() as f64))?);
        intervals
            .insert("macro_f1".to_string(), boot(&|idx| Ok(ClassificationReport::new(&pick(idx, p.truth), &pick(idx, p.predicted), p.num_classes)?.macro_f1))?);
        // Scores and rankings that the data leaves undefined (a test split with one class, no user with both a
        // click and a non-click) are left out rather than failing the evaluation.
        let scores = match p.task {
            Task::Binary => {
                let truth: Vec<bool> = p.truth.iter().map(|&t| t == 1).collect();
                let positive: Vec<f64> = p.probs.iter().map(|r| r.get(1).copied().unwrap_or(f64::NAN)).collect();
                let auc = |idx: &[usize]| roc_auc(&idx.iter().map(|&i| truth[i]).collect::<Vec<_>>(), &idx.iter().map(|&i| positive[i]).collect::<Vec<_>>());
                if let Ok(interval) = boot(&auc) {
                    intervals.insert("roc_auc".to_string(), interval);
                }
                let scores = (roc_auc(&truth, &positive), average_precision(&truth, &positive), log_loss(p.truth, p.probs, 2));
                match scores {
                    (Ok(roc_auc), Ok(average_precision), Ok(log_loss)) => Some(BinaryScores { roc_auc, average_precision, log_loss }),
                    (_, _, Err(e)) => return Err(e),
                    _ => None,
                }
            }
            Task::Classification => None,
        };
        let ranking = match p.groups {
            Some(groups) => {
                let positive: Vec<f64> = p.probs.iter().map(|r| r.last().copied().unwrap_or(f64::NAN)).collect();
                let relevance: Vec<f64> = p.truth.iter().map(|&t| if t + 1 == p.num_classes { 1.0 } else { 0.0 }).collect();
                let (rel, model) = by_group(groups, &relevance, &positive);
                match ranking(&rel, &model, RANKING_K) {
                    Ok(metrics) => {
                        let baseline = match p.baseline {
                            Some((name, scores)) => Some((name.to_string(), ranking(&rel, &by_group(groups, &relevance, scores).1, RANKING_K)?)),
                            None => None,
                        };
                        Some(RankingReport { groups: rel.len(), model: metrics, baseline })
                    }
                    Err(crate::Error::Empty) => None,
                    Err(e) => return Err(e),
                }
            }
            None => None,
        };
        Ok(Self { report, task: p.task, scores, ranking, intervals, dataset: p.dataset.to_string() })
    }

    /// The report as Markdown: the classification table, then scores, ranking and intervals.
    pub fn to_markdown(&self, class_names: &[String]) -> String {
        let mut md = self.report.to_markdown(class_names);
        if let Some(s) = &self.scores {
            md.push_str(&format!(
                "\n| score | value |\n|---|---|\n| ROC AUC | {:.4} |\n| average precision | {:.4} |\n| log loss | {:.4} |\n",
                s.roc_auc, s.average_precision, s.log_loss
            ));
        }
        if let Some(r) = &self.ranking {
            md.push_str(&format!(
                "\n| ranking over {} users | NDCG@{k} | HitRate@{k} | Recall@{k} | MAP@{k} |\n|---|---|---|---|---|\n",
                r.groups,
                k = r.model.k
            ));
            let row = |name: &str, m: &RankingMetrics| format!("| {name} | {:.4} | {:.4} | {:.4} | {:.4} |\n", m.ndcg, m.hit_rate, m.recall, m.map);
            md.push_str(&row("model", &r.model));
            if let Some((name, m)) = &r.baseline {
                md.push_str(&row(name, m));
            }
        }
        if !self.intervals.is_empty() {
            md.push_str("\n| metric | value | 95% interval (bootstrap) |\n|---|---|---|\n");
            for (name, i) in &self.intervals {
                md.push_str(&format!("| {name} | {:.4} | {:.4} – {:.4} |\n", i.value, i.low, i.high));
            }
        }
        md
    }
}

/// Relevance and score rows per group with at least one relevant and one irrelevant item, in group order.
fn by_group(groups: &[u32], relevance: &[f64], scores: &[f64]) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut rows: BTreeMap<u32, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for ((g, r), s) in groups.iter().zip(relevance).zip(scores) {
        let e = rows.entry(*g).or_default();
        e.0.push(*r);
        e.1.push(*s);
    }
    rows.into_values().filter(|(r, _)| r.iter().any(|&v| v > 0.0) && r.contains(&0.0)).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_class_should_leave_scores_out_not_fail() {
        let probs = vec![vec![0.3, 0.7], vec![0.6, 0.4]];
        let e = Evaluation::new(Predictions {
            task: Task::Binary,
            truth: &[1, 1],
            probs: &probs,
            predicted: &[1, 0],
            num_classes: 2,
            groups: Some(&[0, 0]),
            baseline: None,
            dataset: "x",
            seed: 1,
        })
        .unwrap();
        assert_eq!((e.scores, e.ranking, e.report.accuracy), (None, None, 0.5));
        assert!(!e.intervals.contains_key("roc_auc"));
    }

    #[test]
    fn should_score_binary_predictions_and_rank_by_group() {
        let truth = [1, 0, 0, 1, 0, 0];
        let p = [0.9, 0.2, 0.4, 0.3, 0.6, 0.1];
        let probs: Vec<Vec<f64>> = p.iter().map(|&v| vec![1.0 - v, v]).collect();
        let predicted: Vec<usize> = p.iter().map(|&v| usize::from(v >= 0.5)).collect();
        let groups = [0, 0, 0, 1, 1, 1];
        let popularity = [0.0, 1.0, 0.0, 0.0, 1.0, 0.0];
        let e = Evaluation::new(Predictions {
            task: Task::Binary,
            truth: &truth,
            probs: &probs,
            predicted: &predicted,
            num_classes: 2,
            groups: Some(&groups),
            baseline: Some(("popularity", &popularity)),
            dataset: "abc",
            seed: 1,
        })
        .unwrap();
        let s = e.scores.unwrap();
        // sklearn: roc_auc_score([1,0,0,1,0,0], p) = 0.75 (6 of 8 pairs ordered).
        assert!((s.roc_auc - 0.75).abs() < 1e-12);
        let r = e.ranking.clone().unwrap();
        // User 0 ranks its positive first (NDCG 1); user 1 ranks it second of three (1/log2(3)).
        assert_eq!(r.groups, 2);
        assert!((r.model.ndcg - (1.0 + 1.0 / 3f64.log2()) / 2.0).abs() < 1e-12);
        assert!(r.baseline.unwrap().1.ndcg < r.model.ndcg);
        assert_eq!(e.intervals.len(), 3);
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["accuracy"], e.report.accuracy, "the classification report stays at the top level");
    }
}
