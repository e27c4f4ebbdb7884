"""The :class:`Dataset` type: a classification problem with samples as columns.

``X`` is ``(d, n)`` with one sample per column and ``Y`` is ``(C, n)`` one-hot, as the
paper writes them (``docs/conventions.md §1``); features of images lie in ``[0, 1]``.
:func:`from_numpy` builds one from host arrays laid out the usual way (samples as rows,
integer labels), and :meth:`Dataset.subset` cuts the training split as the paper does
(the first or a random ``n`` samples: 2 000 Fashion-MNIST samples for Fig. 11, 10 000
MNIST samples for Fig. 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import ModuleType
from typing import Any

import numpy as np

from .. import backend as B

__all__ = ["DataError", "Dataset", "from_numpy", "one_hot_labels"]


class DataError(ValueError):
    """A data set is missing, corrupt, truncated or does not match its checksum."""


@dataclass
class Dataset:
    """A classification data set on one backend: samples are columns.

    ``X_train`` is ``(d, n_train)`` in ``[0, 1]`` (for images), ``Y_train`` is one-hot
    ``(C, n_train)``; likewise the test split. ``info`` records where it came from.
    """

    name: str
    X_train: Any
    Y_train: Any
    X_test: Any
    Y_test: Any
    info: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.Y_train.shape[0])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[1])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, d={self.n_features}, classes={self.num_classes}, "
            f"train={self.n_train}, test={self.n_test})"
        )

    def subset(self, n: int, *, mode: str = "first", seed: int = 0) -> Dataset:
        """The first (``mode="first"``) or a random (``"random"``, with ``seed``) ``n``
        training samples; the test split is kept whole."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"subset size must be a positive integer, got {n!r}")
        n = int(n)
        if n > self.n_train:
            raise ValueError(
                f"subset of {n} samples asked from {self.name!r}, which has "
                f"only {self.n_train} training samples"
            )
        if mode == "first":
            X, Y = self.X_train[:, :n], self.Y_train[:, :n]
        elif mode == "random":
            xp = B.namespace(self.X_train)
            idx = np.sort(np.random.default_rng(seed).choice(self.n_train, n, replace=False))
            idx = B.asarray(idx, xp, device=B.device_of(self.X_train))
            X = xp.take(self.X_train, idx, axis=1)
            Y = xp.take(self.Y_train, idx, axis=1)
        else:
            raise ValueError(f"subset mode must be 'first' or 'random', got {mode!r}")
        info = dict(
            self.info,
            subset=n,
            subset_mode=mode,
            **({"subset_seed": seed} if mode == "random" else {}),
        )
        return replace(self, X_train=X, Y_train=Y, info=info)


def _integer_labels(y: Any, name: str) -> np.ndarray:
    """``y`` as a 1-d int64 host array, refusing anything that is not integer labels."""
    a = np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array of integer labels, got shape {a.shape}")
    if a.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer labels (0, 1, ..., C-1), got dtype {a.dtype}; "
            "convert them with .astype(int) if they are whole numbers"
        )
    if a.size and a.min() < 0:
        raise ValueError(f"{name} must be non-negative class indices, got {int(a.min())}")
    return a.astype(np.int64)


def one_hot_labels(labels: np.ndarray, C: int) -> np.ndarray:
    """The ``(C, n)`` one-hot host matrix of integer ``labels`` (one column per sample)."""
    return (np.arange(C)[:, None] == labels[None, :]).astype(np.float64)


def _features(a: Any, n: int, host: type, scale: float) -> np.ndarray:
    """Flatten per sample, scale in the target precision, transpose to columns.

    Scaling in the target precision keeps the host copy small: all of MNIST in float64
    would take 376 MB.
    """
    a = np.asarray(a)
    if a.ndim < 1 or a.shape[0] != n:
        raise ValueError(
            f"features must have one row per label ({n}), got shape {a.shape}; "
            "from_numpy takes samples as rows"
        )
    a = a.reshape(n, -1).astype(host)
    return (a * host(scale) if scale != 1.0 else a).T


def from_numpy(
    name: str,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    num_classes: int | None = None,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
    info: dict | None = None,
    scale: float = 1.0,
) -> Dataset:
    """A :class:`Dataset` from host arrays with samples as **rows** and integer labels.

    Features are flattened per sample, multiplied by ``scale`` (``1/255`` for pixels) in
    the target precision, and transposed to columns; labels become one-hot.
    """
    xp = B.get_backend(xp)
    y_train = _integer_labels(y_train, "y_train")
    y_test = _integer_labels(y_test, "y_test")
    C = int(num_classes or max(y_train.max(initial=0), y_test.max(initial=0)) + 1)
    top = max(y_train.max(initial=0), y_test.max(initial=0))
    if top >= C:
        raise ValueError(f"label {int(top)} does not fit num_classes={C}; labels run 0..C-1")
    host = np.float32 if str(dtype).endswith("float32") else np.float64
    arrays = (
        _features(X_train, len(y_train), host, scale),
        one_hot_labels(y_train, C),
        _features(X_test, len(y_test), host, scale),
        one_hot_labels(y_test, C),
    )
    put = [B.asarray(np.ascontiguousarray(a), xp, dtype=dtype, device=device) for a in arrays]
    return Dataset(name, *put, dict(info or {}))
