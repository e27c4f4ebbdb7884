"""Proximal linear least squares: the subproblem of ProxBP and of SIBP's linear layers.

All of them have the form (matrix unknown ``θ`` of shape ``(m, d)``, data ``A`` of
shape ``(d, n)`` with samples as columns, target ``T`` of shape ``(m, n)``)

.. math:: θ^+ = \\arg\\min_θ \\; \\|θA − T\\|^2 + \\frac{1}{2λ}\\|θ − θ^0\\|^2

(plain Frobenius sum for the fit, as (4.1) writes it, docs/conventions.md §2). Setting
the gradient ``2(θA − T)Aᵀ + (θ − θ^0)/λ`` to zero gives the normal equations

.. math:: θ\\,(2AAᵀ + I/λ) = 2TAᵀ + θ^0/λ,

a ``d × d`` symmetric positive definite system. When ``n < d`` the same solution is
cheaper in the dual (Woodbury / push-through identity, docs/conventions.md §6):

.. math:: θ^+ = θ^0 + 2λ\\,(T − θ^0A)\\,(I_n + 2λAᵀA)^{-1}Aᵀ,

an ``n × n`` solve, and ``θ^0 A`` is often already known (the forward pass's ``G``).
With a bias inside, ``θ = [W, b]`` and ``A = [F; 1ᵀ]`` (:func:`with_ones`).

:func:`prox_ridge_cg` runs linear conjugate gradients on the normal equations without
forming the matrix, warm-started at ``θ^0`` (ProxBP's inexact solver).

The coefficient space (``n < d``, docs/conventions.md §6). Started from ``θ^0``, CG's
iterates never leave ``θ^0 + (Z Aᵀ)``, so it can run on the ``(m, n)`` coefficients ``Z``
with the ``n × n`` Gram matrix ``K = AᵀA``: the same iterates, each iteration one
``m × n × n`` product instead of two ``m × d × n`` ones (proof in :func:`cg_coefficients`).
:func:`prox_ridge_affine` solves the problem with a bias (``θ = [W, b]``, ``A = [F; 1ᵀ]``)
this way without forming ``[W, b]`` or ``[F; 1ᵀ]``: ``AᵀA = FᵀF + 1``,
``Z Aᵀ = [Z Fᵀ, Z 1]``.

:func:`prox_ridge_bias` is the closed form of the b-half of (4.1) when σ is the identity.

Where float32 is not enough. Both matrices are a shift plus a Gram matrix (eigenvalues
``≥ 1`` and ``≥ 1/λ``), SPD in exact arithmetic, with condition number at most
``1 + 2λ tr(AᵀA)``. In float32 that bound times ``eps`` passes 1 at ``2λ‖A‖²_F ≈ 10⁷``,
and then a batch drawn with replacement that holds a sample twice (8 % of batches of
100 from 60 000) makes the computed matrix singular or nearly so. The LU solve may then
raise, or, worse, answer silently with a huge coefficient on the difference of the two
samples, whose product with ``Aᵀ`` should cancel and in float32 does not. Both happened in
Table 2 at ``η_c = 10``, ``λ_c = 0.01`` (``λ = 50``), seed 2: in epoch 18 one last-layer
step took ``‖W‖`` from 35 to 26 369 where the exact step (float64) leaves it at 35.35,
the hidden activations then grew to ``‖F_j‖ ≈ 10⁹``, and 200 steps later a solve raised
``LinAlgError``. Hence the guards of :func:`_route`, from that bound:

- while ``2λ tr(AᵀA)·eps`` stays below :data:`TRUSTED_BOUND` the solve runs in the data's
  dtype, as before;
- above it, in float32, the Gram matrix and the solve are formed in float64 from ``A``
  itself (the rounding of a float32 ``AᵀA``, ``eps‖A‖²``, would already be as large as
  the shift), and cast back;
- above it in float64 too, or where a solve fails (an error, or a non-finite result, as
  CuPy's Cholesky gives), the solve goes through the thin SVD ``A = U diag(s) Vᵀ``
  (:func:`_svd_coefficients`): with ``AᵀA = V diag(s²) Vᵀ``,

.. math:: θ^+ − θ^0 = 2λ\\,R\\,(I + 2λAᵀA)^{-1}Aᵀ
          = 2λ\\,R\\,V \\operatorname{diag}\\Big(\\frac{s}{1 + 2λs^2}\\Big) Uᵀ,

whose factors are bounded (``s/(1 + 2λs²) ≤ 1/(2√(2λ))``) and which never squares
``A``; a direction with ``s = 0``, such as the difference of two equal samples, receives
nothing, as in exact arithmetic. Below the bound the float32 solve runs as before, so a
well-conditioned step gives the same bits as before the guards; the logs committed
before them (Table 2) were computed without them.
"""

