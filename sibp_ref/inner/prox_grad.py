"""Proximal gradient for the ℓ1-regularised layer subproblem of Remark 4.1.

:func:`prox_grad` minimises ``φ(Z) + γ||Z||_1`` with the smooth part
``s(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)`` (:mod:`sibp_ref.inner.objective`);
a step is

.. math:: z = S_{tγ}\\big(y − t∇s(y)\\big),\\qquad
          S_τ(v) = \\operatorname{sign}(v)\\max(|v| − τ, 0).

It reads as three pieces, as jaxopt's ``ProximalGradient`` does:

- :func:`_backtrack`: one proximal-gradient step from ``y`` with Beck & Teboulle's
  sufficient-decrease test ``s(z) ≤ s(y) + ⟨∇s(y), z − y⟩ + ||z − y||²/(2t)`` (the change
  of ``s`` computed directly, as a difference, so the test works in float32), halving
  ``t`` until it holds;
- :func:`_decreases`: the monotone rule of MFISTA, ``x_k`` the better of ``z_k`` and
  ``x_{k−1}``;
- :func:`_next_y`: the extrapolation of monotone FISTA and its restart rule.

Step size: ``t`` starts at ``1/L`` with ``L = 2·max|σ'|²·||A||₂² + 1/λ``, the Lipschitz
constant of ``∇s`` for the identity (``||A||₂²`` by :func:`spectral_norm_sq`;
``max|σ'| = 1/4`` for the sigmoid, 1 otherwise), and only ever halves.

References: Beck & Teboulle, SIAM J. Imaging Sci. 2 (2009) 183–202 (backtracking), and
IEEE Trans. Image Process. 18 (2009) 2419–2434, eq. (5.2) (monotone FISTA);
O'Donoghue & Candès, Found. Comput. Math. 15 (2015) 715–732 (function restart).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from ..activations import Activation, get_activation
from ..backend import device_of, namespace
from ..validation import check_int, check_nonnegative, check_positive
from ._ops import times_data, vdot
from .objective import start_G
from .result import CONVERGED, ITERATION_LIMIT, LINE_SEARCH_FAILED, InnerResult

__all__ = ["prox_grad", "soft_threshold", "spectral_norm_sq"]


class _Point(NamedTuple):
    """An iterate with what the solver keeps of it: ``E = Z − Z^0``, ``G = ZA + C``,
    ``R = σ(G) − T``."""

    Z: Any
    E: Any
    G: Any
    R: Any


class _Problem(NamedTuple):
    """What stays fixed in one solve: the backend, the activation, ``A``, ``T``, λ, γ, the
    machine epsilon of the working dtype and the most halvings of ``t`` per step."""

    xp: Any
    sig: Any
    A: Any
    T: Any
    lam: float
    gamma: float
    eps: float
    max_backtracks: int


def soft_threshold(Z: Any, tau: float) -> Any:
    """``sign(Z)·max(|Z| − τ, 0)``: the proximal map of ``τ||·||_1``."""
    xp = namespace(Z)
    return xp.sign(Z) * xp.maximum(xp.abs(Z) - tau, xp.zeros_like(Z))


def _max_dsigma(name: str) -> float:
    """``max |σ'|``: the fit term's curvature is at most ``2·max|σ'|²·||A||₂²`` (plus a
    ``σ''·R`` term that backtracking guards); 1 for any activation but the sigmoid."""
    return 0.25 if name == "sigmoid" else 1.0


def spectral_norm_sq(A: Any, iters: int = 10) -> Any:
    """An estimate of ``||A||₂²`` (largest eigenvalue of ``AAᵀ``) as a 0-d array.

    Exact (``||A||_F²``) when ``A`` is one row or column (the b-subproblem's ``1ᵀ``);
    otherwise ``iters`` power iterations on the smaller of ``AᵀA``, ``AAᵀ`` from a fixed
    positive start, without forming either (``2 d n`` flops each), and the Rayleigh
    quotient. The estimate is ≤ the true value (it can only err on the side of a too
    long step, which :func:`prox_grad`'s backtracking catches).
    """
    xp = namespace(A)
    d, n = A.shape
    if d == 1 or n == 1:
        return xp.sum(A * A)
    left = n > d  # iterate on the smaller side
    v = xp.linspace(1.0, 2.0, d if left else n, dtype=A.dtype, device=device_of(A))
    v = xp.reshape(v, (-1, 1))
    v = v / xp.sqrt(xp.sum(v * v))
    for _ in range(iters):
        w = A @ (A.T @ v) if left else A.T @ (A @ v)
        nw = xp.sqrt(xp.sum(w * w))
        v = w / xp.where(nw > 0, nw, xp.ones_like(nw))
    u = A.T @ v if left else A @ v
    return xp.sum(u * u)  # vᵀ(AAᵀ)v or vᵀ(AᵀA)v with ||v|| = 1 (0 when A = 0)


def prox_grad(
    A: Any,
    T: Any,
    Z0: Any,
    lam: float,
    sigma: str | Activation = "sigmoid",
    gamma: float = 0.0,
    *,
    C: Any = None,
    G0: Any = None,
    start: Any = None,
    iters: int = 5,
    tol: float = 0.0,
    max_iters: int | None = None,
    max_backtracks: int = 30,
    accelerate: bool = True,
    restart: bool = True,
    power_iters: int = 10,
) -> InnerResult:
    """Proximal gradient for ``φ(Z) + γ||Z||_1`` (Remark 4.1), from ``start`` (default ``Z^0``).

    ``accelerate``: monotone FISTA, else ISTA; ``restart``: a rejected ``z_k`` drops the
    momentum. ``start`` moves only the first iterate, not the minimiser; ``G0`` is
    ``start·A + C`` if known. ``iters`` steps, or with ``tol > 0`` until
    ``||z − y||/t ≤ tol·max(1, first)`` or ``max_iters`` (500). Returns the last ``x_k``.

    The scalar settings are checked here; the arrays are trusted (their caller,
    :func:`~sibp_ref.inner.layer.solve_layer`, takes them from a checked forward pass).
    """
    lam = check_positive("lam", lam)
    iters = check_int("iters", iters, minimum=1)
    tol = check_nonnegative("tol", tol)
    max_iters = None if max_iters is None else check_int("max_iters", max_iters, minimum=1)
    gamma = check_nonnegative("gamma (the l1 weight)", gamma)
    power_iters = check_int("power_iters", power_iters, minimum=1)
    xp = namespace(A, T, Z0)
    sig = get_activation(sigma)
    n_max = (max_iters or 500) if tol > 0 else iters
    ds = _max_dsigma(sig.name)
    t = 1.0 / (2.0 * ds * ds * float(spectral_norm_sq(A, power_iters)) + 1.0 / lam)
    prob = _Problem(xp, sig, A, T, lam, gamma, float(xp.finfo(Z0.dtype).eps), max_backtracks)
    Zs = Z0 if start is None else start
    Es = xp.zeros_like(Z0) if start is None else start - Z0
    Gs = start_G(A, C, Zs, G0)
    x0 = _Point(Zs, Es, Gs, sig.f(Gs) - T)
    return _fista(prob, x0, t, n_max, tol, accelerate, restart)


def _fista(prob: _Problem, x0: _Point, t: float, n_max: int, tol: float, accelerate: bool,
           restart: bool) -> InnerResult:  # fmt: skip
    """The iterations of :func:`prox_grad` from ``x_0``, with the step ``t`` of the bound."""
    xp, sig, T, lam, gamma = prob.xp, prob.sig, prob.T, prob.lam, prob.gamma
    X = Xp = Y = x0  # x_0 = x_{−1} = y_1
    y_is_x, theta, stop, k, status = True, 1.0, None, 0, ITERATION_LIMIT
    while k < n_max:
        step = _backtrack(prob, Y, t)
        if step is None:
            status = LINE_SEARCH_FAILED
            break
        Zt, P, t = step
        k += 1
        # from y = x a step that passed the test never increases φ + γ||·||_1
        # (Beck & Teboulle, Lemma 2.3): no check needed
        take = y_is_x or _decreases(xp, Zt, X, gamma, 1.0 / (2.0 * lam))
        Xp, X = X, (Zt if take else X)
        if tol > 0 and take:
            res = float(xp.sqrt(vdot(xp, P, P))) / t  # the prox-gradient mapping's norm
            stop = tol * max(1.0, res) if stop is None else stop
            if res <= stop:
                status = CONVERGED
                break
        if k == n_max:
            break  # the next y would never be used
        Y, y_is_x, theta = _next_y(sig, T, X, Xp, Zt, take, theta, accelerate, restart)
    return InnerResult(X.Z, X.G, k, status)


def _backtrack(prob: _Problem, Y: _Point, t: float):
    """One step ``z = S_{tγ}(y − t∇s(y))``, halving ``t`` until the sufficient-decrease
    test holds; returns ``(z, z − y, t)`` or None after ``max_backtracks`` halvings.

    A step that fails the test only by less than the rounding of the computed change
    (:func:`_rounding`) is accepted: otherwise near the minimiser (``||z − y|| ~ √eps``)
    ``t`` would halve for nothing and the solver stall."""
    xp, sig, A, T, lam, gamma, eps, max_backtracks = prob
    inv2lam = 1.0 / (2.0 * lam)
    g = 2.0 * ((sig.df(Y.G) * Y.R) @ A.T) + Y.E / lam  # ∇s(y)
    for _ in range(max_backtracks):
        Zt = soft_threshold(Y.Z - t * g, t * gamma)
        P = Zt - Y.Z
        Gt = Y.G + times_data(P, A)
        Rt = sig.f(Gt) - T
        Et = Y.E + P
        change = vdot(xp, Rt - Y.R, Rt + Y.R) + vdot(xp, P, Et + Y.E) * inv2lam  # s(z) − s(y)
        model = vdot(xp, g, P) + vdot(xp, P, P) / (2.0 * t)
        if bool(change <= model) or bool(
            change - model <= _rounding(xp, Rt, Y.R, Gt, T, Et, Y.E, inv2lam, eps)
        ):
            return _Point(Zt, Et, Gt, Rt), P, t
        t = 0.5 * t
    return None


def _decreases(xp, Zt: _Point, X: _Point, gamma: float, inv2lam: float) -> bool:
    """Whether ``z`` is no worse than ``x`` for ``φ + γ||·||_1`` (the change computed
    directly, as in :func:`_backtrack`)."""
    dF = vdot(xp, Zt.R - X.R, Zt.R + X.R) + vdot(xp, Zt.Z - X.Z, Zt.E + X.E) * inv2lam
    if gamma:
        dF = dF + gamma * (xp.sum(xp.abs(Zt.Z)) - xp.sum(xp.abs(X.Z)))
    return bool(dF <= 0)


def _next_y(sig, T, X, Xp, Zt, take, theta, accelerate, restart):
    """The next extrapolated point ``y_{k+1}``, and ``(y is x, θ_{k+1})``.

    Monotone FISTA: ``y_{k+1} = x_k + (θ_k/θ_{k+1})(z_k − x_k)
    + ((θ_k − 1)/θ_{k+1})(x_k − x_{k−1})``, ``θ_{k+1} = (1 + √(1 + 4θ_k²))/2``. ISTA
    (no ``accelerate``) and the restart (a rejected ``z_k`` with ``restart``) take
    ``y = x_k``, ``θ = 1``: the function scheme of O'Donoghue & Candès, which on these
    strongly convex subproblems reaches ``tol`` in fewer steps than MFISTA alone and
    changes nothing before the first rejected step."""
    if not accelerate or (restart and not take):
        return X, True, 1.0
    theta_next = 0.5 * (1.0 + (1.0 + 4.0 * theta * theta) ** 0.5)
    if take:  # x_k = z_k: y = z_k + ((θ_k − 1)/θ_{k+1})(z_k − x_{k−1})
        c = (theta - 1.0) / theta_next
        Z, E, G = X.Z + c * (X.Z - Xp.Z), X.E + c * (X.E - Xp.E), X.G + c * (X.G - Xp.G)
    else:  # x_k = x_{k−1}: y = x_k + (θ_k/θ_{k+1})(z_k − x_k)
        a = theta / theta_next
        Z, E, G = X.Z + a * (Zt.Z - X.Z), X.E + a * (Zt.E - X.E), X.G + a * (Zt.G - X.G)
    return _Point(Z, E, G, sig.f(G) - T), False, theta_next


def _rounding(xp, Rt, RY, Gt, T, Et, EY, inv2lam, eps):
    """A bound on the rounding error of the computed change ``s(z) − s(y)``:
    ``R = σ(G) − T`` carries errors of order ``eps·(|G| + |T| + |R|)`` per entry, ``E`` of
    order ``eps·|E|``; by Cauchy–Schwarz the change is off by at most about
    ``eps·(||Rt + RY||·(||Gt|| + ||T|| + ||Rt|| + ||RY||) + ||Et + EY||·||EY||/(2λ))``.
    Near the minimiser the sufficient-decrease margin ``||z − y||²/(2t)`` falls below it
    (at ``||z − y|| ~ √eps``); a test that cannot be resolved is passed."""

    def nrm(a):
        return xp.sqrt(vdot(xp, a, a))

    fit = nrm(Rt + RY) * (nrm(Gt) + nrm(T) + nrm(Rt) + nrm(RY))
    return 16.0 * eps * (fit + nrm(Et + EY) * nrm(EY) * inv2lam)
