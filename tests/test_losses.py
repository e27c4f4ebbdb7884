"""Losses (2.2) and δ_N = ∂J/∂F_N, with J a mean over the columns (docs/conventions.md §2).

Oracles: plain NumPy, central finite differences (float64), PyTorch's losses and autograd.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.losses import CrossEntropy, SquareLoss, get_loss, log_softmax, one_hot, softmax

C, N = 4, 6


def data(seed=0, scale=2.0):
    rng = np.random.default_rng(seed)
    F = scale * rng.standard_normal((C, N))
    Y = np.eye(C)[:, rng.integers(0, C, N)]
    return F, Y


def np_loss(name, F, Y, reduction="mean"):
    scale = 1.0 / F.shape[1] if reduction == "mean" else 1.0
    if name == "square":
        return scale * np.sum((F - Y) ** 2)
    return -scale * np.sum(Y * (F - np.log(np.sum(np.exp(F), axis=0))))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", ["cross_entropy", "square"])
def test_loss_value_equals_plain_numpy(xp, name, reduction):
    F, Y = data()
    loss = get_loss(name, reduction)
    got = B.to_float(loss.value(B.asarray(F, xp), B.asarray(Y, xp)))
    assert got == pytest.approx(np_loss(name, F, Y, reduction), rel=1e-13)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", ["cross_entropy", "square"])
def test_delta_N_equals_central_finite_differences(xp, name, reduction):
    F, Y = data(1)
    loss = get_loss(name, reduction)
    Yx = B.asarray(Y, xp)
    got = B.to_numpy(loss.grad(B.asarray(F, xp), Yx))
    h, fd = 1e-6, np.zeros_like(F)
    for idx in np.ndindex(F.shape):
        E = np.zeros_like(F)
        E[idx] = h
        fd[idx] = (
            B.to_float(loss.value(B.asarray(F + E, xp), Yx))
            - B.to_float(loss.value(B.asarray(F - E, xp), Yx))
        ) / (2 * h)
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["cross_entropy", "square"])
def test_value_and_delta_N_equal_torch(name):
    torch = pytest.importorskip("torch")
    F, Y = data(2)
    t = torch.tensor(F, requires_grad=True)
    if name == "cross_entropy":  # probability targets, mean over the batch (rows in torch)
        J = torch.nn.functional.cross_entropy(t.T, torch.tensor(Y).T)
    else:
        J = torch.sum((t - torch.tensor(Y)) ** 2) / N
    J.backward()
    loss = get_loss(name)
    assert float(loss.value(F, Y)) == pytest.approx(float(J.detach()), rel=1e-13)
    np.testing.assert_allclose(loss.grad(F, Y), t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_delta_is_softmax_minus_Y_over_n():
    F, Y = data(3)
    E = np.exp(F)
    np.testing.assert_allclose(CrossEntropy().grad(F, Y), (E / E.sum(0) - Y) / N, rtol=1e-13)
    np.testing.assert_allclose(SquareLoss(reduction="sum").grad(F, Y), 2 * (F - Y), rtol=1e-15)


def test_cross_entropy_is_stable_at_large_logits(xp):
    F = np.array([[1e3, -1e3, 1e3], [-1e3, 1e3, 1e3 - 1.0]])
    Y = np.array([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    loss = CrossEntropy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        J = B.to_float(loss.value(B.asarray(F, xp), B.asarray(Y, xp)))
        d = B.to_numpy(loss.grad(B.asarray(F, xp), B.asarray(Y, xp)))
        S = B.to_numpy(softmax(B.asarray(F, xp)))
        L = B.to_numpy(log_softmax(B.asarray(F, xp)))
    # column losses: 2000, 0, log(1 + e^{-1}) (exact in closed form)
    assert J == pytest.approx((2000.0 + 0.0 + np.log1p(np.exp(-1.0))) / 3, rel=1e-14)
    assert np.all(np.isfinite(d)) and np.all(np.isfinite(L))
    np.testing.assert_allclose(S.sum(axis=0), 1.0, rtol=1e-15)
    np.testing.assert_allclose(S[:, 0], [1.0, 0.0], atol=1e-300)


def test_one_hot_columns(xp):
    labels = B.asarray(np.array([2, 0, 1, 2]), xp)
    Y = B.to_numpy(one_hot(labels, 3))
    np.testing.assert_array_equal(Y, np.eye(3)[:, [2, 0, 1, 2]])
    assert one_hot(labels, 3, dtype=xp.float32).dtype == xp.float32


def test_one_hot_rejects_labels_out_of_range_and_bad_shapes():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\].*\[0, 3\]"):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(ValueError, match="labels must lie in"):
        one_hot(np.array([-1, 1]), 3)
    with pytest.raises(ValueError, match="1-d"):
        one_hot(np.zeros((2, 2), dtype=np.int64), 3)
    with pytest.raises(ValueError, match="num_classes must be positive"):
        one_hot(np.array([0]), 0)


def test_unknown_loss_name_or_reduction_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown loss 'hinge'.*cross_entropy"):
        get_loss("hinge")
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum'"):
        get_loss("square", reduction="median")
