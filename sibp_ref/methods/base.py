"""What every training method shares: the interface and the check at the top of a step.

A method is an object with two pure functions (state goes in and comes out;
nothing is cached on the object)::

    state = method.init(net, params)
    params, state = method.step(net, params, state, X, Y, check=True)

``params`` is the network's list of ``(W, b)`` pairs; ``X`` and ``Y`` are one
batch with samples as columns (docs/conventions.md §1). Every state is a
``NamedTuple`` with the step count ``k`` (the number of steps taken, the index
of ``η_k`` in a schedule). BP, ProxBP, BCD and SIBP all follow it, so the
training loop, the command line and the tutorials treat them alike.

A method says what it needs on its class: ``full_batch`` (every step must see
the whole training set) and ``required_loss`` (the loss the network must use,
or ``None``); every method here defines both, and a method without them is read
as ``False`` and ``None``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Method", "check_step_inputs", "check_loss"]


@runtime_checkable
class Method(Protocol):
    """The interface of a training method (module docstring)."""

    name: str

    def init(self, net: Any, params: list) -> Any: ...

    def step(
        self, net: Any, params: list, state: Any, X: Any, Y: Any, *, check: bool = True
    ) -> tuple[list, Any]: ...


def check_loss(method: Any, net: Any) -> None:
    """ValueError unless ``net`` uses the loss ``method.required_loss`` (when it has one)."""
    need = getattr(method, "required_loss", None)
    name = method.__name__ if isinstance(method, type) else type(method).__name__
    if need is not None and net.loss_fn.name != need:
        raise ValueError(
            f"{name} supports only the {need!r} loss; this net uses loss "
            f"{net.loss_fn.name!r} (build the network with loss={need!r})"
        )


def check_step_inputs(net: Any, params: list, X: Any, Y: Any, *, check: bool = True) -> None:
    """The shared check at the top of every ``step``: :meth:`Network.check_inputs`.

    Shapes, backends and the dtype rule are always checked (no pass over the data);
    with ``check=True`` also that ``X``, ``Y`` and ``params`` are finite and, for
    cross-entropy, that ``Y`` holds probability columns (one host synchronisation).
    A training loop that has validated its data once passes ``check=False``.
    """
    net.check_inputs(params, X, Y, finite=check)
