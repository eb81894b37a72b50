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
import json
import pathlib
import sys
import time

import numpy as np
import pygad

from owm_digits import data

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/owm-train/tests/fixtures/pygad_digits.json"
GENERATIONS = 200
POPULATION = 50
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
