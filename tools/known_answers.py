#!/usr/bin/env python3
"""Known answers for OWM's seeding, from an independent implementation of its published algorithms.

derive_seed: FNV-1a (64-bit) over the label, mixed with the root by SplitMix64; Rng: xoshiro256++ seeded by
four SplitMix64 outputs (Blackman and Vigna, ACM TOMS 47(4), 2021), next_f64 from the top 53 bits, below(n)
by Lemire's method, permutation by Fisher-Yates from the last index. Written from those definitions with
Python integers (`tools/owm_rng.py`), not from OWM's code.

    python3 tools/known_answers.py > crates/owm-core/tests/fixtures/known_answers.json
"""
import json

from owm_rng import Xoshiro, derive_seed

derive = [(root, label) for root in (0, 42, 2**64 - 1) for label in ("", "init/layers.0.weight", "split", "epoch/3", "ga/7/12")]
streams = []
for seed in (0, 1, 42, 2**63 + 12345):
    r = Xoshiro(seed)
    u64 = [r.next_u64() for _ in range(8)]
    f64 = [r.next_f64() for _ in range(4)]
    below = [r.below(10) for _ in range(8)]
    perm = r.permutation(10)
    # Integers as strings: JSON numbers above 2^53 lose digits in many readers.
    streams.append({"seed": str(seed), "u64": [str(v) for v in u64], "f64": f64, "below10": below, "permutation10": perm})
print(json.dumps({
    "derive_seed": [{"root": str(r), "label": l, "seed": str(derive_seed(r, l))} for r, l in derive],
    "streams": streams,
}, indent=1))
