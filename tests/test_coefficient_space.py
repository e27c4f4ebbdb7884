"""The coefficient-space solvers (SPEC §8, issue 7) give the *same iterates* as the plain
ones they replace: CG on the ridge normal equations, its affine-layer form without
``[W, b]``/``[F; 1ᵀ]``, and SIBP's nonlinear CG. Oracle: the weight-space implementation
(kept as ``form="primal"``), step by step for every iteration count, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.ridge import prox_ridge, prox_ridge_affine, prox_ridge_cg, split_bias, with_ones


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
