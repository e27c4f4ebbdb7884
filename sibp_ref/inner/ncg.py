"""Nonlinear conjugate gradients for the layer subproblem (4.1).

:func:`ncg` minimises ``φ(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)``
(:mod:`sibp_ref.inner.objective`) from ``Z^0``: Fletcher–Reeves (the authors' choice)
or Polak–Ribière+, with the Armijo search of :mod:`sibp_ref.inner.line_search`, a fixed
number of iterations (the paper: 5) or, with ``tol > 0``, to a tolerance. In the
notation of scipy's ``_minimize_cg`` and Nocedal & Wright: ``gfk`` the gradient,
``pk`` the direction, ``beta_k``; here ``g``, ``D`` and ``b``.

Two forms with the same iterates (docs/conventions.md §6):

- :func:`_ncg_primal` runs on ``Z`` itself (``(m, d)``);
- :func:`_ncg_coefficients`, when the batch is smaller than the layer input (``n < d``,
  SIBP's W-subproblems), runs on ``Z = Z^0 + Y Aᵀ`` with ``K = AᵀA``: one ``m × n × n``
  product per iteration and ``(m, n)``-sized passes.

Whenever ``⟨g, D⟩ ≥ 0`` (Fletcher–Reeves with an inexact line search can lose descent)
the direction restarts at ``−g``. ``G0`` (the forward pass's ``G``) saves ``Z^0 A``.

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed., §5.2 (Fletcher–Reeves,
Polak–Ribière+ with restarts).
"""

from __future__ import annotations

from typing import Any

from ..activations import Activation, get_activation
from ..backend import namespace
from ..validation import check_choice, check_int, check_nonnegative, check_positive
from ._ops import times_data, vdot
from .line_search import Armijo, Direction, Point, Subproblem, armijo_backtracking
from .objective import start_G
from .result import CONVERGED, ITERATION_LIMIT, LINE_SEARCH_FAILED, InnerResult

__all__ = ["ncg", "exact"]


def ncg(
    A: Any,
    T: Any,
    Z0: Any,
    lam: float,
    sigma: str | Activation = "sigmoid",
    *,
    C: Any = None,
    G0: Any = None,
    iters: int = 5,
    beta: str = "fr",
    tol: float = 0.0,
    max_iters: int | None = None,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_backtracks: int = 30,
    form: str = "auto",
) -> InnerResult:
    """Nonlinear CG on ``φ(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)``, from ``Z^0``.

    Parameters
    ----------
    A, T, Z0, C : arrays ``(d, n)``, ``(m, n)``, ``(m, d)``, ``(m, n)`` or broadcastable.
    lam : the proximal weight λ > 0 of (4.1).
    sigma : the activation (name or :class:`~sibp_ref.activations.Activation`).
    G0 : ``Z^0 A + C`` if already known (the forward pass's ``G``).
    iters : iterations when ``tol == 0`` (the paper: 5).
    beta : ``"fr"`` Fletcher–Reeves ``β = ||g⁺||²/||g||²`` (the authors' code) or
        ``"pr"`` Polak–Ribière+ ``β = max(0, ⟨g⁺, g⁺ − g⟩/||g||²)``.
    tol, max_iters : with ``tol > 0``, iterate until ``||g|| ≤ tol·max(1, ||g_0||)`` or
        ``max_iters`` iterations (default 500).
    c1, shrink, max_backtracks : Armijo constant, backtracking factor and limit. When no
        trial step passes, the solver stops at the current point (it never increases φ).
    form : ``"primal"`` runs on ``Z`` itself; ``"dual"`` on coefficients ``Z = Z^0 + YAᵀ``
        (the same iterates, ``n``-sized work); ``"auto"``: the dual when ``n < d``.

    Returns
    -------
    :class:`~sibp_ref.inner.result.InnerResult` with the status of the stop.

    The scalar settings are checked here; the arrays are trusted (their caller,
    :func:`~sibp_ref.inner.layer.solve_layer`, takes them from a checked forward pass).
    """
    lam = check_positive("lam", lam)
    iters = check_int("iters", iters, minimum=1)
    tol = check_nonnegative("tol", tol)
    if max_iters is not None:
        max_iters = check_int("max_iters", max_iters, minimum=1)
    check_choice("beta", beta, ("fr", "pr"))  # Fletcher–Reeves or Polak–Ribière+
    check_choice("form", form, ("auto", "primal", "dual"))
    sig = get_activation(sigma)
    n_max = (max_iters or 500) if tol > 0 else iters
    rule = Armijo(c1, shrink, max_backtracks)
    d, n = A.shape
    run = _ncg_coefficients if form == "dual" or (form == "auto" and n < d) else _ncg_primal
    return run(A, T, Z0, lam, sig, C, G0, n_max, beta, tol, rule)


