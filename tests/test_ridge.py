"""Proximal ridge solves ``argmin_θ ||θA − T||² + ||θ − θ^0||²/(2λ)`` (ProxBP, SIBP's linear
layers): primal Cholesky == dual Woodbury == CG run long == a dense least-squares oracle."""

from __future__ import annotations

from pathlib import Path

import array_api_compat.numpy
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import backend as B
from sibp_ref.inner.ridge import (
    _route,
    _svd_coefficients,
    dual_coefficients,
    prox_ridge,
    prox_ridge_affine,
    prox_ridge_cg,
    prox_ridge_objective,
    split_bias,
    with_ones,
)


def problem(m, d, n, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((d, n)), rng.standard_normal((m, n)), rng.standard_normal((m, d))


def dense_oracle(A, T, theta0, lam):
    """The same minimiser as one stacked least-squares problem, solved by ``lstsq`` (SVD):
    ``min ||[Aᵀ; I/√(2λ)] θᵀ − [Tᵀ; θ0ᵀ/√(2λ)]||²`` — no normal equations involved."""
    s = 1.0 / np.sqrt(2.0 * lam)
    M = np.vstack([A.T, s * np.eye(A.shape[0])])
    R = np.vstack([T.T, s * theta0.T])
    return np.linalg.lstsq(M, R, rcond=None)[0].T


@pytest.mark.parametrize("m, d, n", [(3, 5, 12), (3, 12, 5)])  # n > d and n < d (dual's case)
@pytest.mark.parametrize("bias", [False, True])
def test_primal_dual_cg_and_dense_solve_agree(xp, m, d, n, bias):
    A, T, theta0 = problem(m, d, n)
    lam = 0.37
    Ax = B.asarray(A, xp)
    if bias:  # θ = [W, b], A = [F; 1ᵀ]
        Ax = with_ones(Ax)
        A = np.vstack([A, np.ones((1, n))])
        theta0 = np.hstack([theta0, np.ones((m, 1))])
    Tx, t0x = B.asarray(T, xp), B.asarray(theta0, xp)
    want = dense_oracle(A, T, theta0, lam)
    for form in ("primal", "dual", "auto"):
        got = B.to_numpy(prox_ridge(Ax, Tx, t0x, lam, form=form))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11, err_msg=form)
    got = B.to_numpy(prox_ridge(Ax, Tx, t0x, lam, form="dual", theta0_A=t0x @ Ax))
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-11)
    # CG on a (d+1)-dimensional quadratic: exact after d+1 steps; 100 steps must stay put
    got = B.to_numpy(prox_ridge_cg(Ax, Tx, t0x, lam, iters=100))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)
    got = B.to_numpy(prox_ridge_cg(Ax, Tx, t0x, lam, iters=10_000, tol=1e-13))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-10)


def test_solution_satisfies_first_order_condition():
    A, T, theta0 = problem(2, 6, 9, seed=1)
    lam = 2.5
    th = prox_ridge(A, T, theta0, lam)
    grad = 2 * (th @ A - T) @ A.T + (th - theta0) / lam
    assert np.max(np.abs(grad)) < 1e-10 * np.max(np.abs(2 * T @ A.T))


def test_cg_objective_never_increases_and_reaches_the_minimum():
    A, T, theta0 = problem(3, 8, 20, seed=2)
    lam = 10.0
    vals = [
        float(prox_ridge_objective(prox_ridge_cg(A, T, theta0, lam, iters=k), A, T, theta0, lam))
        for k in range(1, 12)
    ]
    start = float(prox_ridge_objective(theta0, A, T, theta0, lam))
    best = float(prox_ridge_objective(prox_ridge(A, T, theta0, lam), A, T, theta0, lam))
    assert vals[0] < start
    assert all(b <= a * (1 + 1e-14) for a, b in zip(vals[:-1], vals[1:], strict=True))
    assert vals[-1] == pytest.approx(best, rel=1e-12)


