"""OWM's seeded digits split, reproduced bit for bit (`owm_core::Rng`, `derive_seed`, `Dataset::split`) and
checked by the test split's fingerprint, for the side-by-side scripts (`pygad_digits.py`, `opacus_digits.py`).
"""
import hashlib
import struct

import numpy as np
from sklearn.datasets import load_digits

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


def data(seed=42, standardise=True):
    digits = load_digits()
    x, y = digits.data.astype(np.float32), digits.target
    order = Xoshiro(derive_seed(seed, "data/split")).permutation(len(y))
    n_test = round(len(y) * 0.2)
    test, train = order[:n_test], order[n_test:]
    xtr, ytr, xte, yte = x[train], y[train], x[test], y[test]
    fp = fingerprint(xte, yte)
    if not standardise:
        return xtr, ytr, xte, yte, fp
    mean = xtr.astype(np.float64).mean(0)
    std = np.sqrt(np.maximum((xtr.astype(np.float64) ** 2).mean(0) - mean**2, 0))
    std = np.where(std < 1e-6, 1.0, std).astype(np.float32)
    mean = mean.astype(np.float32)
    return (xtr - mean) / std, ytr, (xte - mean) / std, yte, fp
