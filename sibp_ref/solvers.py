"""Inner solvers for SIBP's layer subproblem (4.1), each usable on its own.

Every solver here minimises, over a matrix unknown ``Z`` of shape ``(m, d)``,

.. math:: φ(Z) = \\|σ(Z A + C) − T\\|^2 + \\frac{1}{2λ}\\|Z − Z^0\\|^2 \\;[+\\; γ\\|Z\\|_1]

with data ``A`` of shape ``(d, n)`` (samples as columns), a fixed offset ``C``
(``(m, n)`` or broadcastable, e.g. a bias column) and target ``T`` of shape ``(m, n)``.
Both halves of (4.1) have this form:

- the W-subproblem: ``Z = W``, ``A = F_i^k``, ``C = b_i^k``, ``T = F_{i+1}^{k+1/2}``;
- the b-subproblem: ``Z = b`` (shape ``(m, 1)``), ``A = 1ᵀ`` (a ``(1, n)`` row of
  ones), ``C = W_i^{k+1} F_i^k``.

The fit term is a plain Frobenius sum and the proximal term ``1/(2λ)``, as (4.1)
writes them (SPEC §1). The gradient of the smooth part is

.. math:: ∇φ(Z) = 2\\,(σ'(G) ⊙ R)\\,Aᵀ + (Z − Z^0)/λ,\\qquad G = ZA + C,\\; R = σ(G) − T,

and its zero is the proximal-point relation of C2: ``Z = Z^0 − λ ∇f(Z)``.

Solvers:

- :func:`ncg`: nonlinear conjugate gradients warm-started at ``Z^0``, a fixed number of
  iterations (the paper: 5), Fletcher–Reeves (the authors' choice) or Polak–Ribière+
  (``beta="pr"``), with Armijo backtracking; or, with ``tol > 0``, to a tolerance.
- :func:`exact`: :func:`ncg` with Polak–Ribière+ iterated until
  ``||∇φ|| ≤ tol·max(1, ||∇φ(Z^0)||)`` (for tests of the theory).
- :func:`prox_grad`: proximal gradient (ISTA with backtracking) with soft-thresholding,
  for the ℓ1-regularised subproblem of Remark 4.1.
- :func:`prox_ridge_bias`: the closed form of the b-subproblem when σ is the identity
  (the W-subproblem's closed form is :func:`sibp_ref.ridge.prox_ridge`).

Performance notes (SPEC §8), kept by :func:`ncg`:

- when the batch is smaller than the layer input (``n < d``, SIBP's W-subproblems) NCG
  runs in the coefficient space, ``Z = Z^0 + Y Aᵀ`` with ``K = AᵀA`` (same iterates,
  argument in :func:`_ncg_coefficients`): one ``m × n × n`` product per iteration and
  ``(m, n)``-sized passes; ``form="primal"`` keeps the weight-space iteration;
- the line search (:class:`_LineSearch`, shared by both forms) moves along
  ``G + α·(D A)``: ``D A`` is one matrix product per CG iteration (none in the
  coefficient space), not one per trial step;
- the Armijo test compares the *change* of φ computed directly,
  ``Σ (R_t − R)(R_t + R) + (2α⟨E, D⟩ + α²||D||²)/(2λ)`` with ``E = Z − Z^0``, never
  ``φ(Z + αD)`` against ``φ(Z)``, so it keeps working in float32 when the decrease is
  below the resolution of φ;
- where the change of φ is below φ's rounding level (near the minimiser) and Armijo
  cannot tell, Hager & Zhang's approximate Wolfe test on ``φ'(α)`` decides instead;
- the first trial step minimises the local quadratic model,
  ``α = −⟨g, D⟩ / (2||σ'(G) ⊙ (D A)||² + ||D||²/λ)``: in MNIST training (784-500-10,
  float32, 5 settings of σ, η, λ, 15 000 line searches) it passed every time;
- ``G0`` (the forward pass's ``G``) saves the product ``Z^0 A`` at the start;
- no host synchronisation with a fixed number of iterations (issue 7): every decision
  (accept a trial, restart, backtrack) is a 0-d array used through ``xp.where`` or as
  a 0/1 factor, never a Python ``bool``. One trial step per iteration; a rejected trial
  makes the next iteration backtrack along the same direction (so a rejection uses up
  one of the ``iters`` iterations). With ``tol > 0`` the stopping rule needs the host:
  two syncs per iteration.

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed., §5.2 (Fletcher–Reeves,
Polak–Ribière+ with restarts) and §3.1 (Armijo backtracking); Beck & Teboulle (2009) for
proximal gradient with backtracking.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import activations as _act
from .activations import Activation, get_activation
from .backend import device_of, namespace
from .ridge import _vdot

__all__ = [
    "InnerResult",
    "prox_objective",
    "ncg",
    "exact",
    "prox_grad",
    "soft_threshold",
    "prox_ridge_bias",
]


class InnerResult(NamedTuple):
    """What an inner solver returns: the minimiser ``x``, ``G = x A + C`` at it, and the
    number of iterations taken."""

    x: Any
    G: Any
    n_iter: int


def _check(lam: float, iters: int, tol: float, max_iters: int | None) -> None:
    if not (isinstance(lam, (int, float)) and lam > 0):
        raise ValueError(f"lam must be a number > 0, got {lam!r}")
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be an integer >= 1, got {iters!r}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    if max_iters is not None and (not isinstance(max_iters, int) or max_iters < 1):
        raise ValueError(f"max_iters must be an integer >= 1, got {max_iters!r}")


def _start(A, C, Z0, G0):
    """``G = Z^0 A + C`` (or the given ``G0``)."""
    if G0 is not None:
        return G0
    G = Z0 @ A
    return G if C is None else G + C


def prox_objective(
    Z: Any,
    A: Any,
    T: Any,
    Z0: Any,
    lam: float,
    sigma: Any = "identity",
    *,
    C: Any = None,
    gamma: float = 0.0,
) -> Any:
    """``φ(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ) + γ||Z||_1`` as a 0-d array."""
    xp = namespace(Z, A, T)
    sig = get_activation(sigma)
    R = sig.f(_start(A, C, Z, None)) - T
    E = Z - Z0
    val = xp.sum(R * R) + xp.sum(E * E) / (2.0 * lam)
    return val + gamma * xp.sum(xp.abs(Z)) if gamma else val


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
    c1, shrink, max_backtracks : Armijo constant, backtracking factor, and (with
        ``tol > 0``) how many rejected trials in a row end the solve. One trial step per
        iteration: after a rejection the next iteration tries ``shrink`` times the step
        along the same direction. An iterate is never one that increases φ: a last
        rejected trial is undone.
    form : ``"primal"`` runs on ``Z`` itself (``(m, d)``); ``"dual"`` on coefficients,
        ``Z = Z^0 + Y Aᵀ`` with ``Y`` of shape ``(m, n)`` (:func:`_ncg_coefficients`: the
        same iterates, ``n``-sized work); ``"auto"``: the dual when ``n < d``.

    Whenever ``⟨g, D⟩ ≥ 0`` (Fletcher–Reeves with an inexact line search can lose descent)
    the direction restarts at ``−g``.

    Returns ``n_iter``: the iterations run (``iters``, whatever was accepted: counting
    accepted steps would need the host) or, with ``tol > 0``, the accepted steps.
    """
    _check(lam, iters, tol, max_iters)
    if beta not in ("fr", "pr"):
        raise ValueError(
            f"beta must be 'fr' (Fletcher-Reeves) or 'pr' (Polak-Ribiere+), got {beta!r}"
        )
    if form not in ("auto", "primal", "dual"):
        raise ValueError(f"form must be 'auto', 'primal' or 'dual', got {form!r}")
    d, n = A.shape
    if form == "dual" or (form == "auto" and n < d):
        return _ncg_coefficients(
            A, T, Z0, lam, sigma, C, G0, iters, beta, tol, max_iters, c1, shrink, max_backtracks
        )
    xp = namespace(A, T, Z0)
    search = _LineSearch(xp, get_activation(sigma), T, lam, c1, shrink, Z0.dtype)
    loop = _Loop(tol, iters, max_iters, max_backtracks)

    E = xp.zeros_like(Z0)  # E = Z − Z^0; Z = Z^0 + E formed once at the end
    G, R, S, P = search.start(_start(A, C, Z0, G0))
    g = P @ A.T  # ∇φ at Z^0 (E = 0): 2(σ'(G) ⊙ R)Aᵀ
    gg = _vdot(g, g)
    loop.begin(gg)
    D, gD, DA = -g, -gg, None
    while loop.go(gg):
        DA = _times_data(D, A)  # once per iteration (SPEC §8)
        t, G, R, S, P = search(G, R, S, DA, gD, _vdot(E, D), _vdot(D, D))
        E = E + t * D  # to the trial point
        if not loop.next(search.accepted):
            break  # the last gradient would only feed a direction never used
        g_new = P @ A.T + (1.0 / lam) * E  # ∇φ at the trial point
        gg_new = _vdot(g_new, g_new)
        b, c, gD = _direction(xp, beta, search.accepted, gg_new, gg, gD, _vdot(g_new, D), g_new, g)
        D = b * D - c * g_new  # −g⁺ + βD, or −g⁺ (restart), or D again (backtracking)
        g, gg = _keep(xp, beta, search.accepted, g_new, g, gg_new, gg)
    if DA is not None:  # a rejected last trial is undone: back to the accepted iterate
        E, G = E - search.off * D, G - search.off * DA
    return InnerResult(Z0 + E, G, loop.n_iter)


