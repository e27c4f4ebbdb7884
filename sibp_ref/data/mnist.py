"""MNIST and Fashion-MNIST from their four IDX files: finding, checking, loading.

Both come as ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each ``.gz`` or raw), looked for
in the folders of :func:`sibp_ref.data.paths.search_dirs`. Loading checks each file's
SHA-256 against the published one (:mod:`sibp_ref.data.idx`), then the shapes (``n × 28 ×
28`` uint8 images, ``n`` labels in 0–9). Nothing is downloaded unless asked
(``download=True`` or ``sibp-ref fetch``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .dataset import DataError, Dataset, from_numpy
from .idx import KNOWN_SHA256, read_idx
from .paths import find_in, missing_message, search_dirs

__all__ = ["IDX_FILES", "locate_idx", "load_mnist_arrays", "load_mnist"]

#: The four files of an IDX data set: role → file stem.
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _check_name(name: str) -> None:
    if name not in KNOWN_SHA256:
        raise ValueError(f"unknown IDX data set {name!r}; choose mnist or fashion-mnist")


def locate_idx(name: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """The four files of ``name`` (role → path) from the first folder holding all four.

    Raises :class:`DataError` saying where it looked and how to provide them.
    """
    _check_name(name)
    dirs = search_dirs(name, data_dir)
    found = find_in(dirs, list(IDX_FILES.values()))
    if found is None:
        raise DataError(
            missing_message(name, dirs, "the four IDX files (train-images-idx3-ubyte[.gz], ...)")
        )
    return {role: found[stem] for role, stem in IDX_FILES.items()}


def _check_split(split: str, arrays: dict[str, np.ndarray], files: dict[str, Path]) -> None:
    """Images ``(n, 28, 28)`` uint8 and as many uint8 labels in 0–9."""
    im, lb = arrays[f"{split}_images"], arrays[f"{split}_labels"]
    p_im, p_lb = files[f"{split}_images"], files[f"{split}_labels"]
    if im.ndim != 3 or im.shape[1:] != (28, 28) or im.dtype != np.uint8:
        raise DataError(
            f"{p_im}: expected uint8 images of shape (n, 28, 28), got {im.dtype} {im.shape}"
        )
    if lb.ndim != 1 or lb.dtype != np.uint8:
        raise DataError(f"{p_lb}: expected a 1-d uint8 label file, got {lb.dtype} {lb.shape}")
    if len(lb) != len(im):
        raise DataError(f"{p_lb}: {len(lb)} labels for the {len(im)} images of {p_im}")
    if len(lb) and lb.max() > 9:
        raise DataError(f"{p_lb}: label {int(lb.max())} outside 0-9")


def load_mnist_arrays(
    name: str = "mnist", data_dir=None, *, download: bool = False, verify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Path]]:
    """Host arrays ``(train_images (n,28,28) uint8, train_labels, test_images, test_labels,
    files)`` of MNIST or Fashion-MNIST, checked (see the module docstring)."""
    _check_name(name)
    try:
        files = locate_idx(name, data_dir)
    except DataError:
        if not download:
            raise
        from .fetch import fetch

        fetch(name)
        files = locate_idx(name, data_dir)
    arrays = {}
    for role, path in files.items():
        sha = KNOWN_SHA256[name][IDX_FILES[role]] if verify else None
        arrays[role] = read_idx(path, sha256=sha, dataset=name)
    for split in ("train", "test"):
        _check_split(split, arrays, files)
    return (
        arrays["train_images"],
        arrays["train_labels"],
        arrays["test_images"],
        arrays["test_labels"],
        files,
    )


def load_mnist(
    name: str = "mnist",
    data_dir=None,
    *,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
    download: bool = False,
    verify: bool = True,
) -> Dataset:
    """MNIST or Fashion-MNIST as a :class:`Dataset`: ``X`` is ``(784, n)`` in ``[0, 1]``."""
    Xtr, ytr, Xte, yte, files = load_mnist_arrays(name, data_dir, download=download, verify=verify)
    # The data set's name, its files' names and their checksums, not the folder they lay in:
    # a log must not carry the path of the machine it was written on.
    info = {
        "source": name,
        "files": {role: path.name for role, path in files.items()},
        "sha256": {role: KNOWN_SHA256[name][IDX_FILES[role]] for role in files},
        "verified_sha256": verify,
    }
    return from_numpy(
        name,
        Xtr,
        ytr,
        Xte,
        yte,
        num_classes=10,
        xp=xp,
        dtype=dtype,
        device=device,
        info=info,
        scale=1 / 255,
    )
