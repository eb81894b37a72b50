"""Reference classification metrics from scikit-learn, checked by crates/owm-eval/tests/sklearn_reference.rs.

Run: python3 tools/reference_metrics.py   (needs numpy and scikit-learn)
"""
import json
import pathlib

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/owm-eval/tests/fixtures/sklearn_metrics.json"


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


if __name__ == "__main__":
    main()
