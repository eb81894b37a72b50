"""OWM's seeded digits split, reproduced bit for bit (`owm_core::Rng`, `derive_seed`, `Dataset::split`) and
checked by the test split's fingerprint, for the side-by-side scripts (`pygad_digits.py`, `opacus_digits.py`).
"""
import hashlib
import struct

import numpy as np
from sklearn.datasets import load_digits

from owm_rng import Xoshiro, derive_seed


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
