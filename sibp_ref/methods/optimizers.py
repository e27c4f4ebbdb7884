"""Update rules that consume gradients: SGD, SGD with (Nesterov) momentum, Adam.

Pure functions in the style of ``jax.example_libraries.optimizers``: each rule
has ``init(params) -> state`` and ``update(params, grads, state) -> (params,
state)``. ``params`` and ``grads`` are flat lists of arrays (``None`` entries,
a missing bias, are passed through). Conventions match ``torch.optim`` so the
tests can hold them against it.

``update(..., lr=η_k)`` takes this step with the step size ``η_k`` of a schedule
instead of the rule's own ``lr`` (:class:`~sibp_ref.methods.bp.BP`).

The caller's arrays are never modified. ``update(..., consume_grads=True)`` says the
caller hands ``grads`` over (it created them and will not read them again, as
:class:`~sibp_ref.methods.bp.BP` does): SGD then computes the step in the gradients' buffers,
sparing the weight-sized temporaries whose page faults dominate an elementwise pass
on a fresh allocation (benchmarks/README.md). Temporaries a rule creates itself are
updated in place. The results are bit-for-bit those of the plain expressions.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from ..backend import namespace
from ..validation import (
    ValidationTypeError,
    check_choice,
    check_nonnegative,
    check_number,
    check_positive,
    describe,
)

__all__ = ["SGD", "Momentum", "Adam", "MomentumState", "AdamState", "RULES", "get_rule"]


class SGD:
    """θ ← θ − lr · g."""

    def __init__(self, lr: float = 0.1, weight_decay: float = 0.0) -> None:
        self.lr = check_positive("lr", lr)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)

    def init(self, params: list) -> None:
        return None

    def update(
        self,
        params: list,
        grads: list,
        state: Any,
        *,
        consume_grads: bool = False,
        lr: float | None = None,
    ) -> tuple[list, Any]:
        wd, lr = self.weight_decay, self.lr if lr is None else lr
        new = []
        for p, g in zip(params, grads, strict=True):
            if p is None:
                new.append(None)
            elif wd:
                new.append(_minus_scaled(p, lr, g + wd * p, own=True))
            else:
                new.append(_minus_scaled(p, lr, g, own=consume_grads))
        return new, state


def _minus_scaled(p: Any, lr: float, g: Any, *, own: bool) -> Any:
    """``p − lr·g``; with ``own`` (``g`` is ours to overwrite) computed in ``g``'s buffer as
    ``(−lr)·g + p``: the same rounding, no temporaries."""
    if not own:
        return p - lr * g
    g *= -lr
    g += p
    return g


class MomentumState(NamedTuple):
    v: list  # velocity buffers, one per parameter


class Momentum:
    """Heavy-ball or Nesterov momentum, as ``torch.optim.SGD``:
    ``v ← μ v + g``; ``θ ← θ − lr · v`` (or ``θ ← θ − lr (g + μ v)`` with Nesterov)."""

    def __init__(
        self,
        lr: float = 0.1,
        momentum: float = 0.9,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = check_positive("lr", lr)
        self.mu = check_nonnegative("momentum", momentum)
        if self.mu >= 1:
            raise ValueError(f"momentum must be < 1, got {momentum!r}")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)

    def init(self, params: list) -> MomentumState:
        return MomentumState(v=[None for _ in params])  # torch: first v is g itself

    def update(self, params, grads, state, *, consume_grads: bool = False, lr=None):
        lr = self.lr if lr is None else lr
        new_p, new_v = [], []
        for p, g, v in zip(params, grads, state.v, strict=True):
            if p is None:
                new_p.append(None)
                new_v.append(None)
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p
            v = g if v is None else self.mu * v + g
            step = g + self.mu * v if self.nesterov else v
            new_p.append(p - lr * step)
            new_v.append(v)
        return new_p, MomentumState(v=new_v)


class AdamState(NamedTuple):
    t: int  # number of updates taken
    m: list  # first-moment estimates
    v: list  # second-moment estimates


class Adam:
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``:

    .. math:: m ← β_1 m + (1−β_1) g,\\; v ← β_2 v + (1−β_2) g^2,\\;
              θ ← θ − lr \\, \\hat m / (\\sqrt{\\hat v} + ε)
    """

    def __init__(
        self,
        lr: float = 1e-3,
        b1: float = 0.9,
        b2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr = check_positive("lr", lr)
        self.b1, self.b2 = _beta("b1", b1), _beta("b2", b2)
        self.eps = check_positive("eps", eps)
        self.weight_decay = check_nonnegative("weight_decay", weight_decay)

    def init(self, params):
        # zeros_like, not p * 0: an inf in p would make NaN moments (and a warning) before
        # the step's input check names the bad parameter
        zeros = [None if p is None else namespace(p).zeros_like(p) for p in params]
        return AdamState(t=0, m=zeros, v=list(zeros))

    def update(self, params, grads, state, *, consume_grads: bool = False, lr=None):
        lr = self.lr if lr is None else lr
        t = state.t + 1
        c1 = 1.0 - self.b1**t  # bias corrections
        c2 = 1.0 - self.b2**t
        new_p, new_m, new_v = [], [], []
        for p, g, m, v in zip(params, grads, state.m, state.v, strict=True):
            if p is None:
                new_p.append(None)
                new_m.append(None)
                new_v.append(None)
                continue
            if self.weight_decay:
                g = g + self.weight_decay * p
            # m ← β1 m + (1−β1) g;  v ← β2 v + (1−β2) g²  (fresh arrays, then in place)
            m = _plus(self.b1 * m, (1.0 - self.b1) * g)
            g2 = g * g
            g2 *= 1.0 - self.b2
            v = _plus(self.b2 * v, g2)
            # θ ← θ − (lr/c1) m / (√v/√c2 + ε)
            denom = namespace(p).sqrt(v)
            denom /= math.sqrt(c2)
            denom += self.eps
            step = m / denom
            step *= lr / c1
            new_p.append(p - step)
            new_m.append(m)
            new_v.append(v)
        return new_p, AdamState(t=t, m=new_m, v=new_v)


def _plus(a, b):
    """``a + b`` in ``a``'s buffer (``a`` a fresh array of the caller's own)."""
    a += b
    return a


def _beta(name: str, value: Any) -> float:
    """A moment decay β ∈ [0, 1)."""
    try:
        return check_number(name, value, low=0, high=1, high_open=True)
    except ValidationTypeError:
        raise
    except ValueError:
        raise ValueError(f"{name} must lie in [0, 1), got {describe(value)}") from None


RULES = {"sgd": SGD, "momentum": Momentum, "nesterov": Momentum, "adam": Adam}


def get_rule(name: str, **kwargs: Any):
    """``"sgd"``, ``"momentum"``, ``"nesterov"`` (momentum with ``nesterov=True``) or ``"adam"``."""
    try:
        check_choice("rule", name, RULES)
    except ValueError as exc:
        raise type(exc)(f"unknown update rule {name!r}; {exc}") from None
    if name == "nesterov":
        kwargs.setdefault("nesterov", True)
    return RULES[name](**kwargs)