def _ncg_coefficients(
    A, T, Z0, lam, sigma, C, G0, iters, beta, tol, max_iters, c1, shrink, max_backtracks
) -> InnerResult:
    """:func:`ncg` with ``Z − Z^0 = Y Aᵀ``, run on ``Y`` (``(m, n)``) and ``K = AᵀA``.

    Why the iterates stay in ``Z^0 + {Y Aᵀ}`` (Fletcher–Reeves and Polak–Ribière+ alike).
    The gradient is ``∇φ(Z) = 2(σ'(G) ⊙ R)Aᵀ + (Z − Z^0)/λ``. If ``Z − Z^0 = Y Aᵀ`` it is
    ``γ Aᵀ`` with ``γ = 2σ'(G) ⊙ R + Y/λ``. At the start ``Y = 0``; every direction is
    ``−∇φ + β D``, the restart ``−∇φ`` or the previous ``D`` — combinations of ``(·)Aᵀ``
    matrices, so ``D = Δ Aᵀ``; and ``Z + αD = Z^0 + (Y + αΔ)Aᵀ``. By induction every
    iterate, gradient and direction has the form ``(m × n) · Aᵀ``, whatever β is.

    Everything NCG computes is then ``n``-sized: ``D A = Δ K`` (so ``G_t = G + αΔK``);
    ``⟨γAᵀ, ΔAᵀ⟩ = ⟨γ, ΔK⟩``, the same for ``⟨E, D⟩``, ``⟨D, D⟩``; ``||∇φ||² = ⟨γ, γK⟩``
    and ``⟨∇φ⁺, ∇φ⟩ = ⟨γ⁺K, γ⟩``. Same scalars, same Armijo tests, same β, same restarts:
    the iterates are :func:`ncg`'s primal ones in exact arithmetic. Per iteration one
    ``m × n × n`` product (``γK``; ``ΔK`` is updated as ``−γK + βΔK``), against two
    ``m × d × n`` ones in the primal; ``Z = Z^0 + Y Aᵀ`` is formed once at the end.
    """
    xp = namespace(A, T, Z0)
    search = _LineSearch(xp, get_activation(sigma), T, lam, c1, shrink, Z0.dtype)
    loop = _Loop(tol, iters, max_iters, max_backtracks)

    K = A.T @ A  # n × n Gram matrix
    G, R, S, P = search.start(_start(A, C, Z0, G0))
    Y = xp.zeros_like(R)  # E = Z − Z^0 = Y Aᵀ
    g = P  # ∇φ = g Aᵀ (Y = 0)
    gK = g @ K
    gg = _vdot(g, gK)  # ||∇φ||²
    loop.begin(gg)
    D, DK, gD = -g, -gK, -gg  # direction D Aᵀ; its image (D Aᵀ) A = D K
    while loop.go(gg):
        t, G, R, S, P = search(G, R, S, DK, gD, _vdot(Y, DK), _vdot(D, DK))
        Y = Y + t * D
        if not loop.next(search.accepted):
            break
        g_new = P + (1.0 / lam) * Y
        gK_new = g_new @ K  # the one product of an iteration
        gg_new = _vdot(g_new, gK_new)
        b, c, gD = _direction(
            xp, beta, search.accepted, gg_new, gg, gD, _vdot(gK_new, D), gK_new, g
        )
        D, DK = b * D - c * g_new, b * DK - c * gK_new
        g, gg = _keep(xp, beta, search.accepted, g_new, g, gg_new, gg)
    Y, G = Y - search.off * D, G - search.off * DK  # undo a rejected last trial
    Z = Y @ A.T  # Z − Z^0, fresh: add Z^0 in its buffer
    Z += Z0
    return InnerResult(Z, G, loop.n_iter)


