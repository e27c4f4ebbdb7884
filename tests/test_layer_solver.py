"""``solve_layer``: the layer subproblem (4.1) in one call — W with b^k fixed, then b with
W^{k+1} fixed — checked by the first-order conditions of each half, written in NumPy."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.inner import prox_ridge, prox_ridge_bias, solve_layer


def _layer(xp, m=3, d=5, n=7, seed=0):
    rng = np.random.default_rng(seed)
    AF = rng.normal(size=(d, n))
    W = rng.normal(scale=0.5, size=(m, d))
    b = rng.normal(scale=0.3, size=(m, 1))
    T = rng.uniform(0.1, 0.9, size=(m, n))
    return tuple(B.asarray(a, xp) for a in (AF, W, b, T))


def _fit_grads(sig, AF, W, b, T):
    """∂/∂W and ∂/∂b of ||σ(W AF + b) − T||² (plain NumPy)."""
    s = get_activation(sig)
    G = W @ AF + b
    M = 2.0 * (B.to_numpy(s.df(G)) * (B.to_numpy(s.f(G)) - T))
    return M @ AF.T, np.sum(M, axis=1, keepdims=True)


@pytest.mark.parametrize("sigma", ["identity", "sigmoid", "tanh", "softplus"])
def test_solve_layer_is_gauss_seidel_on_the_two_halves_of_4_1(xp, sigma):
    """W^{k+1} zeroes the W-gradient at b^k; b^{k+1} zeroes the b-gradient at W^{k+1}."""
    AF, W, b, T = _layer(xp)
    lam, lam_b = 0.7, 0.2
    G = W @ AF + b
    W1, b1 = solve_layer(sigma, AF, W, b, T, G, lam, lam_b, solver="exact", tol=1e-12)
    AF, W, b, T, W1, b1 = (B.to_numpy(a) for a in (AF, W, b, T, W1, b1))
    gW, _ = _fit_grads(sigma, AF, W1, b, T)
    _, gb = _fit_grads(sigma, AF, W1, b1, T)
    np.testing.assert_allclose(gW + (W1 - W) / lam, 0.0, atol=1e-9)
    np.testing.assert_allclose(gb + (b1 - b) / lam_b, 0.0, atol=1e-9)


def test_solve_layer_identity_is_the_closed_form(xp):
    AF, W, b, T = _layer(xp, seed=1)
    W1, b1 = solve_layer("identity", AF, W, b, T, W @ AF + b, 0.4, 0.9)
    W_want = prox_ridge(AF, T - b, W, 0.4)
    b_want = prox_ridge_bias(T - W_want @ AF, b, 0.9)
    np.testing.assert_allclose(B.to_numpy(W1), B.to_numpy(W_want), atol=1e-12)
    np.testing.assert_allclose(B.to_numpy(b1), B.to_numpy(b_want), atol=1e-12)


@pytest.mark.parametrize("sigma", ["identity", "sigmoid"])
def test_solve_layer_with_l1_meets_the_subgradient_conditions(sigma):
    """Remark 4.1 on both halves: 0 ∈ ∇s + γ ∂||·||_1 for W at b^k and for b at W^{k+1}."""
    xp = B.get_backend("numpy")
    AF, W, b, T = _layer(xp, seed=2)
    lam, gamma = 0.5, 0.3
    W1, b1 = solve_layer(
        sigma, AF, W, b, T, W @ AF + b, lam, solver="exact", l1=gamma, tol=1e-12, max_iters=5000
    )
    gW, _ = _fit_grads(sigma, AF, W1, b, T)
    _, gb = _fit_grads(sigma, AF, W1, b1, T)
    for Z, Z0, g in ((W1, W, gW), (b1, b, gb)):
        g = g + (Z - Z0) / lam
        nz = Z != 0
        np.testing.assert_allclose(g[nz], -gamma * np.sign(Z[nz]), atol=1e-8)
        assert np.all(np.abs(g[~nz]) <= gamma + 1e-8)
    assert np.any(W1 == 0)


@pytest.mark.parametrize("solver", ["ncg", "ncg_pr", "exact", "prox_grad", "ncg_authors"])
def test_solve_layer_without_bias_returns_none_for_b(solver):
    xp = B.get_backend("numpy")
    AF, W, _, T = _layer(xp, seed=3)
    W1, b1 = solve_layer("tanh", AF, W, None, T, W @ AF, 0.5, solver=solver)
    assert b1 is None and W1.shape == W.shape
    assert not np.allclose(W1, W)


def test_solve_layer_bad_arguments_raise_clear_errors():
    xp = B.get_backend("numpy")
    AF, W, b, T = _layer(xp)
    with pytest.raises(ValueError, match="unknown solver 'lbfgs'"):
        solve_layer("tanh", AF, W, b, T, W @ AF + b, 0.5, solver="lbfgs")
    with pytest.raises(ValueError, match="l1"):
        solve_layer("tanh", AF, W, b, T, W @ AF + b, 0.5, solver="ncg_authors", l1=0.1)
