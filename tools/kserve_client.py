#!/usr/bin/env python3
"""A real Open Inference Protocol (KServe v2 REST) client against `owm serve-model`, with Python's standard library.

Sends the records of a file to a served model as raw records (one input per column, `content_type = "pd"`, as
MLServer's pandas codec does), and checks the answer against `owm predict`'s CSV for the same file: the same
labels, and probabilities within 1e-6 (they travel as FP32). Then checks that malformed JSON, wrong shapes,
wrong datatypes, unknown outputs and models, oversized bodies and wrong or missing tokens each get a clear 4xx
with `{"error": ...}`, and that the server still answers correctly afterwards.

    python3 tools/kserve_client.py --url http://127.0.0.1:8080 --model NAME --records test.csv --kind table \
        --expect predictions.csv [--target y] [--token-file TOKEN] [--max-body-bytes N]

Exit status 0 when every check passes; otherwise it names the first that failed.
"""

import argparse
import csv
import json
import sys
import urllib.error
import urllib.request


def call(url, body=None, token=None, raw=None):
    """(status, parsed JSON body) of a GET (no body) or POST."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        text = e.read()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text.decode(errors="replace")


def check(condition, what):
    if not condition:
        sys.exit(f"FAILED: {what}")
    print(f"ok: {what.split(':')[0]}")


def number(v):
    try:
        return float(v)
    except ValueError:
        return None


def table_inputs(path, target):
    """One input per column but the target: FP64 where every present value is a number (others null), else BYTES."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    inputs = []
    for i, name in enumerate(header):
        if name == target:
            continue
        values = [r[i] for r in rows]
        parsed = [number(v) for v in values]
        numeric = all(p is not None or v.strip() in ("", "?") for v, p in zip(values, parsed)) and any(p is not None for p in parsed)
        data = parsed if numeric else values
        inputs.append({"name": name, "shape": [len(rows)], "datatype": "FP64" if numeric else "BYTES", "data": data})
    return inputs


def text_inputs(path):
    """`label<TAB>text` or `text` lines (blank lines skipped, as training reads them) as one BYTES input `text`."""
    with open(path, encoding="utf-8") as f:
        texts = [line.rstrip("\n").split("\t", 1)[-1] for line in f if line.strip()]
    return [{"name": "text", "shape": [len(texts)], "datatype": "BYTES", "data": texts}]


