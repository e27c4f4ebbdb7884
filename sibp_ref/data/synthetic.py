"""A generated classification problem that needs no download (``sibp-ref compare``'s default)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .dataset import Dataset, from_numpy

__all__ = ["make_synthetic"]


def _check_sizes(**sizes: Any) -> None:
    for nm, v in sizes.items():
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ValueError(f"{nm} must be a positive integer, got {v!r}")


def _generate(n_train, n_test, d, n_clusters, num_classes, k, spread, seed):
    """Host arrays ``(X_train, y_train, X_test, y_test)``, samples as rows, features in
    ``[0, 1]`` by the training split's range (see :func:`make_synthetic`)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, k))
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    sd = spread / np.sqrt(k)

    def draw(n):
        c = rng.integers(0, n_clusters, size=n)
        Z = centres[c] + sd * rng.normal(size=(n, k))
        Z = np.concatenate([Z, 0.1 * sd * rng.normal(size=(n, d - k))], axis=1)
        return Z @ Q.T, c % num_classes

    Xtr, ytr = draw(n_train)
    Xte, yte = draw(n_test)
    lo, hi = Xtr.min(axis=0), Xtr.max(axis=0)
    scale = np.where(hi > lo, hi - lo, 1.0)
    return (Xtr - lo) / scale, ytr, (Xte - lo) / scale, yte


def make_synthetic(
    n_train: int = 4000,
    n_test: int = 2000,
    *,
    d: int = 32,
    num_classes: int = 10,
    clusters_per_class: int = 3,
    informative: int = 10,
    spread: float = 2.0,
    seed: int = 0,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
) -> Dataset:
    """A generated classification problem that needs no download.

    Each class is a mixture of ``clusters_per_class`` Gaussian clusters whose centres are
    drawn ``N(0, 1)`` in an ``informative``-dimensional subspace; the clusters have standard
    deviation ``spread/√informative`` there, so classes overlap (the test accuracy stays
    below 100 %) and are not linearly separable (a hidden layer helps). A random rotation
    embeds them in ``d`` dimensions with a little noise in the rest; features are then scaled
    to ``[0, 1]`` with the training split's range, like pixels.
    """
    _check_sizes(
        n_train=n_train,
        n_test=n_test,
        d=d,
        num_classes=num_classes,
        clusters_per_class=clusters_per_class,
        informative=informative,
    )
    if informative > d:
        raise ValueError(f"informative ({informative}) must not exceed d ({d})")
    Xtr, ytr, Xte, yte = _generate(
        n_train, n_test, d, num_classes * clusters_per_class, num_classes, informative, spread, seed
    )
    info = {
        "generator": "make_synthetic",
        "seed": seed,
        "d": d,
        "clusters_per_class": clusters_per_class,
        "informative": informative,
        "spread": spread,
    }
    return from_numpy(
        "synthetic",
        Xtr,
        ytr,
        Xte,
        yte,
        num_classes=num_classes,
        xp=xp,
        dtype=dtype,
        device=device,
        info=info,
    )