def _ncg_primal(A, T, Z0, lam, sig, C, G0, n_max, beta, tol, rule) -> InnerResult:
    """:func:`ncg` on ``Z`` itself: ``E = Z − Z^0`` is updated, ``Z`` formed at the end."""
    xp = namespace(A, T, Z0)
    eps = float(xp.finfo(Z0.dtype).eps)
    E = xp.zeros_like(Z0)
    G = start_G(A, C, Z0, G0)
    R = sig.f(G) - T  # residual of the fit term
    S = sig.df(G)  # σ'(G), reused by gradient and quadratic model
    g = ((2.0 * S) * R) @ A.T  # ∇φ at Z^0 (E = 0); the 2 scales the (m, n) factor
    gg = vdot(xp, g, g)
    stop = tol * tol * max(1.0, float(gg)) if tol > 0 else None
    D = -g
    k, status = 0, ITERATION_LIMIT
    while k < n_max:
        if stop is not None and bool(gg <= stop):
            status = CONVERGED
            break
        gD = vdot(xp, g, D)
        if not bool(gD < 0):  # lost descent (or g = 0): restart
            D, gD = -g, -gg
            if not bool(gD < 0):
                status = CONVERGED  # g = 0: Z is stationary
                break
        DA = times_data(D, A)  # once per iteration, not once per trial
        EE = lambda E=E: vdot(xp, E, E)  # noqa: E731
        along = Direction(DA, gD, vdot(xp, E, D), vdot(xp, D, D), EE)
        step = armijo_backtracking(xp, rule, Subproblem(sig, T, lam, eps), Point(G, R, S), along)
        if step is None:
            status = LINE_SEARCH_FAILED  # at the resolution of the arithmetic
            break
        alpha, G, R = step
        E = E + alpha * D
        k += 1
        if k == n_max and stop is None:
            break  # the last gradient would only feed a direction never used
        S = sig.df(G)
        g_new = ((2.0 * S) * R) @ A.T + (1.0 / lam) * E
        gg_new = vdot(xp, g_new, g_new)
        b = _beta(xp, beta, gg_new, vdot(xp, g_new, g) if beta == "pr" else None, gg)
        D = -g_new + b * D
        g, gg = g_new, gg_new
    return InnerResult(Z0 + E, G, k, status)


