#!/usr/bin/env python3
"""Checks an `owm export --onnx` model with ONNX's own checker and ONNX Runtime against `owm predict`.

    python3 tools/onnx_check.py MODEL.onnx (--csv RECORDS.csv | --inputs INPUTS.json) --expected PREDICTIONS.jsonl

- `onnx.checker.check_model(full_check=True)` must pass (types and shapes inferred through the graph).
- The model's inputs come from raw records: `--csv` reads a table as `owm predict` does, one graph input per
  column (a `tensor(double)` input gets the number, NaN when the field is empty or not a number; a
  `tensor(string)` input gets the field as it is, missing-value markers included, which the graph maps);
  `--inputs` gives a tensor input as JSON (`{"input": {"shape": [...], "data": [...]}}`), for images, token
  ids and user/item ids.
- Every record's probabilities must equal those of `owm predict --json` (`--expected`) within `--tolerance`
  (default 1e-5), its label must be the same class, and the model must name the same bundle digest (a model
  written into its bundle names only the weights' digest).

Prints one JSON object (records, max_abs_diff, labels_agree, checker, bundle_digest) and exits 1 on a
mismatch. Needs `onnx` and `onnxruntime` (PyPI).
"""
import argparse
import csv
import json
import math
import sys

import numpy as np
import onnx
import onnxruntime as ort

ELEM = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64, onnx.TensorProto.INT64: np.int64}


def number(field):
    try:
        value = float(field)
    except ValueError:
        return math.nan
    return value


def csv_inputs(model, path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    feeds = {}
    for value_info in model.graph.input:
        elem = value_info.type.tensor_type.elem_type
        column = [row[value_info.name] for row in rows]
        if elem == onnx.TensorProto.STRING:
            feeds[value_info.name] = np.array(column, dtype=object).reshape(-1, 1)
        else:
            feeds[value_info.name] = np.array([number(v) for v in column], dtype=ELEM[elem]).reshape(-1, 1)
    return feeds


def json_inputs(model, path):
    with open(path, encoding="utf-8") as f:
        given = json.load(f)
    feeds = {}
    for value_info in model.graph.input:
        tensor = given[value_info.name]
        dtype = ELEM[value_info.type.tensor_type.elem_type]
        feeds[value_info.name] = np.array(tensor["data"], dtype=dtype).reshape(tensor["shape"])
    return feeds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--csv")
    source.add_argument("--inputs")
    parser.add_argument("--expected", required=True)
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    metadata = {p.key: p.value for p in model.metadata_props}
    classes = metadata["owm.classes"].split("\n")
    feeds = csv_inputs(model, args.csv) if args.csv else json_inputs(model, args.inputs)

    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    probabilities, labels = session.run(["probabilities", "label"], feeds)
    with open(args.expected, encoding="utf-8") as f:
        expected = [json.loads(line) for line in f if line.strip()]

    problems = []
    if len(expected) != len(probabilities):
        problems.append(f"{len(probabilities)} records from ONNX Runtime, {len(expected)} from owm predict")
    worst, agree = 0.0, 0
    for row, p, label in zip(expected, probabilities, labels):
        worst = max(worst, float(np.max(np.abs(np.array(row["probabilities"]) - p.astype(np.float64)))))
        agree += classes[int(label)] == row["label"]
    # A model written into its bundle names its weights only; the bundle's manifest lists the model.
    digests = {row["bundle_digest"] for row in expected}
    if "owm.bundle_digest" in metadata and digests != {metadata["owm.bundle_digest"]}:
        problems.append(f"the model names bundle {metadata['owm.bundle_digest']}, the predictions {sorted(digests)}")
    if worst > args.tolerance:
        problems.append(f"largest probability difference {worst:.3g} is over {args.tolerance:g}")
    if agree != len(expected):
        problems.append(f"{len(expected) - agree} labels differ")
    report = {
        "records": len(probabilities),
        "max_abs_diff": worst,
        "labels_agree": agree,
        "checker": "passed",
        "inputs": [i.name for i in model.graph.input],
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "bundle_digest": metadata.get("owm.bundle_digest"),
        "weights_digest": metadata.get("owm.weights_digest"),
        "problems": problems,
    }
    print(json.dumps(report))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
