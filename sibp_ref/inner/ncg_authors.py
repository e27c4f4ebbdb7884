"""The inner solver of the authors' published SIBP code, as it behaves.

The published MATLAB code (docs/conventions.md §5) solves every subproblem (4.1) with a
fixed few iterations of Fletcher–Reeves on the whole matrix and a particular Armijo rule,
in two variants: one routine for its ReLU layers (we call it **FR3**, after its file) and
one for its linear last layer (**FR4**). :func:`ncg_authors` reproduces both from their
description (no code of theirs is used), in the generic form
``φ(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)`` of :mod:`sibp_ref.inner.objective`
(their ``λ_c||Z − Z^0||²`` with ``λ_c = 1/(2λ)``), so that ``SIBP(solver="ncg_authors")``
can show how much of the published numbers is due to the solver rather than to SIBP. Each
of the ``iters`` iterations (theirs: 5) from ``Z = Z^0``, with ``g`` the gradient the
solver holds and ``D`` the direction (``D = −g`` at first):

1. ``f_0 = φ(Z)`` and ``s = 0.1 ⟨g, D⟩``;
2. **a strict Armijo test on values** over exponents ``m = 0, 1, …, 49``:
   ``φ(Z + ρ^m D) < f_0 + s ρ^m`` with ``ρ = 0.6`` (``<``, not ``≤``; no Wolfe fallback);
3. **the exponent reset (FR3 only, ``reset_exponent=True``)**: at the first trial, after
   both sides of the test were evaluated at ``α = 1`` and before they are compared, the
   exponent becomes

   .. math:: m^* = \\max\\Big(\\Big\\lfloor \\frac{\\log\\big(0.01\\, f_0 / |s|\\big)}
             {\\log ρ}\\Big\\rfloor,\\; 0\\Big);

   if the ``α = 1`` test passes, the accepted exponent is ``m*`` (the step ``ρ^{m*}`` was
   **never tested**); if it fails, the search goes on at ``m* + 1, m* + 2, …`` (``ρ^{m*}``
   is never tried). FR4 has no reset and tries ``m = 0, 1, 2, …``;
4. **a step only when the accepted exponent is positive**: ``Z ← Z + ρ^{m_k} D`` if
   ``m_k > 0``; an accepted ``α = 1`` (FR4), an accepted ``m* = 0`` (FR3) or a search in
   which nothing passed (``m_k = 0``) leave ``Z`` where it was, and the iteration goes on;
5. **Fletcher–Reeves with no restart**: ``g' = ∇φ(Z)``,
   ``D ← −g' + (||g'||²/||g||²) D``, even when ``Z`` did not move and even when the new
   direction points uphill;
6. **the offset-free first gradient (FR4 only, ``offset_free_first_gradient=True``)**: the
   first gradient leaves the offset ``C`` out, ``2(σ'(Z^0A) ⊙ (σ(Z^0A) − T))Aᵀ``; ``φ``
   and every later gradient include it. For the linear layer's W-half that drops
   ``b^k 1ᵀ``; for its b-half (``A = 1ᵀ``, ``C = W^{k+1} F``) it drops ``W^{k+1} F``, the
   whole output of the layer. This first direction can point uphill, and then no trial
   passes and the first iteration leaves ``Z`` where it was.

:func:`authors_variant` gives the two switches the published code uses for a σ: FR3 for a
nonlinear layer, FR4 for a linear one.

Where their arithmetic has no answer the project chooses: ``m*`` follows IEEE arithmetic
as theirs does (``|s| = 0`` gives ``m* = 0``; ``f_0 = 0`` an infinite exponent, a zero
step); a zero gradient gives ``β = 0`` (theirs divides 0 by 0; either way ``Z`` stays);
and a **non-finite** ``f_0`` or ``s`` (data or a step that overflowed) makes the step NaN,
so that the NaN reaches the result and the training loop reports a divergence, where their
code would compare NaNs and stall. The search runs on host floats (a synchronisation per
trial). Like our NCG it runs in the coefficient space ``Z − Z^0 = YAᵀ`` when the batch is
smaller than the layer input (the same iterates).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..activations import Activation, get_activation
from ..backend import namespace
from ..validation import check_choice, check_int, check_positive
from ._ops import safe_ratio, times_data, vdot
from .objective import start_G
from .result import ITERATION_LIMIT, InnerResult

__all__ = [
    "ncg_authors",
    "authors_variant",
    "AUTHORS_ARMIJO",
    "AUTHORS_RHO",
    "AUTHORS_MAX_EXPONENT",
]

AUTHORS_ARMIJO = 0.1  # the Armijo constant of their rule: s = 0.1 ⟨g, D⟩
AUTHORS_RHO = 0.6  # the backtracking factor ρ
AUTHORS_MAX_EXPONENT = 50  # exponents m < 50 are tried


def authors_variant(sigma: str | Activation) -> dict[str, bool]:
    """The published code's choice of variant for a layer with activation ``sigma``, as
    keyword arguments of :func:`ncg_authors`: FR4 (no exponent reset, offset-free first
    gradient) for the identity, FR3 (the reset, the full first gradient) otherwise."""
    linear = get_activation(sigma).name == "identity"
    return {"reset_exponent": not linear, "offset_free_first_gradient": linear}


def ncg_authors(
    A: Any,
    T: Any,
    Z0: Any,
    lam: float,
    sigma: str | Activation = "relu",
    *,
    C: Any = None,
    G0: Any = None,
    iters: int = 5,
    reset_exponent: bool = True,
    offset_free_first_gradient: bool = False,
    form: str = "auto",
) -> InnerResult:
    """``iters`` Fletcher–Reeves iterations on ``φ`` from ``Z^0`` with the authors' Armijo
    rule (module docstring, items 1–6): their inner solver, quirks included.

    Parameters
    ----------
    A, T, Z0, C : arrays ``(d, n)``, ``(m, n)``, ``(m, d)``, ``(m, n)`` or broadcastable.
    lam : the proximal weight λ > 0 of (4.1) (their ``λ_c`` is ``1/(2λ)``).
    sigma : the activation (their code: ReLU, or the identity on the last layer).
    G0 : ``Z^0 A + C`` if already known (the forward pass's ``G``).
    iters : the fixed number of iterations (theirs: 5).
    reset_exponent : the exponent reset ``m*`` of the first trial (item 3): their ReLU
        layers' solver FR3 (the default); False for their linear layer's FR4.
    offset_free_first_gradient : the first gradient without ``C`` (item 6): FR4; False
        for FR3 (the default). :func:`authors_variant` picks both from σ.
    form : ``"primal"`` on ``Z`` itself, ``"dual"`` on coefficients ``Z = Z^0 + YAᵀ``
        (every gradient and direction is of that form, as for
        :func:`~sibp_ref.inner.ncg.ncg`: the same iterates, ``n``-sized work),
        ``"auto"``: the dual when ``n < d``.

    Returns
    -------
    :class:`~sibp_ref.inner.result.InnerResult`; ``n_iter = iters``, status
    ``"iteration_limit"`` (there is no other stopping rule). ``x`` is NaN when a value or
    a slope of the search was not finite.

    The scalar settings are checked here; the arrays are trusted (their caller,
    :func:`~sibp_ref.inner.layer.solve_layer`, takes them from a checked forward pass).
    """
    lam = check_positive("lam", lam)
    iters = check_int("iters", iters, minimum=1)
    check_choice("form", form, ("auto", "primal", "dual"))
    sig = get_activation(sigma)
    d, n = A.shape
    dual = form == "dual" or (form == "auto" and n < d)
    run = _authors_coefficients if dual else _authors_primal
    offset_free = bool(offset_free_first_gradient) and C is not None
    return run(A, T, Z0, lam, sig, C, G0, iters, bool(reset_exponent), offset_free)


def _first_residual(sig, A, T, Z0, G, offset_free):
    """``(σ'(G) ⊙ (σ(G) − T))`` at ``Z^0`` for the first gradient: with the offset (``G``)
    or without it (``Z^0 A``, FR4's first gradient)."""
    G_first = times_data(Z0, A) if offset_free else G
    return sig.df(G_first) * (sig.f(G_first) - T)


def _authors_primal(A, T, Z0, lam, sig, C, G0, iters, reset, offset_free) -> InnerResult:
    """:func:`ncg_authors` on ``Z`` itself (``E = Z − Z^0`` updated, ``Z`` formed at the end)."""
    xp = namespace(A, T, Z0)
    G = start_G(A, C, Z0, G0)
    R = sig.f(G) - T
    E = xp.zeros_like(Z0)
    g = (2.0 * _first_residual(sig, A, T, Z0, G, offset_free)) @ A.T  # ∇φ at Z^0 (E = 0)
    D = -g
    for k in range(iters):
        DA = times_data(D, A)
        ED, DD, EE = (float(vdot(xp, u, v)) for u, v in ((E, D), (D, D), (E, E)))
        f0 = float(vdot(xp, R, R)) + EE / (2.0 * lam)  # φ(Z)
        s = AUTHORS_ARMIJO * float(vdot(xp, g, D))
        trial = _trial_phi(xp, sig, T, lam, G, DA, EE, ED, DD)
        alpha = _authors_step(trial, f0, s, reset)
        if alpha != 0.0:  # only an accepted positive exponent (or a NaN) moves Z
            E, G = E + alpha * D, G + alpha * DA
            R = sig.f(G) - T
        if k == iters - 1:
            break  # the next direction would never be used
        g_new = ((2.0 * sig.df(G)) * R) @ A.T + (1.0 / lam) * E
        beta = safe_ratio(xp, vdot(xp, g_new, g_new), vdot(xp, g, g))  # Fletcher–Reeves
        D = -g_new + beta * D  # no restart, even when ⟨g_new, D⟩ ≥ 0
        g = g_new
    return InnerResult(Z0 + E, G, iters, ITERATION_LIMIT)


def _authors_coefficients(A, T, Z0, lam, sig, C, G0, iters, reset, offset_free) -> InnerResult:
    """:func:`ncg_authors` with ``Z − Z^0 = Y Aᵀ``, run on ``Y`` (``(m, n)``) and
    ``K = AᵀA``: ``D A = Δ K``, ``⟨γAᵀ, ΔAᵀ⟩ = ⟨γ, ΔK⟩``; the offset-free first gradient
    is of the same form. ``||E||²`` is carried as a number, updated by each step."""
    xp = namespace(A, T, Z0)
    K = A.T @ A  # n × n Gram matrix
    G = start_G(A, C, Z0, G0)
    R = sig.f(G) - T
    Y = xp.zeros_like(R)  # E = Z − Z^0 = Y Aᵀ
    g = 2.0 * _first_residual(sig, A, T, Z0, G, offset_free)  # ∇φ = g Aᵀ
    gK = g @ K
    D, DK = -g, -gK  # direction D Aᵀ and its image D K
    EE = 0.0  # ||E||²
    for k in range(iters):
        ED, DD = float(vdot(xp, Y, DK)), float(vdot(xp, D, DK))
        f0 = float(vdot(xp, R, R)) + EE / (2.0 * lam)  # φ(Z)
        s = AUTHORS_ARMIJO * float(vdot(xp, g, DK))
        trial = _trial_phi(xp, sig, T, lam, G, DK, EE, ED, DD)
        alpha = _authors_step(trial, f0, s, reset)
        if alpha != 0.0:  # only an accepted positive exponent (or a NaN) moves Z
            Y, G = Y + alpha * D, G + alpha * DK
            R = sig.f(G) - T
            EE = EE + 2.0 * alpha * ED + alpha * alpha * DD
        if k == iters - 1:
            break
        g_new = (2.0 * sig.df(G)) * R + (1.0 / lam) * Y
        gK_new = g_new @ K  # the one product of an iteration
        beta = safe_ratio(xp, vdot(xp, g_new, gK_new), vdot(xp, g, gK))  # Fletcher–Reeves
        D, DK = -g_new + beta * D, -gK_new + beta * DK  # no restart
        g, gK = g_new, gK_new
    Z = Y @ A.T  # Z − Z^0, fresh: add Z^0 in its buffer
    Z += Z0
    return InnerResult(Z, G, iters, ITERATION_LIMIT)


def _trial_phi(xp, sig, T, lam, G, DA, EE, ED, DD) -> Callable[[float], float]:
    """``α ↦ φ(Z + αD)`` on the host, from ``G = ZA + C``, ``DA`` and the numbers
    ``||E||²``, ``⟨E, D⟩``, ``||D||²`` (``E = Z − Z^0``): ``||E + αD||²`` needs no pass
    over ``Z``."""

    def phi(alpha: float) -> float:
        R_t = sig.f(G + alpha * DA) - T
        prox = (EE + 2.0 * alpha * ED + alpha * alpha * DD) / (2.0 * lam)
        return float(vdot(xp, R_t, R_t)) + prox

    return phi


def _authors_step(trial: Callable[[float], float], f0: float, s: float, reset: bool) -> float:
    """The step length the authors' search takes along ``D``: ``ρ^{m_k}`` for an accepted
    exponent ``m_k > 0``, 0.0 when ``Z`` stays (``m_k = 0``: accepted at ``α = 1`` without
    a reset, or nothing passed), NaN when ``f_0`` or ``s`` is not finite.

    The test is strict, ``φ(Z + ρ^m D) < f_0 + s ρ^m``, for ``m = 0, 1, …`` while
    ``m < 50``; with ``reset`` the exponent becomes ``m*`` (:func:`_reset_exponent`) after
    the ``α = 1`` trial is evaluated and before it is judged, so a pass there accepts the
    untested ``m*`` and a failure goes on at ``m* + 1``."""
    if not (math.isfinite(f0) and math.isfinite(s)):
        return math.nan  # nothing to compare: let the NaN flow into Z
    m: float = 0
    passed = trial(1.0) < f0 + s  # α = ρ^0
    if reset:
        m = _reset_exponent(f0, s)
    while not passed:
        m += 1
        if m >= AUTHORS_MAX_EXPONENT:
            return 0.0  # the search failed: no step
        alpha = AUTHORS_RHO**m
        passed = trial(alpha) < f0 + s * alpha
    return AUTHORS_RHO**m if m > 0 else 0.0


def _reset_exponent(f0: float, s: float) -> float:
    """``m* = max(⌊log(0.01 f_0 / |s|) / log ρ⌋, 0)`` for finite ``f_0 ≥ 0`` and ``s``, as
    IEEE arithmetic gives it: ``|s| = 0`` or an overflowing ratio (``log → +∞``) gives 0;
    ``f_0 = 0`` (``log 0 = −∞``) an infinite exponent, whose step ``ρ^∞ = 0`` is none."""
    ratio = 0.01 * f0 / abs(s) if s != 0.0 else math.inf
    if ratio == 0.0:
        return math.inf
    if math.isinf(ratio):
        return 0
    return max(math.floor(math.log(ratio) / math.log(AUTHORS_RHO)), 0)
