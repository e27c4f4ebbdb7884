"""CIFAR-10's binary batches: channel-major pixels, labels, truncation, where to get them."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import data as D
from sibp_ref.data import DataError
from sibp_ref.data.cifar import CIFAR_TEST, CIFAR_TRAIN
from tests.data_files import isolate


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    return isolate(monkeypatch, tmp_path)


def _cifar_batch(rng, n):
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    pix = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    return np.concatenate([labels[:, None], pix], axis=1), labels, pix


def test_cifar10_binary_batches_load_channel_major(isolated):
    d = isolated / "c" / "cifar-10-batches-bin"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    want_pix, want_lab = [], []
    for name in [*CIFAR_TRAIN, *CIFAR_TEST]:
        rec, lab, pix = _cifar_batch(rng, 3)
        (d / name).write_bytes(rec.tobytes())
        if name != "test_batch.bin":
            want_pix.append(pix)
            want_lab.append(lab)
    ds = D.load_dataset("cifar10", data_dir=isolated / "c", dtype="float64")
    assert ds.X_train.shape == (3072, 15) and ds.X_test.shape == (3072, 3)
    np.testing.assert_allclose(ds.X_train, np.concatenate(want_pix).T / 255.0)
    np.testing.assert_array_equal(np.argmax(ds.Y_train, axis=0), np.concatenate(want_lab))
    assert D.locate("cifar-10", isolated / "c")["data_batch_3.bin"] == d / "data_batch_3.bin"
    (d / "data_batch_3.bin").write_bytes(rec.tobytes()[:-1])
    with pytest.raises(DataError, match="data_batch_3.bin: .*not a whole number"):
        D.load_cifar10(isolated / "c")
    rec[0, 0] = 10
    (d / "data_batch_3.bin").write_bytes(rec.tobytes())
    with pytest.raises(DataError, match="data_batch_3.bin: label byte 10"):
        D.load_cifar10(isolated / "c")


def test_missing_cifar10_points_to_the_binary_version(isolated):
    with pytest.raises(DataError, match="cifar-10-binary"):
        D.load_cifar10(isolated / "none")
    with pytest.raises(DataError, match="cifar-10-binary"):
        D.locate("cifar10", isolated / "none")
