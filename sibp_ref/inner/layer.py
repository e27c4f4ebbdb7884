"""One layer's subproblem (4.1) of SIBP, solved by one function: :func:`solve_layer`.

Which solver runs where:

- σ = identity (except for ``"ncg_authors"``): both halves are ridge regressions solved in
  closed form (:func:`~sibp_ref.inner.ridge.prox_ridge`, then
  :func:`~sibp_ref.inner.ridge.prox_ridge_bias`). With γ > 0, proximal gradient starts from
  that ℓ1-free solution: the objective is unchanged, only the first iterate moves, to
  within ``λγ√(#entries)`` of the ℓ1 minimiser (the minimisers of a ``1/λ``-strongly convex
  smooth part with and without ``γ||·||_1`` differ by at most ``λ||γ ∂||Z||_1||``); for the
  b-half one step from there is exact (its curvature ``2n + 1/λ`` is the step's ``L``).
- a nonlinear σ: the chosen iterative solver from ``W^k``, ``b^k`` (proximal gradient
  whenever γ > 0).
- ``"ncg_authors"``: the published code's solver on every layer, in its variant for σ
  (:func:`~sibp_ref.inner.ncg_authors.authors_variant`): an identity layer's two halves
  (FR4) compute their first gradient without the offset, ``b^k 1ᵀ`` for W and
  ``W^{k+1} A(F)`` for b, and search without the exponent reset; a nonlinear layer's (FR3)
  with both.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..activations import Activation, get_activation
from .ncg import exact, ncg
from .ncg_authors import authors_variant, ncg_authors
from .objective import ones_row
from .prox_grad import prox_grad
from .ridge import prox_ridge, prox_ridge_bias

__all__ = ["solve_layer", "LAYER_SOLVERS"]

LAYER_SOLVERS = ("ncg", "ncg_pr", "exact", "prox_grad", "ncg_authors")


def solve_layer(
    sigma: str | Activation,
    AF: Any,
    W: Any,
    b: Any,
    T: Any,
    G: Any,
    lam: float,
    lam_b: float | None = None,
    *,
    solver: str = "ncg",
    iters: int = 5,
    l1: float = 0.0,
    tol: float = 1e-10,
    max_iters: int = 500,
) -> tuple[Any, Any]:
    """``(W^{k+1}, b^{k+1})`` of one layer ``G = W·A(F) + b``, ``F_{i+1} = σ(G)``, by (4.1):

    .. math:: W^{k+1} = \\arg\\min_W \\|σ(W A(F_i^k) + b^k) − F_{i+1}^{k+½}\\|^2
              + \\frac{1}{2λ}\\|W − W^k\\|^2 \\;[+ γ\\|W\\|_1],

    .. math:: b^{k+1} = \\arg\\min_b \\|σ(W^{k+1} A(F_i^k) + b) − F_{i+1}^{k+½}\\|^2
              + \\frac{1}{2λ_b}\\|b − b^k\\|^2 \\;[+ γ\\|b\\|_1]:

    W with ``b^k`` fixed, then b with the new W (Gauss–Seidel inside the layer).

    Parameters
    ----------
    sigma, AF : σ, and ``A(F_i^k)`` the lifted layer input ``(d, n)`` (``F_i^k`` if dense).
    W, b, T, G : ``W^k`` ``(m, d)``, ``b^k`` ``(m, 1)`` or None, the target
        ``F_{i+1}^{k+½}`` and the forward pass's ``G_{i+1}^k = W^k A(F_i^k) + b^k``.
    lam, lam_b : λ and λ_b (default λ).
    solver : ``"ncg"`` (Fletcher–Reeves), ``"ncg_pr"`` (Polak–Ribière+), ``"exact"`` (to
        ``tol``, ``max_iters``), ``"prox_grad"`` for a nonlinear σ; ``"ncg_authors"``.
    iters, l1 : inner iterations (the paper: 5); γ ≥ 0 of Remark 4.1.

    """
    if solver not in LAYER_SOLVERS:
        raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(LAYER_SOLVERS)}")
    if solver == "ncg_authors" and l1:
        raise ValueError(f"solver='ncg_authors' has no l1 term; got l1={l1!r} (use l1=0)")
    sig = get_activation(sigma)
    lam_b = lam if lam_b is None else lam_b
    run = partial(_iterative, sig, solver, iters, l1, tol, max_iters)
    closed_form = sig.name == "identity" and solver != "ncg_authors"
    W_new, G_W = _solve_W(run, closed_form, l1, AF, W, b, T, G, lam)
    if b is None:
        return W_new, None
    return W_new, _solve_b(run, closed_form, l1, b, T, G_W, lam_b)


def _solve_W(run, closed_form, l1, AF, W, b, T, G, lam) -> tuple[Any, Any]:
    """The W-subproblem of (4.1), ``b^k`` fixed: ``W^{k+1}`` and ``G = W^{k+1} A(F) + b^k``."""
    if not closed_form:
        r = run(AF, T, W, lam, C=b, G0=G)
        return r.x, r.G
    W_new = prox_ridge(AF, T if b is None else T - b, W, lam, theta0_A=G if b is None else G - b)
    G_W = W_new @ AF if b is None else W_new @ AF + b
    if l1:  # a lasso: proximal gradient from the ridge solution
        r = run(AF, T, W, lam, C=b, G0=G_W, start=W_new)
        return r.x, r.G
    return W_new, G_W


def _solve_b(run, closed_form, l1, b, T, G_W, lam_b) -> Any:
    """The b-subproblem of (4.1), ``W^{k+1}`` fixed: ``Z = b``, ``A = 1ᵀ``,
    ``C = W^{k+1} A(F)``."""
    WF = G_W - b
    if not closed_form:
        return run(ones_row(G_W), T, b, lam_b, C=WF, G0=G_W).x
    b_new = prox_ridge_bias(T - WF, b, lam_b)
    if l1:
        b_new = run(ones_row(G_W), T, b, lam_b, C=WF, G0=WF + b_new, start=b_new).x
    return b_new


def _iterative(sig, solver, iters, l1, tol, max_iters, A, T, Z0, lam, *, C, G0, **kw):
    """The configured iterative solver on ``||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)
    [+ γ||Z||_1]``; ``kw``: ``start`` (proximal gradient). ``ncg_authors`` runs in the
    published code's variant for σ, on both halves alike."""
    if l1 or solver == "prox_grad":
        tol_pg = tol if solver == "exact" else 0.0
        start = kw.get("start")
        return prox_grad(
            A,
            T,
            Z0,
            lam,
            sig,
            l1,
            C=C,
            G0=G0,
            start=start,
            iters=iters,
            tol=tol_pg,
            max_iters=max_iters,
        )
    if solver == "exact":
        return exact(A, T, Z0, lam, sig, C=C, G0=G0, tol=tol, max_iters=max_iters)
    if solver == "ncg_authors":
        variant = authors_variant(sig)  # FR3 or FR4
        return ncg_authors(A, T, Z0, lam, sig, C=C, G0=G0, iters=iters, **variant)
    beta = "pr" if solver == "ncg_pr" else "fr"
    return ncg(A, T, Z0, lam, sig, C=C, G0=G0, iters=iters, beta=beta)
