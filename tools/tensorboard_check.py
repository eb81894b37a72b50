#!/usr/bin/env python3
"""Checks an `owm trace RUN --tensorboard DIR` event file with TensorBoard's own reader.

    python3 tools/tensorboard_check.py RUN/trace.jsonl DIR

TensorBoard's `EventAccumulator` (PyPI `tensorboard`) loads DIR, and every value the trace records must be
there: each scalar tag at each step with the trace's value (within f32 rounding), each weight distribution as
a histogram with the trace's bucket counts, and the run's settings as an HParams session start. The expected
values are read from the JSON Lines trace here, not by OWM. Prints one JSON object (scalar tags and points,
histograms, hparams, problems) and exits 1 when anything is missing or differs.
"""
import json
import sys

import numpy as np
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def expected(trace_path):
    """(scalars: {tag: {step: value}}, histograms: {tag: {step: counts}}, config)."""
    scalars, histograms, config = {}, {}, None

    def put(tag, step, value):
        scalars.setdefault(tag, {})[step] = value

    with open(trace_path, encoding="utf-8") as f:
        for line in f:
            e = json.loads(line)
            kind = e["event"]
            if kind == "run_started":
                config = e["config"]
            elif kind == "step":
                step = e["step"]
                put("loss", step, e["loss"])
                put("lr", step, e["lr"])
                for group, lr in e.get("group_lrs", {}).items():
                    put(f"lr/{group}", step, lr)
                if e.get("privacy"):
                    put("privacy/clip_fraction", step, e["privacy"]["clip_fraction"])
                    put("privacy/noise_std", step, e["privacy"]["noise_std"])
                for layer in e.get("layers", []):
                    for stat in ("grad_norm", "weight_norm", "update_norm", "update_ratio", "sign_flips", "zero_grads"):
                        put(f"{layer['path']}/{stat}", step, layer[stat])
            elif kind == "generation":
                step = e["step"]
                put("loss", step, e["loss"])
                for stat in ("best_loss", "mean_loss", "std_loss", "worst_loss"):
                    put(f"search/{stat}", step, e[stat])
                for stat, value in e.get("stats", {}).items():
                    put(f"search/{stat}", step, value)
            elif kind == "epoch_end":
                put("epoch/train_loss", e["steps"], e["train_loss"])
                if e.get("train_accuracy") is not None:
                    put("epoch/train_accuracy", e["steps"], e["train_accuracy"])
            elif kind == "validation":
                for metric, value in e["metrics"].items():
                    put(f"validation/{metric}", e["steps"], value)
            elif kind == "distribution":
                histograms.setdefault(e["path"], {})[e["step"]] = e["counts"]
    return scalars, histograms, config


def main():
    trace_path, logdir = sys.argv[1:3]
    want_scalars, want_histograms, config = expected(trace_path)
    acc = event_accumulator.EventAccumulator(logdir, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    tags = acc.Tags()
    problems = []
    points = 0
    for tag, steps in want_scalars.items():
        if tag not in tags["scalars"]:
            problems.append(f"scalar `{tag}` missing")
            continue
        got = {s.step: s.value for s in acc.Scalars(tag)}
        for step, value in steps.items():
            points += 1
            if step not in got or got[step] != np.float32(value):
                problems.append(f"`{tag}` at step {step}: {got.get(step)} against the trace's {value}")
    for tag, steps in want_histograms.items():
        if tag not in tags["histograms"]:
            problems.append(f"histogram `{tag}` missing")
            continue
        got = {h.step: list(h.histogram_value.bucket) for h in acc.Histograms(tag)}
        for step, counts in steps.items():
            if got.get(step) != [float(c) for c in counts]:
                problems.append(f"histogram `{tag}` at step {step}: {got.get(step)} against the trace's {counts}")
    hparams = {}
    content = acc.PluginTagToContent("hparams").get("_hparams_/session_start_info")
    if content is None:
        problems.append("no HParams session start")
    else:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        hparams = {k: v.WhichOneof("kind") for k, v in data.session_start_info.hparams.items()}
        if config is not None and data.session_start_info.hparams["seed"].number_value != config["seed"]:
            problems.append("the HParams seed is not the run's")
    report = {
        "scalar_tags": len(want_scalars),
        "scalar_points": points,
        "histogram_tags": len(want_histograms),
        "hparams": len(hparams),
        "problems": problems[:20],
    }
    print(json.dumps(report))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
