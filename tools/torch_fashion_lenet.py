#!/usr/bin/env python3
"""PyTorch reference for `examples/fashion_lenet`: LeNet-5 (ReLU, max-pool, conv1 padding 2) with Adam
(lr 1e-3, batch 64) for 5 epochs on the real Fashion-MNIST, inputs standardised per channel with the
training split's mean and std. Prints the test accuracy after each epoch, one JSON line per seed.

    python3 tools/torch_fashion_lenet.py [DIR] [--init default|he] [--seeds 0,1,2]

DIR defaults to Debian's /usr/share/datasets/fashion-mnist. Needs torch and numpy.
"""
import argparse
import gzip
import json
import os

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
    return idx(f(f"{prefix}-images-idx3-ubyte")).astype(np.float32), idx(f(f"{prefix}-labels-idx1-ubyte")).astype(np.int64)


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--init", default="default")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", type=int, default=5)
    a = ap.parse_args()
    xtr, ytr = load(a.dir, "train")
    xte, yte = load(a.dir, "t10k")
    m, s = xtr.mean(), xtr.std()
    xtr, xte = torch.tensor((xtr - m) / s).unsqueeze(1), torch.tensor((xte - m) / s).unsqueeze(1)
    ytr, yte = torch.tensor(ytr), torch.tensor(yte)
    torch.set_num_threads(os.cpu_count())
    for seed in map(int, a.seeds.split(",")):
        torch.manual_seed(seed)
        net = lenet()
        if a.init == "he":
            for mod in net:
                if isinstance(mod, (nn.Conv2d, nn.Linear)):
                    nn.init.kaiming_uniform_(mod.weight, nonlinearity="relu")
                    nn.init.zeros_(mod.bias)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        accs = []
        for epoch in range(a.epochs):
            net.train()
            for b in torch.randperm(len(ytr)).split(64):
                opt.zero_grad()
                nn.functional.cross_entropy(net(xtr[b]), ytr[b]).backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                accs.append(float((net(xte).argmax(1) == yte).float().mean()))
        print(json.dumps({"seed": seed, "init": a.init, "accuracy_per_epoch": accs}), flush=True)


if __name__ == "__main__":
    main()
