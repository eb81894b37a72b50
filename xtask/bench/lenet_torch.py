"""PyTorch side of `cargo xtask bench`: LeNet-5 training throughput on CIFAR-shaped input.

Same model (conv 3->6 5x5, max-pool 2, conv 6->16 5x5, max-pool 2, linear 400->120->84->10, ReLU), same loss
(cross-entropy), optimiser (Adam, lr 1e-3), batch and step counts as `owm bench`. Prints one JSON line.
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    a = p.parse_args()
    torch.manual_seed(0)
    model = LeNet5()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(a.batch_size, 3, 32, 32)
    y = torch.randint(0, 10, (a.batch_size,))
    for step in range(a.warmup + a.steps):
        if step == a.warmup:
            start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    loss.item()
    seconds = time.perf_counter() - start
    print(json.dumps({
        "name": "lenet5-cifar-adam",
        "backend": f"pytorch-{torch.__version__}-cpu-{torch.get_num_threads()}threads",
        "batch_size": a.batch_size,
        "steps": a.steps,
        "seconds": seconds,
        "images_per_second": a.batch_size * a.steps / seconds,
    }))


if __name__ == "__main__":
    main()
