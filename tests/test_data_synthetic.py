"""The generated problem: reproducible, every class present, features in [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import data as D


def test_synthetic_data_is_reproducible_balanced_enough_and_in_unit_range():
    a = D.make_synthetic(300, 100, d=12, num_classes=4, informative=5, seed=7)
    b = D.load_dataset(
        "synthetic", n_train=300, n_test=100, d=12, num_classes=4, informative=5, seed=7
    )
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert a.X_train.shape == (12, 300) and a.Y_test.shape == (4, 100)
    assert float(a.X_train.min()) == 0.0 and float(a.X_train.max()) == 1.0
    counts = np.asarray(a.Y_train).sum(axis=1)
    assert counts.min() > 30  # every class present in a fair share
    c = D.make_synthetic(300, 100, d=12, num_classes=4, informative=5, seed=8)
    assert not np.array_equal(a.X_train, c.X_train)


def test_synthetic_data_lands_on_the_requested_backend(xp):
    from sibp_ref import backend as B

    ds = D.make_synthetic(20, 10, d=6, num_classes=3, informative=3, xp=xp, dtype="float64")
    assert B.backend_name(B.namespace(ds.X_train)) == B.backend_name(xp)
    assert ds.X_train.dtype == xp.float64
    assert ds.subset(5, mode="random", seed=1).X_train.shape == (6, 5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_train": 0}, "n_train must be a positive integer"),
        ({"informative": 40, "d": 8}, "informative"),
    ],
)
def test_bad_synthetic_arguments_are_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        D.make_synthetic(**kwargs)


def test_synthetic_data_needs_no_files():
    assert D.locate("synthetic") == {} and D.available("synthetic")
