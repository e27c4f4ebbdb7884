"""Checks that run without PyTorch (the README's test command) on what was checked only
against it: SGD's weight decay is added to the gradient as ``wd·θ`` (L2 on the
parameters, ``torch.optim.SGD``'s rule), and a "same" convolution with an even kernel pads
``(k − 1)//2`` zeros before and the rest after (``torch.nn.functional.conv2d``'s
``padding="same"``). The references are written out here in NumPy.
"""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref.layers import Conv2d
from sibp_ref.methods.optimizers import SGD


# ------------------------------------------------------------------ weight decay
@pytest.mark.parametrize("consume_grads", [False, True])
@pytest.mark.parametrize("lr", [None, 0.03])
def test_sgd_weight_decay_acts_on_the_parameters_not_the_gradient(consume_grads, lr):
    """``θ ← θ − η(g + wd·θ)``, ``η`` the rule's ``lr`` or a schedule's ``η_k``."""
    rng = np.random.default_rng(0)
    p = [rng.normal(size=(3, 4)), rng.normal(size=(3, 1)), None]
    g = [rng.normal(size=(3, 4)), rng.normal(size=(3, 1)), None]
    rule, wd = SGD(lr=0.1, weight_decay=0.2), 0.2
    eta = 0.1 if lr is None else lr
    want = [p[0] - eta * (g[0] + wd * p[0]), p[1] - eta * (g[1] + wd * p[1]), None]
    grads = [None if a is None else a.copy() for a in g]
    new, _ = rule.update(p, grads, None, consume_grads=consume_grads, lr=lr)
    assert new[2] is None
    for got, ref in zip(new[:2], want[:2], strict=True):
        np.testing.assert_allclose(got, ref, rtol=1e-15, atol=1e-15)


# ------------------------------------------------------------------ "same" padding
def conv_same_np(F, W, b, c_in, h, w, k):
    """Cross-correlation with PyTorch's "same" zeros: ``(k−1)//2`` before, the rest after,
    on each of height and width. ``F``: ``(c_in·h·w, n)``; returns ``(c_out, h, w, n)``."""
    n, c_out = F.shape[1], W.shape[0]
    before = (k - 1) // 2
    after = k - 1 - before
    X = np.pad(F.reshape(c_in, h, w, n), ((0, 0), (before, after), (before, after), (0, 0)))
    Wk = W.reshape(c_out, c_in, k, k)
    out = np.zeros((c_out, h, w, n))
    for p in range(h):
        for q in range(w):
            patch = X[:, p : p + k, q : q + k, :]  # (c_in, k, k, n)
            out[:, p, q, :] = np.einsum("ocuv,cuvj->oj", Wk, patch)
    return out + b.reshape(c_out, 1, 1, 1)


@pytest.mark.parametrize("k", [2, 4])
def test_same_padding_of_an_even_kernel_matches_the_numpy_convolution(k):
    c_in, c_out, h, w, n = 2, 3, 5, 6, 2
    conv = Conv2d(c_in, c_out, k, "same", height=h, width=w)
    rng = np.random.default_rng(k)
    F = rng.normal(size=(conv.in_features, n))
    W, b = rng.normal(size=conv.weight_shape), rng.normal(size=(c_out, 1))
    G = W @ conv.lift(F) + b  # (c_out, h'·w'·n), columns (p, q, j)
    assert conv.out_shape == (c_out, h, w)
    np.testing.assert_allclose(
        G.reshape(c_out, h, w, n), conv_same_np(F, W, b, c_in, h, w, k), rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("k", [2, 4])
def test_lift_T_of_an_even_kernel_is_the_adjoint_of_the_numpy_convolution(k):
    """``A*(M)`` against the NumPy convolution's adjoint: ``⟨W A(F), V⟩ = ⟨F, A*(WᵀV)⟩``
    for every ``F``, so ``A*(WᵀV)`` is the gradient of ``F ↦ ⟨conv(F), V⟩``, computed
    here column by column from the NumPy convolution, which is linear in ``F``."""
    c_in, c_out, h, w = 2, 3, 3, 4
    conv = Conv2d(c_in, c_out, k, "same", height=h, width=w)
    rng = np.random.default_rng(10 + k)
    W, zero = rng.normal(size=conv.weight_shape), np.zeros((c_out, 1))
    V = rng.normal(size=(c_out, h, w, 1))
    want = np.array(
        [np.sum(conv_same_np(e[:, None], W, zero, c_in, h, w, k) * V) for e in np.eye(c_in * h * w)]
    )
    got = conv.lift_T(W.T @ V.reshape(c_out, h * w))
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-12, atol=1e-12)


def test_an_impulse_through_a_2x2_same_kernel_lands_where_pytorch_puts_it():
    """With one zero after (and none before) each axis, output pixel ``(p, q)`` sees
    ``F[p:p+2, q:q+2]``: an impulse at ``(1, 2)`` reaches outputs ``(0..1, 1..2)`` with
    the kernel flipped into place, ``G[p, q] = W[1 − p, 2 − q]``."""
    conv = Conv2d(1, 1, 2, "same", height=3, width=4)
    F = np.zeros((12, 1))
    F[1 * 4 + 2, 0] = 1.0
    W = np.array([[1.0, 2.0, 3.0, 4.0]])  # [[1, 2], [3, 4]]
    G = (W @ conv.lift(F)).reshape(3, 4)
    want = np.zeros((3, 4))
    want[0, 1], want[0, 2], want[1, 1], want[1, 2] = 4.0, 3.0, 2.0, 1.0
    np.testing.assert_array_equal(G, want)
