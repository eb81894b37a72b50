"""Opacus side of `cargo xtask bench`'s DP-SGD step: LeNet-5 (the model of `lenet_torch.py`) with Adam
(lr 1e-3) on random CIFAR-shaped images, 20 expected batches' worth, trained plainly (fixed batches) and with
Opacus's DP-SGD (GradSampleModule + DPOptimizer: Poisson sampling at rate batch/items, clip 1, noise
multiplier 1), as `owm bench --dp` does. Prints one JSON line of training images per second.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer

from lenet_torch import LeNet5


def rate_of(private, x, y, batch, steps, warmup):
    torch.manual_seed(0)
    n = len(y)
    model = LeNet5()
    if private:
        model = GradSampleModule(model)
        opt = DPOptimizer(torch.optim.Adam(model.parameters(), lr=1e-3), noise_multiplier=1.0, max_grad_norm=1.0, expected_batch_size=batch)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    images = 0
    for step in range(warmup + steps):
        if step == warmup:
            start, images = time.perf_counter(), 0
        if private:
            mask = torch.rand(n, generator=generator) < batch / n
            xb, yb = x[mask], y[mask]
        else:
            at = (step * batch) % n
            xb, yb = x[at:at + batch], y[at:at + batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
        images += len(yb)
    return images / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    items = a.batch_size * 20
    torch.manual_seed(0)
    x, y = torch.randn(items, 3, 32, 32), torch.randint(0, 10, (items,))
    plain = rate_of(False, x, y, a.batch_size, a.steps, a.warmup)
    private = rate_of(True, x, y, a.batch_size, a.steps, a.warmup)
    print(json.dumps({"name": "dp-lenet5-cifar-adam", "backend": f"opacus-{__import__('opacus').__version__}-torch-{torch.__version__}-{torch.get_num_threads()}threads",
                      "batch_size": a.batch_size, "steps": a.steps, "plain_images_per_second": plain, "private_images_per_second": private,
                      "slowdown": plain / private}))


if __name__ == "__main__":
    main()
