#!/usr/bin/env python3
"""Exports scikit-learn's copy of the Wisconsin diagnostic breast-cancer data (569 rows, 30 features) as CSV.

    python3 tools/export_breast_cancer.py OUT.csv

Columns: the 30 feature names with spaces replaced by underscores, then `diagnosis` (`malignant` or `benign`).
Values are written with repr() so the CSV holds exactly scikit-learn's float64 numbers. The file is written
atomically (temp file + rename).
"""
import csv
import os
import sys

from sklearn.datasets import load_breast_cancer


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    data = load_breast_cancer()
    names = [n.replace(" ", "_") for n in data.feature_names]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names + ["diagnosis"])
        for row, target in zip(data.data, data.target):
            w.writerow([repr(float(v)) for v in row] + [data.target_names[target]])
    os.replace(tmp, out)
    print(f"wrote {out}: {len(data.target)} rows, {len(names)} features")


if __name__ == "__main__":
    main()
