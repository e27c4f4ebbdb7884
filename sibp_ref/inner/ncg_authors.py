"""The inner solver of the authors' published SIBP code, as it behaves.

The published MATLAB code (docs/conventions.md §5) solves every subproblem (4.1) — the
ReLU layers and the linear last layer alike — with a fixed few iterations of
Fletcher–Reeves on the whole matrix and a particular Armijo rule. :func:`ncg_authors`
reproduces that behaviour from its description (no code of theirs is used), in the
generic form ``φ(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)`` of
:mod:`sibp_ref.inner.objective`, so that ``SIBP(solver="ncg_authors")`` can show how
much of the published numbers is due to the solver rather than to SIBP.

Differences from :func:`sibp_ref.inner.ncg.ncg` (the project's NCG):

- a fixed ``iters`` (default 5), no stopping test and **no restart**: the
  Fletcher–Reeves direction ``D_{k+1} = −g_{k+1} + (||g_{k+1}||²/||g_k||²) D_k`` is used
  even when it points uphill;
- the Armijo test compares values, ``φ(Z + αD) ≤ φ(Z) + σ α ⟨g, D⟩`` with ``σ = 0.1``,
  not the directly computed change (so in float32 it loses late decreases), and has no
  Wolfe fallback; the trial steps are ``α = ρ^m`` with ``ρ = 0.6``, the first ``α = 1``
  (not the minimiser of the quadratic model), at most 50 trials;
- **the exponent reset**: after the first trial the exponent becomes

  .. math:: m = \\max\\Big(\\Big\\lfloor \\frac{\\log\\big(0.01\\,f / |σ ⟨g, D⟩|\\big)}
            {\\log ρ}\\Big\\rfloor,\\; 0\\Big),\\qquad f = φ(Z),

  (``g`` the gradient the solver holds, ``D`` the current direction). When ``α = 1``
  passed, the search stops there and the step taken is ``ρ^m`` — a step that was never
  tested. When ``α = 1`` failed, the search goes on testing ``ρ^m, ρ^{m+1}, …`` from the
  reset exponent until one passes;
- **a step is applied only when its exponent is positive**: a search that accepted
  ``α = 1`` with ``m = 0``, or that failed all 50 trials, leaves ``Z`` unchanged (the
  direction is still updated, from the unchanged gradient);
- with ``bias_free_first_gradient`` (the linear last layer's W-subproblem in SIBP) the
  first gradient is computed without the offset ``C``, ``2(σ'(Z^0A) ⊙ (σ(Z^0A) − T))Aᵀ``;
  later gradients include it. This first direction can point uphill, and then no trial
  passes and the first iteration leaves ``Z`` unchanged;
- it synchronises with the host at every trial (the exponent and the tests are computed
  on host floats). Like our NCG it runs in the coefficient space when the batch is
  smaller than the layer input (the same iterates).

Where the description leaves a choice, the most literal reading is taken: ``f``, ``g``
and ``D`` in the reset are the current value, gradient and direction; after a failed
first trial the next trial is ``ρ^m`` with the reset ``m`` itself (not ``m + 1``); the
Armijo inequality is not strict; a gradient of zero gives ``β = 0``.
"""

from __future__ import annotations

import math
from typing import Any

from ..activations import Activation, get_activation
from ..backend import namespace
from ..validation import check_choice, check_int, check_positive
from ._ops import safe_ratio, times_data, vdot
from .objective import start_G
from .result import ITERATION_LIMIT, InnerResult

__all__ = ["ncg_authors", "AUTHORS_SIGMA", "AUTHORS_RHO", "AUTHORS_MAX_TRIALS"]

AUTHORS_SIGMA = 0.1  # the Armijo constant σ of their rule
AUTHORS_RHO = 0.6  # the backtracking factor ρ
AUTHORS_MAX_TRIALS = 50


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
    bias_free_first_gradient: bool = False,
    form: str = "auto",
) -> InnerResult:
    """``iters`` Fletcher–Reeves iterations on ``φ`` from ``Z^0`` with the authors' Armijo
    rule (module docstring): their inner solver, quirks included.

    Parameters
    ----------
    A, T, Z0, C : arrays ``(d, n)``, ``(m, n)``, ``(m, d)``, ``(m, n)`` or broadcastable.
    lam : the proximal weight λ > 0 of (4.1) (their ``λ_c`` is ``1/(2λ)``).
    sigma : the activation (their code: ReLU, or the identity on the last layer).
    G0 : ``Z^0 A + C`` if already known (the forward pass's ``G``).
    iters : the fixed number of iterations (theirs: 5).
    bias_free_first_gradient : compute the first gradient without ``C``, as their
        linear last layer does.
    form : ``"primal"`` on ``Z`` itself, ``"dual"`` on coefficients ``Z = Z^0 + YAᵀ``
        (every gradient and direction is of that form, as for
        :func:`~sibp_ref.inner.ncg.ncg`: the same iterates, ``n``-sized work),
        ``"auto"``: the dual when ``n < d``.

    Returns
    -------
    :class:`~sibp_ref.inner.result.InnerResult`; ``n_iter = iters``, status
    ``"iteration_limit"`` (there is no other stopping rule).
    """
    lam = check_positive("lam", lam)
    iters = check_int("iters", iters, minimum=1)
    check_choice("form", form, ("auto", "primal", "dual"))
    sig = get_activation(sigma)
    d, n = A.shape
    dual = form == "dual" or (form == "auto" and n < d)
    run = _authors_coefficients if dual else _authors_primal
    return run(A, T, Z0, lam, sig, C, G0, iters, bias_free_first_gradient and C is not None)


