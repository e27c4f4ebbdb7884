"""Helpers for the data tests: IDX bytes written from the format's definition, fake
MNIST-shaped files, and a search path that sees only what a test puts there."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from sibp_ref.data import paths


def idx_bytes(a: np.ndarray) -> bytes:
    """An IDX file written from its definition (independent of the parser)."""
    code = {
        np.dtype("u1"): 8,
        np.dtype("i1"): 9,
        np.dtype("i2"): 11,
        np.dtype("i4"): 12,
        np.dtype("f4"): 13,
        np.dtype("f8"): 14,
    }[a.dtype]
    head = bytes([0, 0, code, a.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in a.shape)
    return head + a.astype(a.dtype.newbyteorder(">")).tobytes()


def write_fake_idx(folder: Path, n_train=6, n_test=4, *, gz=True, seed=0) -> dict[str, str]:
    """Four small MNIST-shaped IDX files; returns stem -> SHA-256 of the uncompressed bytes."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    sums = {}
    for stem, a in arrays.items():
        b = idx_bytes(a)
        sums[stem] = hashlib.sha256(b).hexdigest()
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(b))
        else:
            (folder / stem).write_bytes(b)
    return sums


def isolate(monkeypatch, tmp_path: Path) -> Path:
    """No env var, an empty cache, no Debian folder: only what a test puts under tmp_path."""
    monkeypatch.delenv("SIBP_REF_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(paths, "DEBIAN_FASHION", tmp_path / "debian")
    return tmp_path
