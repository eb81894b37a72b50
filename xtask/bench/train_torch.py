#!/usr/bin/env python3
"""PyTorch side of `cargo xtask bench`'s end-to-end rows: what `owm train` does, the way a PyTorch user writes it.

    python3 xtask/bench/train_torch.py --model lenet|mlp [--hidden 256] [--epochs 1] [--threads N] [DIR]

DIR may also hold MNIST's IDX files or CIFAR-10's binary batches (`data_batch_1.bin` ...; LeNet-5 then reads
3x32x32 images without padding, as `owm train --data cifar10` builds it).

Same data (the real Fashion-MNIST from DIR, default Debian's /usr/share/datasets/fashion-mnist: 60,000 training
and 10,000 test images), same normalisation (each pixel standardised with the training split's mean and
standard deviation, a deviation under 1e-6 taken as 1, as `owm train`'s default per-feature normaliser), same
model (LeNet-5 with conv1 padding 2, or an MLP 784-H-10, ReLU), same init (Kaiming-uniform with gain sqrt(2)
on fan-in, zero biases), same optimiser (Adam lr 1e-3, betas 0.9/0.999, eps 1e-8), same batch (64, shuffled
every epoch, the last batch partial), same thread count. After training, the test accuracy over the test split.

Prints one JSON line: seconds for loading, training and evaluating, images per second of the training loop,
milliseconds per step, test accuracy, and the process's peak RSS (`ru_maxrss`, as `owm train --json` reports its
own from the same kernel counter).
"""
import argparse
import gzip
import json
import os
import resource
import time

import numpy as np
import torch
from torch import nn


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(d, prefix):
    f = lambda n: next(p for p in (os.path.join(d, n), os.path.join(d, n + ".gz")) if os.path.exists(p))
    return idx(f(f"{prefix}-images-idx3-ubyte")), idx(f(f"{prefix}-labels-idx1-ubyte")).astype(np.int64)


def cifar(d):
    """CIFAR-10's binary batches: (train images, train labels), (test images, test labels), images as rows."""
    def batch(names):
        raw = np.concatenate([np.fromfile(os.path.join(d, n), np.uint8).reshape(-1, 3073) for n in names])
        return raw[:, 1:], raw[:, 0].astype(np.int64)
    return batch([f"data_batch_{i}.bin" for i in range(1, 6)]), batch(["test_batch.bin"])


def model(kind, hidden, shape):
    channels, side = shape[0], shape[1]
    if kind == "lenet":
        return nn.Sequential(
            nn.Conv2d(channels, 6, 5, padding=2 if side == 28 else 0), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    return nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(shape)), hidden), nn.ReLU(), nn.Linear(hidden, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--model", choices=["lenet", "mlp"], default="lenet")
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    if os.path.exists(os.path.join(a.dir, "data_batch_1.bin")):
        shape = (3, 32, 32)
        (xtr, ytr), (xte, yte) = cifar(a.dir)
    else:
        shape = (1, 28, 28)
        xtr, ytr = load(a.dir, "train")
        xte, yte = load(a.dir, "t10k")
    xtr, xte = xtr.reshape(len(xtr), -1).astype(np.float32), xte.reshape(len(xte), -1).astype(np.float32)
    mean = xtr.astype(np.float64).mean(0)
    std = xtr.astype(np.float64).std(0)
    std[std < 1e-6] = 1.0
    norm = lambda x: torch.from_numpy(((x - mean) / std).astype(np.float32).reshape(len(x), *shape))
    xtr, xte, ytr, yte = norm(xtr), norm(xte), torch.from_numpy(ytr), torch.from_numpy(yte)
    t1 = time.perf_counter()

    torch.manual_seed(a.seed)
    net = model(a.model, a.hidden, shape)
    for m in net:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    steps = 0
    net.train()
    for _ in range(a.epochs):
        for b in torch.randperm(len(ytr)).split(a.batch_size):
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(net(xtr[b]), ytr[b])
            loss.backward()
            opt.step()
            steps += 1
    final_loss = float(loss.detach())
    t2 = time.perf_counter()

    net.eval()
    with torch.no_grad():
        correct = sum(int((net(x).argmax(1) == y).sum()) for x, y in zip(xte.split(2048), yte.split(2048)))
    t3 = time.perf_counter()
    images = len(ytr) * a.epochs
    print(json.dumps({
        "model": a.model, "epochs": a.epochs, "steps": steps, "train_items": len(ytr), "threads": a.threads, "torch": torch.__version__,
        "load_seconds": t1 - t0, "train_seconds": t2 - t1, "eval_seconds": t3 - t2,
        "images_per_second": images / (t2 - t1), "ms_per_step": 1e3 * (t2 - t1) / steps,
        "final_loss": final_loss, "accuracy": correct / len(yte),
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }), flush=True)


if __name__ == "__main__":
    main()
