//! Metrics of scores rather than labels: ROC AUC and average precision (PR AUC) of binary scores, log loss of
//! class probabilities, and the ranking metrics of recommendation (NDCG@k, HitRate@k, Recall@k, MAP@k).
//!
//! Ranking metrics take, per user, the relevance of every candidate item (0: not relevant; graded values
//! allowed for NDCG) and the model's scores for the same items:
//! - NDCG@k as `sklearn.metrics.ndcg_score` (log2 discount, tied scores share the average gain of their
//!   group; a user with nothing relevant scores 0);
//! - HitRate@k: 1 if any of the k best-scored items is relevant;
//! - Recall@k: relevant items among the k best, over the user's relevant items (0 if none);
//! - AP@k: the mean of precision@i over the ranks i ≤ k that hold a relevant item, divided by
//!   min(relevant, k) (0 if none); MAP@k is its mean over users.
//!
//! For HitRate, Recall and AP, tied scores keep the items' order (a stable sort).

use crate::{Error, Result};

/// Area under the ROC curve of `scores` for the binary `truth`; tied scores count one half (the
/// Mann–Whitney statistic, equal to scikit-learn's trapezoidal `roc_auc_score`).
///
/// # Errors
///
/// [`Error::LengthMismatch`], [`Error::Empty`], [`Error::NonFinite`] naming the first bad score, or
/// [`Error::OneClass`] when `truth` holds only one class.
pub fn roc_auc(truth: &[bool], scores: &[f64]) -> Result<f64> {
    let order = check_binary(truth, scores)?;
    // Average ranks (from 1) over tie groups.
    let mut rank_sum_pos = 0.0;
    for (start, group) in tie_groups(&order, scores) {
        let rank = start as f64 + (group.len() + 1) as f64 / 2.0;
        rank_sum_pos += rank * group.iter().filter(|&&k| truth[k]).count() as f64;
    }
    let pos = truth.iter().filter(|&&t| t).count() as f64;
    let neg = truth.len() as f64 - pos;
    Ok((rank_sum_pos - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// Average precision, Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct score thresholds from the highest down, as
/// scikit-learn's `average_precision_score` (the area under the step-wise precision–recall curve).
///
/// # Errors
///
/// As [`roc_auc`].
pub fn average_precision(truth: &[bool], scores: &[f64]) -> Result<f64> {
    let mut order = check_binary(truth, scores)?;
    order.reverse();
    let positives = truth.iter().filter(|&&t| t).count() as f64;
    let (mut tp, mut fp, mut recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    for (_, group) in tie_groups(&order, scores) {
        for &k in group {
            if truth[k] { tp += 1.0 } else { fp += 1.0 }
        }
        let r = tp / positives;
        ap += (r - recall) * tp / (tp + fp);
        recall = r;
    }
    Ok(ap)
}

/// The runs of equal scores in `order` (item indices sorted by score), each with its first position.
fn tie_groups<'a>(order: &'a [usize], scores: &'a [f64]) -> impl Iterator<Item = (usize, &'a [usize])> {
    order.chunk_by(move |&a, &b| scores[a] == scores[b]).scan(0, |start, group| {
        let first = *start;
        *start += group.len();
        Some((first, group))
    })
}

/// Indices of `scores` in ascending order, after checking the inputs.
fn check_binary(truth: &[bool], scores: &[f64]) -> Result<Vec<usize>> {
    if truth.len() != scores.len() {
        return Err(Error::LengthMismatch { truth: truth.len(), predicted: scores.len() });
    }
    if truth.is_empty() {
        return Err(Error::Empty);
    }
    if let Some(index) = scores.iter().position(|s| !s.is_finite()) {
        return Err(Error::NonFinite { index, value: scores[index] });
    }
    if truth.iter().all(|&t| t) || truth.iter().all(|&t| !t) {
        return Err(Error::OneClass);
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    Ok(order)
}

/// Mean negative log-likelihood of the true classes under `probs` (one row of `num_classes` probabilities
/// per item), each probability clipped to [ε, 1 − ε] with ε the `f64` machine epsilon, as scikit-learn's
/// `log_loss` (rows are not renormalised).
///
/// # Errors
///
/// [`Error::LengthMismatch`], [`Error::Empty`], [`Error::UnknownLabel`], or [`Error::Probability`] naming a
/// row of the wrong length or with a value outside [0, 1].
pub fn log_loss(truth: &[usize], probs: &[Vec<f64>], num_classes: usize) -> Result<f64> {
    if truth.len() != probs.len() {
        return Err(Error::LengthMismatch { truth: truth.len(), predicted: probs.len() });
    }
    if truth.is_empty() {
        return Err(Error::Empty);
    }
    let mut total = 0.0;
    for (index, (&t, row)) in truth.iter().zip(probs).enumerate() {
        if t >= num_classes {
            return Err(Error::UnknownLabel { which: "true", index, label: t, num_classes });
        }
        if row.len() != num_classes {
            return Err(Error::Probability { index, reason: format!("{} values for {num_classes} classes", row.len()) });
        }
        if let Some(v) = row.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            return Err(Error::Probability { index, reason: format!("{v} is not a probability") });
        }
        total -= row[t].clamp(f64::EPSILON, 1.0 - f64::EPSILON).ln();
    }
    Ok(total / truth.len() as f64)
}

/// Ranking metrics at `k`, averaged over users.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RankingMetrics {
    /// The cut-off.
    pub k: usize,
    /// NDCG@k.
    pub ndcg: f64,
    /// HitRate@k.
    pub hit_rate: f64,
    /// Recall@k.
    pub recall: f64,
    /// MAP@k.
    pub map: f64,
}

/// NDCG@k, HitRate@k, Recall@k and MAP@k of `scores` against `relevance`, one row per user (see the module
/// docs for the definitions).
///
/// # Errors
///
/// [`Error::Empty`] for no users, [`Error::ZeroK`], [`Error::LengthMismatch`] for a user whose rows differ
/// in length, [`Error::NonFinite`] naming the first bad value.
pub fn ranking(relevance: &[Vec<f64>], scores: &[Vec<f64>], k: usize) -> Result<RankingMetrics> {
    if relevance.len() != scores.len() {
        return Err(Error::LengthMismatch { truth: relevance.len(), predicted: scores.len() });
    }
    if relevance.is_empty() {
        return Err(Error::Empty);
    }
    if k == 0 {
        return Err(Error::ZeroK);
    }
    let mut sums = [0.0; 4];
    for (rel, sc) in relevance.iter().zip(scores) {
        if rel.len() != sc.len() {
            return Err(Error::LengthMismatch { truth: rel.len(), predicted: sc.len() });
        }
        if let Some(index) = rel.iter().chain(sc).position(|v| !v.is_finite()) {
            let value = rel.iter().chain(sc).nth(index).copied().unwrap_or(f64::NAN);
            return Err(Error::NonFinite { index: index % rel.len().max(1), value });
        }
        let user = user_ranking(rel, sc, k);
        for (s, v) in sums.iter_mut().zip(user) {
            *s += v;
        }
    }
    let n = relevance.len() as f64;
    Ok(RankingMetrics { k, ndcg: sums[0] / n, hit_rate: sums[1] / n, recall: sums[2] / n, map: sums[3] / n })
}

/// `[ndcg, hit_rate, recall, ap]` of one user.
fn user_ranking(rel: &[f64], scores: &[f64], k: usize) -> [f64; 4] {
    let discount = |i: usize| if i < k { 1.0 / ((i + 2) as f64).log2() } else { 0.0 };
    // Stable descending order: ties keep the items' order.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    // DCG with tie groups sharing their mean gain over the group's discounts.
    let mut dcg = 0.0;
    for (start, group) in tie_groups(&order, scores) {
        let gain = group.iter().map(|&x| rel[x]).sum::<f64>() / group.len() as f64;
        dcg += gain * (start..start + group.len()).map(discount).sum::<f64>();
    }
    let mut ideal: Vec<f64> = rel.to_vec();
    ideal.sort_by(|a, b| b.total_cmp(a));
    let idcg: f64 = ideal.iter().enumerate().map(|(i, r)| r * discount(i)).sum();
    let ndcg = if idcg > 0.0 { dcg / idcg } else { 0.0 };
    let relevant = rel.iter().filter(|&&r| r > 0.0).count();
    let top: Vec<bool> = order.iter().take(k).map(|&x| rel[x] > 0.0).collect();
    let hits = top.iter().filter(|&&h| h).count();
    if relevant == 0 {
        return [ndcg, 0.0, 0.0, 0.0];
    }
    let mut seen = 0;
    let mut precision_sum = 0.0;
    for (i, &h) in top.iter().enumerate() {
        if h {
            seen += 1;
            precision_sum += seen as f64 / (i + 1) as f64;
        }
    }
    [ndcg, f64::from(u8::from(hits > 0)), hits as f64 / relevant as f64, precision_sum / relevant.min(k) as f64]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_of_a_perfect_ranking_is_one_and_of_all_ties_one_half() {
        assert_eq!(roc_auc(&[false, false, true, true], &[0.1, 0.2, 0.8, 0.9]).unwrap(), 1.0);
        assert_eq!(roc_auc(&[false, true, false, true], &[0.5; 4]).unwrap(), 0.5);
    }

    #[test]
    fn scores_need_both_classes() {
        assert!(matches!(roc_auc(&[true, true], &[0.1, 0.2]), Err(Error::OneClass)));
        assert!(matches!(average_precision(&[false], &[0.1]), Err(Error::OneClass)));
    }

    #[test]
    fn scores_must_be_finite() {
        let err = roc_auc(&[true, false], &[0.1, f64::NAN]).unwrap_err();
        assert!(matches!(err, Error::NonFinite { index: 1, .. }), "{err}");
    }

    #[test]
    fn log_loss_names_a_bad_row() {
        let err = log_loss(&[0, 1], &[vec![0.5, 0.5], vec![1.5, -0.5]], 2).unwrap_err();
        assert!(matches!(err, Error::Probability { index: 1, .. }), "{err}");
        let err = log_loss(&[0], &[vec![1.0]], 2).unwrap_err();
        assert!(matches!(err, Error::Probability { index: 0, .. }), "{err}");
    }

    #[test]
    fn ranking_needs_a_positive_k() {
        assert!(matches!(ranking(&[vec![1.0]], &[vec![0.5]], 0), Err(Error::ZeroK)));
    }
}
