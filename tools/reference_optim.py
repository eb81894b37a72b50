"""Reference optimiser trajectories from PyTorch, checked by crates/owm-optim/tests/pytorch_reference.rs.

Problem: w in R^5, loss(w) = 0.5 * sum(c * w^2) + sum(b * w), five steps from w0, float32.

Run: python3 tools/reference_optim.py   (needs torch)
"""
import json
import pathlib

import torch

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/owm-optim/tests/fixtures/pytorch_optim.json"
W0 = [1.0, -2.0, 0.5, 3.0, -0.25]
C = [1.0, 2.0, 0.5, 0.1, 4.0]
B = [0.1, -0.2, 0.3, 0.0, 0.05]

CASES = {
    "gd": ("sgd", dict(lr=0.1)),
    "sgd_momentum": ("sgd", dict(lr=0.05, momentum=0.9)),
    "sgd_nesterov_wd": ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    "sgd_dampening": ("sgd", dict(lr=0.05, momentum=0.5, dampening=0.3)),
    "adam": ("adam", dict(lr=0.01)),
    "adam_wd": ("adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
}


def run(kind, kwargs, steps=5):
    w = torch.tensor(W0, dtype=torch.float32, requires_grad=True)
    c, b = torch.tensor(C), torch.tensor(B)
    opt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adam)([w], **kwargs)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * (c * w * w).sum() + (b * w).sum()
        loss.backward()
        opt.step()
        out.append(w.detach().tolist())
    return out


def main():
    cases = []
    for name, (kind, kwargs) in CASES.items():
        config = {"kind": "gd" if name == "gd" else kind, **{k: v for k, v in kwargs.items() if k != "betas"}}
        if "betas" in kwargs:
            config["beta1"], config["beta2"] = kwargs["betas"]
        cases.append({"name": name, "config": config, "trajectory": run(kind, kwargs)})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"w0": W0, "c": C, "b": B, "torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