def test_cg_warm_start_at_the_solution_stays_there():
    A, T, theta0 = problem(2, 4, 7, seed=3)
    exact = prox_ridge(A, T, theta0, 0.5)
    got = prox_ridge_cg(A, T, theta0, 0.5, iters=5, x0=exact)
    np.testing.assert_allclose(got, exact, rtol=1e-12, atol=1e-13)


@given(
    m=st.integers(1, 3),
    d=st.integers(1, 6),
    n=st.integers(1, 6),
    lam=st.floats(1e-2, 1e2),
    seed=st.integers(0, 10_000),
)
def test_property_primal_equals_dual(m, d, n, lam, seed):
    A, T, theta0 = problem(m, d, n, seed)
    p = prox_ridge(A, T, theta0, lam, form="primal")
    np.testing.assert_allclose(
        prox_ridge(A, T, theta0, lam, form="dual"),
        p,
        rtol=1e-8,
        atol=1e-9 * (1 + np.max(np.abs(p))),
    )


def test_with_ones_and_split_bias_round_trip(xp):
    rng = np.random.default_rng(4)
    W, b, F = rng.standard_normal((3, 4)), rng.standard_normal((3, 1)), rng.standard_normal((4, 5))
    theta = B.asarray(np.hstack([W, b]), xp)
    np.testing.assert_allclose(
        B.to_numpy(theta @ with_ones(B.asarray(F, xp))), W @ F + b, rtol=1e-14
    )
    W2, b2 = split_bias(theta)
    np.testing.assert_array_equal(B.to_numpy(W2), W)
    np.testing.assert_array_equal(B.to_numpy(b2), b)


def test_float32_solves_are_float32(xp):
    A, T, theta0 = (B.asarray(a, xp, dtype="float32") for a in problem(2, 5, 4))
    for th in (
        prox_ridge(A, T, theta0, 1.0, form="primal"),
        prox_ridge(A, T, theta0, 1.0, form="dual"),
        prox_ridge_cg(A, T, theta0, 1.0, iters=3),
    ):
        assert th.dtype == xp.float32


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"lam": 0.0}, "lam must be a finite number > 0"),
        ({"lam": -1.0}, "lam must be"),
        ({"lam": float("nan")}, "lam must be"),
        ({"lam": 1.0, "form": "qr"}, "form must be 'auto', 'primal' or 'dual'"),
    ],
)
def test_prox_ridge_bad_arguments(kwargs, msg):
    A, T, theta0 = problem(2, 3, 4)
    with pytest.raises(ValueError, match=msg):
        prox_ridge(A, T, theta0, **kwargs)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"lam": 0.0}, "lam must be"),
        ({"lam": 1.0, "iters": 0}, "iters must be an integer >= 1"),
        ({"lam": 1.0, "iters": 2.5}, "iters must be an integer"),
        ({"lam": 1.0, "tol": -1e-3}, "tol must be a finite number >= 0"),
    ],
)
def test_prox_ridge_cg_bad_arguments(kwargs, msg):
    A, T, theta0 = problem(2, 3, 4)
    with pytest.raises(ValueError, match=msg):
        prox_ridge_cg(A, T, theta0, **kwargs)


# --- where the factorisation fails: a sample drawn twice, the shift lost in float32
def repeated_sample_problem(scale, m=4, d=30, n=8, seed=0):
    """float32 data whose columns 1 and 5 are equal and of norm ``≈ scale·√d``: with
    ``λ = 50`` the ``I`` of ``I + 2λAᵀA`` is below float32's resolution of ``2λAᵀA`` once
    ``scale ≳ 10``, and the two equal rows make the matrix exactly singular."""
    rng = np.random.default_rng(seed)
    A = np.abs(rng.standard_normal((d, n))) * scale
    A[:, 5] = A[:, 1]
    T = rng.standard_normal((m, n))
    theta0 = rng.standard_normal((m, d))
    return (x.astype(np.float32) for x in (A, T, theta0))


