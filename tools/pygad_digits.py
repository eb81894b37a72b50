"""PyGAD on the digits MLP (64-32-10, ReLU), side by side with OWM's genetic algorithm.

Same data and split as `owm train` with seed 42 (OWM's seeded split is reproduced here bit for bit and checked
by the test-split fingerprint), same standardisation, same network and weight layout, same initial
population recipe (He-uniform start plus N(0, 0.1^2) copies), same operators: population 50, 2 elites,
tournament of 3, uniform crossover with probability 0.9, uniform mutation U(-0.1, 0.1) on 10% of the weights,
fitness = -(mean cross-entropy on the training split).

  python3 tools/pygad_digits.py            writes crates/owm-train/tests/fixtures/pygad_digits.json
                                           (test accuracy after GENERATIONS generations, seeds 0, 1, 2)
  python3 tools/pygad_digits.py --bench N  prints one JSON line: PyGAD generations per second over N generations

Needs numpy, scikit-learn and pygad.
"""
import hashlib
import json
import pathlib
import struct
import sys
import time

import numpy as np
import pygad
from sklearn.datasets import load_digits

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/owm-train/tests/fixtures/pygad_digits.json"
GENERATIONS = 200
POPULATION = 50
M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def derive_seed(root, label):
    h = 0xCBF29CE484222325
    for b in label.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    _, mixed = splitmix64(h)
    _, out = splitmix64(root ^ mixed)
    return out


class Xoshiro:
    """owm_core::Rng: xoshiro256++ seeded through SplitMix64."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed, z = splitmix64(seed)
            self.s.append(z)

    def next_u64(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[0] + s[3]) & M64, 23) + s[0]) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        while True:
            m = self.next_u64() * n
            low = m & M64
            if low >= n or low >= ((-n) & M64) % n:
                return m >> 64

    def permutation(self, n):
        idx = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]
        return idx


def fingerprint(features, labels):
    """owm_data::Dataset::fingerprint of an [n, 1, 8, 8] split with 10 classes."""
    h = hashlib.sha256()
    for d in (1, 8, 8):
        h.update(struct.pack("<Q", d))
    h.update(struct.pack("<Q", 10))
    h.update(struct.pack("<Q", len(labels)))
    for l in labels:
        h.update(struct.pack("<I", int(l)))
    h.update(features.astype("<f4").tobytes())
    return h.hexdigest()


def data(seed=42):
    digits = load_digits()
    x, y = digits.data.astype(np.float32), digits.target
    order = Xoshiro(derive_seed(seed, "data/split")).permutation(len(y))
    n_test = round(len(y) * 0.2)
    test, train = order[:n_test], order[n_test:]
    xtr, ytr, xte, yte = x[train], y[train], x[test], y[test]
    fp = fingerprint(xte, yte)
    mean = xtr.astype(np.float64).mean(0)
    std = np.sqrt(np.maximum((xtr.astype(np.float64) ** 2).mean(0) - mean**2, 0))
    std = np.where(std < 1e-6, 1.0, std).astype(np.float32)
    mean = mean.astype(np.float32)
    return (xtr - mean) / std, ytr, (xte - mean) / std, yte, fp


SHAPES = [(64, 32), (32,), (32, 10), (10,)]


def unpack(w):
    out, i = [], 0
    for s in SHAPES:
        n = int(np.prod(s))
        out.append(w[i : i + n].reshape(s))
        i += n
    return out


def logits(w, x):
    w1, b1, w2, b2 = unpack(w)
    return np.maximum(x @ w1 + b1, 0) @ w2 + b2


def loss(w, x, y):
    z = logits(w, x).astype(np.float64)
    z -= z.max(1, keepdims=True)
    return float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())


def initial_population(rng):
    x0 = np.concatenate([rng.uniform(-np.sqrt(6 / 64), np.sqrt(6 / 64), 64 * 32), np.zeros(32),
                         rng.uniform(-np.sqrt(6 / 32), np.sqrt(6 / 32), 32 * 10), np.zeros(10)]).astype(np.float32)
    return np.stack([x0] + [x0 + rng.normal(0, 0.1, x0.size).astype(np.float32) for _ in range(POPULATION - 1)])


def make_ga(generations, seed, xtr, ytr):
    return pygad.GA(
        num_generations=generations,
        num_parents_mating=POPULATION,
        initial_population=initial_population(np.random.default_rng(seed)),
        fitness_func=lambda ga, w, idx: -loss(np.asarray(w, dtype=np.float32), xtr, ytr),
        parent_selection_type="tournament",
        K_tournament=3,
        keep_elitism=2,
        crossover_type="uniform",
        crossover_probability=0.9,
        mutation_type="random",
        mutation_probability=0.1,
        mutation_by_replacement=False,
        random_mutation_min_val=-0.1,
        random_mutation_max_val=0.1,
        gene_type=np.float32,
        random_seed=seed,
        suppress_warnings=True,
    )


def main():
    xtr, ytr, xte, yte, fp = data()
    if len(sys.argv) > 2 and sys.argv[1] == "--bench":
        n = int(sys.argv[2])
        ga = make_ga(n, 0, xtr, ytr)
        start = time.perf_counter()
        ga.run()
        seconds = time.perf_counter() - start
        print(json.dumps({"name": "pygad", "generations": n, "seconds": seconds, "generations_per_second": n / seconds,
                          "pygad": pygad.__version__}))
        return
    runs = []
    for seed in range(3):
        ga = make_ga(GENERATIONS, seed, xtr, ytr)
        ga.run()
        w, fitness, _ = ga.best_solution()
        acc = float((logits(np.asarray(w, dtype=np.float32), xte).argmax(1) == yte).mean())
        runs.append({"seed": seed, "train_loss": -float(fitness), "test_accuracy": acc})
        print(runs[-1])
    out = {"pygad": pygad.__version__, "generations": GENERATIONS, "population": POPULATION,
           "test_fingerprint": fp, "runs": runs, "mean_test_accuracy": sum(r["test_accuracy"] for r in runs) / len(runs)}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
