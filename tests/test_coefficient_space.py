"""The coefficient-space solvers (docs/conventions.md §6) give the *same iterates* as the plain
ones they replace: CG on the ridge normal equations, its affine-layer form without
``[W, b]``/``[F; 1ᵀ]``, and SIBP's nonlinear CG. Oracle: the weight-space implementation
(kept as ``form="primal"``), step by step for every iteration count, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.inner.ridge import prox_ridge, prox_ridge_affine, prox_ridge_cg, split_bias, with_ones


def _ridge_problem(xp, m, d, n, seed=0):
    rng = np.random.default_rng(seed)
    F = B.asarray(rng.standard_normal((d, n)), xp)
    T = B.asarray(rng.standard_normal((m, n)), xp)
    W = B.asarray(0.3 * rng.standard_normal((m, d)), xp)
    b = B.asarray(0.3 * rng.standard_normal((m, 1)), xp)
    return F, T, W, b


def _close(got, want, rtol=1e-9):
    got, want = B.to_numpy(got), B.to_numpy(want)
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("iters", [1, 2, 3, 5, 8])
@pytest.mark.parametrize("lam", [0.05, 0.5, 20.0])
def test_cg_in_coefficient_space_has_the_primal_iterates(xp, iters, lam):
    F, T, W, _ = _ridge_problem(xp, m=4, d=15, n=6)
    primal = prox_ridge_cg(F, T, W, lam, iters, form="primal")
    dual = prox_ridge_cg(F, T, W, lam, iters, form="dual")
    _close(dual, primal)
    assert not np.allclose(B.to_numpy(primal), B.to_numpy(W))  # CG did move
    _close(prox_ridge_cg(F, T, W, lam, iters, form="dual", theta0_A=W @ F), primal)


def test_cg_in_coefficient_space_stops_at_the_same_tolerance():
    xp = B.get_backend("numpy")
    F, T, W, _ = _ridge_problem(xp, m=3, d=20, n=7, seed=1)
    for tol in (1e-1, 1e-3, 1e-12):
        _close(
            prox_ridge_cg(F, T, W, 0.7, 50, tol=tol, form="dual"),
            prox_ridge_cg(F, T, W, 0.7, 50, tol=tol, form="primal"),
        )


@pytest.mark.parametrize("solver", ["exact", "cg"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("d, n", [(15, 6), (5, 12)])  # coefficient space, and its fallback
def test_affine_layer_solve_equals_the_concatenated_ridge_problem(xp, solver, bias, d, n):
    F, T, W, b = _ridge_problem(xp, m=4, d=d, n=n, seed=2)
    lam = 0.37
    A = with_ones(F) if bias else F
    theta0 = xp.concat([W, b], axis=1) if bias else W
    R = T - theta0 @ A
    if solver == "exact":
        want = prox_ridge(A, T, theta0, lam, form="primal")
    else:
        want = prox_ridge_cg(A, T, theta0, lam, 3, form="primal")
    W_new, b_new = prox_ridge_affine(F, R, W, b if bias else None, lam, solver=solver, iters=3)
    if bias:
        W_want, b_want = split_bias(want)
        _close(b_new, b_want)
    else:
        W_want = want
        assert b_new is None
    _close(W_new, W_want)


def test_coefficient_space_bad_arguments_raise_clear_errors():
    xp = B.get_backend("numpy")
    F, T, W, b = _ridge_problem(xp, m=2, d=6, n=3)
    with pytest.raises(ValueError, match="x0"):
        prox_ridge_cg(F, T, W, 1.0, 2, x0=W, form="dual")
    with pytest.raises(ValueError, match="form"):
        prox_ridge_cg(F, T, W, 1.0, 2, form="coefficients")
    with pytest.raises(ValueError, match="solver"):
        prox_ridge_affine(F, T, W, b, 1.0, solver="lsqr")
    with pytest.raises(ValueError, match="lam"):
        prox_ridge_affine(F, T, W, b, 0.0)
    with pytest.raises(ValueError, match="iters"):
        prox_ridge_affine(F, T, W, b, 1.0, solver="cg", iters=0)


# ---------------------------------------------------------------- SIBP's NCG (4.1)
def _ncg_problem(xp, m=4, d=15, n=6, seed=3):
    rng = np.random.default_rng(seed)
    A = B.asarray(rng.standard_normal((d, n)), xp)
    T = B.asarray(rng.uniform(0.1, 0.9, size=(m, n)), xp)
    Z0 = B.asarray(0.4 * rng.standard_normal((m, d)), xp)
    C = B.asarray(0.3 * rng.standard_normal((m, 1)), xp)
    return A, T, Z0, C


@pytest.mark.parametrize("beta", ["fr", "pr"])
@pytest.mark.parametrize("sigma", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("lam", [0.05, 2.0])
def test_ncg_in_coefficient_space_has_the_primal_iterates(xp, beta, sigma, lam):
    """Same Z and G = ZA + C after every iteration count (W-subproblem of (4.1), n < d)."""
    from sibp_ref.inner import ncg

    A, T, Z0, C = _ncg_problem(xp)
    G0 = Z0 @ A + C
    for iters in (1, 2, 3, 5, 9):
        kw = dict(C=C, G0=G0, iters=iters, beta=beta)
        p = ncg(A, T, Z0, lam, sigma, form="primal", **kw)
        q = ncg(A, T, Z0, lam, sigma, form="dual", **kw)
        assert p.n_iter == q.n_iter
        _close(q.x, p.x, 1e-8)
        _close(q.G, p.G, 1e-8)
    assert ncg(A, T, Z0, lam, sigma, C=C, iters=3, beta=beta).n_iter == 3  # "auto": the dual


def test_exact_ncg_in_coefficient_space_reaches_the_same_minimiser():
    from sibp_ref.inner import ncg

    xp = B.get_backend("numpy")
    A, T, Z0, C = _ncg_problem(xp, seed=4)
    kw = dict(C=C, beta="pr", tol=1e-10, max_iters=500)
    p = ncg(A, T, Z0, 0.8, "tanh", form="primal", **kw)
    q = ncg(A, T, Z0, 0.8, "tanh", form="dual", **kw)
    _close(q.x, p.x, 1e-8)


def test_ncg_in_coefficient_space_touches_the_data_twice(counting_matmul):
    """K = AᵀA and Z^0 + Y Aᵀ at the end: no (m, d)-sized product inside the iterations."""
    from sibp_ref.inner import ncg

    xp = B.get_backend("numpy")
    A, T, Z0, C = _ncg_problem(xp, seed=5)
    G0 = Z0 @ A + C
    Ac = A.view(counting_matmul)
    r = ncg(Ac, T, Z0, 50.0, "tanh", C=C, G0=G0, iters=5, form="dual")
    assert r.n_iter == 5
    assert counting_matmul.count == 2


def test_ncg_bad_form_is_a_clear_error():
    from sibp_ref.inner import ncg

    xp = B.get_backend("numpy")
    A, T, Z0, C = _ncg_problem(xp)
    with pytest.raises(ValueError, match="form"):
        ncg(A, T, Z0, 1.0, "tanh", form="coefficients")