@pytest.mark.parametrize("scale", [1e3, 1e5, 1e8])
@pytest.mark.parametrize("bias", [False, True])
def test_dual_solve_with_a_repeated_sample_matches_the_oracle_above_float32s_bound(xp, scale, bias):
    lam = 50.0
    A, T, theta0 = repeated_sample_problem(scale)
    A_full = with_ones(A) if bias else A
    K = A_full.T @ A_full
    # above float32's bound, so the guard must act: NumPy's LU raises on some of these,
    # PyTorch's returns a wrong answer without a word (scale 1e3), as in Table 2's run
    assert _route(array_api_compat.numpy, np.trace(K.astype(float)), lam, K.dtype) != "as is"
    Ax, Tx = B.asarray(A, xp), B.asarray(T, xp)
    if bias:
        W0, b0 = theta0, np.linspace(-1.0, 1.0, T.shape[0], dtype=np.float32)[:, None]
        R = T - (W0 @ A + b0)  # T = W⁰A + b⁰ + R
        W, b = prox_ridge_affine(Ax, B.asarray(R, xp), B.asarray(W0, xp), B.asarray(b0, xp), lam)
        got = np.hstack([B.to_numpy(W), B.to_numpy(b)])
        theta0_full = np.hstack([W0, b0]).astype(float)
        want = dense_oracle(with_ones(A.astype(float)), T.astype(float), theta0_full, lam)
    else:
        theta0_full = theta0.astype(float)
        got = B.to_numpy(prox_ridge(Ax, Tx, B.asarray(theta0, xp), lam, form="dual"))
        want = dense_oracle(A.astype(float), T.astype(float), theta0.astype(float), lam)
    assert got.dtype == np.float32 and np.all(np.isfinite(got))
    step = want - theta0_full
    err = np.linalg.norm(got - theta0_full - step) / np.linalg.norm(step)
    assert err < 1e-5, f"relative error of θ⁺ − θ⁰: {err:.2e}"


def test_svd_coefficients_equal_the_factored_solve_where_both_work():
    A, T, theta0 = problem(3, 12, 5, seed=4)
    lam = 0.37
    R = T - theta0 @ A
    fast = dual_coefficients(A.T @ A, R, lam)
    slow = _svd_coefficients(A, R, lam)
    np.testing.assert_allclose(slow, fast, rtol=1e-12, atol=1e-12)


def test_dual_coefficients_without_the_data_names_what_failed():
    A, T, _ = repeated_sample_problem(1e5)
    msg = r"I \+ 2\*lam\*K .* singular in float32; pass A"
    with pytest.raises(np.linalg.LinAlgError, match=msg):
        dual_coefficients(A.T @ A, T, 50.0)


def test_try_solve_spd_says_none_for_a_non_finite_result_as_cupy_cholesky_gives():
    # finite data whose solution overflows float32 (CuPy's Cholesky says NaN the same way)
    M = np.diag(np.array([1.0, 1e-30], dtype=np.float32))
    with np.errstate(over="ignore"):
        assert B.try_solve_spd(M, np.full((2, 1), 1e10, dtype=np.float32)) is None
    np.testing.assert_allclose(B.try_solve_spd(2.0 * np.eye(2), np.ones((2, 1))), 0.5)


@pytest.mark.parametrize("scale", [1e3, 1e5])
def test_primal_solve_with_a_repeated_feature_matches_the_oracle_above_float32s_bound(xp, scale):
    # n > d, the primal's case; rows 2 and 4 equal (two units with the same output), so
    # 2AAᵀ + I/λ loses its I/λ and is singular in float32
    lam = 50.0
    rng = np.random.default_rng(1)
    A = np.abs(rng.standard_normal((6, 20))) * scale
    A[4] = A[2]
    T, theta0 = rng.standard_normal((3, 20)), rng.standard_normal((3, 6))
    A, T, theta0 = (x.astype(np.float32) for x in (A, T, theta0))
    assert _route(array_api_compat.numpy, np.trace(A.astype(float) @ A.T), lam, A.dtype) != "as is"
    got = B.to_numpy(
        prox_ridge(B.asarray(A, xp), B.asarray(T, xp), B.asarray(theta0, xp), lam, form="primal")
    )
    want = dense_oracle(A.astype(float), T.astype(float), theta0.astype(float), lam)
    step = want - theta0
    err = np.linalg.norm(got - theta0 - step) / np.linalg.norm(step)
    assert got.dtype == np.float32 and err < 1e-5, f"relative error of θ⁺ − θ⁰: {err:.2e}"


