"""Data sets as the paper uses them: samples as columns, pixels in [0, 1], one-hot labels.

- :mod:`~sibp_ref.data.dataset`: the :class:`Dataset` type, subsets, :func:`from_numpy`;
- :mod:`~sibp_ref.data.idx`: the IDX format and the published files' checksums;
- :mod:`~sibp_ref.data.paths`: where files are looked for;
- :mod:`~sibp_ref.data.mnist`: MNIST and Fashion-MNIST; :mod:`~sibp_ref.data.cifar`:
  CIFAR-10's binary batches; :mod:`~sibp_ref.data.synthetic`: a generated problem;
- :mod:`~sibp_ref.data.fetch`: the opt-in downloader.

This module dispatches by name: :func:`load_dataset` loads a data set, :func:`locate`
says where its files are (or raises :class:`DataError` saying where it looked and how to
provide them), :func:`available` whether they are there.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

from .cifar import load_cifar10, locate_cifar10
from .dataset import DataError, Dataset, from_numpy
from .fetch import fetch
from .idx import parse_idx, read_idx
from .mnist import load_mnist, load_mnist_arrays, locate_idx
from .paths import cache_dir, search_dirs
from .synthetic import make_synthetic

__all__ = [
    "DATASETS",
    "DataError",
    "Dataset",
    "available",
    "cache_dir",
    "canonical_name",
    "fetch",
    "from_numpy",
    "load_cifar10",
    "load_dataset",
    "load_mnist",
    "load_mnist_arrays",
    "locate",
    "make_synthetic",
    "parse_idx",
    "read_idx",
    "search_dirs",
]

DATASETS = ("synthetic", "mnist", "fashion-mnist", "cifar10")
_ALIASES = {"fashion": "fashion-mnist", "fmnist": "fashion-mnist", "cifar-10": "cifar10"}


def canonical_name(name: str) -> str:
    """The data set's name as :data:`DATASETS` spells it (``"Fashion_MNIST"`` →
    ``"fashion-mnist"``); a :class:`ValueError` listing the choices for an unknown one."""
    if not isinstance(name, str):
        raise TypeError(f"data set name must be a string, got {type(name).__name__} {name!r}")
    key = name.lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    return key


def locate(name: str, data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """Where the files of data set ``name`` are: role or file name → path.

    MNIST and Fashion-MNIST give their four IDX files (``train_images``, ``train_labels``,
    ``test_images``, ``test_labels``), CIFAR-10 its six batch files; the generated
    ``synthetic`` set has none (``{}``). Raises :class:`DataError` saying where it looked
    and how to provide the files. Nothing is read or checked beyond their presence.
    """
    key = canonical_name(name)
    if key == "synthetic":
        return {}
    if key == "cifar10":
        return locate_cifar10(data_dir)
    return locate_idx(key, data_dir)


def available(name: str, data_dir: str | os.PathLike | None = None) -> bool:
    """Whether :func:`locate` finds the files of ``name`` (always True for ``synthetic``)."""
    try:
        locate(name, data_dir)
    except DataError:
        return False
    return True


def load_dataset(
    name: str,
    *,
    data_dir=None,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
    n_train: int | None = None,
    subset: str = "first",
    seed: int = 0,
    download: bool = False,
    **synthetic_kwargs: Any,
) -> Dataset:
    """A data set by name (``synthetic``, ``mnist``, ``fashion-mnist``, ``cifar10``),
    optionally cut to ``n_train`` training samples (first or random, with ``seed``)."""
    key = canonical_name(str(name))
    if key == "synthetic":
        kw = dict(synthetic_kwargs)
        if n_train is not None:
            kw["n_train"] = n_train
        return make_synthetic(xp=xp, dtype=dtype, device=device, seed=seed, **kw)
    if synthetic_kwargs:
        raise TypeError(f"options {sorted(synthetic_kwargs)} apply only to the synthetic set")
    if key == "cifar10":
        ds = load_cifar10(data_dir, xp=xp, dtype=dtype, device=device)
    else:
        ds = load_mnist(key, data_dir, xp=xp, dtype=dtype, device=device, download=download)
    return ds if n_train is None else ds.subset(n_train, mode=subset, seed=seed)
