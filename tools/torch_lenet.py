#!/usr/bin/env python3
"""PyTorch side of OWM's PyTorch interchange test (crates/owm/tests/it/pytorch.rs).

    python3 tools/torch_lenet.py                 writes crates/owm/tests/fixtures/torch_lenet/:
                                                 state.safetensors (a seeded LeNet-5 state_dict, PyTorch layout)
                                                 and io.json (two seeded 3x32x32 inputs and their logits)
    python3 tools/torch_lenet.py --check FILE    loads FILE (written by `owm export --pytorch`) into the same
                                                 LeNet-5, runs io.json's inputs and prints the largest logit
                                                 difference from io.json (0 when OWM exported this state)

LeNet-5 as OWM builds it: conv 5x5 3->6, max-pool 2, conv 5x5 6->16, max-pool 2, linear 400->120->84->10,
ReLU; attribute names conv1, conv2, fc1, fc2, fc3 (OWM's module paths). Needs torch and safetensors.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file
from torch import nn

OUT = os.path.join(os.path.dirname(__file__), "..", "crates", "owm", "tests", "fixtures", "torch_lenet")


class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(x.flatten(1)))
        return self.fc3(torch.relu(self.fc2(x)))


def main():
    net = LeNet5()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        io = json.load(open(os.path.join(OUT, "io.json")))
        net.load_state_dict(load_file(sys.argv[2]))
        x = torch.tensor(io["input"]).reshape(io["shape"])
        diff = (net(x) - torch.tensor(io["logits"]).reshape(-1, 10)).abs().max().item()
        print(json.dumps({"max_abs_diff": diff}))
        return
    torch.manual_seed(7)
    net = LeNet5()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        logits = net(x)
    os.makedirs(OUT, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, os.path.join(OUT, "state.safetensors"))
    with open(os.path.join(OUT, "io.json"), "w") as f:
        json.dump({"shape": [2, 3, 32, 32], "input": x.flatten().tolist(), "logits": logits.flatten().tolist()}, f)
    print(f"wrote {OUT}: logits[0][:3] = {logits[0][:3].tolist()}")


if __name__ == "__main__":
    main()
