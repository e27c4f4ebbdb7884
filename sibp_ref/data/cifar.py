"""CIFAR-10 from its binary batches (the "binary version" of the published data set).

Each record is 1 label byte and 3 072 pixel bytes, channel-major (1 024 red, 1 024 green,
1 024 blue values per 32 × 32 image); the training split is ``data_batch_1.bin`` …
``data_batch_5.bin`` and the test split ``test_batch.bin``, looked for in the folders of
:func:`sibp_ref.data.paths.search_dirs` (also under ``cifar-10-batches-bin/``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from .dataset import DataError, Dataset, from_numpy
from .idx import read_bytes
from .paths import find_in, missing_message, search_dirs

__all__ = ["CIFAR_TRAIN", "CIFAR_TEST", "CIFAR_RECORD", "locate_cifar10", "load_cifar10"]

CIFAR_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
CIFAR_TEST = ["test_batch.bin"]
CIFAR_RECORD = 1 + 3 * 32 * 32


def locate_cifar10(data_dir: str | os.PathLike | None = None) -> dict[str, Path]:
    """The six batch files (file name → path) from the first folder holding all six."""
    dirs = search_dirs("cifar10", data_dir)
    found = find_in(dirs, [*CIFAR_TRAIN, *CIFAR_TEST])
    if found is None:
        raise DataError(
            missing_message("cifar10", dirs, f"{', '.join(CIFAR_TRAIN)}, {CIFAR_TEST[0]}")
        )
    return found


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(pixels (n, 3072) uint8, labels (n,) uint8)`` of one batch file, checked."""
    data = read_bytes(path)
    if len(data) == 0 or len(data) % CIFAR_RECORD:
        raise DataError(
            f"{path}: {len(data)} bytes is not a whole number of CIFAR-10 "
            f"records of {CIFAR_RECORD} bytes (truncated or not a CIFAR-10 batch)"
        )
    rec = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = rec[:, 0]
    if labels.max() > 9:
        raise DataError(
            f"{path}: label byte {int(labels.max())} outside 0-9 "
            "(not the binary version of CIFAR-10?)"
        )
    return rec[:, 1:], labels


def _read_split(files: dict[str, Path], names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    parts = [_read_batch(files[n]) for n in names]
    return np.concatenate([p for p, _ in parts]), np.concatenate([lb for _, lb in parts])


def load_cifar10(
    data_dir=None,
    *,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float32",
    device: Any = None,
) -> Dataset:
    """CIFAR-10 from its binary batches: ``X`` is ``(3072, n)`` in ``[0, 1]``, channel-major
    (1024 red, 1024 green, 1024 blue values per image, as stored)."""
    files = locate_cifar10(data_dir)
    Xtr, ytr = _read_split(files, CIFAR_TRAIN)
    Xte, yte = _read_split(files, CIFAR_TEST)
    return from_numpy(
        "cifar10",
        Xtr,
        ytr,
        Xte,
        yte,
        num_classes=10,
        xp=xp,
        dtype=dtype,
        device=device,
        info={"source": "cifar10", "files": sorted(path.name for path in files.values())},
        scale=1 / 255,
    )
