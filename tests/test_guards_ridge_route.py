"""The ridge solves' route (:mod:`sibp_ref.inner.ridge`, module docstring) switches exactly at
its bound ``2λ·tr(AᵀA)·eps = TRUSTED_BOUND`` (the condition bound ``1 + 2λ tr(AᵀA)`` of
``I + 2λAᵀA`` times the unit roundoff), on both sides and at λ ≠ 1/2, where a bound that
lost its factor 2 would switch at twice the trace.

The thresholds are computed here from the bound's formula and NumPy's ``finfo``.
"""

from __future__ import annotations

import array_api_compat.numpy
import numpy as np
import pytest

import sibp_ref.inner.ridge as ridge
from sibp_ref.inner.ridge import TRUSTED_BOUND, _route, dual_coefficients

EPS = {d: float(np.finfo(d).eps) for d in ("float32", "float64")}

# (data dtype, the eps whose bound is crossed, the route below it, the route above it)
EDGES = [
    ("float32", "float32", "as is", "float64"),
    ("float32", "float64", "float64", "svd"),
    ("float64", "float64", "as is", "svd"),
]


def trace_at_bound(lam: float, eps_of: str) -> float:
    """The ``tr(AᵀA)`` at which ``2λ·tr·eps`` equals the bound."""
    return TRUSTED_BOUND / (2.0 * lam * EPS[eps_of])


@pytest.mark.parametrize("lam", [0.05, 3.0])
@pytest.mark.parametrize("dtype, eps_of, below, above", EDGES)
def test_route_switches_just_above_its_bound_at_lambda_other_than_one_half(
    lam, dtype, eps_of, below, above
):  # fmt: skip
    edge = trace_at_bound(lam, eps_of)
    xp, dt = array_api_compat.numpy, np.dtype(dtype)
    assert _route(xp, edge * (1 - 1e-9), lam, dt) == below
    assert _route(xp, edge * (1 + 1e-9), lam, dt) == above
    # between the bound and twice it, where a bound without its factor 2 still says below
    assert _route(xp, 1.5 * edge, lam, dt) == above


def observed_route(monkeypatch, K, R, lam, A) -> str:
    """Which route :func:`dual_coefficients` took, seen from outside: the SVD (spied on),
    the float64 solve (float64 coefficients from float32 data), or the data's dtype."""
    calls = []
    real = ridge._svd_coefficients
    monkeypatch.setattr(ridge, "_svd_coefficients", lambda *a: calls.append(1) or real(*a))
    Z = dual_coefficients(K, R, lam, A=A)
    if calls:
        return "svd"
    return "float64" if Z.dtype != K.dtype else "as is"


@pytest.mark.parametrize("side", ["below", "above"])
@pytest.mark.parametrize("dtype, eps_of, below, above", EDGES)
def test_dual_solve_takes_the_route_of_its_side_of_the_bound(
    monkeypatch, side, dtype, eps_of, below, above
):  # fmt: skip
    """λ is set from the data's own trace so that ``2λ tr(AᵀA)·eps`` is the bound times
    ``1 ∓ 10⁻⁴`` (float32's rounding of the trace is ~10⁻⁷ of it)."""
    rng = np.random.default_rng(7)
    A = rng.standard_normal((6, 4)).astype(dtype)
    R = rng.standard_normal((3, 4)).astype(dtype)
    K = A.T @ A
    factor = 1 - 1e-4 if side == "below" else 1 + 1e-4
    lam = factor * trace_at_bound(1.0, eps_of) / float(np.trace(K))
    assert lam != 0.5
    got = observed_route(monkeypatch, K, R, lam, A)
    assert got == (below if side == "below" else above)
