"""Reference trajectories of torch.optim presets, LR schedules and gradient clipping, checked by
crates/owm-optim/tests/it/pytorch_presets.rs.

Network: x (8x4) -> tanh(x @ W1 + b1) @ W2 + b2 (W1 4x5, W2 5x3), cross-entropy on 8 fixed labels, full batch,
float32, 100 steps from fixed initial weights. Schedules: base lr 0.1 for 1,000 steps (lr before each step).

Run: python3 tools/reference_presets.py   (needs torch and numpy)
"""
import json
import math
import pathlib

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/owm-optim/tests/fixtures/pytorch_presets.json"
STEPS = 100

rng = np.random.default_rng(20261129)
X = rng.normal(size=(8, 4)).astype(np.float32)
Y = np.array([0, 1, 2, 0, 1, 2, 1, 0])
INIT = {
    "w1": rng.normal(scale=0.7, size=(4, 5)).astype(np.float32),
    "b1": rng.normal(scale=0.1, size=(5,)).astype(np.float32),
    "w2": rng.normal(scale=0.7, size=(5, 3)).astype(np.float32),
    "b2": rng.normal(scale=0.1, size=(3,)).astype(np.float32),
}

# name: (torch class, torch kwargs, owm config, clip norm)
PRESETS = {
    "sgd": (torch.optim.SGD, dict(lr=0.1), {"kind": "sgd", "lr": 0.1}, None),
    "sgd_wd_dampening": (torch.optim.SGD, dict(lr=0.1, momentum=0.8, dampening=0.2, weight_decay=0.01),
                         {"kind": "sgd", "lr": 0.1, "momentum": 0.8, "dampening": 0.2, "weight_decay": 0.01}, None),
    "momentum": (torch.optim.SGD, dict(lr=0.1, momentum=0.9), {"kind": "momentum", "lr": 0.1}, None),
    "nesterov": (torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), {"kind": "nesterov", "lr": 0.1}, None),
    "adam": (torch.optim.Adam, dict(lr=0.01), {"kind": "adam", "lr": 0.01}, None),
    "adam_l2": (torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
                {"kind": "adam", "lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "weight_decay": 0.1}, None),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1), {"kind": "adamw", "lr": 0.01, "weight_decay": 0.1}, None),
    "rmsprop": (torch.optim.RMSprop, dict(lr=0.01), {"kind": "rmsprop", "lr": 0.01}, None),
    "rmsprop_centered_momentum": (torch.optim.RMSprop, dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01),
                                  {"kind": "rmsprop", "lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.01}, None),
    "adagrad": (torch.optim.Adagrad, dict(lr=0.1), {"kind": "adagrad", "lr": 0.1}, None),
    "adagrad_init_acc": (torch.optim.Adagrad, dict(lr=0.1, initial_accumulator_value=0.1, weight_decay=0.01),
                         {"kind": "adagrad", "lr": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.01}, None),
    "sgd_clip_norm": (torch.optim.SGD, dict(lr=0.5, momentum=0.9), {"kind": "sgd", "lr": 0.5, "momentum": 0.9, "clip_norm": 0.25}, 0.25),
}


def run_preset(cls, kwargs, clip):
    params = {k: torch.tensor(v, requires_grad=True) for k, v in INIT.items()}
    x, y = torch.tensor(X), torch.tensor(Y)
    opt = cls(list(params.values()), **kwargs)
    losses, norms = [], []
    for _ in range(STEPS):
        opt.zero_grad()
        h = torch.tanh(x @ params["w1"] + params["b1"])
        loss = torch.nn.functional.cross_entropy(h @ params["w2"] + params["b2"], y)
        loss.backward()
        if clip is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), clip)))
        losses.append(loss.item())
        opt.step()
    return {k: v.detach().reshape(-1).tolist() for k, v in params.items()}, losses, norms


def lrs(make, steps=1000, metric=None):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sched = make(opt)
    out = []
    for t in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(metric(t)) if metric else sched.step()
    return out


def plateau_metric(t):
    return 1.0 / (1.0 + t / 50.0) + 0.05 * math.sin(t / 7.0) + (0.3 if t > 600 else 0.0)


S = torch.optim.lr_scheduler
SCHEDULES = {
    "step": ({"kind": "step", "step_size": 30, "gamma": 0.5}, lambda o: S.StepLR(o, 30, 0.5)),
    "exponential": ({"kind": "exponential", "gamma": 0.995}, lambda o: S.ExponentialLR(o, 0.995)),
    "cosine": ({"kind": "cosine", "t_max": 500, "eta_min": 0.001}, lambda o: S.CosineAnnealingLR(o, 500, 0.001)),
    "cosine_warmup": ({"kind": "cosine", "t_max": 900, "warmup": 100, "warmup_factor": 0.1},
                      lambda o: S.SequentialLR(o, [S.LinearLR(o, 0.1, 1.0, 100), S.CosineAnnealingLR(o, 900)], [100])),
    "linear": ({"kind": "linear", "start_factor": 0.25, "end_factor": 1.0, "total_steps": 400},
               lambda o: S.LinearLR(o, 0.25, 1.0, 400)),
    "one_cycle": ({"kind": "one_cycle", "total_steps": 1000},
                  lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=1000, cycle_momentum=False)),
}


def main():
    presets = []
    for name, (cls, kwargs, config, clip) in PRESETS.items():
        final, losses, norms = run_preset(cls, kwargs, clip)
        presets.append({"name": name, "config": config, "final": final, "losses": losses, "clip_norms": norms})
    schedules = [{"name": n, "schedule": s, "lrs": lrs(make)} for n, (s, make) in SCHEDULES.items()]
    plateau = {"kind": "reduce_on_plateau", "factor": 0.5, "patience": 5, "threshold": 1e-4, "cooldown": 2, "min_lr": 1e-4}
    make = lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=5, threshold=1e-4, cooldown=2, min_lr=1e-4)
    metrics = [plateau_metric(t) for t in range(1000)]
    schedules.append({"name": "reduce_on_plateau", "schedule": plateau, "lrs": lrs(make, metric=plateau_metric), "metrics": metrics})
    data = {
        "torch": torch.__version__,
        "steps": STEPS,
        "x": X.reshape(-1).tolist(),
        "y": Y.tolist(),
        "init": {k: v.reshape(-1).tolist() for k, v in INIT.items()},
        "presets": presets,
        "schedules": schedules,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data) + "\n")
    print(f"wrote {len(presets)} presets and {len(schedules)} schedules to {OUT}")


if __name__ == "__main__":
    main()