def test_the_table2_last_layer_step_that_float32_got_wrong_now_matches_the_exact_step():
    """The recorded inputs of one SIBP last-layer solve: Table 2, η_c = 10, λ_c = 0.01
    (``eta=1000, lam=50``), seed 2, epoch 18, step 10 238, float32 (hidden activations
    ``A`` 500 × 100 with one sample drawn twice, ``cond(I + 2λAᵀA) ≈ 1.2·10⁸``). The float32
    LU solve answered it without an error with ``‖W‖ = 26 369`` instead of 35.35 and the
    run collapsed; the guards of the module send it through float64."""
    z = np.load(Path(__file__).parent / "data" / "table2_last_layer_step.npz")
    A, T, G0, theta0, lam = z["A"], z["T"], z["G0"], z["theta0"], float(z["lam"])
    got = prox_ridge(A, T, theta0, lam, theta0_A=G0)
    # the exact step of the same problem, min ||ΔA − R||² + ||Δ||²/(2λ), by lstsq in float64
    R = (T - G0).astype(float)
    s = 1.0 / np.sqrt(2.0 * lam)
    d = A.shape[0]
    stacked = np.vstack([A.astype(float).T, s * np.eye(d)])
    step = np.linalg.lstsq(stacked, np.vstack([R.T, np.zeros((d, R.shape[0]))]), rcond=None)[0].T
    err = np.linalg.norm(got.astype(float) - theta0 - step) / np.linalg.norm(step)
    # 1e-2: θ⁺ is stored in float32, whose spacing at |θ| ≈ 0.5 is ~5e-3 of this small step
    assert got.dtype == np.float32 and err < 1e-2, f"relative error of θ⁺ − θ⁰: {err:.2e}"


@pytest.mark.parametrize(
    "dtype, trace, route",
    [("float32", 1e2, "as is"), ("float32", 1e6, "float64"), ("float32", 1e16, "svd"),
     ("float64", 1e6, "as is"), ("float64", 1e16, "svd")],
)  # fmt: skip
def test_route_follows_the_condition_bound_times_eps(dtype, trace, route):
    # λ = 0.5, so 2λ·tr = tr; float32 eps 1.2e-7, float64 eps 2.2e-16; bound 1e-3
    assert _route(array_api_compat.numpy, trace, 0.5, np.dtype(dtype)) == route


def test_below_the_bound_the_dual_solve_is_the_plain_float32_solve_bit_for_bit():
    A, T, theta0 = (x.astype(np.float32) for x in problem(3, 12, 5, seed=2))
    lam = 0.37
    K = A.T @ A
    M = np.eye(5, dtype=np.float32) + np.float32(2.0 * lam) * K
    plain = np.float32(2.0 * lam) * np.linalg.solve(M, (T - theta0 @ A).T).T
    got = dual_coefficients(K, T - theta0 @ A, lam, A=A)
    assert got.dtype == np.float32 and np.array_equal(got, plain)


def test_non_finite_data_goes_through_the_solve_as_nan_not_as_a_solver_error():
    # a NaN in the data is the run's divergence (the loop reports it), not the solver's
    A, T, theta0 = problem(3, 12, 5, seed=3)
    A[0, 0] = np.nan
    for form in ("dual", "primal"):
        got = prox_ridge(A, T, theta0, 50.0, form=form)
        assert np.isnan(got).any()
    assert np.isnan(B.try_solve_spd(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones((2, 1)))).any()