def _authors_primal(A, T, Z0, lam, sig, C, G0, iters, bias_free) -> InnerResult:
    """:func:`ncg_authors` on ``Z`` itself (``E = Z − Z^0`` updated, ``Z`` formed at the end)."""
    xp = namespace(A, T, Z0)
    G = start_G(A, C, Z0, G0)
    R = sig.f(G) - T
    E = xp.zeros_like(Z0)
    G_first = G - C if bias_free else G  # Z^0 A without the offset
    g = ((2.0 * sig.df(G_first)) * (sig.f(G_first) - T)) @ A.T  # ∇φ at Z^0 (E = 0)
    D = -g
    for k in range(iters):
        DA = times_data(D, A)
        ED, DD, EE = (float(vdot(xp, u, v)) for u, v in ((E, D), (D, D), (E, E)))
        f = float(vdot(xp, R, R)) + EE / (2.0 * lam)  # φ(Z)
        m = _authors_armijo(xp, sig, T, lam, G, DA, f, float(vdot(xp, g, D)), EE, ED, DD)
        if m > 0:  # only a positive exponent moves Z
            alpha = AUTHORS_RHO**m
            E, G = E + alpha * D, G + alpha * DA
            R = sig.f(G) - T
        if k == iters - 1:
            break  # the next direction would never be used
        g_new = ((2.0 * sig.df(G)) * R) @ A.T + (1.0 / lam) * E
        beta = safe_ratio(xp, vdot(xp, g_new, g_new), vdot(xp, g, g))  # Fletcher–Reeves
        D = -g_new + beta * D  # no restart, even when ⟨g_new, D⟩ ≥ 0
        g = g_new
    return InnerResult(Z0 + E, G, iters, ITERATION_LIMIT)


def _authors_coefficients(A, T, Z0, lam, sig, C, G0, iters, bias_free) -> InnerResult:
    """:func:`ncg_authors` with ``Z − Z^0 = Y Aᵀ``, run on ``Y`` (``(m, n)``) and
    ``K = AᵀA``: ``D A = Δ K``, ``⟨γAᵀ, ΔAᵀ⟩ = ⟨γ, ΔK⟩``; the bias-free first gradient
    is of the same form. ``||E||²`` is carried as a number, updated by each step."""
    xp = namespace(A, T, Z0)
    K = A.T @ A  # n × n Gram matrix
    G = start_G(A, C, Z0, G0)
    R = sig.f(G) - T
    Y = xp.zeros_like(R)  # E = Z − Z^0 = Y Aᵀ
    G_first = G - C if bias_free else G
    g = (2.0 * sig.df(G_first)) * (sig.f(G_first) - T)  # ∇φ = g Aᵀ
    gK = g @ K
    D, DK = -g, -gK  # direction D Aᵀ and its image D K
    EE = 0.0  # ||E||²
    for k in range(iters):
        ED, DD = float(vdot(xp, Y, DK)), float(vdot(xp, D, DK))
        f = float(vdot(xp, R, R)) + EE / (2.0 * lam)  # φ(Z)
        m = _authors_armijo(xp, sig, T, lam, G, DK, f, float(vdot(xp, g, DK)), EE, ED, DD)
        if m > 0:  # only a positive exponent moves Z
            alpha = AUTHORS_RHO**m
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


def _authors_armijo(xp, sig, T, lam, G, DA, f, gD, EE, ED, DD) -> int:
    """The exponent ``m`` of the step ``ρ^m D`` the authors' rule takes (0: no step).

    First trial ``α = 1``; then the exponent is reset (:func:`_reset_exponent`); if the
    first trial passed, that reset exponent is returned untested; otherwise trials go on
    from it, ``m, m + 1, …``, up to 50 trials in all; 0 when none passed. ``EE``, ``ED``,
    ``DD`` are ``||E||²``, ``⟨E, D⟩``, ``⟨D, D⟩`` (``E = Z − Z^0``), so that
    ``||E + αD||² = EE + 2α ED + α² DD`` needs no pass over ``Z``."""

    def passes(m: int) -> bool:  # φ(Z + ρ^m D) ≤ φ(Z) + σ ρ^m ⟨g, D⟩, on values
        alpha = AUTHORS_RHO**m
        R_t = sig.f(G + alpha * DA) - T
        prox = (EE + 2.0 * alpha * ED + alpha * alpha * DD) / (2.0 * lam)
        return float(vdot(xp, R_t, R_t)) + prox <= f + AUTHORS_SIGMA * alpha * gD

    first_passed = passes(0)
    m = _reset_exponent(f, gD)
    if first_passed:
        return m  # ρ^m was never tested (and m = 0 discards the accepted α = 1)
    for _ in range(AUTHORS_MAX_TRIALS - 1):
        if passes(m):
            return m
        m += 1
    return 0  # the search failed: no step


def _reset_exponent(f: float, gD: float) -> int:
    """``max(⌊log(0.01 f / |σ gD|) / log ρ⌋, 0)``; 0 when ``gD = 0`` (the ratio is
    infinite) or ``f = 0`` (an infinite exponent, a zero step: the same as no step)."""
    if gD == 0.0 or f <= 0.0:
        return 0
    return max(math.floor(math.log(0.01 * f / abs(AUTHORS_SIGMA * gD)) / math.log(AUTHORS_RHO)), 0)
