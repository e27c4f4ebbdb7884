"""The Armijo search of the nonlinear CG: the quadratic-model first step, the test on the
directly computed change, and its float32 behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.inner import Armijo, armijo_backtracking, prox_objective
from sibp_ref.inner.line_search import Direction, Point, Subproblem, model_step


def _setup(sigma, seed=0, dtype="float64", lam=0.8):
    xp = B.get_backend("numpy")
    rng = np.random.default_rng(seed)
    A, T = rng.normal(size=(4, 9)), rng.uniform(0.1, 0.9, size=(3, 9))
    Z0 = rng.normal(scale=0.5, size=(3, 4))
    E = rng.normal(scale=0.1, size=(3, 4))  # the current Z = Z0 + E
    A, T, Z0, E = (xp.astype(xp.asarray(a), getattr(xp, dtype)) for a in (A, T, Z0, E))
    sig = get_activation(sigma)
    Z = Z0 + E
    G = Z @ A
    R, S = sig.f(G) - T, sig.df(G)
    g = (2.0 * S * R) @ A.T + E / lam
    D = -g
    return xp, sig, A, T, Z0, Z, E, G, R, S, g, D, lam


def _search(xp, sig, A, T, E, G, R, S, g, D, lam, rule=None):
    rule = Armijo() if rule is None else rule
    eps = float(xp.finfo(G.dtype).eps)
    vd = lambda a, b: xp.sum(a * b)  # noqa: E731
    along = Direction(D @ A, vd(g, D), vd(E, D), vd(D, D), lambda: vd(E, E))
    return armijo_backtracking(xp, rule, Subproblem(sig, T, lam, eps), Point(G, R, S), along)


def test_model_step_is_the_exact_line_minimiser_for_a_linear_layer():
    """σ = identity: φ(Z + αD) is a quadratic in α, its minimiser the model step, which
    the search accepts at the first trial."""
    xp, sig, A, T, Z0, Z, E, G, R, S, g, D, lam = _setup("identity")
    vals = [float(prox_objective(Z + a * D, A, T, Z0, lam)) for a in (0.0, 1.0, 2.0)]
    c2 = (vals[2] - 2 * vals[1] + vals[0]) / 2  # φ(α) = c0 + c1 α + c2 α²
    c1 = vals[1] - vals[0] - c2
    alpha0 = float(model_step(xp, S, D @ A, xp.sum(g * D), xp.sum(D * D), lam))
    np.testing.assert_allclose(alpha0, -c1 / (2 * c2), rtol=1e-10)
    alpha, G_t, R_t = _search(xp, sig, A, T, E, G, R, S, g, D, lam)
    assert float(alpha) == alpha0


@pytest.mark.parametrize("sigma", ["sigmoid", "tanh", "relu"])
def test_accepted_step_satisfies_armijo_on_the_objective(sigma):
    for seed in range(5):
        xp, sig, A, T, Z0, Z, E, G, R, S, g, D, lam = _setup(sigma, seed=seed)
        alpha, G_t, R_t = _search(xp, sig, A, T, E, G, R, S, g, D, lam)
        a = float(alpha)
        phi0 = float(prox_objective(Z, A, T, Z0, lam, sigma))
        phi1 = float(prox_objective(Z + a * D, A, T, Z0, lam, sigma))
        assert phi1 <= phi0 + 1e-4 * a * float(xp.sum(g * D)) + 1e-14 * phi0
        np.testing.assert_allclose(G_t, (Z + a * D) @ A, atol=1e-12)
        np.testing.assert_allclose(R_t, sig.f(G_t) - T, atol=1e-12)


def test_search_with_no_trials_left_returns_none():
    xp, sig, A, T, Z0, Z, E, G, R, S, g, D, lam = _setup("tanh")
    assert _search(xp, sig, A, T, E, G, R, S, g, D, lam, Armijo(max_backtracks=0)) is None


def test_search_in_float32_accepts_a_decrease_below_the_resolution_of_phi():
    """Near the minimiser the decrease of φ along −g is below float32's resolution of φ
    itself (two float32 values of φ then differ by rounding noise); the search, which
    tests the directly computed change, accepts a step, and in float64 that step does
    decrease φ."""
    from sibp_ref.inner import exact

    xp = B.get_backend("numpy")
    rng = np.random.default_rng(3)
    A, T = rng.normal(size=(4, 9)), rng.uniform(0.1, 0.9, size=(3, 9))
    Z0, lam, sig = rng.normal(scale=0.5, size=(3, 4)), 0.8, get_activation("sigmoid")
    Zs = exact(A, T, Z0, lam, "sigmoid", tol=1e-12).x
    Z = Zs + 1e-4 * rng.normal(size=Zs.shape)  # close to the minimiser
    phi64 = lambda Z_: float(prox_objective(Z_, A, T, Z0, lam, "sigmoid"))  # noqa: E731
    A32, T32, Z032, Z32 = (np.asarray(a, dtype=np.float32) for a in (A, T, Z0, Z))
    E32 = Z32 - Z032
    G = Z32 @ A32
    R, S = sig.f(G) - T32, sig.df(G)
    g = (2.0 * S * R) @ A32.T + E32 / np.float32(lam)
    step = _search(xp, sig, A32, T32, E32, G, R, S, g, -g, lam)
    assert step is not None
    Z1 = np.asarray(Z32, dtype=np.float64) + float(step[0]) * np.asarray(-g, dtype=np.float64)
    drop = phi64(np.asarray(Z32, dtype=np.float64)) - phi64(Z1)
    assert 0 < drop < np.finfo(np.float32).eps * phi64(Z)  # real, and below resolution
