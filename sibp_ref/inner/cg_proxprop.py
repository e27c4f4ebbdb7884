"""ProxProp's conjugate gradients as published (tfrerix/proxprop), quirks included.

The published ProxProp code solves each layer's proximal problem (ProxBP's, §3.2) in its
``prox_cgN`` modes with its own CG, ``conjugate_gradient_block``, which is not textbook CG
(Nocedal & Wright, Algorithm 5.2, :func:`sibp_ref.inner.ridge.prox_ridge_cg`) in four ways.
:func:`cg_proxprop` does what it does, in our layout and normalisation (θ of shape
``(m, d)``, one row per output unit; data ``A`` of shape ``(d, n)``; the normal equations
``θ M = 2TAᵀ + θ^0/λ`` with ``M = 2AAᵀ + I/λ``, :mod:`sibp_ref.inner.ridge`):

1. **One CG per output unit.** Each row ``θ_j`` runs its own CG, with its own ``α_j`` and
   ``β_j`` from row inner products; the rows share only the matrix and the stopping test
   (sibp_ref's CG takes one ``α``, ``β`` from Frobenius products over all rows).
2. **The first direction aliases the residual.** ``p_0`` is not a copy of ``r_0`` but the
   same storage, so the in-place update ``r_1 = r_0 − α_0 Mp_0`` moves ``p`` too: the second
   direction is ``p_1 = r_1 + β_0 r_1 = (1 + β_0) r_1``, not ``r_1 + β_0 p_0``. From then on
   the recurrences are the textbook ones, started from a direction that is not M-conjugate
   to the first: the iterates are no longer CG's. With one iteration it plays no part.
3. **ε in both denominators**, ``α_j = s_j/(p_jᵀMp_j + ε_α)``, ``β_j = s'_j/(s_j + ε_β)``
   (``s_j = ||r_j||²``), with ``ε = 10⁻⁶`` absolute in the peer's normalisation, which in
   ours is ``ε_α = 8η²ε`` and ``ε_β = 4η²ε`` (derivation below).
4. **A relative stopping test** after each iteration but the last: stop when
   ``max_j s'_j < tol²·mean_j s_j^{(0)}`` (strict; ``tol = 10⁻²``; the mean over all rows of
   the initial ``s_j``, dead units included). Otherwise exactly ``iters`` updates of θ.

The ε in our normalisation. The peer minimises, per layer and with samples as rows,
``½||Āθ_P − z̃||² + 1/(2τ)||θ_P − θ^k||²`` with the unit explicit step
``z̃ = z − ∂J/∂z`` (whatever the outer learning rate ℓ), i.e. ``M_P = AAᵀ + I/τ`` and
initial residual ``r_P^0 = −(∂J/∂G) Aᵀ`` in our layout; the outer SGD then sets
``θ = θ^k + ℓ(θ_P − θ^k)``. ProxBP (``λ = τ/2``, ``η = ℓ``, ``T − θ^kA = −η ∂J/∂G``) has
``M = 2AAᵀ + I/λ = 2M_P`` and ``r^0 = 2(T − θ^kA)Aᵀ = 2η r_P^0``. Without ε, CG is
homogeneous: by induction ``r = 2η r_P``, ``p = 2η p_P``, ``Mp = 4η M_Pp_P``, so
``s = 4η² s_P`` and ``pᵀMp = 8η² p_PᵀM_Pp_P``, whence ``α = α_P/(2η)``, ``β = β_P``, and
the displacement ``αp = η α_Pp_P``: our iterate is the peer's after its SGD step, for any
λ. Keeping that identity with ε needs ``α = 4η²s_P/(8η²(p_PᵀM_Pp_P + ε))``, i.e.
``ε_α = 8η²ε``, and ``β = 4η²s'_P/(4η²(s_P + ε))``, i.e. ``ε_β = 4η²ε``; the stopping
test is a ratio of ``s``'s and needs nothing. Here ``η`` is ProxBP's step on the
pre-activations (``eta``, or ``η_k`` of a schedule): the peer's ℓ.

Reference: T. Frerix, T. Möllenhoff, M. Moeller, D. Cremers, "Proximal Backpropagation",
ICLR 2018; code github.com/tfrerix/proxprop (``ProxProp.py``), whose behaviour is checked
against recorded calls of it in ``tests/test_proxprop_published.py``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..backend import namespace
from ..validation import check_int, check_nonnegative, check_positive
from .result import CONVERGED, ITERATION_LIMIT
from .ridge import split_bias, with_ones

__all__ = ["CGProxPropResult", "cg_proxprop", "cg_proxprop_affine", "PROXPROP_EPS", "PROXPROP_TOL"]

#: ``conjugate_gradient_block``'s defaults, in force in every call ProxProp makes.
PROXPROP_EPS = 1e-6
PROXPROP_TOL = 1e-2


class CGProxPropResult(NamedTuple):
    """What :func:`cg_proxprop` returns.

    Attributes
    ----------
    x : the last iterate θ, shape ``(m, d)``.
    n_iter : the updates of θ made: ``iters`` unless the stopping test ended the run.
    status : ``"converged"`` when the stopping test ended it, else ``"iteration_limit"``.
    """

    x: Any
    n_iter: int
    status: str


def cg_proxprop(
    A: Any,
    T: Any,
    theta0: Any,
    lam: float,
    iters: int,
    *,
    eta: float = 1.0,
    tol: float = PROXPROP_TOL,
    eps: float = PROXPROP_EPS,
    theta0_A: Any = None,
) -> CGProxPropResult:
    """ProxProp's CG (module docstring, quirks 1–4) on ``θ(2AAᵀ + I/λ) = 2TAᵀ + θ^0/λ``,
    the normal equations of ``argmin ||θA − T||² + ||θ − θ^0||²/(2λ)``, from ``θ^0``.

    ``eta``: the explicit step that made ``T − θ^0A`` (ProxBP's ``−η ∂J/∂G``); it scales the
    peer's ``eps`` into ours (``8η²ε``, ``4η²ε``). ``theta0_A`` (``θ^0A``) saves a product.
    Vectorised over the rows: ``α`` and ``β`` are ``(m, 1)`` columns, no loop over rows.
    λ is checked here; the arrays are trusted (ProxBP's step takes them from a checked
    forward pass).
    """
    lam = check_positive("lam", lam)
    R = T - (theta0 @ A if theta0_A is None else theta0_A)
    return _cg_rows(A, 2.0 * (R @ A.T), theta0, lam, iters, eta, tol, eps)


def _cg_rows(A, r, theta0, lam, iters, eta, tol, eps) -> CGProxPropResult:
    """The loop of :func:`cg_proxprop` from ``θ^0`` and its residual
    ``r = 2TAᵀ + θ^0/λ − θ^0M = 2(T − θ^0A)Aᵀ``, one CG per row of θ (quirk 1)."""
    iters = check_int("iters", iters, 1)
    eta = check_positive("eta", eta)
    tol = check_nonnegative("tol", tol)
    eps = check_nonnegative("eps", eps)
    xp = namespace(A, r, theta0)

    def apply_M(P):  # P ↦ P(2AAᵀ + I/λ)
        return 2.0 * ((P @ A) @ A.T) + P / lam

    def row_dot(a, b):  # one inner product per output unit
        return xp.sum(a * b, axis=1, keepdims=True)

    eps_alpha, eps_beta = 8.0 * eta * eta * eps, 4.0 * eta * eta * eps  # quirk 3
    p = r  # quirk 2: the same array, not a copy (see the k == 1 branch)
    s = row_dot(r, r)
    stop = tol * tol * xp.mean(s)  # quirk 4: relative to the mean initial s_j
    x = theta0
    for k in range(1, iters + 1):
        q = apply_M(p)
        alpha = s / (row_dot(p, q) + eps_alpha)  # (m, 1): α_j per row
        x = x + alpha * p
        if k == iters:  # no residual update and no test after the last iteration
            break
        r = r - alpha * q
        if k == 1:
            p = r  # the peer's in-place r update moved p with it: p_0 is now r_1
        s_new = row_dot(r, r)
        if tol > 0 and bool(xp.max(s_new) < stop):
            return CGProxPropResult(x, k, CONVERGED)
        p = r + (s_new / (s + eps_beta)) * p  # β_j per row; at k = 1: (1 + β_0) r_1
        s = s_new
    return CGProxPropResult(x, iters, ITERATION_LIMIT)


def cg_proxprop_affine(
    F: Any, R: Any, W: Any, b: Any, lam: float, iters: int, *, eta: float = 1.0
) -> tuple[Any, Any]:
    """:func:`cg_proxprop` on an affine layer, ``θ = [W, b]``, ``A = [F; 1ᵀ]``,
    ``T = W^kF + b^k + R`` with ``R = −η ∂J/∂G``: returns ``(W^+, b^+)`` (``b`` may be
    None: no bias). It runs on θ itself (``(m, d+1)``), whatever the batch size."""
    lam = check_positive("lam", lam)
    xp = namespace(F, R, W)
    A = F if b is None else with_ones(F)
    theta0 = W if b is None else xp.concat([W, b], axis=1)
    res = _cg_rows(A, 2.0 * (R @ A.T), theta0, lam, iters, eta, PROXPROP_TOL, PROXPROP_EPS)
    return (res.x, None) if b is None else split_bias(res.x)
