"""The Dataset type: subsets, from_numpy's layout and label checks, dispatch by name."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import data as D


def test_bad_names_and_subsets_are_value_errors():
    with pytest.raises(ValueError, match="unknown data set 'imagenet'; choose one of"):
        D.load_dataset("imagenet")
    with pytest.raises(ValueError, match="unknown data set 'imagenet'; choose one of"):
        D.locate("imagenet")
    ds = D.make_synthetic(10, 5, d=4, informative=2, num_classes=2)
    with pytest.raises(ValueError, match="only 10 training samples"):
        ds.subset(11)
    with pytest.raises(ValueError, match="'first' or 'random'"):
        ds.subset(5, mode="last")


def test_names_are_spelt_the_usual_ways():
    for name in ("Fashion_MNIST", "fashion", "fmnist", "fashion-mnist"):
        assert D.canonical_name(name) == "fashion-mnist"
    assert D.canonical_name("CIFAR-10") == "cifar10"
    with pytest.raises(TypeError, match="data set name must be a string, got int 3"):
        D.canonical_name(3)


def test_from_numpy_takes_rows_and_integer_labels_and_gives_columns_and_one_hot():
    X = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    ds = D.from_numpy("t", X, [0, 2, 1], X[:1], np.array([2]), dtype="float64", scale=0.5)
    np.testing.assert_array_equal(ds.X_train, X.reshape(3, 4).T * 0.5)
    np.testing.assert_array_equal(ds.Y_train, np.eye(3)[:, [0, 2, 1]])
    assert (ds.n_features, ds.num_classes, ds.n_train, ds.n_test) == (4, 3, 3, 1)


@pytest.mark.parametrize(
    "y, exc, match",
    [
        (np.array([0.0, 1.5, 1.0]), TypeError, r"y_train must hold integer labels .* float64"),
        (np.array([0, -1, 1]), ValueError, "y_train must be non-negative class indices, got -1"),
        (np.array([[0, 1, 1]]), ValueError, r"y_train must be a 1-d array .* \(1, 3\)"),
        (np.array([0, 1]), ValueError, r"one row per label \(2\), got shape \(3, 4\)"),
    ],
)
def test_from_numpy_refuses_what_is_not_integer_labels_for_rows(y, exc, match):
    X = np.zeros((3, 4))
    with pytest.raises(exc, match=match):
        D.from_numpy("t", X, y, X, np.array([0, 1, 1]))


def test_from_numpy_refuses_a_label_beyond_num_classes():
    X = np.zeros((2, 4))
    with pytest.raises(ValueError, match="label 3 does not fit num_classes=3"):
        D.from_numpy("t", X, [0, 3], X, [0, 1], num_classes=3)