from __future__ import annotations

import math
from typing import Any

from ..backend import LinAlgError, device_of, namespace, try_solve_spd
from ..validation import check_int, check_nonnegative, check_positive
from ._ops import safe_ratio, vdot

__all__ = [
    "prox_ridge",
    "prox_ridge_cg",
    "prox_ridge_affine",
    "prox_ridge_bias",
    "cg_coefficients",
    "dual_coefficients",
    "prox_ridge_objective",
    "with_ones",
    "split_bias",
]


def with_ones(F: Any) -> Any:
    """``[F; 1ᵀ]``: the data matrix with a row of ones, so that ``[W, b] @ it = W F + b``."""
    xp = namespace(F)
    ones = xp.ones((1, F.shape[1]), dtype=F.dtype, device=device_of(F))
    return xp.concat([F, ones], axis=0)


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
        AAt = A @ A.T
        eye = xp.eye(d, dtype=A.dtype, device=device_of(A))
        route = _route(xp, xp.linalg.trace(AAt), lam, A.dtype)
        if route == "as is":
            rhs = 2.0 * (T @ A.T) + theta0 / lam
            theta = try_solve_spd(2.0 * AAt + eye / lam, rhs, side="right")  # θ M = rhs
            if theta is not None:
                return theta
        # the narrow dtype is not enough (module docstring): the step Δθ M = 2RAᵀ wider
        R = T - (theta0 @ A if theta0_A is None else theta0_A)
        if route == "float64":
            wide = _wide(xp, A.dtype)
            A64, R64 = xp.astype(A, wide), xp.astype(R, wide)
            M64 = 2.0 * (A64 @ A64.T) + xp.astype(eye, wide) / lam
            step = try_solve_spd(M64, 2.0 * (R64 @ A64.T), side="right")
            if step is not None:
                return xp.astype(xp.astype(theta0, wide) + step, theta0.dtype)
        return _plus_ZAt(xp, theta0, _svd_coefficients(A, R, lam), A.T)
    if form == "dual":
        R = T - (theta0 @ A if theta0_A is None else theta0_A)
        return _plus_ZAt(xp, theta0, dual_coefficients(A.T @ A, R, lam, A=A), A.T)
    raise ValueError(f"form must be 'auto', 'primal' or 'dual', got {form!r}")


def dual_coefficients(K: Any, R: Any, lam: float, *, A: Any = None) -> Any:
    """``Z = 2λ R (I_n + 2λK)^{-1}``, so that ``θ^+ = θ^0 + Z Aᵀ`` is the exact solution
    (Woodbury form above) with ``K = AᵀA`` and ``R = T − θ^0 A``, both ``n``-sized.

    ``A``: the data matrix, or a function that returns it, for the guards of the module
    docstring (:func:`_route`): where ``K``'s dtype cannot hold the solve, ``K`` and the
    solve are redone in float64 from ``A``, or, beyond float64 too or where a solve fails,
    the coefficients come from the SVD of ``A``. Without ``A`` a failed solve raises
    ``LinAlgError``.
    """
    xp = namespace(K, R)
    n = K.shape[0]
    route = "as is" if A is None else _route(xp, xp.linalg.trace(K), lam, K.dtype)
    if route != "as is":
        A = A() if callable(A) else A
    if route == "float64":
        wide = _wide(xp, K.dtype)
        A64 = xp.astype(A, wide)
        M64 = xp.eye(n, dtype=wide, device=device_of(K)) + (2.0 * lam) * (A64.T @ A64)
        Z = try_solve_spd(M64, xp.astype(R, wide), side="right")
        if Z is not None:
            return (2.0 * lam) * Z
    if route != "as is":
        return _svd_coefficients(A, R, lam)
    M = xp.eye(n, dtype=K.dtype, device=device_of(K)) + (2.0 * lam) * K
    Z = try_solve_spd(M, R, side="right")
    if Z is not None:
        return (2.0 * lam) * Z
    if A is None:
        raise LinAlgError(
            f"dual_coefficients: I + 2*lam*K ({n} x {n}, lam={lam}, largest diagonal "
            f"{float(xp.max(xp.linalg.diagonal(K)))}) is singular in {K.dtype}; "
            "pass A (the data matrix) to solve by its SVD"
        )
    return _svd_coefficients(A() if callable(A) else A, R, lam)


