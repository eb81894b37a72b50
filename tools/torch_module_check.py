#!/usr/bin/env python3
"""Checks the `torch.nn.Module` that `owm export --pytorch` writes beside a state_dict.

    python3 tools/torch_module_check.py MODULE.py STATE.safetensors CASE.json

CASE.json holds the network's input as OWM feeds it (`{"input": {"shape": [...], "dtype": "float32" or
"int64", "data": [...]}, "logits": [...]}`, the logits OWM computed from it, flat). The module's `load`
must take the state_dict with no tensor left over or missing; prints `{"max_abs_diff": ...}` between its
logits and OWM's. Needs `torch` and `safetensors` (PyPI).
"""
import importlib.util
import json
import sys

import torch


def main():
    module_path, state, case_path = sys.argv[1:4]
    spec = importlib.util.spec_from_file_location("owm_module", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.load(state)
    with open(case_path, encoding="utf-8") as f:
        case = json.load(f)
    given = case["input"]
    x = torch.tensor(given["data"], dtype=getattr(torch, given["dtype"])).reshape(given["shape"])
    with torch.no_grad():
        logits = model(x).flatten()
    expected = torch.tensor(case["logits"], dtype=torch.float32)
    print(json.dumps({"max_abs_diff": float((logits - expected).abs().max()), "records": given["shape"][0]}))


if __name__ == "__main__":
    main()
