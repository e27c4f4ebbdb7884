"""Semi-implicit back propagation (§4.1, Algorithm 1).

One iteration at ``Θ^k`` on a batch ``(X, Y)``:

1. forward pass (2.1), keeping ``G_i^k`` and ``F_i^k``;
2. ``δ_N = ∂J/∂F_N``, ``F_N^{k+½} = F_N^k − η δ_N`` (explicit step on the output);
3. for ``i = N−1, …, 1``: ``(W_i^{k+1}, b_i^{k+1})`` solve (4.1),

   .. math:: W_i^{k+1} = \\arg\\min_W \\|σ(W F_i^k + b_i^k) − F_{i+1}^{k+½}\\|^2
             + \\frac{1}{2λ_i}\\|W − W_i^k\\|^2 ,

   then ``b_i^{k+1}`` with ``W_i^{k+1}`` fixed (:func:`sibp_ref.inner.layer.solve_layer`);
   and if ``i > 1``, (4.2): ``δ_i = (W_i^{k+1})ᵀ (σ'(G_{i+1}^k) ⊙ δ_{i+1})`` — the *new*
   weights and the *old* pre-activations — and ``F_i^{k+½} = F_i^k − η δ_i``.

Convolutional networks (Remark 5.1). A layer ``G = W A(F) + b`` with a lift ``A`` (a
convolution's patch matrix, :class:`sibp_ref.layers.Conv2d`) is updated by (4.1) on
``A(F_i^k)``, in ``G``'s matrix form; its ``δ_i`` is ``A*((W_i^{k+1})ᵀ(σ'(G_{i+1}^k) ⊙
δ'))``. Parameter-free layers after it (pooling, flattening) are not solved for: the
target of (4.1) is at ``σ(G_{i+1}^k)``, before them,

.. math:: σ(W A(F_i^k) + b) ≈ σ(G_{i+1}^k) − η\\, δ', \\qquad
          δ' = P^*(δ_{i+1}),

with ``P^*`` their vector–Jacobian product (pooling passes the error back by its
gradient); without such layers ``σ(G_{i+1}^k) = F_{i+1}^k`` and ``δ' = δ_{i+1}``.

Inner solvers (:mod:`sibp_ref.inner`): identity layers (the last one) by closed-form
ridge; nonlinear layers by ``solver``: ``"ncg"`` (Fletcher–Reeves + Armijo, ``iters``
iterations, the authors' choice; in the ``n``-sized coefficient space when the batch is
smaller than the layer input, docs/conventions.md §6), ``"ncg_pr"`` (Polak–Ribière+),
``"exact"`` (to ``tol``), ``"prox_grad"``; ``"ncg_authors"`` is the published code's solver
with its quirks, on every layer (docs/conventions.md §5). With an ℓ1 weight ``l1 = γ > 0``
(Remark 4.1) every subproblem is solved by proximal gradient with soft-thresholding.

Scale of η and λ (docs/conventions.md §2 and §4): with ``J`` a mean over the batch, the
fit term of (4.1) a plain sum and the prox term ``1/(2λ)``, a small SIBP step moves ``W``
by about ``−2λη ∇_W J``, whatever the batch size. The authors' MATLAB code takes
``δ_N = softmax − Y`` summed over the batch and the prox term ``λ_c ||W − W_old||²``; the
same iteration in our symbols is

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

from ..inner.layer import LAYER_SOLVERS, solve_layer
from ..validation import check_int, check_nonnegative, check_positive
from .base import check_step_inputs
from .schedules import check_schedule, eta_at

__all__ = ["SIBP", "SIBPLayerTrace", "SIBPState"]


class SIBPState(NamedTuple):
    """``k``: the number of SIBP iterations taken (the index of η_k in a schedule)."""

    k: int


class SIBPLayerTrace(NamedTuple):
    """One layer of an SIBP step, as :meth:`SIBP.step` computed it (``trace=[]``).

    ``layer`` is the Python index ℓ: ``params[ℓ]`` is the paper's ``(W_i, b_i)`` with
    ``i = ℓ + 1``, and ``G[ℓ + 1]``, ``F[ℓ + 1]`` are its ``G_{i+1}``, ``F_{i+1}``. The
    arrays are the step's own (no copies), in ``G``'s matrix form (a dense layer's is
    ``F``'s own shape, features × samples).
    """

    #: ℓ: the layer's index in ``params`` (the paper's ``i = ℓ + 1``)
    layer: int
    #: ``δ_{i+1}^k`` at ``σ(G_{i+1}^k)``: ``δ_N = ∂J/∂F_N`` for the last layer, else (4.2)
    #: with the layer above's new weights, ``(W_{i+1}^{k+1})ᵀ(σ'(G_{i+2}^k) ⊙ δ_{i+2}^k)``
    delta: Any
    #: the target of (4.1), ``F_{i+1}^{k+½} = F_{i+1}^k − η δ_{i+1}^k`` (``σ(G_{i+1}^k) − η δ'``
    #: before a block's pooling, Remark 5.1)
    target: Any
    #: ``G_{i+1}^k``, the old pre-activations that (4.1) starts from and (4.2) uses
    G: Any
    #: ``W_i^{k+1}``: the W-half of (4.1), with ``b_i^k`` fixed
    W: Any
    #: ``b_i^{k+1}``: the b-half of (4.1), with ``W_i^{k+1}`` fixed (None without a bias)
    b: Any


class SIBP:
    """Semi-implicit back propagation, Algorithm 1.

    Parameters
    ----------
    eta : float
        η, the explicit step on the neurons ``F`` (used when ``schedule`` is None).
    lam : float or sequence of float
        λ_i of (4.1) for W: one value or one per layer.
    lam_b : float or sequence of float, optional
        λ for the b-subproblem (one value or one per layer); defaults to ``lam``.
    solver : str
        One of :attr:`solvers`: ``"ncg"``, ``"ncg_pr"``, ``"exact"`` or ``"prox_grad"`` for
        the nonlinear layers (the linear last layer by its closed form), or
        ``"ncg_authors"`` for every layer (docs/conventions.md §5).
    iters : int
        Inner iterations of the iterative solvers (the paper: 5).
    l1 : float
        γ ≥ 0 of Remark 4.1 (``γ||W||_1 + γ||b||_1`` added to (4.1)).
    schedule : callable, optional
        A step-size schedule ``k ↦ η_k`` (see :mod:`sibp_ref.methods.schedules`).
    tol, max_iters : float, int
        Stopping rule of ``solver="exact"``.
    """

    name = "sibp"
    full_batch = False  # mini-batches are Remark 4.2's setting
    required_loss = None  # any loss with a gradient δ_N
    solvers = LAYER_SOLVERS

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
        if solver not in self.solvers:
            raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(self.solvers)}")
        self.solver = solver
        self.iters = check_int("iters", iters, minimum=1)
        self.l1 = check_nonnegative("l1", l1)
        if solver == "ncg_authors" and self.l1:
            raise ValueError(f"solver='ncg_authors' has no l1 term; got l1={l1!r} (use l1=0)")
        self.schedule = check_schedule(schedule)
        self.tol = check_positive("tol", tol)
        self.max_iters = check_int("max_iters", max_iters, minimum=1)

    def __repr__(self) -> str:
        return (
            f"SIBP(eta={self.eta}, lam={self.lam}, lam_b={self.lam_b}, "
            f"solver={self.solver!r}, iters={self.iters}, l1={self.l1}, "
            f"schedule={self.schedule!r})"
        )

    # ----------------------------------------------------------------- interface
    def init(self, net: Any, params: list) -> SIBPState:
        """The state before the first step; checks ``params`` against ``net`` and that a
        per-layer λ has one entry per layer (the values were checked when the method was
        made)."""
        net.check_params(params)
        for name, value in (("lam", self.lam), ("lam_b", self.lam_b)):
            if isinstance(value, list) and len(value) != net.num_layers:
                raise ValueError(
                    f"{name} has {len(value)} entries but the network has {net.num_layers} "
                    "layers; give one value per layer or a single number"
                )
        return SIBPState(k=0)

    def eta_at(self, k: int) -> float:
        """η_k: the schedule's value at iteration k, or the constant η."""
        return eta_at(self.eta, self.schedule, k)

    def step(self, net: Any, params: list, state: SIBPState, X: Any, Y: Any, *, check=True,
             trace: list | None = None):  # fmt: skip
        """One iteration of Algorithm 1 on the batch ``(X, Y)``; returns ``(Θ^{k+1}, state)``.

        ``check=False`` skips the input checks (the training loop checks its data once).
        The settings are not checked again: ``__init__`` checked them, ``init`` their length.

        ``trace``: a list that receives the step's intermediates, one :class:`SIBPLayerTrace`
        per layer in the order of the sweep (the paper's ``i = N−1, …, 1``, the last layer
        first): the error ``δ_{i+1}`` of (4.2), the target ``F_{i+1}^{k+½} = F_{i+1}^k − η
        δ_{i+1}``, ``G_{i+1}^k`` and the new ``(W_i, b_i)`` of (4.1). The step is the same
        with or without it (the entries hold the step's arrays, not copies)."""
        check_step_inputs(net, params, X, Y, check=check)
        _check_trace(trace)
        eta = self.eta_at(state.k)
        lam, lam_b = _per_layer(self.lam, net.num_layers), _per_layer(self.lam_b, net.num_layers)
        inner = dict(solver=self.solver, iters=self.iters, l1=self.l1)  # solve_layer's options
        inner.update(tol=self.tol, max_iters=self.max_iters)
        N1 = net.num_layers  # N − 1 weight layers

        G, F = net.forward(params, X, check=False)  # (2.1): G_i^k, F_i^k
        delta = net.loss_fn.grad(F[N1], Y)  # δ_N = ∂J/∂F_N
        new = [None] * N1
        # params[i] is the paper's (W_{i+1}, b_{i+1}), F[i] its F_{i+1}: paper's i = N−1, …, 1
        for i in range(N1 - 1, -1, -1):
            W, b = params[i]
            # the target at σ(G_{i+1}^k), before the block's pooling (Remark 5.1): the error
            # goes back through the parameter-free layers by their gradient; without them
            # this is F_{i+1}^{k+½} = F_{i+1}^k − η δ_{i+1}
            S = net.sigma_at(i, G[i + 1], F[i + 1])  # σ(G_{i+1}^k), matrix form
            d = net.error_at_sigma(i, G[i + 1], delta, S)  # δ_{i+1} at σ(G_{i+1}^k)
            T = S - eta * d
            AF = net.layer(i).lift(F[i])  # A(F_i^k): F_i^k itself for a dense layer
            # (4.1): W with b_i^k fixed, then b with W_i^{k+1} fixed
            new[i] = solve_layer(net.activation_of(i), AF, W, b, T, G[i + 1], lam[i], lam_b[i],
                                 **inner)  # fmt: skip
            if trace is not None:  # the intermediates of this layer, as computed
                trace.append(SIBPLayerTrace(i, d, T, G[i + 1], *new[i]))
            if i > 0:  # not the first layer (F_1 = X is never changed)
                # (4.2): δ_i = A*((W_i^{k+1})ᵀ (σ'(G_{i+1}^k) ⊙ d)), new W, old G
                _, delta = net.backward_from_sigma(i, new[i][0], G[i + 1], d)
        return new, SIBPState(k=state.k + 1)


def _check_trace(trace: Any) -> None:
    """``trace`` is None or a list, which the step appends its :class:`SIBPLayerTrace` to."""
    if trace is not None and not isinstance(trace, list):
        raise TypeError(f"trace must be a list (or None), got {type(trace).__name__}")


def _per_layer(value: float | list[float], num_layers: int) -> list[float]:
    """λ_i for every layer: a checked list as it is, one checked number repeated."""
    return value if isinstance(value, list) else [value] * num_layers


def _lam_values(name: str, value: Any) -> float | list[float]:
    """One λ > 0, or a list of them, one per layer (its length is checked against the net
    in ``init``); anything else is refused by :func:`~sibp_ref.validation.check_positive`
    with a message naming ``name``."""
    if hasattr(value, "shape") and len(value.shape) == 1:  # a 1-d array: one per layer
        value = [value[i] for i in range(value.shape[0])]
    if not isinstance(value, (list, tuple)):
        return check_positive(name, value)
    if not value:
        raise ValueError(f"{name} is an empty list; give one number, or one per layer")
    return [check_positive(f"{name}[{i}]", v) for i, v in enumerate(value)]