def _ncg_coefficients(A, T, Z0, lam, sig, C, G0, n_max, beta, tol, rule) -> InnerResult:
    """:func:`ncg` with ``Z − Z^0 = Y Aᵀ``, run on ``Y`` (``(m, n)``) and ``K = AᵀA``.

    Why the iterates stay in ``Z^0 + {Y Aᵀ}``: if ``Z − Z^0 = Y Aᵀ`` the gradient is
    ``γ Aᵀ`` with ``γ = 2σ'(G) ⊙ R + Y/λ``; at the start ``Y = 0``; every direction is
    ``−∇φ + β D`` or ``−∇φ``, so ``D = Δ Aᵀ``, and ``Z + αD = Z^0 + (Y + αΔ)Aᵀ``. Then
    ``D A = Δ K``, ``⟨γAᵀ, ΔAᵀ⟩ = ⟨γ, ΔK⟩`` (the same for ``⟨E, D⟩``, ``⟨D, D⟩``,
    ``||∇φ||²`` and ``⟨∇φ⁺, ∇φ⟩``): the same scalars, Armijo tests, β and restarts as
    :func:`_ncg_primal`, hence the same iterates in exact arithmetic. ``ΔK`` is updated
    as ``−γK + βΔK``: one product ``γK`` per iteration.
    """
    xp = namespace(A, T, Z0)
    eps = float(xp.finfo(Z0.dtype).eps)
    K = A.T @ A  # n × n Gram matrix
    G = G_start = start_G(A, C, Z0, G0)
    R = sig.f(G) - T
    S = sig.df(G)
    Y = xp.zeros_like(R)  # E = Z − Z^0 = Y Aᵀ
    g = (2.0 * S) * R  # ∇φ = g Aᵀ
    gK = g @ K
    gg = vdot(xp, g, gK)  # ||∇φ||²
    stop = tol * tol * max(1.0, float(gg)) if tol > 0 else None
    D, DK = -g, -gK  # direction D Aᵀ; its image (D Aᵀ) A = D K
    k, status = 0, ITERATION_LIMIT
    while k < n_max:
        if stop is not None and bool(gg <= stop):
            status = CONVERGED
            break
        gD = vdot(xp, g, DK)  # ⟨∇φ, D Aᵀ⟩
        if not bool(gD < 0):  # lost descent (or g = 0): restart
            D, DK, gD = -g, -gK, -gg
            if not bool(gD < 0):
                status = CONVERGED
                break
        EE = lambda Y=Y, G=G: vdot(xp, Y, G - G_start)  # noqa: E731  ||YAᵀ||² = ⟨Y, YK⟩
        along = Direction(DK, gD, vdot(xp, Y, DK), vdot(xp, D, DK), EE)
        step = armijo_backtracking(xp, rule, Subproblem(sig, T, lam, eps), Point(G, R, S), along)
        if step is None:
            status = LINE_SEARCH_FAILED
            break
        alpha, G, R = step
        Y = Y + alpha * D
        k += 1
        if k == n_max and stop is None:
            break
        S = sig.df(G)
        g_new = (2.0 * S) * R + (1.0 / lam) * Y
        gK_new = g_new @ K  # the one product of an iteration
        gg_new = vdot(xp, g_new, gK_new)
        b = _beta(xp, beta, gg_new, vdot(xp, gK_new, g) if beta == "pr" else None, gg)
        D, DK = -g_new + b * D, -gK_new + b * DK
        g, gK, gg = g_new, gK_new, gg_new
    Z = Y @ A.T  # Z − Z^0, fresh: add Z^0 in its buffer
    Z += Z0
    return InnerResult(Z, G, k, status)


def _beta(xp, rule, gg_new, g_new_g, gg):
    """Fletcher–Reeves ``||g⁺||²/||g||²`` or Polak–Ribière+ ``max(0, ⟨g⁺, g⁺ − g⟩/||g||²)``."""
    if rule == "fr":
        return gg_new / gg
    b = (gg_new - g_new_g) / gg
    return xp.where(b > 0, b, xp.zeros_like(b))


def exact(
    A: Any,
    T: Any,
    Z0: Any,
    lam: float,
    sigma: str | Activation = "sigmoid",
    *,
    C: Any = None,
    G0: Any = None,
    tol: float = 1e-10,
    max_iters: int = 500,
) -> InnerResult:
    """Solve the subproblem to ``||∇φ|| ≤ tol·max(1, ||∇φ(Z^0)||)``: Polak–Ribière+ NCG."""
    tol = check_positive("tol (of the exact solver)", tol)
    return ncg(A, T, Z0, lam, sigma, C=C, G0=G0, beta="pr", tol=tol, max_iters=max_iters)
