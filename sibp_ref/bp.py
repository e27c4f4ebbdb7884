"""Classical back propagation (§3.1): explicit gradient steps.

.. math:: Θ^{k+1} = Θ^k − η\\, ∂J(Θ^k; X, Y)/∂Θ

The gradient comes from the network's forward pass (2.1) and back-propagation
(3.1)–(3.2) (:meth:`sibp_ref.MLP.backward`); the update rule (SGD, momentum,
Nesterov, Adam) lives in :mod:`sibp_ref.optimizers` and only consumes it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .optimizers import get_rule

__all__ = ["BP"]


class BPState(NamedTuple):
    rule_state: Any


class BP:
    """Back propagation with an update rule.

    ``BP(lr=0.1)`` is plain SGD; ``BP("momentum", lr=0.1, momentum=0.9)``,
    ``BP("nesterov", ...)`` and ``BP("adam", lr=1e-3)`` the others. ``lr`` is the
    paper's η of §3.1.
    """

    name = "bp"

    def __init__(self, rule: str = "sgd", lr: float = 0.1, **rule_kwargs: Any) -> None:
        self.rule_name = rule
        self.rule = get_rule(rule, lr=lr, **rule_kwargs)
        self.lr = self.rule.lr

    def __repr__(self) -> str:
        return f"BP(rule={self.rule_name!r}, lr={self.lr})"

    def init(self, net, params) -> BPState:
        return BPState(rule_state=self.rule.init(_flatten(params)))

    def step(self, net, params, state: BPState, X, Y):
        net.check_batch(X, Y, finite=False)
        G, F = net.forward(params, X, check=False)  # (2.1)
        grads, _ = net.backward(params, G, F, Y)  # (3.1)-(3.2)
        # the gradients are ours (just computed): the rule may overwrite them
        flat, rs = self.rule.update(
            _flatten(params), _flatten(grads), state.rule_state, consume_grads=True
        )
        return _unflatten(flat), BPState(rule_state=rs)


def _flatten(pairs: list) -> list:
    return [a for pair in pairs for a in pair]


def _unflatten(flat: list) -> list:
    return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]
