"""Reference metrics from scikit-learn (and NumPy for the ranking metrics scikit-learn lacks), checked by
crates/owm-eval/tests/it/sklearn_reference.rs.

Run: python3 tools/reference_metrics.py   (needs numpy and scikit-learn)
Writes crates/owm-eval/tests/fixtures/sklearn_metrics.json (classification report cases) and
crates/owm-eval/tests/fixtures/sklearn_scores.json (F-beta averages, zero division, ROC AUC, average precision,
log loss, NDCG@k, HitRate@k, Recall@k, MAP@k).
"""
import json
import pathlib

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    log_loss,
    ndcg_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/owm-eval/tests/fixtures/sklearn_metrics.json"
SCORES = OUT.parent / "sklearn_scores.json"


def case(name, y_true, y_pred, k):
    labels = list(range(k))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return {
        "name": name,
        "num_classes": k,
        "y_true": [int(v) for v in y_true],
        "y_pred": [int(v) for v in y_pred],
        "accuracy": accuracy_score(y_true, y_pred),
        "precision": p.tolist(),
        "recall": r.tolist(),
        "f1": f.tolist(),
        "support": s.tolist(),
        "macro_precision": float(np.mean(p)),
        "macro_recall": float(np.mean(r)),
        "macro_f1": f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        "weighted_f1": f1_score(y_true, y_pred, labels=labels, average="weighted", zero_division=0),
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def main():
    rng = np.random.default_rng(20261129)
    cases = []
    # A noisy 10-class classifier: 70% correct, the rest uniform.
    y = rng.integers(0, 10, 500)
    pred = np.where(rng.random(500) < 0.7, y, rng.integers(0, 10, 500))
    cases.append(case("noisy_10_class", y, pred, 10))
    # Class 3 is never predicted and class 4 never occurs: the zero-division cases.
    y = rng.integers(0, 4, 60)
    pred = np.where(y == 3, 0, np.where(rng.random(60) < 0.5, y, rng.integers(0, 3, 60)))
    cases.append(case("missing_classes", y, pred, 5))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")
    scores(rng)


def fbeta_cases(name, y_true, y_pred, k, beta):
    labels = list(range(k))
    out = {"name": name, "num_classes": k, "beta": beta, "y_true": [int(v) for v in y_true], "y_pred": [int(v) for v in y_pred]}
    for zd_name, zd in [("zero", 0.0), ("one", 1.0), ("nan", np.nan)]:
        for avg in ["micro", "macro", "weighted"]:
            p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, beta=beta, average=avg, zero_division=zd)
            out[f"{avg}_{zd_name}"] = [none_if_nan(p), none_if_nan(r), none_if_nan(f)]
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, beta=beta, average=None, zero_division=zd)
        out[f"per_class_{zd_name}"] = [[none_if_nan(a), none_if_nan(b), none_if_nan(c)] for a, b, c in zip(p, r, f)]
    return out


def none_if_nan(v):
    v = float(v)
    return None if np.isnan(v) else v


def ranking_reference(relevance, scores, k):
    """HitRate@k, Recall@k and AP@k of one user, by the definitions in owm-eval's ranking docs (NumPy)."""
    order = np.argsort(-scores, kind="stable")[:k]
    hits = relevance[order] > 0
    relevant = int((relevance > 0).sum())
    hit_rate = float(hits.any())
    recall = hits.sum() / relevant if relevant else 0.0
    precisions = np.cumsum(hits) / (np.arange(len(hits)) + 1)
    ap = float((precisions * hits).sum() / min(relevant, k)) if relevant else 0.0
    return hit_rate, float(recall), ap


def scores(rng):
    out = {"fbeta": [], "binary": [], "log_loss": [], "ranking": []}
    y = rng.integers(0, 6, 300)
    pred = np.where(rng.random(300) < 0.6, y, rng.integers(0, 6, 300))
    out["fbeta"].append(fbeta_cases("noisy_6_class_f2", y, pred, 6, 2.0))
    # Class 4 never predicted, class 5 never present: every zero-division branch.
    y = rng.integers(0, 5, 80)
    pred = np.where(y == 4, 0, np.where(rng.random(80) < 0.5, y, rng.integers(0, 4, 80)))
    out["fbeta"].append(fbeta_cases("missing_classes_f05", y, pred, 6, 0.5))
    # Binary scores with many ties (rounded to one decimal).
    for name, n, decimals in [("ties", 200, 1), ("continuous", 150, 6)]:
        t = rng.random(n) < 0.4
        s = np.round(np.where(t, rng.normal(0.6, 0.25, n), rng.normal(0.4, 0.25, n)), decimals)
        out["binary"].append({
            "name": name,
            "truth": [bool(v) for v in t],
            "scores": [float(v) for v in s],
            "roc_auc": roc_auc_score(t, s),
            "average_precision": average_precision_score(t, s),
        })
    for k in [2, 4]:
        n = 120
        truth = rng.integers(0, k, n)
        logits = rng.normal(0, 1.5, (n, k))
        logits[np.arange(n), truth] += 1.0
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        probs[0] = np.eye(k)[(truth[0] + 1) % k]  # a confident mistake: clipped, not infinite
        out["log_loss"].append({
            "num_classes": k,
            "truth": [int(v) for v in truth],
            "probs": probs.tolist(),
            "log_loss": log_loss(truth, probs, labels=list(range(k))),
        })
    # Users with graded relevance over 12 items and tied scores.
    users = []
    for u in range(6):
        relevance = np.where(rng.random(12) < 0.3, rng.integers(1, 4, 12), 0).astype(float)
        if u == 5:
            relevance[:] = 0.0  # a user with nothing relevant
        s = np.round(rng.random(12) + 0.3 * relevance, 1)
        users.append((relevance, s))
    for k in [3, 5, 12]:
        rel = np.array([u[0] for u in users])
        sc = np.array([u[1] for u in users])
        per_user = [ranking_reference(r, s, k) for r, s in users]
        out["ranking"].append({
            "k": k,
            "relevance": rel.tolist(),
            "scores": sc.tolist(),
            "ndcg": ndcg_score(rel, sc, k=k),
            "hit_rate": float(np.mean([p[0] for p in per_user])),
            "recall": float(np.mean([p[1] for p in per_user])),
            "map": float(np.mean([p[2] for p in per_user])),
        })
    SCORES.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {SCORES}")


if __name__ == "__main__":
    main()
