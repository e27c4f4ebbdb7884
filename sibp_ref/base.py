"""What every training method shares: the interface and hyper-parameter checks.

A method is an object with two pure functions (state goes in and comes out;
nothing is cached on the object)::

    state = method.init(net, params)
    params, state = method.step(net, params, state, X, Y)

``params`` is the network's list of ``(W, b)`` pairs; ``X`` and ``Y`` are one
batch with samples as columns. BP, ProxBP, BCD and SIBP all follow it, so the
training loop, the command line and the tutorials treat them alike.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Protocol, runtime_checkable

__all__ = ["Method", "check_positive", "check_nonnegative", "check_int", "per_layer"]


@runtime_checkable
class Method(Protocol):
    name: str

    def init(self, net: Any, params: list) -> Any: ...

    def step(self, net: Any, params: list, state: Any, X: Any, Y: Any) -> tuple[list, Any]: ...


def _is_number(x: Any) -> bool:
    # numbers.Real also admits NumPy scalars such as np.float32(0.1) or np.int64(5)
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float, or a ValueError naming ``name`` when it is not finite and > 0."""
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_nonnegative(name: str, value: Any) -> float:
    if not _is_number(value) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def per_layer(name: str, value: Any, num_layers: int) -> list[float]:
    """One positive value for every layer, or a list with one per layer."""
    if _is_number(value):
        return [check_positive(name, value)] * num_layers
    values = list(value)
    if len(values) != num_layers:
        raise ValueError(f"{name} has {len(values)} entries; the net has {num_layers} layers")
    return [check_positive(f"{name}[{i}]", v) for i, v in enumerate(values)]
