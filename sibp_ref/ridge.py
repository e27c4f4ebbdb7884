"""Proximal linear least squares: the subproblem of ProxBP and of SIBP's linear layers.

All of them have the form (matrix unknown ``θ`` of shape ``(m, d)``, data ``A`` of
shape ``(d, n)`` with samples as columns, target ``T`` of shape ``(m, n)``)

.. math:: θ^+ = \\arg\\min_θ \\; \\|θA − T\\|^2 + \\frac{1}{2λ}\\|θ − θ^0\\|^2

(plain Frobenius sum for the fit, as (4.1) writes it, SPEC §1). Setting the
gradient ``2(θA − T)Aᵀ + (θ − θ^0)/λ`` to zero gives the normal equations

.. math:: θ\\,(2AAᵀ + I/λ) = 2TAᵀ + θ^0/λ,

a ``d × d`` symmetric positive definite system. When ``n < d`` the same
solution is cheaper in the dual (Woodbury / push-through identity, SPEC §8):

.. math:: θ^+ = θ^0 + 2λ\\,(T − θ^0A)\\,(I_n + 2λAᵀA)^{-1}Aᵀ,

an ``n × n`` solve, and ``θ^0 A`` is often already known (the forward pass's ``G``).
With a bias inside, ``θ = [W, b]`` and ``A = [F; 1ᵀ]`` (:func:`with_ones`).

``prox_ridge_cg`` runs linear conjugate gradients on the normal equations
without forming the matrix, warm-started at ``θ^0`` (ProxBP's inexact solver).
"""

from __future__ import annotations

from typing import Any

from .backend import namespace, solve_spd
from .base import check_int, check_nonnegative, check_positive

__all__ = [
    "prox_ridge",
    "prox_ridge_cg",
    "prox_ridge_objective",
    "with_ones",
    "split_bias",
]


def with_ones(F: Any) -> Any:
    """``[F; 1ᵀ]``: the data matrix with a row of ones, so that ``[W, b] @ it = W F + b``."""
    xp = namespace(F)
    return xp.concat([F, xp.ones((1, F.shape[1]), dtype=F.dtype, device=_dev(F))], axis=0)


def split_bias(theta: Any) -> tuple[Any, Any]:
    """``[W, b]`` back into ``(W, b)`` with ``b`` of shape ``(m, 1)``."""
    return theta[:, :-1], theta[:, -1:]


def prox_ridge_objective(theta: Any, A: Any, T: Any, theta0: Any, lam: float) -> Any:
    """``||θA − T||² + ||θ − θ^0||²/(2λ)`` as a 0-d array."""
    xp = namespace(theta, A, T)
    R = theta @ A - T
    E = theta - theta0
    return xp.sum(R * R) + xp.sum(E * E) / (2.0 * lam)


def prox_ridge(
    A: Any,
    T: Any,
    theta0: Any,
    lam: float,
    *,
    theta0_A: Any = None,
    form: str = "auto",
) -> Any:
    """Exact minimiser of ``||θA − T||² + ||θ − θ^0||²/(2λ)`` by Cholesky.

    ``form="primal"`` solves the ``d × d`` normal equations, ``"dual"`` the ``n × n``
    Woodbury form, ``"auto"`` the smaller. ``theta0_A`` (``θ^0 A``, e.g. the forward
    pass's ``G``) saves a matrix product in the dual form.
    """
    lam = check_positive("lam", lam)
    xp = namespace(A, T, theta0)
    d, n = A.shape
    if form == "auto":
        form = "dual" if n < d else "primal"
    if form == "primal":
        M = 2.0 * (A @ A.T) + xp.eye(d, dtype=A.dtype, device=_dev(A)) / lam
        rhs = 2.0 * (T @ A.T) + theta0 / lam
        return solve_spd(M, rhs, side="right")  # θ M = rhs
    if form == "dual":
        R = T - (theta0 @ A if theta0_A is None else theta0_A)
        K = xp.eye(n, dtype=A.dtype, device=_dev(A)) + (2.0 * lam) * (A.T @ A)
        return theta0 + (2.0 * lam) * (solve_spd(K, R, side="right") @ A.T)
    raise ValueError(f"form must be 'auto', 'primal' or 'dual', got {form!r}")


def prox_ridge_cg(
    A: Any,
    T: Any,
    theta0: Any,
    lam: float,
    iters: int = 5,
    *,
    x0: Any = None,
    tol: float = 0.0,
) -> Any:
    """Linear CG on ``θ(2AAᵀ + I/λ) = 2TAᵀ + θ^0/λ``, matrix-free, warm-started at ``x0``
    (default ``θ^0``), for ``iters`` iterations or until ``||r|| ≤ tol·||rhs||``.

    Nocedal & Wright, Algorithm 5.2, with the Frobenius inner product on matrices.
    """
    lam = check_positive("lam", lam)
    iters = check_int("iters", iters, 1)
    tol = check_nonnegative("tol", tol)
    xp = namespace(A, T, theta0)

    def apply_M(P):  # P ↦ P (2AAᵀ + I/λ) in two matrix products
        return 2.0 * ((P @ A) @ A.T) + P / lam

    x = theta0 if x0 is None else x0
    rhs = 2.0 * (T @ A.T) + theta0 / lam
    r = rhs - apply_M(x)  # residual (negative gradient of the quadratic)
    p = r
    rr = xp.sum(r * r)
    stop = tol * tol * xp.sum(rhs * rhs) if tol > 0 else None
    for _ in range(iters):
        if stop is not None and bool(rr <= stop):
            break
        Mp = apply_M(p)
        # Once CG has converged exactly, r = p = 0 and both ratios are 0/0; take them
        # as 0 (x stays put) without a host sync, so many iterations are always safe.
        pMp = xp.sum(p * Mp)
        alpha = _safe_ratio(xp, rr, pMp)
        x = x + alpha * p
        r = r - alpha * Mp
        rr_new = xp.sum(r * r)
        p = r + _safe_ratio(xp, rr_new, rr) * p
        rr = rr_new
    return x


def _safe_ratio(xp: Any, num: Any, den: Any) -> Any:
    """``num / den`` for 0-d arrays, and 0 where ``den`` is 0 (no division by zero)."""
    ok = den > 0
    return xp.where(ok, num / xp.where(ok, den, xp.ones_like(den)), xp.zeros_like(num))


def _dev(x: Any) -> Any:
    from .backend import device_of

    return device_of(x)