def _times_data(D: Any, A: Any) -> Any:
    """``D A``. When ``A`` is one row (the b-subproblem's ``1ᵀ``) it is an outer product,
    computed by broadcasting: the same numbers, where a ``k = 1`` GEMM costs ~15
    elementwise passes (145 µs for ``(500, 1) @ (1, 100)`` in float32 here)."""
    return D * A if A.shape[0] == 1 else D @ A


def _direction(xp, rule, accepted, gg_new, gg, gD, gnew_D, gnew, g):
    """Scalars ``(b, c, ⟨g⁺, D⁺⟩)`` of the next direction ``D⁺ = b·D − c·g⁺``, chosen on
    the device (no host sync):

    - after an accepted step: ``D⁺ = −g⁺ + βD`` (Fletcher–Reeves ``β = ||g⁺||²/||g||²``
      or Polak–Ribière+ ``max(0, ⟨g⁺, g⁺ − g⟩/||g||²)``), whose slope
      ``⟨g⁺, D⁺⟩ = −||g⁺||² + β⟨g⁺, D⟩`` is known before ``D⁺`` is formed; when it is not
      negative (FR with an inexact line search can lose descent) the restart ``D⁺ = −g⁺``;
    - after a rejected trial: ``D⁺ = D``, and the line search goes on backtracking.

    ``gnew_D = ⟨g⁺, D⟩``; for Polak–Ribière+, ``⟨g⁺, g⟩ = vdot(gnew, g)`` (``gnew`` is
    ``g⁺`` or, in the coefficient space, ``g⁺K``). Where ``g = 0`` the ratios are taken as
    0 (a ``tiny`` added to the denominator): nothing moves.
    """
    tiny = float(xp.finfo(gg.dtype).smallest_normal)  # x/(y + tiny) is 0 where x = y = 0
    if rule == "fr":
        b = gg_new / (gg + tiny)
    else:
        b = xp.maximum((gg_new - _vdot(gnew, g)) / (gg + tiny), 0.0 * gg)
    slope = -gg_new + b * gnew_D
    descent = slope < 0
    # accepted & descent: (β, 1); accepted, no descent (restart): (0, 1); rejected: (1, 0)
    b = xp.where(accepted, xp.where(descent, b, 0.0), 1.0)
    slope = xp.where(accepted, xp.where(descent, slope, -gg_new), gD)
    return b, xp.astype(accepted, b.dtype), slope


