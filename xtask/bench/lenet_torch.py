"""PyTorch side of `cargo xtask bench`'s kernel-level rows: training steps and evaluation of one workload.

    python3 xtask/bench/lenet_torch.py [--model lenet-cifar|lenet|mlp|resnet] [--batch-size 64] [--steps 50]
                                       [--warmup 5] [--eval]

The same workloads as `owm bench --model`: LeNet-5 (conv 5x5 -> 6, max-pool 2, conv 5x5 -> 16, max-pool 2,
linear 120, 84, 10, ReLU) on CIFAR-shaped input [3, 32, 32] (`lenet-cifar`) or Fashion-MNIST-shaped input
[1, 28, 28] with conv1 padding 2 (`lenet`); an MLP 784-256-10 (`mlp`); the CIFAR residual network of He et al.
at depth 8, width 16, with batch norm and 1x1 projection shortcuts (`resnet`). Training: Adam lr 1e-3,
cross-entropy, shuffled batches of a random split of 20 batches (standard-normal images, labels below 10), as
`owm bench` steps through the pipeline's objective. `--eval`: forward passes without autograd on one batch.
Prints one JSON line, with the process's peak RSS.
"""
import argparse
import json
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lenet(channels, padding):
    return nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = None
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.shortcut is None else self.shortcut(x)))


class ResNet(nn.Module):
    def __init__(self, depth=8, width=16):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Conv2d(3, width, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        blocks, c_in = [], width
        for stage in range(3):
            for b in range(n):
                blocks.append(Block(c_in, width << stage, 2 if stage > 0 and b == 0 else 1))
                c_in = width << stage
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(4 * width, 10)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.stem(x))))
        return self.fc(x.mean((2, 3)))


def LeNet5():
    """LeNet-5 on CIFAR-shaped input (`dp_opacus.py` imports it)."""
    return lenet(3, 0)


WORKLOADS = {
    "lenet-cifar": (LeNet5, (3, 32, 32)),
    "lenet": (lambda: lenet(1, 2), (1, 28, 28)),
    "mlp": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)), (1, 28, 28)),
    "resnet": (ResNet, (3, 32, 32)),
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=sorted(WORKLOADS), default="lenet-cifar")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--eval", action="store_true")
    a = p.parse_args()
    torch.manual_seed(0)
    make, shape = WORKLOADS[a.model]
    model = make()
    if a.eval:
        model.eval()
        x = torch.randn(a.batch_size, *shape)
        with torch.no_grad():
            for step in range(a.warmup + a.steps):
                if step == a.warmup:
                    start = time.perf_counter()
                logits = model(x)
        float(logits[0, 0])
    else:
        items = 20 * a.batch_size
        xs, ys = torch.randn(items, *shape), torch.randint(0, 10, (items,))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        order = torch.randperm(items)
        for step in range(a.warmup + a.steps):
            if step == a.warmup:
                start = time.perf_counter()
            at = (step * a.batch_size) % items
            if at == 0:
                order = torch.randperm(items)
            b = order[at:at + a.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xs[b]), ys[b])
            loss.backward()
            opt.step()
        float(loss.detach())
    seconds = time.perf_counter() - start
    print(json.dumps({
        "name": f"{a.model}-{'eval' if a.eval else 'adam'}",
        "backend": f"pytorch-{torch.__version__}-cpu-{torch.get_num_threads()}threads",
        "batch_size": a.batch_size,
        "steps": a.steps,
        "seconds": seconds,
        "images_per_second": a.batch_size * a.steps / seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
