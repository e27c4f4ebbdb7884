"""Semi-implicit back propagation (§4.1, Algorithm 1).

One iteration at ``Θ^k`` on a batch ``(X, Y)`` (SPEC §5):

1. forward pass (2.1), keeping ``G_i^k`` and ``F_i^k``;
2. ``δ_N = ∂J/∂F_N``, ``F_N^{k+½} = F_N^k − η δ_N`` (explicit step on the output);
3. for ``i = N−1, …, 1``: ``W_i^{k+1}`` solves (4.1) with ``b_i^k`` fixed, then
   ``b_i^{k+1}`` solves (4.1) with ``W_i^{k+1}`` fixed,

   .. math:: W_i^{k+1} = \\arg\\min_W \\|σ(W F_i^k + b_i^k) − F_{i+1}^{k+½}\\|^2
             + \\frac{1}{2λ_i}\\|W − W_i^k\\|^2 ;

   and if ``i > 1``, (4.2): ``δ_i = (W_i^{k+1})ᵀ (σ'(G_{i+1}^k) ⊙ δ_{i+1})`` — the *new*
   weights and the *old* pre-activations — and ``F_i^{k+½} = F_i^k − η δ_i``.

Inner solvers (:mod:`sibp_ref.solvers`): the last layer (σ = identity) and any other
identity layer by closed-form ridge (:func:`sibp_ref.ridge.prox_ridge`, then
:func:`~sibp_ref.solvers.prox_ridge_bias`); nonlinear layers by ``solver``:
``"ncg"`` (Fletcher–Reeves + Armijo, ``iters`` iterations, the authors' choice; run in
the ``n``-sized coefficient space when the batch is smaller than the layer input,
same iterates, SPEC §8),
``"ncg_pr"`` (Polak–Ribière+), ``"exact"`` (to ``tol``), ``"prox_grad"``. With an ℓ1
weight ``l1 = γ > 0`` (Remark 4.1) every subproblem is solved by proximal gradient with
soft-thresholding (monotone FISTA, step from a Lipschitz estimate), to ``tol`` when
``solver="exact"``; nonlinear layers start from ``W^k``, identity layers from their
ℓ1-free ridge solution (same objective, a better first iterate: γ → 0 gives the ridge step).

Scale of η and λ. With SPEC §1's conventions (``J`` a mean over the batch, the fit
term of (4.1) a plain sum, the prox term ``1/(2λ)``), a small SIBP step moves ``W`` by
about ``−2λη ∇_W J``, whatever the batch size. The authors' MATLAB code takes
``δ_N = softmax − Y`` summed over the batch (no ``1/n``) and the prox term
``λ_c ||W − W_old||²``; the same iteration in our symbols is

.. math:: η = n\\,η_c,\\qquad λ = 1/(2λ_c),

so their ``η_c = 0.1, λ_c = 1`` with batches of 100 is ``SIBP(eta=10, lam=0.5)`` here
(the defaults).

Choices the paper leaves open, made here: the bias has its own λ (``lam_b``, default
``lam``) as the authors' code allows; the same ℓ1 weight γ on W and b; Armijo constant
1e-4 with halving; NCG restarts at ``−g`` when its direction is not a descent direction;
the step size of mini-batch SIBP is ``schedule(k)`` with ``k`` counting calls to
:meth:`SIBP.step`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from . import solvers
from .base import check_int, check_nonnegative, check_positive, per_layer
from .ridge import prox_ridge

__all__ = ["SIBP", "SIBPState", "SOLVERS"]

SOLVERS = ("ncg", "ncg_pr", "exact", "prox_grad")


class SIBPState(NamedTuple):
    """``k``: the number of SIBP iterations taken (the index of η_k in a schedule)."""

    k: int


class SIBP:
    """Semi-implicit back propagation, Algorithm 1.

    Parameters
    ----------
    eta : η, the explicit step on the neurons ``F`` (used when ``schedule`` is None).
    lam : λ_i of (4.1) for W: one value or one per layer.
    lam_b : λ for the b-subproblem (one value or one per layer); defaults to ``lam``.
    solver : ``"ncg"`` | ``"ncg_pr"`` | ``"exact"`` | ``"prox_grad"`` for nonlinear layers.
    iters : inner iterations of ``ncg``/``ncg_pr``/``prox_grad`` (the paper: 5).
    l1 : γ ≥ 0 of Remark 4.1 (``γ||W||_1 + γ||b||_1`` added to (4.1)).
    schedule : None, or a callable ``k ↦ η_k`` (see :mod:`sibp_ref.schedules`).
    tol, max_iters : stopping rule of ``solver="exact"``.
    """

    name = "sibp"

    def __init__(
        self,
        eta: float = 10.0,
        lam: float | Sequence[float] = 0.5,
        *,
        lam_b: float | Sequence[float] | None = None,
        solver: str = "ncg",
        iters: int = 5,
        l1: float = 0.0,
        schedule: Callable[[int], float] | None = None,
        tol: float = 1e-10,
        max_iters: int = 500,
    ) -> None:
        self.eta = check_positive("eta", eta)
        self.lam = _lam_values("lam", lam)
        self.lam_b = self.lam if lam_b is None else _lam_values("lam_b", lam_b)
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
        self.solver = solver
        self.iters = check_int("iters", iters)
        self.l1 = check_nonnegative("l1", l1)
        if schedule is not None and not callable(schedule):
            raise TypeError(f"schedule must be None or a callable k -> eta_k, got {schedule!r}")
        self.schedule = schedule
        self.tol = check_positive("tol", tol)
        self.max_iters = check_int("max_iters", max_iters)

    def __repr__(self) -> str:
        return (
            f"SIBP(eta={self.eta}, lam={self.lam}, lam_b={self.lam_b}, "
            f"solver={self.solver!r}, iters={self.iters}, l1={self.l1}, "
            f"schedule={self.schedule!r})"
        )

    # ----------------------------------------------------------------- interface
    def init(self, net: Any, params: list) -> SIBPState:
        net.check_params(params)
        per_layer("lam", self.lam, net.num_layers)  # a per-layer list must fit the net
        per_layer("lam_b", self.lam_b, net.num_layers)
        return SIBPState(k=0)

    def eta_at(self, k: int) -> float:
        """η_k: the schedule's value at iteration k, or the constant η."""
        if self.schedule is None:
            return self.eta
        return check_positive(f"schedule({k})", self.schedule(k))

    def step(self, net: Any, params: list, state: SIBPState, X: Any, Y: Any):
        """One iteration of Algorithm 1 on the batch ``(X, Y)``; returns ``(Θ^{k+1}, state)``."""
        net.check_batch(X, Y, finite=False)
        eta = self.eta_at(state.k)
        lam = per_layer("lam", self.lam, net.num_layers)
        lam_b = per_layer("lam_b", self.lam_b, net.num_layers)
        N1 = net.num_layers  # N − 1 weight layers

        G, F = net.forward(params, X, check=False)  # (2.1): G_i^k, F_i^k
        delta = net.loss_fn.grad(F[N1], Y)  # δ_N = ∂J/∂F_N
        F_half = F[N1] - eta * delta  # F_N^{k+½} = F_N^k − η δ_N
        new = [None] * N1
        # params[i] is the paper's (W_{i+1}, b_{i+1}), F[i] its F_{i+1}: paper's i = N−1, …, 1
        for i in range(N1 - 1, -1, -1):
            W, b = params[i]
            sigma = net.activation_of(i)
            # (4.1), W-subproblem with b_i^k fixed, then b-subproblem with W_i^{k+1} fixed
            W_new, G_W = self._solve_W(sigma, F[i], b, F_half, W, G[i + 1], lam[i])
            b_new = None if b is None else self._solve_b(sigma, G_W, b, F_half, lam_b[i])
            new[i] = (W_new, b_new)
            if i > 0:  # not the first layer (F_1 = X is never changed)
                # (4.2): δ_i = (W_i^{k+1})ᵀ (σ'(G_{i+1}^k) ⊙ δ_{i+1}); F_i^{k+½} = F_i^k − η δ_i
                delta = W_new.T @ (sigma.df(G[i + 1]) * delta)
                F_half = F[i] - eta * delta
        return new, SIBPState(k=state.k + 1)

    # ------------------------------------------------------------ subproblems
    def _solve_W(self, sigma, F_i, b, T, W, G_old, lam):
        """``argmin_W ||σ(W F_i + b) − T||² + ||W − W^k||²/(2λ) [+ γ||W||_1]``; returns
        ``(W^{k+1}, W^{k+1} F_i + b)`` (the second is reused by the b-subproblem)."""
        if sigma.name == "identity":  # ridge regression, closed form
            T_W = T if b is None else T - b
            G0 = G_old if b is None else G_old - b
            W_new = prox_ridge(F_i, T_W, W, lam, theta0_A=G0)
            G_W = W_new @ F_i
            G_W = G_W if b is None else G_W + b
            if not self.l1:
                return W_new, G_W
            # with ℓ1 (a lasso): prox-grad started from the ridge solution (see _inner)
            r = self._inner(F_i, T, W, lam, sigma, C=b, G0=G_W, start=W_new)
            return r.x, r.G
        r = self._inner(F_i, T, W, lam, sigma, C=b, G0=G_old)
        return r.x, r.G

    def _solve_b(self, sigma, G_W, b, T, lam):
        """``argmin_b ||σ(W^{k+1} F_i + b) − T||² + ||b − b^k||²/(2λ_b) [+ γ||b||_1]``, with
        ``G_W = W^{k+1} F_i + b^k``."""
        WF = G_W - b
        if sigma.name == "identity":
            b_new = solvers.prox_ridge_bias(T - WF, b, lam)
            if not self.l1:
                return b_new
            ones = solvers.ones_row(G_W)
            return self._inner(ones, T, b, lam, sigma, C=WF, G0=WF + b_new, start=b_new).x
        return self._inner(solvers.ones_row(G_W), T, b, lam, sigma, C=WF, G0=G_W).x

    def _inner(self, A, T, Z0, lam, sigma, *, C, G0, start=None):
        """The configured solver on ``||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ) [+ γ||Z||_1]``.

        With ``γ > 0``: :func:`~sibp_ref.solvers.prox_grad` (``iters`` steps, or to ``tol``
        when ``solver="exact"``). For identity layers ``start`` is the ℓ1-free (ridge)
        minimiser: the objective is unchanged (still (4.1) + γ||Z||_1, the prox centre still
        ``Z^0``), only the first iterate moves, from ``Z^0`` to a point whose distance to the
        ℓ1 solution is at most ``λγ√(#entries)`` (the two minimisers of a ``1/λ``-strongly
        convex smooth part with and without ``γ||·||_1`` differ by ``≤ λ·||γ ∂||Z||_1||``), so
        a small γ gives (almost) the ridge answer after a few steps, where ``iters`` steps
        from ``Z^0`` of a problem with condition number ``2λ||F||₂² + 1`` do not come close.
        (For the b-subproblem one step from there is exact: its curvature ``2n + 1/λ`` is
        the ``L`` of the step.) Nonlinear layers start at ``G0``'s ``Z^0``.
        """
        exact = self.solver == "exact"
        if self.l1 or self.solver == "prox_grad":
            return solvers.prox_grad(
                A,
                T,
                Z0,
                lam,
                sigma,
                self.l1,
                C=C,
                G0=G0,
                start=start,
                iters=self.iters,
                tol=self.tol if exact else 0.0,
                max_iters=self.max_iters,
            )
        if exact:
            return solvers.exact(
                A, T, Z0, lam, sigma, C=C, G0=G0, tol=self.tol, max_iters=self.max_iters
            )
        beta = "pr" if self.solver == "ncg_pr" else "fr"
        return solvers.ncg(A, T, Z0, lam, sigma, C=C, G0=G0, iters=self.iters, beta=beta)


def _lam_values(name: str, value: Any) -> float | list[float]:
    """One λ > 0, or a list of them (its length is checked against the net in ``init``)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return check_positive(name, value)
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a number or a sequence of numbers, got {value!r}")
    vals = [check_positive(f"{name}[{i}]", v) for i, v in enumerate(value)]
    if not vals:
        raise ValueError(f"{name} is an empty list")
    return vals
