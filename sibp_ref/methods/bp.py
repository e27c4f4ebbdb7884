"""Classical back propagation (§3.1): explicit gradient steps.

.. math:: Θ^{k+1} = Θ^k − η_k\\, ∂J(Θ^k; X, Y)/∂Θ

The gradient comes from the network's forward pass (2.1) and back-propagation
(3.1)–(3.2) (:meth:`sibp_ref.Network.backward`), whatever its layers are; the
update rule (SGD, momentum, Nesterov, Adam) lives in
:mod:`sibp_ref.methods.optimizers` and only consumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from ..validation import check_positive
from .base import check_step_inputs
from .optimizers import get_rule
from .schedules import check_schedule, eta_at

__all__ = ["BP", "BPState"]


class BPState(NamedTuple):
    """The update rule's state (velocities, moments) and ``k``, the steps taken."""

    rule_state: Any
    k: int = 0


class BP:
    """Back propagation with an update rule.

    Parameters
    ----------
    rule : {"sgd", "momentum", "nesterov", "adam"}
        The update rule (:mod:`sibp_ref.methods.optimizers`).
    eta : float, optional
        The paper's step size η of §3.1 (default 0.1); ``lr`` is an alias.
    lr : float, optional
        Alias of ``eta`` (the name ``torch.optim`` uses); give one of the two.
    schedule : callable, optional
        ``k ↦ η_k`` (:mod:`sibp_ref.methods.schedules`); replaces ``eta`` when given.
    **rule_kwargs
        The rule's other settings (``momentum``, ``b1``, ``weight_decay``, ...).

    ``BP(eta=0.1)`` is plain SGD; ``BP("momentum", eta=0.1, momentum=0.9)``,
    ``BP("nesterov", ...)`` and ``BP("adam", lr=1e-3)`` the others.
    """

    name = "bp"
    full_batch = False
    required_loss = None

    def __init__(
        self,
        rule: str = "sgd",
        eta: float | None = None,
        *,
        lr: float | None = None,
        schedule: Callable[[int], float] | None = None,
        **rule_kwargs: Any,
    ) -> None:
        if eta is not None and lr is not None:
            raise ValueError(f"give eta or its alias lr, not both (got eta={eta!r}, lr={lr!r})")
        step = (
            0.1
            if eta is None and lr is None
            else check_positive("eta" if lr is None else "lr", lr if eta is None else eta)
        )
        self.rule_name = rule
        self.rule = get_rule(rule, lr=step, **rule_kwargs)
        self.eta = self.lr = self.rule.lr
        self.schedule = check_schedule(schedule)

    def __repr__(self) -> str:
        return f"BP(rule={self.rule_name!r}, lr={self.lr})"

    def init(self, net, params) -> BPState:
        net.check_params(params)
        return BPState(rule_state=self.rule.init(_flatten(params)), k=0)

    def step(self, net, params, state: BPState, X, Y, *, check: bool = True):
        """One step ``Θ ← rule(Θ, ∂J/∂Θ)`` on the batch ``(X, Y)``; returns ``(Θ, state)``."""
        check_step_inputs(net, params, X, Y, check=check)
        G, F = net.forward(params, X, check=False)  # (2.1)
        grads, _ = net.backward(params, G, F, Y)  # (3.1)-(3.2)
        lr = None if self.schedule is None else eta_at(self.eta, self.schedule, state.k)
        # the gradients are ours (just computed): the rule may overwrite them
        flat, rs = self.rule.update(
            _flatten(params), _flatten(grads), state.rule_state, consume_grads=True, lr=lr
        )
        return _unflatten(flat), BPState(rule_state=rs, k=state.k + 1)


def _flatten(pairs: list) -> list:
    return [a for pair in pairs for a in pair]


def _unflatten(flat: list) -> list:
    return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]
