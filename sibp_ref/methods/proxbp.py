"""Proximal back propagation, ProxBP (§3.2; Frerix, Möllenhoff, Moeller & Cremers, ICLR 2018).

One iteration at ``Θ^k`` on a batch ``(X, Y)``:

1. forward pass (2.1) and ordinary back-propagation (3.1) at ``Θ^k``, giving
   ``∂J/∂G_{i+1}^k = σ'(G_{i+1}^k) ⊙ δ_{i+1}^k`` for every layer;
2. explicit step on the pre-activations, **all from the old weights** (Jacobi):
   ``T_i = G_{i+1}^k − η_k ∂J/∂G_{i+1}^k``;
3. for every layer independently, with ``θ = [W, b]`` and ``Ā = [A(F_i^k); 1ᵀ]`` (``A``
   the layer's lift, :meth:`sibp_ref.layers.Dense.lift`: the identity for a dense layer,
   the patch matrix for a convolution),

   .. math:: θ_i^{k+1} = \\arg\\min_θ \\|θĀ − T_i\\|^2 + \\frac{1}{2λ}\\|θ − θ_i^k\\|^2 ,

   a linear least-squares problem (:mod:`sibp_ref.inner.ridge`): ``solver="exact"`` by
   Cholesky (the ``n × n`` dual form when the batch is smaller than the layer,
   docs/conventions.md §6), ``solver="cg"`` by ``iters`` steps of linear CG
   warm-started at ``θ_i^k`` (run on ``n``-sized coefficients, ``θ = θ_i^k + ZĀᵀ``,
   when ``n ≤ d``: same iterates; :func:`sibp_ref.inner.ridge.prox_ridge_affine`),
   ``solver="cg_proxprop"`` by the published ProxProp code's CG (below). Step 1
   needs only ``∂J/∂G``, not ``∂J/∂W`` (:meth:`sibp_ref.Network.backward_G`).

Closed form and the BP limit. Since ``T_i − θ_i^kĀ = −η ∂J/∂G_{i+1}`` and
``(∂J/∂G_{i+1}) Āᵀ = [∂J/∂W_i, ∂J/∂b_i] =: ∇_θ J`` (3.2), the normal equations
``θ(2ĀĀᵀ + I/λ) = 2T Āᵀ + θ^k/λ`` give

.. math:: θ_i^{k+1} = θ_i^k − η\\, ∇_θ J\\, (ĀĀᵀ + I/(2λ))^{-1},

a gradient step preconditioned on the right by an SPD matrix (so a descent
direction: claim C3 for small η). As ``λ → 0``,
``(ĀĀᵀ + I/(2λ))^{-1} = 2λI − 4λ²ĀĀᵀ + O(λ³)``, so the step is BP's with
learning rate ``2λη``, up to ``O(λ²η)``. As ``λ → ∞`` it is a Gauss–Newton-like
step on the linearised layer.

Relation to the other methods (the paper's Table 1): like BP it propagates ``δ`` by the
chain rule (3.1) and decreases ``J`` for small η; unlike BP its update is an implicit
subproblem, but a linear one (σ is not inside it, unlike BCD and SIBP (4.1)), and all
targets come from ``Θ^k`` (a Jacobi update, where BCD and SIBP are Gauss–Seidel).

The published code (``tfrerix/proxprop``, ProxProp). It minimises
``½||Āθ − z̃||² + 1/(2τ)||θ − θ^k||²`` with ``z̃ = z − ∂J/∂z`` (a unit step on the
pre-activations, ``J`` the mean loss), writes ``θ^k − θ̃`` into the gradient fields, and
lets an outer optimiser apply it; its last layer is a plain ``nn.Linear`` updated by
the ordinary gradient. Doubling its objective gives ours with ``λ = τ/2``, and since
``θ̃ − θ^k`` is linear in the step on ``z``, its outer plain SGD of learning rate ``ℓ``
makes it ``ProxBP(eta=ℓ, lam=τ/2, last_layer="gradient")`` (``last_lr`` defaults to
``eta``, the SGD step of its last layer). Which of its modes (``optimization_mode``) is
which setting, each checked against one recorded step of the published code on four problems
in three (ℓ, τ) cases (``tests/test_proxprop_published.py``, to ``1e-10`` of the step):

- ``prox_exact`` (its direct solve) is ``solver="exact"``;
- ``prox_cgN`` (its own CG, ``N`` iterations; ``prox_cg1`` is its default) is
  ``solver="cg_proxprop", iters=N``: one CG per output unit, the first direction aliased
  with the residual, ``ε = 10⁻⁶`` in both denominators at its unit step (``8η²ε`` and
  ``4η²ε`` in ours) and a relative stopping test (:mod:`sibp_ref.inner.cg_proxprop`).
  It is **not** ``solver="cg"``, textbook CG on the whole matrix, which misses its step
  by 0.8 % to 2.7 times the step's size on those problems.

With momentum or Adam as the outer optimiser there is no exact counterpart here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..backend import namespace
from ..inner.cg_proxprop import cg_proxprop_affine
from ..inner.ridge import prox_ridge_affine
from ..validation import check_choice, check_int, check_per_layer, check_positive
from .base import check_step_inputs
from .schedules import check_schedule, eta_at

__all__ = ["ProxBP", "ProxBPState", "PROXBP_SOLVERS"]

#: How the proximal least-squares problem of a layer is solved.
PROXBP_SOLVERS = ("exact", "cg", "cg_proxprop")
LAST_LAYER = ("prox", "gradient")


class ProxBPState(NamedTuple):
    """``k``, the steps taken (ProxBP keeps nothing else: Jacobi, no momentum)."""

    k: int = 0


class ProxBP:
    """Proximal back propagation.

    Parameters
    ----------
    eta : float
        Step size η of the explicit step on the pre-activations ``G − η ∂J/∂G``.
    schedule : callable, optional
        ``k ↦ η_k`` (:mod:`sibp_ref.methods.schedules`); replaces ``eta`` when given.
    lam : float or sequence of float
        Proximal parameter λ (one value, or one per layer); the proximal term is
        ``||θ − θ^k||²/(2λ)``. Published ProxProp's ``τ_θ`` is ``2λ``.
    solver : {"exact", "cg", "cg_proxprop"}
        Cholesky of the normal (or dual) matrix; ``iters`` steps of linear CG
        warm-started at ``θ^k`` (the paper's experiments: 5); or at most ``iters`` steps
        of the published ProxProp code's CG (:mod:`sibp_ref.inner.cg_proxprop`), which
        is its ``prox_cgN`` mode with ``N = iters`` (module docstring).
    iters : int
        CG iterations (``solver="cg"`` and ``"cg_proxprop"``).
    last_layer : {"prox", "gradient"}
        ``"gradient"`` updates the last layer by ``θ − last_lr ∇_θ J``, as the published
        ProxProp code does.
    last_lr : float, optional
        Step of that gradient update; default ``η_k``, as in ProxProp with an outer
        plain SGD of learning rate ``eta`` (module docstring).
    """

    name = "proxbp"
    full_batch = False
    required_loss = None

    def __init__(
        self,
        eta: float = 1.0,
        lam: float | Any = 0.5,
        *,
        solver: str = "exact",
        iters: int = 5,
        last_layer: str = "prox",
        last_lr: float | None = None,
        schedule: Callable[[int], float] | None = None,
    ) -> None:
        self.eta = check_positive("eta", eta)
        self.lam = _lam_values(lam)
        self.solver = check_choice("solver", solver, PROXBP_SOLVERS)
        self.iters = check_int("iters", iters, 1)
        self.last_layer = check_choice("last_layer", last_layer, LAST_LAYER)
        self._last_lr = None if last_lr is None else check_positive("last_lr", last_lr)
        self.schedule = check_schedule(schedule)

    @property
    def last_lr(self) -> float:
        """The step of the last layer's gradient update (``eta`` unless given)."""
        return self.eta if self._last_lr is None else self._last_lr

    def __repr__(self) -> str:
        return (
            f"ProxBP(eta={self.eta}, lam={self.lam}, solver={self.solver!r}, "
            f"iters={self.iters}, last_layer={self.last_layer!r}, last_lr={self.last_lr})"
        )

    def init(self, net, params) -> ProxBPState:
        net.check_params(params)
        check_per_layer("lam", self.lam, net.num_layers)
        return ProxBPState(k=0)

    def step(self, net, params, state: ProxBPState, X, Y, *, check: bool = True):
        """One ProxBP step on the batch ``(X, Y)``; returns ``(Θ^{k+1}, state)``.

        ``state=None`` is a fresh state (``k = 0``): ProxBP keeps nothing but the count.
        """
        check_step_inputs(net, params, X, Y, check=check)
        L = net.num_layers
        lams = check_per_layer("lam", self.lam, L)
        k = 0 if state is None else state.k
        eta = eta_at(self.eta, self.schedule, k)
        last_lr = eta if self._last_lr is None else self._last_lr
        G, F = net.forward(params, X, check=False)  # (2.1) at Θ^k
        dJdG, _ = net.backward_G(params, G, F, Y)  # (3.1) at Θ^k: ∂J/∂G_{i+1}^k
        new = []
        for i, (W, b) in enumerate(params):
            A = net.layer(i).lift(F[i])  # A(F_i^k), the matrix W acts on
            if i == L - 1 and self.last_layer == "gradient":  # ProxProp's last layer
                new.append(_gradient_step(W, b, A, dJdG[i], last_lr))
                continue
            # T_i = G_{i+1}^k − η ∂J/∂G_{i+1}^k (explicit step on G, old weights: Jacobi);
            # θ_i^{k+1} = argmin ||θĀ − T_i||² + ||θ − θ_i^k||²/(2λ), given T_i − θ_i^kĀ
            R = -eta * dJdG[i]  # T_i − θ_i^k Ā, since θ_i^k Ā = G_{i+1}^k
            new.append(self._layer(W, b, A, R, lams[i], eta))
        return new, ProxBPState(k=k + 1)

    def _layer(self, W, b, A, R, lam, eta):
        """``argmin ||θĀ − T||² + ||θ − θ^k||²/(2λ)`` with ``θ = [W, b]``, ``Ā = [A; 1ᵀ]``,
        ``T = θ^kĀ + R`` (:func:`~sibp_ref.inner.ridge.prox_ridge_affine`: exact or CG from
        θ^k; :func:`~sibp_ref.inner.cg_proxprop.cg_proxprop_affine`: ProxProp's CG, whose ε
        is scaled by the η that made ``R``)."""
        if self.solver == "cg_proxprop":
            return cg_proxprop_affine(A, R, W, b, lam, self.iters, eta=eta)
        return prox_ridge_affine(A, R, W, b, lam, solver=self.solver, iters=self.iters)


def _gradient_step(W, b, A, dJdG, lr):
    """``θ − lr ∇_θ J`` with ``∇_W J = (∂J/∂G) Aᵀ``, ``∇_b J = Σ_columns ∂J/∂G`` (3.2)."""
    dW = dJdG @ A.T
    if b is None:
        return (W - lr * dW, None)
    db = namespace(dJdG).sum(dJdG, axis=1, keepdims=True)
    return (W - lr * dW, b - lr * db)


def _lam_values(lam: Any) -> float | list[float]:
    """One λ > 0, or one per layer (the length is checked against the net in ``init``)."""
    if isinstance(lam, (list, tuple)):
        return [check_positive(f"lam[{i}]", v) for i, v in enumerate(lam)]
    return check_positive("lam", lam)
