"""SIBP on convolutional networks (Remark 5.1): each convolution updated by (4.1) on its
patch matrix, pooling passing the error back by its gradient.

Oracles written from scratch here: patches by a loop over pixels and samples, their
adjoint as the transpose of the explicit matrix, the pooling gradient by a loop over
windows, and every layer's subproblem (4.1) solved by ``scipy.optimize.minimize``.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special
from test_conv import small_conv_problem
from test_theory_sibp import _losses, _monotone

from sibp_ref import ProxBP
from sibp_ref import backend as B
from sibp_ref.layers import Conv2d, MaxPool2d
from sibp_ref.methods.sibp import SIBP
from sibp_ref.nets import lenet5


def naive_patches(layer, F):
    """``A(F)`` column by column: the ``(c, k, k)`` window of image ``j`` at pixel ``(p, q)``."""
    c, h, w, k, n = layer.c_in, layer.height, layer.width, layer.k, F.shape[1]
    t, a = layer.pad
    X = np.pad(F.T.reshape(n, c, h, w), ((0, 0), (0, 0), (t, a), (t, a)))
    ho, wo = layer.out_height, layer.out_width
    P = np.empty((c * k * k, ho * wo * n))
    for p in range(ho):
        for q in range(wo):
            for j in range(n):
                P[:, (p * wo + q) * n + j] = X[j, :, p : p + k, q : q + k].ravel()
    return P


def naive_adjoint(layer, M, n):
    """``A*(M)`` as the transpose of the explicit matrix of ``F ↦ A(F)``."""
    d = layer.in_features * n
    cols = [
        naive_patches(layer, np.eye(d)[:, e].reshape(layer.in_features, n)).ravel()
        for e in range(d)
    ]
    return (np.array(cols) @ M.ravel()).reshape(layer.in_features, n)


def naive_pool_vjp(pool, F, D):
    """The error ``D`` of each window at its first maximum (rows (c, h, w), columns samples)."""
    c, h, w, s, n = pool.channels, pool.height, pool.width, pool.size, F.shape[1]
    X, out = F.reshape(c, h, w, n), np.zeros((c, h, w, n))
    D = D.reshape(c, h // s, w // s, n)
    for ch in range(c):
        for p in range(h // s):
            for q in range(w // s):
                for j in range(n):
                    win = X[ch, p * s : p * s + s, q * s : q * s + s, j]
                    u, v = np.unravel_index(np.argmax(win), win.shape)
                    out[ch, p * s + u, q * s + v, j] = D[ch, p, q, j]
    return out.reshape(c * h * w, n)


def prox_subproblem(sigma, A, T, Z0, C, lam):
    """``argmin_Z ||σ(Z A + C) − T||² + ||Z − Z0||²/(2λ)`` by BFGS on the flattened ``Z``."""

    def fg(z):
        Z = z.reshape(Z0.shape)
        G = Z @ A + C
        R = sigma.f(G) - T
        g = 2.0 * (sigma.df(G) * R) @ A.T + (Z - Z0) / lam
        return float(np.sum(R * R) + np.sum((Z - Z0) ** 2) / (2 * lam)), g.ravel()

    r = scipy.optimize.minimize(
        fg, Z0.ravel(), jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 5000}
    )
    return r.x.reshape(Z0.shape)


def scipy_solve(i, sig, A, T, W, b, lam):
    """(4.1) of one layer by scipy: W with b^k fixed, then b with the new W."""
    W1 = prox_subproblem(sig, A, T, W, b, lam)
    return W1, prox_subproblem(sig, np.ones((1, A.shape[1])), T, b, W1 @ A, lam)


def oracle_step(net, params, X, Y, eta, lam, solve=scipy_solve):
    """Algorithm 1 with Remark 5.1, each layer's (4.1) by ``solve``: the reference iterate."""
    G, F = net.forward(params, X)
    delta = (scipy.special.softmax(F[-1], axis=0) - Y) / X.shape[1]  # δ_N, J a mean
    new = [None] * net.num_layers
    for i in range(net.num_layers - 1, -1, -1):
        (W, b), blk, sig = params[i], net.blocks[i], net.activation_of(i)
        conv = isinstance(blk.layer, Conv2d)
        if conv:
            c, ho, wo = blk.layer.out_shape
            cols = sig.f(G[i + 1]).reshape(c * ho * wo, -1)  # (c, h'·w'·n) → (c·h'·w', n)
            pool = next(p for p in blk.post if isinstance(p, MaxPool2d))
            d = naive_pool_vjp(pool, cols, delta).reshape(c, -1)
            A, S = naive_patches(blk.layer, F[i]), sig.f(G[i + 1])
        else:
            A, S, d = F[i], F[i + 1], delta
        T = S - eta * d  # the target of (4.1), at σ(G) before the pooling
        new[i] = solve(i, sig, A, T, W, b, lam)
        M = new[i][0].T @ (sig.df(G[i + 1]) * d)  # (4.2): new W, old G
        delta = naive_adjoint(blk.layer, M, X.shape[1]) if conv else M
    return new


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_sibp_step_on_a_conv_net_equals_scipy_solves_of_each_layer_s_subproblem(padding):
    net, params, X, Y = small_conv_problem(n=3, padding=padding)
    eta, lam = 0.5, 0.3
    m = SIBP(eta=eta, lam=lam, solver="exact", tol=1e-12, max_iters=2000)
    got, _ = m.step(net, params, m.init(net, params), X, Y)
    want = oracle_step(net, params, X, Y, eta, lam)
    for (W, b), (V, c) in zip(got, want, strict=True):
        np.testing.assert_allclose(W, V, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(b, c, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("lam", [0.05, 1.0, 10.0])
def test_C2_the_conv_layer_s_update_is_a_proximal_step(lam):
    """On the convolution: W^{k+1} = W^k − λ ∇f(W^{k+1}), f(W) = ||σ(W A(F) + b^k) − T||²,
    with T = σ(G^k) − η P*(δ) the target before pooling and A by a loop over pixels."""
    net, params, X, Y = small_conv_problem(n=2)
    eta = 0.4
    m = SIBP(eta=eta, lam=lam, solver="exact", tol=1e-12, max_iters=2000)
    got, _ = m.step(net, params, m.init(net, params), X, Y)
    seen = {}

    def record(i, sig, A, T, W, b, lam):  # SIBP's own iterate; keep layer i's A and T
        seen[i] = (sig, A, T)
        return got[i]

    oracle_step(net, params, X, Y, eta, lam, solve=record)
    sig, A, T = seen[0]
    (W, b), (W1, _) = params[0], got[0]
    G1 = W1 @ A + b
    grad = 2.0 * (sig.df(G1) * (sig.f(G1) - T)) @ A.T
    assert np.linalg.norm(W1 - (W - lam * grad)) <= 1e-9 * max(1.0, lam)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_C1_full_batch_sibp_on_a_smooth_conv_net_decreases_J_monotonically(xp, padding):
    """Theorem 4.1's test on a tanh convolution with max pooling and a square loss."""
    rng = np.random.default_rng(5)
    net, params, X, _ = small_conv_problem(xp, n=4, seed=3, loss="square", padding=padding)
    Y = B.asarray(rng.uniform(-1.0, 1.0, size=(3, 4)), xp)
    J = _losses(net, params, X, Y, SIBP(eta=0.002, lam=0.5, solver="exact"), steps=5)
    assert _monotone(J) and J[-1] < J[0], J


@pytest.mark.parametrize(
    ("solver", "l1"),
    [("ncg", 0.0), ("ncg_pr", 0.0), ("prox_grad", 0.0), ("ncg_authors", 0.0), ("ncg", 1.0)],
)
def test_every_inner_solver_takes_a_finite_sibp_step_on_lenet5(solver, l1):
    net = lenet5()
    params = net.init(seed=0, std=0.1)
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(0.0, 1.0, size=(784, 4)), np.eye(10)[:, [0, 3, 3, 9]]
    m = SIBP(eta=1.0, lam=0.5, solver=solver, iters=3, l1=l1)
    new, state = m.step(net, params, m.init(net, params), X, Y)
    assert state.k == 1
    for (W, b), (V, c) in zip(new, params, strict=True):
        assert W.shape == V.shape and b.shape == c.shape
        assert np.all(np.isfinite(W)) and np.all(np.isfinite(b)) and not np.array_equal(W, V)
    if l1:  # Remark 4.1: soft-thresholding zeroes some weights of the convolutions too
        assert np.any(new[1][0] == 0.0) and not np.any(params[1][0] == 0.0)


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_proxbp_on_a_conv_net_is_its_preconditioned_gradient_step_on_patches(solver):
    """θ^{k+1} = θ^k − η ∇_θJ (ĀĀᵀ + I/(2λ))^{-1}, Ā = [A(F_i); 1ᵀ] with A(F) the patches
    (by the loop over pixels here): the proximal least squares on patches, as ProxProp."""
    net, params, X, Y = small_conv_problem(n=3)
    eta, lam = 0.7, 0.4
    m = ProxBP(eta=eta, lam=lam, solver=solver, iters=200)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    _, F = net.forward(params, X)
    grads = net.gradient(params, X, Y)
    for i, ((W, b), (W0, b0), (dW, db)) in enumerate(zip(new, params, grads, strict=True)):
        layer = net.blocks[i].layer
        A = naive_patches(layer, F[i]) if isinstance(layer, Conv2d) else F[i]
        Abar = np.vstack([A, np.ones((1, A.shape[1]))])
        P = np.linalg.inv(Abar @ Abar.T + np.eye(Abar.shape[0]) / (2 * lam))
        want = np.hstack([W0, b0]) - eta * np.hstack([dW, db]) @ P
        np.testing.assert_allclose(np.hstack([W, b]), want, rtol=1e-9, atol=1e-11)
