#!/usr/bin/env python3
"""Known answers for OWM's seeding, from an independent implementation of its published algorithms.

derive_seed: FNV-1a (64-bit) over the label, mixed with the root by SplitMix64; Rng: xoshiro256++ seeded by
four SplitMix64 outputs (Blackman and Vigna, ACM TOMS 47(4), 2021), next_f64 from the top 53 bits, below(n)
by Lemire's method, permutation by Fisher-Yates from the last index. Written from those definitions with
Python integers, not from OWM's code.

    python3 tools/known_answers.py > crates/owm-core/tests/fixtures/known_answers.json
"""
import json

M = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return state, z ^ (z >> 31)


def derive_seed(root, label):
    h = 0xCBF29CE484222325
    for b in label.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & M
    _, mixed = splitmix64(h)
    _, out = splitmix64(root ^ mixed)
    return out


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M


class Xoshiro256pp:
    def __init__(self, seed):
        self.s, sm = [], seed
        for _ in range(4):
            sm, z = splitmix64(sm)
            self.s.append(z)

    def next_u64(self):
        s = self.s
        result = (rotl((s[0] + s[3]) & M, 23) + s[0]) & M
        t = (s[1] << 17) & M
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def next_f64(self):
        return (self.next_u64() >> 11) / float(1 << 53)

    def below(self, n):
        while True:
            m = self.next_u64() * n
            low = m & M
            if low >= n or low >= ((-n) & M) % n:
                return m >> 64

    def permutation(self, n):
        idx = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]
        return idx


derive = [(root, label) for root in (0, 42, 2**64 - 1) for label in ("", "init/layers.0.weight", "split", "epoch/3", "ga/7/12")]
streams = []
for seed in (0, 1, 42, 2**63 + 12345):
    r = Xoshiro256pp(seed)
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
