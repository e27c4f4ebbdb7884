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
- :func:`prox_grad`: proximal gradient with soft-thresholding for the ℓ1-regularised
  subproblem of Remark 4.1: monotone FISTA (or ISTA), step ``1/L`` from an estimate of the
  Lipschitz constant (:func:`spectral_norm_sq`), guarded by backtracking.
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
  ``α = −⟨g, D⟩ / (2||σ'(G) ⊙ (D A)||² + ||D||²/λ)``, so one trial per iteration is typical;
- ``G0`` (the forward pass's ``G``) saves the product ``Z^0 A`` at the start.

Each Armijo test is one host synchronisation (``bool`` of a 0-d array).

References: Nocedal & Wright, *Numerical Optimization*, 2nd ed., §5.2 (Fletcher–Reeves,
Polak–Ribière+ with restarts) and §3.1 (Armijo backtracking); Beck & Teboulle (2009) for
proximal gradient with backtracking.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .activations import Activation, get_activation
from .backend import device_of, namespace
from .ridge import _vdot

__all__ = [
    "InnerResult",
    "prox_objective",
    "ncg",
    "exact",
    "prox_grad",
    "spectral_norm_sq",
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
    c1, shrink, max_backtracks : Armijo constant, backtracking factor and limit. When no
        trial step passes, the solver stops at the current point (it never increases φ).
    form : ``"primal"`` runs on ``Z`` itself (``(m, d)``); ``"dual"`` on coefficients,
        ``Z = Z^0 + Y Aᵀ`` with ``Y`` of shape ``(m, n)`` (:func:`_ncg_coefficients`: the
        same iterates, ``n``-sized work); ``"auto"``: the dual when ``n < d``.

    Whenever ``⟨g, D⟩ ≥ 0`` (Fletcher–Reeves with an inexact line search can lose descent)
    the direction restarts at ``−g``.
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
    sig = get_activation(sigma)
    n_max = (max_iters or 500) if tol > 0 else iters
    search = _LineSearch(sig, T, lam, c1, shrink, max_backtracks, Z0.dtype)

    E = xp.zeros_like(Z0)  # E = Z − Z^0; Z = Z^0 + E formed once at the end
    G = _start(A, C, Z0, G0)
    R = sig.f(G) - T  # residual of the fit term
    S = sig.df(G)  # σ'(G), reused by gradient and quadratic model
    g = ((2.0 * S) * R) @ A.T  # ∇φ at Z^0 (E = 0); the 2 scales the (m, n) factor
    gg = _vdot(g, g)
    stop = tol * tol * max(1.0, float(gg)) if tol > 0 else None
    D = -g
    k = 0
    while k < n_max:
        if stop is not None and bool(gg <= stop):
            break
        gD = _vdot(g, D)
        if not bool(gD < 0):  # lost descent (or g = 0): restart
            D = -g
            gD = -gg
            if not bool(gD < 0):
                break  # g = 0: Z is stationary
        DA = _times_data(D, A)  # once per iteration (SPEC §8)
        step = search(G, R, S, DA, gD, _vdot(E, D), _vdot(D, D), lambda E=E: _vdot(E, E))
        if step is None:
            break  # at the resolution of the arithmetic
        alpha, G, R = step
        E = E + alpha * D
        k += 1
        if k == n_max and stop is None:
            break  # the last gradient would only feed a direction never used
        S = sig.df(G)
        g_new = ((2.0 * S) * R) @ A.T + (1.0 / lam) * E
        gg_new = _vdot(g_new, g_new)
        b = _beta(xp, beta, gg_new, _vdot(g_new, g) if beta == "pr" else None, gg)
        D = -g_new + b * D
        g, gg = g_new, gg_new
    return InnerResult(Z0 + E, G, k)


def _ncg_coefficients(
    A, T, Z0, lam, sigma, C, G0, iters, beta, tol, max_iters, c1, shrink, max_backtracks
) -> InnerResult:
    """:func:`ncg` with ``Z − Z^0 = Y Aᵀ``, run on ``Y`` (``(m, n)``) and ``K = AᵀA``.

    Why the iterates stay in ``Z^0 + {Y Aᵀ}`` (Fletcher–Reeves and Polak–Ribière+ alike).
    The gradient is ``∇φ(Z) = 2(σ'(G) ⊙ R)Aᵀ + (Z − Z^0)/λ``. If ``Z − Z^0 = Y Aᵀ`` it is
    ``γ Aᵀ`` with ``γ = 2σ'(G) ⊙ R + Y/λ``. At the start ``Y = 0``; every direction is
    ``−∇φ + β D`` or the restart ``−∇φ`` — a combination of ``(·)Aᵀ`` matrices, so
    ``D = Δ Aᵀ``; and ``Z + αD = Z^0 + (Y + αΔ)Aᵀ``. By induction every iterate,
    gradient and direction has the form ``(m × n) · Aᵀ``, whatever β is.

    Everything NCG computes is then ``n``-sized: ``D A = Δ K`` (so ``G_t = G + αΔK``);
    ``⟨γAᵀ, ΔAᵀ⟩ = ⟨γ, ΔK⟩``, the same for ``⟨E, D⟩``, ``⟨D, D⟩``; ``||∇φ||² = ⟨γ, γK⟩``
    and ``⟨∇φ⁺, ∇φ⟩ = ⟨γ⁺K, γ⟩``. Same scalars, same Armijo tests, same β, same restarts:
    the iterates are :func:`ncg`'s primal ones in exact arithmetic. Per iteration one
    ``m × n × n`` product (``γK``; ``ΔK`` is updated as ``−γK + βΔK``), against two
    ``m × d × n`` ones in the primal; ``Z = Z^0 + Y Aᵀ`` is formed once at the end.
    """
    xp = namespace(A, T, Z0)
    sig = get_activation(sigma)
    n_max = (max_iters or 500) if tol > 0 else iters
    search = _LineSearch(sig, T, lam, c1, shrink, max_backtracks, Z0.dtype)

    K = A.T @ A  # n × n Gram matrix
    G = _start(A, C, Z0, G0)
    G_start = G
    R = sig.f(G) - T
    S = sig.df(G)
    Y = xp.zeros_like(R)  # E = Z − Z^0 = Y Aᵀ
    g = (2.0 * S) * R  # ∇φ = g Aᵀ
    gK = g @ K
    gg = _vdot(g, gK)  # ||∇φ||²
    stop = tol * tol * max(1.0, float(gg)) if tol > 0 else None
    D, DK = -g, -gK  # direction D Aᵀ; its image (D Aᵀ) A = D K
    k = 0
    while k < n_max:
        if stop is not None and bool(gg <= stop):
            break
        gD = _vdot(g, DK)  # ⟨∇φ, D Aᵀ⟩
        if not bool(gD < 0):  # lost descent (or g = 0): restart
            D, DK = -g, -gK
            gD = -gg
            if not bool(gD < 0):
                break
        EE = lambda Y=Y, G=G: _vdot(Y, G - G_start)  # noqa: E731  ||Y Aᵀ||² = ⟨Y, Y K⟩
        step = search(G, R, S, DK, gD, _vdot(Y, DK), _vdot(D, DK), EE)
        if step is None:
            break
        alpha, G, R = step
        Y = Y + alpha * D
        k += 1
        if k == n_max and stop is None:
            break
        S = sig.df(G)
        g_new = (2.0 * S) * R + (1.0 / lam) * Y
        gK_new = g_new @ K  # the one product of an iteration
        gg_new = _vdot(g_new, gK_new)
        b = _beta(xp, beta, gg_new, _vdot(gK_new, g) if beta == "pr" else None, gg)
        D, DK = -g_new + b * D, -gK_new + b * DK
        g, gK, gg = g_new, gK_new, gg_new
    Z = Y @ A.T  # Z − Z^0, fresh: add Z^0 in its buffer
    Z += Z0
    return InnerResult(Z, G, k)


def _times_data(D: Any, A: Any) -> Any:
    """``D A``. When ``A`` is one row (the b-subproblem's ``1ᵀ``) it is an outer product,
    computed by broadcasting: the same numbers, where a ``k = 1`` GEMM costs ~15
    elementwise passes (145 µs for ``(500, 1) @ (1, 100)`` in float32 here)."""
    return D * A if A.shape[0] == 1 else D @ A


def _beta(xp, rule, gg_new, g_new_g, gg):
    """Fletcher–Reeves ``||g⁺||²/||g||²`` or Polak–Ribière+ ``max(0, ⟨g⁺, g⁺ − g⟩/||g||²)``."""
    if rule == "fr":
        return gg_new / gg
    b = (gg_new - g_new_g) / gg
    return xp.where(b > 0, b, xp.zeros_like(b))


class _LineSearch:
    """Armijo backtracking along ``Z + αD`` for :func:`ncg`, seen through ``G + α·DA``.

    Called with the current ``G``, ``R = σ(G) − T``, ``S = σ'(G)``, ``DA = D A``, the
    inner products ``gD = ⟨g, D⟩``, ``ED = ⟨E, D⟩``, ``DD = ⟨D, D⟩`` and a function giving
    ``||E||²`` (needed only near the minimiser); returns ``(α, G_t, R_t)`` or None when no
    trial step passes. The first trial minimises the local quadratic model; the test is
    on the change of φ computed directly (SPEC §8).
    """

    def __init__(self, sig, T, lam, c1, shrink, max_backtracks, dtype):
        self.sig, self.T, self.lam = sig, T, lam
        self.c1, self.shrink, self.max_backtracks = c1, shrink, max_backtracks
        self.eps = float(namespace(T).finfo(dtype).eps)

    def __call__(self, G, R, S, DA, gD, ED, DD, EE):
        sig, T, lam = self.sig, self.T, self.lam
        SDA = S * DA
        alpha = -gD / (2.0 * _vdot(SDA, SDA) + DD / lam)  # minimiser of the local model
        for _ in range(self.max_backtracks):
            G_t = G + alpha * DA
            R_t = sig.f(G_t) - T
            # φ(Z + αD) − φ(Z), computed as a difference, not as two values
            prox_change = (2.0 * alpha * ED + alpha * alpha * DD) / (2.0 * lam)
            change = _vdot(R_t - R, R_t + R) + prox_change
            if bool(change <= self.c1 * alpha * gD):
                return alpha, G_t, R_t
            if _below_resolution(change, R, EE(), lam, self.eps) and _approx_wolfe(
                sig, G_t, R_t, DA, ED + alpha * DD, lam, gD
            ):
                return alpha, G_t, R_t  # Armijo unresolvable in this precision; φ' says descend
            alpha = self.shrink * alpha
        return None


def _below_resolution(change, R, EE, lam, eps) -> bool:
    """True when ``|Δφ|`` is within rounding of φ itself (about ``n·eps·φ``), where the
    sign of the computed change says nothing. Checked only after Armijo has failed;
    ``EE = ||Z − Z^0||²``."""
    xp = namespace(R)
    phi = _vdot(R, R) + EE / (2.0 * lam)
    return bool(xp.abs(change) <= 100.0 * eps * R.shape[1] * phi)


def _approx_wolfe(sig, G_t, R_t, DA, ED_t, lam, gD, delta=0.1, sigma_w=0.9) -> bool:
    """Hager & Zhang (2005)'s approximate Wolfe test on the directional derivative at the
    trial point, ``σ φ'(0) ≤ φ'(α) ≤ (2δ − 1) φ'(0)``: usable where φ's own change is
    below rounding, near the minimiser. ``φ'(α) = ⟨∇φ(Z + αD), D⟩ =
    ⟨2σ'(G_t) ⊙ R_t, D A⟩ + ⟨E + αD, D⟩/λ`` needs no product (``ED_t = ⟨E + αD, D⟩``)."""
    dphi = _vdot((2.0 * sig.df(G_t)) * R_t, DA) + ED_t / lam
    return bool(dphi >= sigma_w * gD) and bool(dphi <= (2.0 * delta - 1.0) * gD)


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


# max |σ'| of the named activations: the fit term's curvature is at most 2·max|σ'|²·||A||₂²
# (plus a σ''·R term that backtracking guards); 1 for any other activation.
_MAX_DSIGMA = {"sigmoid": 0.25}


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
    v = xp.reshape(
        xp.linspace(1.0, 2.0, d if left else n, dtype=A.dtype, device=device_of(A)), (-1, 1)
    )
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

    The smooth part is ``s(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ)``; a step is
    ``z = S_{tγ}(y − t∇s(y))`` with soft-thresholding ``S``.

    Step size: ``t`` starts at ``1/L`` with ``L = 2·max|σ'|²·||A||₂² + 1/λ``, the Lipschitz
    constant of ``∇s`` for the identity (``||A||₂²`` by :func:`spectral_norm_sq`;
    ``max|σ'| = 1/4`` for the sigmoid, 1 otherwise), and only ever halves, until Beck &
    Teboulle's sufficient-decrease test holds:
    ``s(z) ≤ s(y) + ⟨∇s(y), z − y⟩ + ||z − y||²/(2t)`` (the change of ``s`` computed directly,
    as a difference, so the test works in float32).

    Iterations: with ``accelerate`` (default) Beck & Teboulle's *monotone* FISTA (MFISTA,
    IEEE TIP 18(11), 2009, eq. (5.2)): ``x_k`` is the better of ``z_k`` and ``x_{k−1}``,
    ``y_{k+1} = x_k + (θ_k/θ_{k+1})(z_k − x_k) + ((θ_k − 1)/θ_{k+1})(x_k − x_{k−1})``,
    ``θ_{k+1} = (1 + √(1 + 4θ_k²))/2``: the objective ``φ + γ||·||_1`` never increases.
    With ``restart`` (default) a rejected ``z_k`` also drops the momentum (``θ = 1``,
    ``y_{k+1} = x_k``; O'Donoghue & Candès 2015's function restart): on these strongly
    convex subproblems it reached ``tol`` in 2-7 times fewer steps than MFISTA alone, and it
    changes nothing before the first rejected step. Without ``accelerate``, plain ISTA (``y = x``),
    also monotone. ``start`` is only the first iterate: the objective, and so the
    minimiser, are the same whatever it is.

    A step that fails the test only by less than the rounding of the computed change
    (:func:`_rounding`) is accepted, as in :class:`_LineSearch`: otherwise near the
    minimiser (``||z − y|| ~ √eps``) ``t`` would halve for nothing and the solver stall.

    A fixed ``iters`` steps, or with ``tol > 0`` until an accepted step has
    ``||z − y||/t ≤ tol·max(1, first)`` (the prox-gradient mapping). ``G0`` is
    ``start·A + C`` if already known. Returns the last ``x_k``.
    """
    _check(lam, iters, tol, max_iters)
    if not gamma >= 0:
        raise ValueError(f"gamma (the l1 weight) must be >= 0, got {gamma!r}")
    if isinstance(power_iters, bool) or not isinstance(power_iters, int) or power_iters < 1:
        raise ValueError(f"power_iters must be an integer >= 1, got {power_iters!r}")
    xp = namespace(A, T, Z0)
    sig = get_activation(sigma)
    inv2lam = 1.0 / (2.0 * lam)
    n_max = (max_iters or 500) if tol > 0 else iters
    ds = _MAX_DSIGMA.get(sig.name, 1.0)
    eps = float(xp.finfo(Z0.dtype).eps)
    t = 1.0 / (2.0 * ds * ds * float(spectral_norm_sq(A, power_iters)) + 1.0 / lam)

    # x (the best point so far), with E = x − Z^0, G = xA + C, R = σ(G) − T
    X = Z0 if start is None else start
    EX = xp.zeros_like(Z0) if start is None else start - Z0
    GX = _start(A, C, X, G0)
    RX = sig.f(GX) - T
    Xp, EXp, GXp = X, EX, GX  # x_{k−1}
    Y, EY, GY, RY = X, EX, GX, RX  # y_1 = x_0
    y_is_x = True
    theta = 1.0
    stop = None
    k = 0
    while k < n_max:
        g = 2.0 * ((sig.df(GY) * RY) @ A.T) + EY / lam  # ∇s(y)
        accepted = False
        for _ in range(max_backtracks):
            Zt = soft_threshold(Y - t * g, t * gamma)
            P = Zt - Y
            Gt = GY + _times_data(P, A)
            Rt = sig.f(Gt) - T
            Et = EY + P
            change = _vdot(Rt - RY, Rt + RY) + _vdot(P, Et + EY) * inv2lam  # s(z) − s(y)
            model = _vdot(g, P) + _vdot(P, P) / (2.0 * t)
            if bool(change <= model) or bool(
                change - model <= _rounding(Rt, RY, Gt, T, Et, EY, inv2lam, eps)
            ):
                accepted = True  # (or the test is below the rounding of the change)
                break
            t = 0.5 * t
        if not accepted:
            break
        k += 1
        # x_k = the better of z_k and x_{k−1}; from y = x a prox-gradient step that passed
        # the test never increases φ + γ||·||_1 (Beck & Teboulle, Lemma 2.3), no check needed
        take = True
        if not y_is_x:
            dF = _vdot(Rt - RX, Rt + RX) + _vdot(Zt - X, Et + EX) * inv2lam
            if gamma:
                dF = dF + gamma * (xp.sum(xp.abs(Zt)) - xp.sum(xp.abs(X)))
            take = bool(dF <= 0)
        Xp, EXp, GXp = X, EX, GX  # x_{k−1}
        if take:
            X, EX, GX, RX = Zt, Et, Gt, Rt
        if tol > 0 and take:
            res = float(xp.sqrt(_vdot(P, P))) / t  # the prox-gradient mapping's norm
            stop = tol * max(1.0, res) if stop is None else stop
            if res <= stop:
                break
        if k == n_max:
            break  # the next y would never be used
        if not accelerate or (restart and not take):
            # ISTA: y = x. Restart (O'Donoghue & Candès 2015, function scheme): when z_k
            # did not decrease the objective, the momentum is dropped, θ = 1, y = x_k.
            Y, EY, GY, RY = X, EX, GX, RX
            y_is_x, theta = True, 1.0
            continue
        theta_next = 0.5 * (1.0 + (1.0 + 4.0 * theta * theta) ** 0.5)
        if take:  # x_k = z_k: y = z_k + ((θ_k − 1)/θ_{k+1})(z_k − x_{k−1})
            c = (theta - 1.0) / theta_next
            Y, EY, GY = X + c * (X - Xp), EX + c * (EX - EXp), GX + c * (GX - GXp)
        else:  # x_k = x_{k−1}: y = x_k + (θ_k/θ_{k+1})(z_k − x_k)
            a = theta / theta_next
            Y, EY, GY = X + a * (Zt - X), EX + a * (Et - EX), GX + a * (Gt - GX)
        RY = sig.f(GY) - T
        y_is_x = False
        theta = theta_next
    return InnerResult(X, GX, k)


def _rounding(Rt, RY, Gt, T, Et, EY, inv2lam, eps):
    """A bound on the rounding error of the computed change ``s(z) − s(y)``:
    ``R = σ(G) − T`` carries errors of order ``eps·(|G| + |T| + |R|)`` per entry, ``E`` of
    order ``eps·|E|``; by Cauchy–Schwarz the change is off by at most about
    ``eps·(||Rt + RY||·(||Gt|| + ||T|| + ||Rt|| + ||RY||) + ||Et + EY||·||EY||/(2λ))``.
    Near the minimiser the sufficient-decrease margin ``||z − y||²/(2t)`` falls below it
    (at ``||z − y|| ~ √eps``), and a test that cannot be resolved is passed, as in
    :class:`_LineSearch`, instead of shrinking ``t`` for nothing."""
    xp = namespace(Rt)

    def nrm(a):
        return xp.sqrt(_vdot(a, a))

    fit = nrm(Rt + RY) * (nrm(Gt) + nrm(T) + nrm(Rt) + nrm(RY))
    return 16.0 * eps * (fit + nrm(Et + EY) * nrm(EY) * inv2lam)


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