def _keep(xp, rule, accepted, g_new, g, gg_new, gg):
    """The gradient (array: Polak–Ribière+ only needs it) and its squared norm at the
    accepted iterate: the new ones after an accepted step, the old ones after a rejection."""
    if rule == "pr":  # 1·x + 0·y is x exactly: a blend without NumPy's slow where
        keep = xp.astype(accepted, g.dtype)
        g = keep * g_new + (1.0 - keep) * g
    return g, xp.where(accepted, gg_new, gg)


class _Loop:
    """The host's side of :func:`ncg`'s loop: a fixed number of iterations (no host sync:
    a rejected trial step uses up an iteration), or, with ``tol > 0``, until
    ``||g|| ≤ tol·max(1, ||g_0||)``, ``max_iters`` accepted steps, or ``max_backtracks``
    rejected trials in a row (the arithmetic's resolution is reached) — two host syncs
    per iteration, the stopping rule needs them."""

    def __init__(self, tol, iters, max_iters, max_backtracks):
        self.tol, self.max_backtracks = tol, max_backtracks
        self.n_max = (max_iters or 500) if tol > 0 else iters
        self.n_iter = 0  # accepted steps (tol mode) or iterations run (fixed mode)
        self.fails = 0
        self.stop = None

    def begin(self, gg) -> None:
        if self.tol > 0:
            self.stop = self.tol * self.tol * max(1.0, float(gg))

    def go(self, gg) -> bool:
        """Whether to run another iteration (``gg = ||g||²`` at the accepted iterate)."""
        if self.stop is None:
            return self.n_iter < self.n_max
        return self.n_iter < self.n_max and not bool(gg <= self.stop)

    def next(self, accepted) -> bool:
        """Count the iteration just run; whether the loop needs the next gradient."""
        if self.stop is None:
            self.n_iter += 1
            return self.n_iter < self.n_max
        if bool(accepted):
            self.n_iter, self.fails = self.n_iter + 1, 0
        else:
            self.fails += 1
        return self.fails < self.max_backtracks