#: The narrow-dtype solve is trusted while ``2λ tr(AᵀA)·eps``, its condition bound times
#: the unit roundoff, stays below this (a relative error of at most about 1e-3).
TRUSTED_BOUND = 1e-3


def _wide(xp: Any, dtype: Any) -> Any:
    """float64 where the backend has it, else ``dtype``."""
    return getattr(xp, "float64", None) or dtype


def _route(xp: Any, trace: Any, lam: float, dtype: Any) -> str:
    """Which solve to trust, from the bound ``cond(M) ≤ 1 + 2λ tr(AᵀA)`` times the unit
    roundoff (one host read of the trace): ``"as is"`` in ``dtype`` while
    ``2λ tr(AᵀA)·eps(dtype) ≤ TRUSTED_BOUND``; else ``"float64"`` (the Gram matrix and the
    solve formed in float64 from ``A``) while the same bound holds with float64's eps;
    else ``"svd"``."""
    c = 2.0 * lam * float(trace)
    if not math.isfinite(c) or c * float(xp.finfo(dtype).eps) <= TRUSTED_BOUND:
        return "as is"  # non-finite data: the NaN goes on to the loop, which calls it diverged
    wide = _wide(xp, dtype)
    if wide != dtype and c * float(xp.finfo(wide).eps) <= TRUSTED_BOUND:
        return "float64"
    return "svd"


def _plus_ZAt(xp: Any, theta0: Any, Z: Any, At: Any) -> Any:
    """``θ^0 + Z Aᵀ``, in the fresh product's buffer; where a guard widened ``Z`` (module
    docstring), the product and the sum in ``Z``'s dtype, then cast back to ``θ^0``'s."""
    if Z.dtype == theta0.dtype:
        out = Z @ At
        out += theta0
        return out
    return xp.astype(xp.astype(theta0, Z.dtype) + Z @ xp.astype(At, Z.dtype), theta0.dtype)


def _svd_coefficients(A: Any, R: Any, lam: float) -> Any:
    """The coefficients ``Z = 2λ R V diag(1/(1 + 2λs²)) Vᵀ`` of :func:`dual_coefficients`
    from the thin SVD ``A = U diag(s) Vᵀ``, so that ``Z Aᵀ = 2λ R V diag(s/(1 + 2λs²)) Uᵀ``
    (module docstring), in float64 where the backend has it, and returned so.

    Directions with ``s ≤ max(d, n)·eps·s_max`` (``eps`` of ``A``'s dtype, the rank
    tolerance of ``numpy.linalg.matrix_rank``) get no coefficient. Such a direction, e.g. the
    difference of two equal samples, would carry the coefficient ``2λRv``, large, only to
    be multiplied by ``Av ≈ 0`` in ``Z Aᵀ``: the rounding of that cancellation, not the
    direction's true share ``2λ(Rv)s/(1 + 2λs²)``, is what would reach ``θ``.
    """
    xp = namespace(A, R)
    wide = _wide(xp, R.dtype)
    A64, R64 = xp.astype(A, wide), xp.astype(R, wide)
    _, s, Vt = xp.linalg.svd(A64, full_matrices=False)
    tol = max(A.shape) * xp.finfo(A.dtype).eps * s[0]
    weight = xp.where(s > tol, (2.0 * lam) / (1.0 + (2.0 * lam) * s * s), 0.0)
    return ((R64 @ Vt.T) * weight) @ Vt