def pair_inputs(path):
    """`user,item[,...]` rows (a header first) as BYTES inputs `user` and `item`."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    return [{"name": name, "shape": [len(rows)], "datatype": "BYTES", "data": [r[i] for r in rows]} for i, name in enumerate(["user", "item"])]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--url", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--records", required=True)
    p.add_argument("--kind", choices=["table", "texts", "pairs", "request"], required=True,
                   help="request: --records is a whole request body (the model's input tensor as given, say)")
    p.add_argument("--expect", required=True, help="owm predict's CSV for the same records")
    p.add_argument("--target", default=None, help="a table's target column, left out of the request")
    p.add_argument("--token-file", default=None)
    p.add_argument("--max-body-bytes", type=int, default=None, help="the server's limit, to send a body over it")
    a = p.parse_args()
    token = open(a.token_file).read().strip() if a.token_file else None
    base, model = a.url.rstrip("/"), f"{a.url.rstrip('/')}/v2/models/{a.model}"
    with open(a.expect, newline="") as f:
        expected = list(csv.DictReader(f))
    classes = [c[2:] for c in expected[0].keys() if c.startswith("p_")]
    digest = expected[0]["bundle_digest"]

    status, _ = call(f"{base}/v2/health/live")
    check(status == 200, f"live without a token: {status}")
    status, _ = call(f"{base}/v2/health/ready")
    check(status == 200, f"ready: {status}")
    if token is not None:
        status, body = call(f"{base}/v2", token="wrong")
        check(status == 401 and "error" in body, f"a wrong token is refused: {status} {body}")
        status, body = call(f"{base}/v2")
        check(status == 401 and "error" in body, f"a missing token is refused: {status} {body}")
    status, body = call(f"{base}/v2", token=token)
    check(status == 200 and a.model in body["models"], f"server metadata lists the model: {status} {body}")
    status, meta = call(model, token=token)
    check(status == 200 and meta["parameters"]["bundle_digest"] == digest, f"model metadata names the bundle digest: {status} {meta}")
    outputs = {o["name"]: o for o in meta["outputs"]}
    check(outputs["probabilities"]["shape"] == [-1, len(classes)] and outputs["label"]["datatype"] == "BYTES", f"metadata outputs: {meta['outputs']}")
    status, body = call(f"{model}/ready", token=token)
    check(status == 200 and body["ready"] is True, f"model ready: {status} {body}")

    if a.kind == "request":
        request = dict(json.load(open(a.records)), id="check-1")
        inputs = request["inputs"]
    else:
        inputs = {"table": lambda: table_inputs(a.records, a.target), "texts": lambda: text_inputs(a.records), "pairs": lambda: pair_inputs(a.records)}[a.kind]()
        request = {"id": "check-1", "parameters": {"content_type": "pd"}, "inputs": inputs}

    def predict_and_compare(what):
        status, body = call(f"{model}/infer", request, token)
        check(status == 200, f"{what} answered: {status} {body if status != 200 else ''}")
        out = {o["name"]: o for o in body["outputs"]}
        check(body["id"] == "check-1" and body["parameters"]["bundle_digest"] == digest, f"{what}, the answer names the request and the bundle")
        labels, probs = out["label"]["data"], out["probabilities"]["data"]
        check(out["probabilities"]["shape"] == [len(expected), len(classes)], f"{what}, one probability row per record: {out['probabilities']['shape']}")
        mismatched = [i for i, row in enumerate(expected) if row["label"] != labels[i]]
        check(not mismatched, f"{what}, labels equal owm predict's: {len(mismatched)} differ, first {mismatched[:3]}")
        worst = max(abs(float(row[f"p_{c}"]) - probs[i * len(classes) + k]) for i, row in enumerate(expected) for k, c in enumerate(classes))
        check(worst <= 1e-6, f"{what}, probabilities within 1e-6 of owm predict's: worst {worst:.3g}")
        print(f"    {len(labels)} records, worst probability difference {worst:.3g}")

    predict_and_compare("raw records" if a.kind != "request" else "the request")

    bad = [
        ("malformed JSON", None, b'{"inputs": [', 400),
        ("a shape that does not hold the data", {"inputs": [dict(inputs[0], shape=[len(inputs[0]["data"]) + 1])]}, None, 400),
        ("a datatype the data is not", {"inputs": [dict(inputs[0], datatype="INT8", shape=[2], data=["x", "y"])]}, None, 400),
        ("an unknown datatype", {"inputs": [dict(inputs[0], datatype="FP8")]}, None, 400),
        ("a missing or unknown column", {"parameters": {"content_type": "pd"}, "inputs": inputs[1:] or [dict(inputs[0], name="other")]}, None, 400),
        ("an unknown output", dict(request, outputs=[{"name": "logits"}]), None, 400),
        ("a tensor of the wrong shape", {"inputs": [{"name": "input", "shape": [1, 1, 1], "datatype": "FP32", "data": [1]}]}, None, 400),
    ]
    if a.max_body_bytes:
        bad.append(("a body over the limit", None, b" " * (a.max_body_bytes + 1) + b"{}", 413))
    for what, body, raw, expected_status in bad:
        status, answer = call(f"{model}/infer", body, token, raw=raw)
        check(status == expected_status and isinstance(answer, dict) and answer.get("error"), f"{what} gets {expected_status}: {status} {answer}")
        print(f"    {answer['error'][:150]}")
    status, answer = call(f"{base}/v2/models/no-such-model/infer", request, token)
    check(status == 404 and answer.get("error"), f"an unknown model gets 404: {status} {answer}")
    if token is not None:
        status, answer = call(f"{model}/infer", request, "wrong")
        check(status == 401, f"an inference with a wrong token gets 401: {status} {answer}")
    predict_and_compare("the same records after the bad requests")
    print("all checks passed")


if __name__ == "__main__":
    main()
