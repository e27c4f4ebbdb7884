"""Armijo backtracking for the nonlinear CG of (4.1), seen through ``G + α·(D A)``.

Along a direction ``D`` the layer's pre-activation moves as ``G(α) = G + α·(DA)``, so
``DA = D A`` is one matrix product per CG iteration, not one per trial step
(docs/conventions.md §6). Two things keep the search working in float32:

- the sufficient-decrease test compares the *change* of φ computed directly,

  .. math:: φ(Z + αD) − φ(Z) = \\sum (R_α − R) ⊙ (R_α + R)
            + \\frac{2α⟨E, D⟩ + α^2\\|D\\|^2}{2λ},\\qquad E = Z − Z^0,

  never ``φ(Z + αD)`` against ``φ(Z)``: the decrease may be below the resolution of φ;
- where even the change is below φ's rounding level (near the minimiser) and Armijo
  cannot tell, Hager & Zhang's approximate Wolfe test on ``φ'(α)`` decides instead.

The first trial minimises the local quadratic model (:func:`model_step`), so one trial
per iteration is typical. Each test is one host synchronisation (``bool`` of a 0-d array).

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed., §3.1 (Armijo
backtracking); Hager & Zhang, SIAM J. Optim. 16 (2005) 170–192 (approximate Wolfe).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ._ops import vdot

__all__ = ["Armijo", "Subproblem", "Point", "Direction", "armijo_backtracking", "model_step"]


class Armijo(NamedTuple):
    """The constants of the backtracking search: sufficient-decrease constant ``c1``,
    factor ``shrink`` per rejected trial, at most ``max_backtracks`` trials."""

    c1: float = 1e-4
    shrink: float = 0.5
    max_backtracks: int = 30


class Subproblem(NamedTuple):
    """What stays fixed in one solve of (4.1): the activation ``sig``, the target ``T``,
    the proximal weight ``lam`` and the machine epsilon ``eps`` of the working dtype."""

    sig: Any
    T: Any
    lam: float
    eps: float


class Point(NamedTuple):
    """The current ``Z``: ``G = ZA + C``, ``R = σ(G) − T`` and ``S = σ'(G)``."""

    G: Any
    R: Any
    S: Any


class Direction(NamedTuple):
    """The search direction ``D`` as the search sees it: ``DA = D A``; ``gD``, ``ED``,
    ``DD`` the 0-d arrays ``⟨g, D⟩``, ``⟨E, D⟩``, ``⟨D, D⟩`` with ``E = Z − Z^0``; and
    ``EE`` a function giving ``||E||²``, needed only near the minimiser."""

    DA: Any
    gD: Any
    ED: Any
    DD: Any
    EE: Any


def model_step(xp: Any, S: Any, DA: Any, gD: Any, DD: Any, lam: float) -> Any:
    """The minimiser of the local quadratic model of ``α ↦ φ(Z + αD)``,

    .. math:: α_0 = \\frac{−⟨g, D⟩}{2\\|σ'(G) ⊙ (DA)\\|^2 + \\|D\\|^2/λ},

    with ``S = σ'(G)``, ``gD = ⟨g, D⟩``, ``DD = ⟨D, D⟩`` (Gauss–Newton curvature)."""
    SDA = S * DA
    return -gD / (2.0 * vdot(xp, SDA, SDA) + DD / lam)


def armijo_backtracking(
    xp: Any, rule: Armijo, fit: Subproblem, at: Point, along: Direction
) -> tuple[Any, Any, Any] | None:
    """Backtrack from :func:`model_step` until ``φ(Z + αD) − φ(Z) ≤ c1·α·⟨g, D⟩``.

    ``fit`` is the subproblem, ``at`` the current point and ``along`` the direction
    (:class:`Subproblem`, :class:`Point`, :class:`Direction`). The caller's arrays are
    trusted (the nonlinear CG of :mod:`sibp_ref.inner.ncg` makes them).

    Returns
    -------
    ``(α, G(α), R(α))`` for the accepted step, or None when no trial passed.
    """
    sig, T, lam, eps = fit
    G, R, S = at
    DA, gD, ED, DD, EE = along
    alpha = model_step(xp, S, DA, gD, DD, lam)
    for _ in range(rule.max_backtracks):
        G_t = G + alpha * DA
        R_t = sig.f(G_t) - T
        # φ(Z + αD) − φ(Z), computed as a difference, not as two values
        prox_change = (2.0 * alpha * ED + alpha * alpha * DD) / (2.0 * lam)
        change = vdot(xp, R_t - R, R_t + R) + prox_change
        if bool(change <= rule.c1 * alpha * gD):
            return alpha, G_t, R_t
        if _below_resolution(xp, change, R, EE(), lam, eps) and _approx_wolfe(
            xp, sig, G_t, R_t, DA, ED + alpha * DD, lam, gD
        ):
            return alpha, G_t, R_t  # Armijo unresolvable in this precision; φ' says descend
        alpha = rule.shrink * alpha
    return None


def _below_resolution(xp, change, R, EE, lam, eps) -> bool:
    """True when ``|Δφ|`` is within rounding of φ itself (about ``n·eps·φ``), where the
    sign of the computed change says nothing. Checked only after Armijo has failed;
    ``EE = ||Z − Z^0||²``."""
    phi = vdot(xp, R, R) + EE / (2.0 * lam)
    return bool(xp.abs(change) <= 100.0 * eps * R.shape[1] * phi)


def _approx_wolfe(xp, sig, G_t, R_t, DA, ED_t, lam, gD, delta=0.1, sigma_w=0.9) -> bool:
    """Hager & Zhang's approximate Wolfe test on the directional derivative at the trial
    point, ``σ φ'(0) ≤ φ'(α) ≤ (2δ − 1) φ'(0)``: usable where φ's own change is below
    rounding, near the minimiser. ``φ'(α) = ⟨∇φ(Z + αD), D⟩ =
    ⟨2σ'(G_t) ⊙ R_t, D A⟩ + ⟨E + αD, D⟩/λ`` needs no product (``ED_t = ⟨E + αD, D⟩``)."""
    dphi = vdot(xp, (2.0 * sig.df(G_t)) * R_t, DA) + ED_t / lam
    return bool(dphi >= sigma_w * gD) and bool(dphi <= (2.0 * delta - 1.0) * gD)