def prox_ridge_cg(
    A: Any,
    T: Any,
    theta0: Any,
    lam: float,
    iters: int = 5,
    *,
    x0: Any = None,
    tol: float = 0.0,
    theta0_A: Any = None,
    form: str = "auto",
) -> Any:
    """Linear CG on ``θ(2AAᵀ + I/λ) = 2TAᵀ + θ^0/λ``, matrix-free, warm-started at ``x0``
    (default ``θ^0``), for ``iters`` iterations or until ``||r|| ≤ tol·||rhs||``.

    Nocedal & Wright, Algorithm 5.2, with the Frobenius inner product on matrices.
    ``form="primal"`` runs it on ``θ`` (``(m, d)``, :func:`_cg_primal`); ``"dual"`` on
    the coefficients of :func:`cg_coefficients` (same iterates, ``n``-sized work; only
    from ``θ^0``, so ``x0`` must be None); ``"auto"`` takes the dual when ``x0`` is None
    and ``n < d``. ``theta0_A`` (``θ^0 A``, e.g. the forward pass's ``G``) saves a
    product in the dual.
    """
    lam = check_positive("lam", lam)
    iters = check_int("iters", iters, 1)
    tol = check_nonnegative("tol", tol)
    xp = namespace(A, T, theta0)
    d, n = A.shape
    if form == "auto":
        form = "dual" if x0 is None and n < d else "primal"
    if form == "primal":
        return _cg_primal(xp, A, T, theta0, lam, iters, theta0 if x0 is None else x0, tol)
    if form != "dual":
        raise ValueError(f"form must be 'auto', 'primal' or 'dual', got {form!r}")
    if x0 is not None:
        raise ValueError("form='dual' starts CG at theta0; x0 must be None")
    R = T - (theta0 @ A if theta0_A is None else theta0_A)
    stop = None
    if tol > 0:
        rhs = 2.0 * (T @ A.T) + theta0 / lam
        stop = tol * tol * vdot(xp, rhs, rhs)
    theta = cg_coefficients(A.T @ A, R, lam, iters, stop=stop) @ A.T
    theta += theta0  # in the fresh product's buffer
    return theta


def _cg_primal(xp, A, T, theta0, lam, iters, x, tol):
    """:func:`prox_ridge_cg` on ``θ`` itself, from ``x``: Nocedal & Wright, Algorithm 5.2."""

    def apply_M(P):  # P ↦ P (2AAᵀ + I/λ) in two matrix products
        return 2.0 * ((P @ A) @ A.T) + P / lam

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
        alpha = safe_ratio(xp, rr, pMp)
        x = x + alpha * p
        r = r - alpha * Mp
        rr_new = xp.sum(r * r)
        p = r + safe_ratio(xp, rr_new, rr) * p
        rr = rr_new
    return x


def cg_coefficients(K: Any, R: Any, lam: float, iters: int, *, stop: Any = None) -> Any:
    """CG of :func:`prox_ridge_cg` from ``θ^0``, run on coefficients: returns ``Z``
    (``(m, n)``) with ``θ = θ^0 + Z Aᵀ`` the ``iters``-th CG iterate.

    ``K = AᵀA`` (``n × n``), ``R = T − θ^0 A`` (``(m, n)``); ``stop`` a bound on ``||r||²``.

    Why the iterates are the same. Write ``M: P ↦ P(2AAᵀ + I/λ)``. For any ``(m, n)``
    matrices ``π, ζ``: ``M(πAᵀ) = (2πK + π/λ)Aᵀ`` and ``⟨πAᵀ, ζAᵀ⟩ = ⟨πK, ζ⟩``. CG
    from ``x_0 = θ^0`` starts with ``r_0 = 2TAᵀ + θ^0/λ − M θ^0 = 2(T − θ^0A)Aᵀ = ρ_0Aᵀ``
    with ``ρ_0 = 2R``, and ``p_0 = r_0``. Suppose ``x_j = θ^0 + Z_jAᵀ``, ``r_j = ρ_jAᵀ``,
    ``p_j = π_jAᵀ``. Then ``Mp_j = μ_jAᵀ`` with ``μ_j = 2π_jK + π_j/λ``; CG's scalars
    ``α_j = ||r_j||²/⟨p_j, Mp_j⟩ = ⟨ρ_jK, ρ_j⟩/⟨π_jK, μ_j⟩`` and
    ``β_j = ||r_{j+1}||²/||r_j||²`` are computable from the coefficients; and its updates
    ``x + αp``, ``r − αMp``, ``r + βp`` are linear, so ``Z_{j+1} = Z_j + α_jπ_j``,
    ``ρ_{j+1} = ρ_j − α_jμ_j``, ``π_{j+1} = ρ_{j+1} + β_jπ_j`` keep the form. By induction
    every iterate is ``θ^0 + Z_jAᵀ`` with the same ``α_j, β_j`` (and the same stopping
    test) as the primal run: the iterates agree in exact arithmetic. Cost per iteration:
    one product ``ρ K`` (``π K`` is updated as ``ρK + βπK``) and a few ``(m, n)`` passes.
    """
    xp = namespace(K, R)
    Z = xp.zeros_like(R)
    rho = 2.0 * R  # r_0 = ρ_0 Aᵀ
    rhoK = rho @ K
    pi, piK = rho, rhoK  # p_0 = r_0
    rr = vdot(xp, rho, rhoK)  # ||r||² = ⟨ρK, ρ⟩
    for _ in range(iters):
        if stop is not None and bool(rr <= stop):
            break
        mu = 2.0 * piK + pi / lam  # M p = μ Aᵀ
        alpha = safe_ratio(xp, rr, vdot(xp, piK, mu))  # ⟨p, Mp⟩ = ⟨πK, μ⟩
        Z = Z + alpha * pi  # x ← x + α p
        rho = rho - alpha * mu  # r ← r − α Mp
        rhoK = rho @ K
        rr_new = vdot(xp, rho, rhoK)
        beta = safe_ratio(xp, rr_new, rr)
        pi = rho + beta * pi  # p ← r + β p
        piK = rhoK + beta * piK
        rr = rr_new
    return Z


