#!/usr/bin/env python3
"""OWM's defaults beside scikit-learn's logistic regression on the same splits of real tables.

    python3 tools/sklearn_tables.py OWM_BINARY OUT.json [iris wine heart-disease breast-cancer]

(`OWM_ARGS="--lr 0.01"` adds flags to every OWM run, to try other recipes.)

For each table and each seed 0..4: a stratified 80/20 split (scikit-learn's `train_test_split`, seeded),
written as two files in the table's own format; scikit-learn's `LogisticRegression` (lbfgs, C=1, max_iter
5000) in a pipeline with the same preparation OWM applies by default (mean imputation, standard scaling,
one-hot categories) is fitted on the training file and scored on the test file; then `OWM_BINARY train
--task tabular` runs with its defaults (no epochs, rate or model flag) on the same two files. The JSON
holds every split's two accuracies, their means and the difference.

Tables: iris and wine from scikit-learn's bundled CSVs (exported with their feature names and class
names), the Cleveland heart disease from `~/.cache/owm-datasets/heart-disease/heart_disease.tab` (Orange's
`.tab`, fetched by `cargo xtask data heart-disease`), the breast cancer from scikit-learn. Files are written
under a temporary folder, removed at the end; OUT.json is written atomically.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn import datasets
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SEEDS = [0, 1, 2, 3, 4]
HEART = os.path.join(os.environ.get("OWM_DATASETS", os.path.expanduser("~/.cache/owm-datasets")), "heart-disease", "heart_disease.tab")


def sklearn_table(name):
    """(header, rows, numeric columns, categorical columns, target) of a scikit-learn bundled table."""
    data = {"iris": datasets.load_iris, "wine": datasets.load_wine, "breast-cancer": datasets.load_breast_cancer}[name]()
    names = [n.replace(" ", "_").replace("(", "").replace(")", "").replace("/", "_") for n in data.feature_names]
    rows = [[repr(float(v)) for v in x] + [str(data.target_names[t])] for x, t in zip(data.data, data.target)]
    return {"header": names + ["class"], "rows": rows, "numeric": names, "categorical": [], "target": "class", "ext": "csv"}


def orange_table(path):
    """The same for an Orange .tab file: its three header lines are kept for the split files."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    names, types, flags = (line.split("\t") for line in lines[:3])
    rows = [line.split("\t") for line in lines[3:] if line.strip()]
    target = next(n for n, fl in zip(names, flags) if fl.strip() == "class")
    numeric = [n for n, t in zip(names, types) if t.strip() in ("c", "continuous") and n != target]
    categorical = [n for n, t in zip(names, types) if t.strip() not in ("c", "continuous") and n != target]
    return {"header": names, "head_lines": lines[:3], "rows": rows, "numeric": numeric, "categorical": categorical, "target": target, "ext": "tab"}


def write(table, rows, path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        if table["ext"] == "tab":
            f.write("\n".join(table["head_lines"]) + "\n")
            f.writelines("\t".join(r) + "\n" for r in rows)
        else:
            w = csv.writer(f)
            w.writerow(table["header"])
            w.writerows(rows)


def frame(table, rows):
    """Features as float (NaN for `?`) or strings, and the target, in header order."""
    idx = {n: i for i, n in enumerate(table["header"])}
    def num(v):
        return float("nan") if v.strip() in ("", "?") else float(v)
    x_num = np.array([[num(r[idx[c]]) for c in table["numeric"]] for r in rows], dtype=float)
    x_cat = np.array([[r[idx[c]] if r[idx[c]].strip() not in ("", "?") else "?" for c in table["categorical"]] for r in rows], dtype=object)
    y = [r[idx[table["target"]]] for r in rows]
    return x_num, x_cat, y


def sklearn_accuracy(table, train, test):
    n_num, n_cat = len(table["numeric"]), len(table["categorical"])
    parts = [("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), list(range(n_num)))]
    if n_cat:
        # OWM's default for a missing category: the most frequent one.
        cat = make_pipeline(SimpleImputer(missing_values="?", strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
        parts.append(("cat", cat, list(range(n_num, n_num + n_cat))))
    model = make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=5000))
    def xy(rows):
        x_num, x_cat, y = frame(table, rows)
        x = np.concatenate([x_num.astype(object), x_cat], axis=1) if n_cat else x_num
        return x, y
    x_train, y_train = xy(train)
    x_test, y_test = xy(test)
    model.fit(x_train, y_train)
    return float(np.mean(model.predict(x_test) == np.array(y_test)))


def owm_accuracy(binary, table, train_path, test_path, out):
    cmd = [binary, "train", "--quiet", "--task", "tabular", "--data", train_path, "--test-data", test_path, "--target", table["target"], "--out", out]
    # Extra flags to try another recipe beside the defaults (the recorded comparison runs without).
    cmd += os.environ.get("OWM_ARGS", "").split()
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    with open(os.path.join(out, "evaluation.json"), encoding="utf-8") as f:
        evaluation = json.load(f)
    with open(os.path.join(out, "bundle", "manifest.json"), encoding="utf-8") as f:
        training = json.load(f)["training"]
    return evaluation["accuracy"], training["epochs"], training["stop_reason"]["kind"]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    binary, out = os.path.abspath(sys.argv[1]), sys.argv[2]
    names = sys.argv[3:] or ["iris", "wine", "heart-disease", "breast-cancer"]
    result = {"script": "tools/sklearn_tables.py", "seeds": SEEDS, "tables": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            table = orange_table(HEART) if name == "heart-disease" else sklearn_table(name)
            idx = {n: i for i, n in enumerate(table["header"])}
            labels = [r[idx[table["target"]]] for r in table["rows"]]
            runs = []
            for seed in SEEDS:
                train, test = train_test_split(table["rows"], test_size=0.2, stratify=labels, random_state=seed)
                paths = [os.path.join(tmp, f"{name}-{seed}-{side}.{table['ext']}") for side in ("train", "test")]
                write(table, train, paths[0])
                write(table, test, paths[1])
                reference = sklearn_accuracy(table, train, test)
                owm, epochs, stop = owm_accuracy(binary, table, paths[0], paths[1], os.path.join(tmp, f"{name}-{seed}-run"))
                runs.append({"seed": seed, "train": len(train), "test": len(test), "sklearn": reference, "owm": owm, "owm_epochs": epochs, "owm_stop": stop})
                print(f"{name} seed {seed}: scikit-learn {reference:.4f}, OWM {owm:.4f} ({epochs} epochs, {stop})", flush=True)
            mean = lambda k: float(np.mean([r[k] for r in runs]))
            result["tables"][name] = {"runs": runs, "sklearn_mean": mean("sklearn"), "owm_mean": mean("owm"), "difference": mean("owm") - mean("sklearn")}
            print(f"{name}: scikit-learn {mean('sklearn'):.4f}, OWM {mean('owm'):.4f} (difference {mean('owm') - mean('sklearn'):+.4f})", flush=True)
    tmp_out = out + ".tmp"
    with open(tmp_out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(tmp_out, out)


if __name__ == "__main__":
    main()
