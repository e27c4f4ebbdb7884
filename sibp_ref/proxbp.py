"""Proximal back propagation, ProxBP (§3.2; Frerix, Möllenhoff, Moeller & Cremers, ICLR 2018).

One iteration at ``Θ^k`` on a batch ``(X, Y)``:

1. forward pass (2.1) and ordinary back-propagation (3.1) at ``Θ^k``, giving
   ``∂J/∂G_{i+1}^k = σ'(G_{i+1}^k) ⊙ δ_{i+1}^k`` for every layer;
2. explicit step on the pre-activations, **all from the old weights** (Jacobi):
   ``T_i = G_{i+1}^k − η ∂J/∂G_{i+1}^k``;
3. for every layer independently, with ``θ = [W, b]`` and ``Ā = [F_i^k; 1ᵀ]``,

   .. math:: θ_i^{k+1} = \\arg\\min_θ \\|θĀ − T_i\\|^2 + \\frac{1}{2λ}\\|θ − θ_i^k\\|^2 ,

   a linear least-squares problem (:mod:`sibp_ref.ridge`): ``solver="exact"`` by
   Cholesky (the ``n × n`` dual form when the batch is smaller than the layer,
   SPEC §8), ``solver="cg"`` by ``iters`` steps of linear CG warm-started at ``θ_i^k``
   (run on ``n``-sized coefficients, ``θ = θ_i^k + ZĀᵀ``, when ``n ≤ d``: same iterates;
   :func:`sibp_ref.ridge.prox_ridge_affine`). Step 1 needs only ``∂J/∂G``, not ``∂J/∂W``
   (:meth:`sibp_ref.MLP.backward_G`).

Closed form and the BP limit. Since ``T_i − θ_i^kĀ = −η ∂J/∂G_{i+1}`` and
``(∂J/∂G_{i+1}) Āᵀ = [∂J/∂W_i, ∂J/∂b_i] =: ∇_θ J`` (3.2), the normal equations
``θ(2ĀĀᵀ + I/λ) = 2T Āᵀ + θ^k/λ`` give

.. math:: θ_i^{k+1} = θ_i^k − η\\, ∇_θ J\\, (ĀĀᵀ + I/(2λ))^{-1},

a gradient step preconditioned on the right by an SPD matrix (so a descent
direction: claim C3 for small η). As ``λ → 0``,
``(ĀĀᵀ + I/(2λ))^{-1} = 2λI − 4λ²ĀĀᵀ + O(λ³)``, so the step is BP's with
learning rate ``2λη``, up to ``O(λ²η)``. As ``λ → ∞`` it is a Gauss–Newton-like
step on the linearised layer.

The four methods side by side (the paper's Table 1, with the update each makes):

- BP (§3.1): ``θ^{k+1} = θ^k − η ∇_θJ(Θ^k)``; explicit; δ by (3.1) with ``W^k``.
- ProxBP (here): ``θ^{k+1} = argmin ||θĀ − (G − η∂J/∂G)||² + ||θ − θ^k||²/(2λ)``;
  implicit but linear (σ not inside); all targets from ``Θ^k`` (Jacobi).
- BCD (§3.3, :mod:`sibp_ref.bcd`): exact block minimisation of a penalty merit function
  in auxiliary ``U, V`` and ``(W, b)``, top-down (Gauss–Seidel); σ inside the
  ``U``-block; no chain rule, no δ.
- SIBP (§4, :mod:`sibp_ref.sibp`): ``W^{k+1} = argmin ||σ(WF + b) − F^{k+½}||² +
  ||W − W^k||²/(2λ)`` (4.1), σ inside; δ by (4.2) with ``W^{k+1}`` (Gauss–Seidel).

=============================  ====  ======  ===  ====
Table 1                        BP    ProxBP  BCD  SIBP
=============================  ====  ======  ===  ====
propagate by chain rule        yes   yes     no   yes
implicit subproblem            no    yes     yes  yes
... including the activation   no    no      yes  yes
descent of the loss J          yes   yes     no   yes
Gauss–Seidel type update       no    no      yes  yes
=============================  ====  ======  ===  ====

ProxBP decreases ``J`` for small η (a preconditioned gradient step); BCD decreases
its merit function but not necessarily ``J``; SIBP decreases ``J`` (Theorem 4.1).

The published code (``tfrerix/proxprop``). It minimises
``½||Āθ − z̃||² + 1/(2τ)||θ − θ^k||²`` with ``z̃ = z − ∂J/∂z`` (a unit step on the
pre-activations, ``J`` the mean loss), writes ``θ^k − θ̃`` into the gradient fields, and
lets an outer optimiser apply it; its last layer is a plain ``nn.Linear`` updated by
the ordinary gradient. Doubling its objective gives ours with ``λ = τ/2``. Because
``θ̃ − θ^k`` is linear in the step on ``z``, ProxProp with outer plain SGD of learning
rate ``ℓ`` is exactly ``ProxBP(eta=ℓ, lam=τ/2, last_layer="gradient")`` with the
default ``last_lr = eta`` (tested against a PyTorch transcription in
``tests/test_proxbp.py``). With momentum or Adam as the outer optimiser there is no
exact counterpart here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .backend import namespace
from .base import check_int, check_positive, per_layer
from .ridge import prox_ridge_affine

__all__ = ["ProxBP", "ProxBPState"]

SOLVERS = ("exact", "cg")
LAST_LAYER = ("prox", "gradient")


class ProxBPState(NamedTuple):
    """ProxBP keeps no state between steps (Jacobi, no momentum)."""


class ProxBP:
    """Proximal back propagation.

    Parameters
    ----------
    eta : float
        Step size η of the explicit step on the pre-activations ``G − η ∂J/∂G``.
    lam : float or sequence of float
        Proximal parameter λ (one value, or one per layer); the proximal term is
        ``||θ − θ^k||²/(2λ)``. Published ProxProp's ``τ_θ`` is ``2λ``.
    solver : {"exact", "cg"}
        Cholesky of the normal (or dual) matrix, or ``iters`` steps of linear CG
        warm-started at ``θ^k`` (the paper's experiments: 5).
    iters : int
        CG iterations (``solver="cg"`` only).
    last_layer : {"prox", "gradient"}
        ``"gradient"`` updates the last layer by ``θ − last_lr ∇_θ J``, as the published
        ProxProp code does.
    last_lr : float, optional
        Step of that gradient update; default ``eta``, which makes the method exactly
        ProxProp with an outer plain SGD of learning rate ``eta`` (module docstring).
    """

    name = "proxbp"

    def __init__(
        self,
        eta: float = 1.0,
        lam: float | Any = 0.5,
        *,
        solver: str = "exact",
        iters: int = 5,
        last_layer: str = "prox",
        last_lr: float | None = None,
    ) -> None:
        self.eta = check_positive("eta", eta)
        if isinstance(lam, (int, float)):
            self.lam = check_positive("lam", lam)
        else:
            self.lam = [check_positive(f"lam[{i}]", v) for i, v in enumerate(lam)]
        if solver not in SOLVERS:
            raise ValueError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)}")
        self.solver = solver
        self.iters = check_int("iters", iters)
        if last_layer not in LAST_LAYER:
            raise ValueError(
                f"last_layer must be one of {', '.join(LAST_LAYER)}, got {last_layer!r}"
            )
        self.last_layer = last_layer
        self.last_lr = self.eta if last_lr is None else check_positive("last_lr", last_lr)

    def __repr__(self) -> str:
        return (
            f"ProxBP(eta={self.eta}, lam={self.lam}, solver={self.solver!r}, "
            f"iters={self.iters}, last_layer={self.last_layer!r}, last_lr={self.last_lr})"
        )

    def init(self, net, params) -> ProxBPState:
        net.check_params(params)
        per_layer("lam", self.lam, net.num_layers)
        return ProxBPState()

    def step(self, net, params, state: ProxBPState, X, Y):
        net.check_batch(X, Y, finite=False)
        L = net.num_layers
        lams = per_layer("lam", self.lam, L)
        xp = namespace(X)
        G, F = net.forward(params, X, check=False)  # (2.1) at Θ^k
        dJdG, _ = net.backward_G(params, G, F, Y)  # (3.1) at Θ^k: ∂J/∂G_{i+1}^k
        new = []
        for i, (W, b) in enumerate(params):
            if i == L - 1 and self.last_layer == "gradient":  # ProxProp's last layer
                dW = dJdG[i] @ F[i].T  # (3.2)
                db = None if b is None else xp.sum(dJdG[i], axis=1, keepdims=True)
                new.append((W - self.last_lr * dW, None if b is None else b - self.last_lr * db))
                continue
            # T_i = G_{i+1}^k − η ∂J/∂G_{i+1}^k (explicit step on G, old weights: Jacobi);
            # θ_i^{k+1} = argmin ||θĀ − T_i||² + ||θ − θ_i^k||²/(2λ), given T_i − θ_i^kĀ
            R = -self.eta * dJdG[i]  # T_i − θ_i^k Ā, since θ_i^k Ā = G_{i+1}^k
            new.append(self._layer(W, b, F[i], R, lams[i]))
        return new, state

    def _layer(self, W, b, Fi, R, lam):
        """``argmin ||θĀ − T||² + ||θ − θ^k||²/(2λ)`` with ``θ = [W, b]``, ``Ā = [F_i; 1ᵀ]``,
        ``T = θ^kĀ + R`` (:func:`~sibp_ref.ridge.prox_ridge_affine`: exact or CG from θ^k)."""
        return prox_ridge_affine(Fi, R, W, b, lam, solver=self.solver, iters=self.iters)
