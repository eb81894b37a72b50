"""Reference values for OWM's RDP accountant, from Opacus's (the independent implementation).

Writes crates/owm-optim/tests/fixtures/opacus_rdp.json: for a table of (sampling rate q, noise multiplier
sigma, steps, delta), Opacus's RDP at each of its default orders and the (epsilon, best order) it reports;
and for a table of (target epsilon, delta, q, steps), the noise multiplier Opacus's solver returns.

    pip install opacus==1.6.0   # with torch
    python3 tools/opacus_rdp.py
"""

import json
import pathlib

import opacus
from opacus.accountants import RDPAccountant
from opacus.accountants.analysis import rdp
from opacus.accountants.utils import get_noise_multiplier

ORDERS = RDPAccountant.DEFAULT_ALPHAS
CASES = [
    # (q, sigma, steps, delta): DP-SGD regimes from tiny to whole-batch sampling.
    (0.01, 1.1, 10_000, 1e-5),
    (0.01, 0.8, 1_000, 1e-5),
    (0.004, 1.0, 5_000, 1e-5),
    (256 / 60_000, 1.1, 60 * 235, 1e-5),
    (0.02, 2.0, 500, 1e-6),
    (0.05, 0.6, 200, 1e-5),
    (0.1, 1.5, 100, 1e-5),
    (0.5, 3.0, 50, 1e-5),
    (1.0, 5.0, 10, 1e-5),
    (32 / 1438, 1.0, 450, 1e-5),
    (0.001, 0.7, 100_000, 1e-7),
    (0.2, 10.0, 1, 1e-5),
]
TARGETS = [
    # (target epsilon, delta, q, steps)
    (8.0, 1e-5, 32 / 1438, 450),
    (1.0, 1e-5, 0.01, 1_000),
    (3.0, 1e-5, 256 / 60_000, 60 * 235),
    (0.5, 1e-6, 0.05, 200),
]


def main():
    cases = []
    for q, sigma, steps, delta in CASES:
        values = rdp.compute_rdp(q=q, noise_multiplier=sigma, steps=steps, orders=ORDERS)
        eps, best = rdp.get_privacy_spent(orders=ORDERS, rdp=values, delta=delta)
        cases.append({"q": q, "sigma": sigma, "steps": steps, "delta": delta, "rdp": [float(v) for v in values],
                      "epsilon": float(eps), "order": float(best)})
    targets = []
    for eps, delta, q, steps in TARGETS:
        sigma = get_noise_multiplier(target_epsilon=eps, target_delta=delta, sample_rate=q, steps=steps, accountant="rdp")
        targets.append({"epsilon": eps, "delta": delta, "q": q, "steps": steps, "sigma": float(sigma)})
    out = {"opacus": opacus.__version__, "orders": [float(a) for a in ORDERS], "cases": cases, "targets": targets}
    path = pathlib.Path(__file__).resolve().parent.parent / "crates/owm-optim/tests/fixtures/opacus_rdp.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
