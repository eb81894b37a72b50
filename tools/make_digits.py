"""Writes the embedded default dataset of owm-data.

The UCI ML hand-written digits (8x8, 1,797 images, values 0..16) exactly as scikit-learn ships them
(`sklearn.datasets.load_digits`), stored as two gzip-compressed IDX files so that owm-data reads them with the
same reader as MNIST.

Source: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits", UCI Machine Learning
Repository, 1998, doi:10.24432/C50P49, licensed CC BY 4.0.

Run: python3 tools/make_digits.py   (needs numpy and scikit-learn)
"""
import gzip
import pathlib
import struct

import numpy as np
from sklearn.datasets import load_digits

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates" / "owm-data" / "data"


def write_idx(path, array, dims):
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    raw = header + array.astype(np.uint8).tobytes()
    # mtime=0 keeps the compressed bytes reproducible.
    with open(path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9, filename="") as gz:
            gz.write(raw)


def main():
    digits = load_digits()
    images = digits.images.astype(np.uint8)  # (1797, 8, 8), values 0..16
    labels = digits.target.astype(np.uint8)
    assert images.max() <= 16 and (images == digits.images).all()
    OUT.mkdir(parents=True, exist_ok=True)
    write_idx(OUT / "digits-images-idx3-ubyte.gz", images, images.shape)
    write_idx(OUT / "digits-labels-idx1-ubyte.gz", labels, labels.shape)
    print(f"wrote {len(labels)} digits to {OUT}")


if __name__ == "__main__":
    main()