def prox_ridge_affine(
    F: Any,
    R: Any,
    W: Any,
    b: Any,
    lam: float,
    *,
    solver: str = "exact",
    iters: int = 5,
) -> tuple[Any, Any]:
    """The ridge problem of an affine layer, ``θ = [W, b]``, ``A = [F; 1ᵀ]``,
    ``T = W^kF + b^k + R``: returns ``(W^+, b^+)`` (``b`` may be None: no bias).

    ``solver="exact"`` is :func:`prox_ridge`, ``"cg"`` is :func:`prox_ridge_cg` from
    ``θ^k`` with ``iters`` iterations. When the batch is smaller than the layer input
    (``n ≤ d``) both run in the coefficient space with ``AᵀA = FᵀF + 1`` and
    ``Z Aᵀ = [Z Fᵀ, Z 1]``, without forming ``[W, b]`` or ``[F; 1ᵀ]``; otherwise on
    ``θ`` itself.
    """
    lam = check_positive("lam", lam)
    if solver not in ("exact", "cg"):
        raise ValueError(f"solver must be 'exact' or 'cg', got {solver!r}")
    xp = namespace(F, R, W)
    d, n = F.shape
    if n > d:  # the primal (d+1)-sized problem is the smaller one
        A = F if b is None else with_ones(F)
        theta0 = W if b is None else xp.concat([W, b], axis=1)
        T = theta0 @ A + R
        if solver == "exact":
            theta = prox_ridge(A, T, theta0, lam, form="primal")
        else:
            theta = prox_ridge_cg(A, T, theta0, lam, iters, form="primal")
        return (theta, None) if b is None else split_bias(theta)
    K = F.T @ F  # AᵀA
    if b is not None:
        K = K + 1.0  # the ones row: [F; 1ᵀ]ᵀ[F; 1ᵀ] = FᵀF + 11ᵀ
    if solver == "exact":
        Z = dual_coefficients(K, R, lam, A=lambda: F if b is None else with_ones(F))
    else:
        Z = cg_coefficients(K, R, lam, check_int("iters", iters, 1))
    W_new = _plus_ZAt(xp, W, Z, F.T)  # W^k + Z Fᵀ
    if b is None:
        return W_new, None
    db = xp.sum(Z, axis=1, keepdims=True)  # Z 1
    if db.dtype == b.dtype:
        return W_new, b + db
    return W_new, xp.astype(xp.astype(b, db.dtype) + db, b.dtype)  # widened: cast back


def prox_ridge_bias(R: Any, b0: Any, lam: float) -> Any:
    """Closed form of ``argmin_b ||b 1ᵀ − R||² + ||b − b^0||²/(2λ)``: the b-subproblem of
    (4.1) when σ is the identity, with ``R = F_{i+1}^{k+1/2} − W^{k+1} F_i^k`` of shape
    ``(m, n)``:

    .. math:: b = \\frac{2 \\sum_t R_{:,t} + b^0/λ}{2n + 1/λ}.
    """
    lam = check_positive("lam", lam)
    xp = namespace(R, b0)
    n = R.shape[1]
    return (2.0 * xp.sum(R, axis=1, keepdims=True) + b0 / lam) / (2.0 * n + 1.0 / lam)
