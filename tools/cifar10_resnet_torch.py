#!/usr/bin/env python3
"""CIFAR-10 time to accuracy: OWM's residual network beside PyTorch's, the same recipe on the same threads.

    python3 tools/cifar10_resnet_torch.py OWM_BINARY OUT.json [--depth 20] [--epochs 30] [--batch-size 128]
                                          [--lr 0.1] [--seed 42] [--threads 2] [--sides owm,torch]
                                          [--train-limit N] [--test-limit N]

Both sides read the CIFAR-10 binary batches (`cargo xtask data cifar-10`, or `OWM_CIFAR10=DIR`) and train the
CIFAR residual network of He et al. (depth 6n + 2, width 16, batch norm, 1x1 projection shortcuts, no convolution
bias) with one recipe:
- pixels scaled to [0, 1]; augmentation per image, drawn per item: a random crop of the image padded with 4 zero
  pixels on each side (offsets uniform in [-4, 4]), then a horizontal flip with probability 1/2; then each channel
  standardised by the training images' mean and standard deviation (OWM's `--augment` and per-channel
  normaliser, torchvision's `RandomCrop(32, padding=4)`, `RandomHorizontalFlip`, `Normalize`);
- Kaiming-uniform weights with gain sqrt(2) over the fan-in, zero biases, batch norms the identity (OWM's
  `he-uniform`, `nn.init.kaiming_uniform_(nonlinearity="relu")`);
- SGD with Nesterov momentum 0.9, L2 weight decay 5e-4 on every parameter, the learning rate annealed by a
  cosine from `--lr` to 0 over every step (`CosineAnnealingLR(T_max=steps)` stepped per batch), batch 128,
  reshuffled every epoch, the last partial batch kept;
- cross-entropy; the test accuracy of the final weights on the 10,000 test images.

OWM runs `owm train --data cifar10 --model resnet ... --validation-fraction 0 --json --quiet` with its default
per-step tracing; PyTorch 2 runs eagerly on `--threads` threads. Each side reports the wall time of its whole
run (reading the data included) and of its training loop, the images per second of that loop, the test
accuracy and whether it reached 90% (the issue's target). Writes OUT.json and prints one line per side.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fetch_datasets import datasets_dir  # noqa: E402

TARGET = 0.90


def cifar_dir():
    return os.environ.get("OWM_CIFAR10") or os.path.join(datasets_dir(), "cifar-10")


def read_batches(names, limit):
    images, labels = [], []
    for name in names:
        raw = np.fromfile(os.path.join(cifar_dir(), name), dtype=np.uint8)
        if raw.size % 3073:
            sys.exit(f"{name}: {raw.size} bytes, not a whole number of 3,073-byte records")
        raw = raw.reshape(-1, 3073)
        labels.append(raw[:, 0].astype(np.int64))
        images.append(raw[:, 1:].reshape(-1, 3, 32, 32))
    x, y = np.concatenate(images), np.concatenate(labels)
    return (x[:limit], y[:limit]) if limit else (x, y)


def run_owm(binary, args):
    steps = args.epochs * math.ceil((args.train_limit or 50_000) / args.batch_size)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [binary, "train", "--data", "cifar10", "--data-dir", cifar_dir(), "--model", "resnet",
               "--depth", str(args.depth), "--init", "he-uniform", "--optimizer", "nesterov", "--lr", str(args.lr),
               "--momentum", "0.9", "--weight-decay", "5e-4", "--schedule", f"cosine:t_max={steps}", "--augment",
               "--batch-size", str(args.batch_size), "--epochs", str(args.epochs), "--validation-fraction", "0",
               "--seed", str(args.seed), "--out", os.path.join(tmp, "run"), "--json", "--quiet"]
        if args.train_limit:
            cmd += ["--train-limit", str(args.train_limit)]
        if args.test_limit:
            cmd += ["--test-limit", str(args.test_limit)]
        env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if done.returncode:
            sys.exit(f"owm train failed ({done.returncode}):\n{done.stderr}")
        summary = json.loads(done.stdout.strip().splitlines()[-1])
    train_items = summary["train_items"]
    return {"side": "owm", "wall_seconds": wall, "train_seconds": summary["train_seconds"],
            "images_per_second": args.epochs * train_items / summary["train_seconds"],
            "test_accuracy": summary["accuracy"], "epochs": args.epochs, "steps": summary["steps"],
            "peak_rss_bytes": summary["peak_rss_bytes"], "command": " ".join(cmd[1:])}


def run_torch(args):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    # The residual network of `cargo xtask bench`'s PyTorch side.
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "xtask", "bench"))
    from lenet_torch import ResNet

    model = ResNet(args.depth)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    x_train, y_train = read_batches([f"data_batch_{i}.bin" for i in range(1, 6)], args.train_limit)
    x_test, y_test = read_batches(["test_batch.bin"], args.test_limit)
    x_train = torch.from_numpy(x_train.astype(np.float32) / 255.0)
    x_test = torch.from_numpy(x_test.astype(np.float32) / 255.0)
    mean = x_train.mean(dim=(0, 2, 3)).view(1, 3, 1, 1)
    std = x_train.std(dim=(0, 2, 3)).view(1, 3, 1, 1)
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)
    padded = F.pad(x_train, (4, 4, 4, 4))

    n = len(x_train)
    steps = args.epochs * math.ceil(n / args.batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    train_seconds = 0.0
    for _ in range(args.epochs):
        model.train()
        order = torch.from_numpy(rng.permutation(n))
        epoch_start = time.perf_counter()
        for first in range(0, n, args.batch_size):
            idx = order[first:first + args.batch_size]
            dy, dx = rng.integers(0, 9, len(idx)), rng.integers(0, 9, len(idx))
            flip = rng.random(len(idx)) < 0.5
            batch = torch.stack([padded[i, :, a:a + 32, b:b + 32] for i, a, b in zip(idx.tolist(), dy, dx)])
            batch[torch.from_numpy(flip)] = batch[torch.from_numpy(flip)].flip(3)
            batch = (batch - mean) / std
            loss = F.cross_entropy(model(batch), y_train[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        train_seconds += time.perf_counter() - epoch_start

    model.eval()
    correct = 0
    with torch.no_grad():
        for first in range(0, len(x_test), 1000):
            batch = (x_test[first:first + 1000] - mean) / std
            correct += (model(batch).argmax(1) == y_test[first:first + 1000]).sum().item()
    wall = time.perf_counter() - start
    return {"side": f"pytorch-{torch.__version__}", "wall_seconds": wall, "train_seconds": train_seconds,
            "images_per_second": args.epochs * n / train_seconds, "test_accuracy": correct / len(x_test),
            "epochs": args.epochs, "steps": steps}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("owm")
    ap.add_argument("out")
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sides", default="owm,torch", help="which sides to run, in this order")
    ap.add_argument("--train-limit", type=int)
    ap.add_argument("--test-limit", type=int)
    args = ap.parse_args()

    results = []
    for side in args.sides.split(","):
        result = run_owm(args.owm, args) if side == "owm" else run_torch(args)
        result["reached_target"] = result["test_accuracy"] >= TARGET
        print(json.dumps(result), flush=True)
        results.append(result)
    recipe = {k: getattr(args, k) for k in ("depth", "epochs", "batch_size", "lr", "seed", "threads", "train_limit", "test_limit")}
    with open(args.out + ".tmp", "w") as f:
        json.dump({"recipe": recipe, "target": TARGET, "results": results}, f, indent=1)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