def _derivative(sig, G, F):
    """``σ'(G)`` given ``F = σ(G)`` too: from ``F`` where that is how the activation
    computes it anyway (sigmoid ``F(1 − F)``, tanh ``1 − F²``, the same numbers as
    ``sig.df(G)`` without evaluating σ a second time), else ``sig.df(G)``."""
    if sig.f is _act.sigmoid:
        return F * (1.0 - F)
    if sig.f is _act.tanh:
        return 1.0 - F * F
    return sig.df(G)


class _LineSearch:
    """Armijo backtracking along ``Z + αD`` for :func:`ncg`, seen through ``G + α·DA``,
    one trial step per NCG iteration, decided on the device: no host sync (issue 7).

    The trial step along a new direction minimises the local quadratic model,
    ``α = −⟨g, D⟩ / (2||σ'(G) ⊙ (D A)||² + ||D||²/λ)``; after a rejection it is
    ``shrink·α`` along the same ``D`` (backtracking, one trial per iteration). A trial
    passes when Armijo holds for the change of φ computed directly (SPEC §8), or, where
    that change is below φ's rounding level and Armijo cannot tell, when Hager & Zhang's
    approximate Wolfe test on ``φ'(α)`` holds.

    Without the host, the solver cannot choose which arrays to keep; so the iterate always
    moves to the trial point, and a rejected trial is undone by the next one: its step is
    taken from the trial point, ``t = α_new − off`` with ``off`` (:attr:`off`) how far the
    current point lies beyond the last accepted one (0 after an acceptance), and its
    change of φ is measured from the accepted point (``+ pending``). A solver whose last
    trial was rejected steps back by ``off`` at the end. The state: ``accepted`` (0-d
    bool), ``alpha`` (the last trial's step from the accepted point), ``off``, ``pending``
    (``φ(current) − φ(accepted)``), ``phi`` (``φ`` at the accepted point).
    """

    def __init__(self, xp, sig, T, lam, c1, shrink, dtype):
        self.xp, self.sig, self.T, self.lam = xp, sig, T, lam
        self.c1, self.shrink = c1, shrink
        # |Δφ| below ~n·eps·φ: the computed sign of the change says nothing
        self.resolution = 100.0 * float(xp.finfo(dtype).eps) * T.shape[-1]
        self.tiny = float(xp.finfo(dtype).smallest_normal)

    def start(self, G):
        """``(G, R, S, P)`` at ``Z^0``: ``R = σ(G) − T``, ``S = σ'(G)``, ``P = 2S ⊙ R``
        (the fit part of the gradient, before ``Aᵀ``); sets up the state."""
        xp = self.xp
        F = self.sig.f(G)
        R, S = F - self.T, _derivative(self.sig, G, F)
        self.phi = _vdot(R, R)  # φ(Z^0): the fit term alone
        self.alpha = self.off = self.pending = xp.zeros_like(self.phi)
        self.accepted = xp.ones_like(self.phi) > 0
        return G, R, S, (2.0 * S) * R

    def __call__(self, G, R, S, DA, gD, ED, DD):
        """One trial from the current point ``(G, R, S)`` along ``D`` (``DA = D A``) with
        ``gD = ⟨g, D⟩`` at the accepted point, ``ED = ⟨E, D⟩`` and ``DD = ⟨D, D⟩`` at the
        current one. Returns ``(t, G_t, R_t, S_t, P_t)``: the step from the current point
        and the new current point, the trial point."""
        xp, sig, lam = self.xp, self.sig, self.lam
        SDA = S * DA
        # the denominator is 0 only where D = 0, and then gD = 0 too: α = 0
        model = -gD / (2.0 * _vdot(SDA, SDA) + DD / lam + self.tiny)
        alpha = xp.where(self.accepted, model, self.shrink * self.alpha)
        t = alpha - self.off
        G_t = G + t * DA
        F_t = sig.f(G_t)
        R_t = F_t - self.T
        # φ(Z + tD) − φ(Z) as a difference, not as two values; + φ(Z) − φ(accepted)
        change = _vdot(R_t - R, R_t + R) + (2.0 * t * ED + t * t * DD) / (2.0 * lam) + self.pending
        S_t = _derivative(sig, G_t, F_t)
        P_t = (2.0 * S_t) * R_t
        # φ'(α) = ⟨∇φ(Z + tD), D⟩ = ⟨2σ'(G_t) ⊙ R_t, D A⟩ + ⟨E + tD, D⟩/λ, no product
        dphi = _vdot(P_t, DA) + (ED + t * DD) / lam
        armijo = change <= self.c1 * alpha * gD
        # Hager & Zhang (2005): σ φ'(0) ≤ φ'(α) ≤ (2δ − 1) φ'(0), δ = 0.1, σ = 0.9
        wolfe = (dphi >= 0.9 * gD) & (dphi <= -0.8 * gD)
        unresolved = xp.abs(change) <= self.resolution * self.phi
        ok = armijo | (unresolved & wolfe)
        self.phi = xp.where(ok, self.phi + change, self.phi)
        self.pending = xp.where(ok, 0.0, change)
        self.off = xp.where(ok, 0.0, alpha)
        self.alpha, self.accepted = alpha, ok
        return t, G_t, R_t, S_t, P_t


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
    if not tol > 0:
        raise ValueError(f"tol must be > 0 for the exact solver, got {tol!r}")
    return ncg(A, T, Z0, lam, sigma, C=C, G0=G0, beta="pr", tol=tol, max_iters=max_iters)


