"""Opacus DP-SGD on the embedded digits, side by side with `owm train --dp-epsilon 8`.

The recipe of `crates/owm-train/tests/it/privacy.rs` (`private_digits`): OWM's seeded 80/20 split of the UCI
digits (reproduced bit for bit and checked by fingerprint), raw pixel values (no standardisation: statistics
of the private data would leak), MLP 64-64-10 with ReLU, He-uniform weights and zero biases, Adam lr 1e-2,
Poisson sampling at rate 64/1438 (expected batch 64), per-example clip norm 1, 4 epochs of 22 batches
(88 steps), noise multiplier from Opacus's RDP solver for epsilon 8 at delta 1e-5.

    python3 tools/opacus_digits.py    writes crates/owm-train/tests/fixtures/opacus_digits.json
                                      (test accuracy and epsilon spent, seeds 1-5)

Needs torch, opacus (1.6.0) and scikit-learn.
"""
import json
import pathlib

import numpy as np
import opacus
import torch
from opacus import GradSampleModule
from opacus.accountants import RDPAccountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.optimizers import DPOptimizer

from owm_digits import data

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/owm-train/tests/fixtures/opacus_digits.json"
EPSILON, DELTA, CLIP, LR, BATCH, EPOCHS = 8.0, 1e-5, 1.0, 1e-2, 64, 4
SEEDS = [1, 2, 3, 4, 5]


def poisson_steps(model, optimizer, xtr, ytr, rate, steps, seed):
    """`steps` DP-SGD steps of cross-entropy on Poisson batches (each item with probability `rate`, drawn from
    a generator seeded with `seed`)."""
    x, y = torch.from_numpy(xtr), torch.from_numpy(ytr).long()
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        mask = torch.rand(len(y), generator=generator) < rate
        optimizer.zero_grad()
        if mask.any():
            loss_fn(model(x[mask]), y[mask]).backward()
        else:
            # An empty Poisson batch: Opacus's DPOptimizer still adds noise to zero per-sample gradients.
            for p in model.parameters():
                p.grad_sample = torch.zeros((0, *p.shape))
        optimizer.step()


def run(seed):
    xtr, ytr, xte, yte, fp = data(seed, standardise=False)
    n = len(ytr)
    rate = BATCH / n
    steps = EPOCHS * round(1 / rate)
    sigma = get_noise_multiplier(target_epsilon=EPSILON, target_delta=DELTA, sample_rate=rate, steps=steps, accountant="rdp")
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    for layer in (net[0], net[2]):
        torch.nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    model = GradSampleModule(net)
    optimizer = DPOptimizer(torch.optim.Adam(model.parameters(), lr=LR), noise_multiplier=sigma, max_grad_norm=CLIP, expected_batch_size=BATCH)
    accountant = RDPAccountant()
    optimizer.attach_step_hook(accountant.get_optimizer_hook_fn(sample_rate=rate))
    poisson_steps(model, optimizer, xtr, ytr, rate, steps, seed)
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(xte)).argmax(1).numpy() == yte).mean())
    return {"seed": seed, "test_fingerprint": fp, "noise_multiplier": float(sigma), "steps": steps,
            "epsilon": float(accountant.get_epsilon(delta=DELTA)), "accuracy": accuracy}


def main():
    runs = [run(s) for s in SEEDS]
    mean = float(np.mean([r["accuracy"] for r in runs]))
    out = {"opacus": opacus.__version__, "torch": torch.__version__, "recipe": {"epsilon": EPSILON, "delta": DELTA, "clip": CLIP,
           "lr": LR, "expected_batch": BATCH, "epochs": EPOCHS, "model": "mlp 64-64-10"}, "runs": runs, "mean_accuracy": mean}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}: mean test accuracy {mean:.4f} over seeds {SEEDS}")


if __name__ == "__main__":
    main()