def soft_threshold(Z: Any, tau: float) -> Any:
    """``sign(Z)·max(|Z| − τ, 0)``: the proximal map of ``τ||·||_1``."""
    xp = namespace(Z)
    return xp.sign(Z) * xp.maximum(xp.abs(Z) - tau, xp.zeros_like(Z))


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
    iters: int = 5,
    tol: float = 0.0,
    max_iters: int | None = None,
    max_backtracks: int = 30,
) -> InnerResult:
    """Proximal gradient for ``φ(Z) + γ||Z||_1`` (Remark 4.1), warm-started at ``Z^0``.

    ``Z⁺ = S_{tγ}(Z − t∇φ(Z))`` with soft-thresholding ``S``; the step ``t`` starts at
    ``λ`` (the proximal term alone has curvature ``1/λ``), doubles after every accepted
    step and halves until the sufficient-decrease test of Beck & Teboulle holds:
    ``φ(Z⁺) ≤ φ(Z) + ⟨∇φ(Z), Z⁺ − Z⟩ + ||Z⁺ − Z||²/(2t)`` (change of φ computed directly).
    A fixed ``iters`` steps, or with ``tol > 0`` until ``||Z⁺ − Z||/t ≤ tol·max(1, first)``.
    """
    _check(lam, iters, tol, max_iters)
    if not gamma >= 0:
        raise ValueError(f"gamma (the l1 weight) must be >= 0, got {gamma!r}")
    xp = namespace(A, T, Z0)
    sig = get_activation(sigma)
    inv2lam = 1.0 / (2.0 * lam)
    n_max = (max_iters or 500) if tol > 0 else iters

    Z = Z0
    E = xp.zeros_like(Z0)
    G = _start(A, C, Z0, G0)
    R = sig.f(G) - T
    t = lam
    stop = None
    k = 0
    while k < n_max:
        g = 2.0 * ((sig.df(G) * R) @ A.T) + E / lam
        accepted = False
        for _ in range(max_backtracks):
            Z_t = soft_threshold(Z - t * g, t * gamma)
            P = Z_t - Z
            G_t = G + P @ A
            R_t = sig.f(G_t) - T
            E_t = E + P
            change = xp.sum((R_t - R) * (R_t + R)) + xp.sum(P * (E_t + E)) * inv2lam
            if bool(change <= xp.sum(g * P) + xp.sum(P * P) / (2.0 * t)):
                accepted = True
                break
            t = 0.5 * t
        if not accepted:
            break
        Z, E, G, R = Z_t, E_t, G_t, R_t
        k += 1
        if tol > 0:
            res = float(xp.sqrt(xp.sum(P * P))) / t  # the prox-gradient mapping's norm
            stop = tol * max(1.0, res) if stop is None else stop
            if res <= stop:
                break
        t = 2.0 * t
    return InnerResult(Z, G, k)


def prox_ridge_bias(R: Any, b0: Any, lam: float) -> Any:
    """Closed form of ``argmin_b ||b 1ᵀ − R||² + ||b − b^0||²/(2λ)``: the b-subproblem of
    (4.1) when σ is the identity, with ``R = F_{i+1}^{k+1/2} − W^{k+1} F_i^k`` of shape
    ``(m, n)``: ``b = (2 Σ_columns R + b^0/λ) / (2n + 1/λ)``."""
    if not lam > 0:
        raise ValueError(f"lam must be > 0, got {lam!r}")
    xp = namespace(R, b0)
    n = R.shape[1]
    return (2.0 * xp.sum(R, axis=1, keepdims=True) + b0 / lam) / (2.0 * n + 1.0 / lam)


def ones_row(F: Any) -> Any:
    """The ``(1, n)`` row of ones that turns the b-subproblem into the generic form."""
    xp = namespace(F)
    return xp.ones((1, F.shape[1]), dtype=F.dtype, device=device_of(F))
