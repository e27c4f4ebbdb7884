"""Losses L(F_N, Y) with their value and the error signal δ_N = ∂J/∂F_N.

Convention (docs/conventions.md §2): samples are columns and ``J`` is the **mean
over the columns**, so δ_N carries the factor 1/n; for softmax cross-entropy
δ_N = (softmax(F_N) − Y)/n. The toy problem of §5.1 writes its square loss as
a plain sum: ``SquareLoss(reduction="sum")``.

Targets: cross-entropy compares ``softmax(F_N)`` with a probability column per sample
(non-negative entries summing to 1; :func:`one_hot` makes them from integer labels),
and :meth:`Loss.check_targets` refuses anything else; the square loss takes any
finite ``Y``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backend import device_of, namespace
from .validation import check_array, check_int

__all__ = [
    "Loss",
    "CrossEntropy",
    "SquareLoss",
    "get_loss",
    "one_hot",
    "log_softmax",
    "softmax",
    "check_probability_columns",
]


def log_softmax(F: Any) -> Any:
    """Column-wise log-softmax, shifted by the column maximum so exp never overflows."""
    xp = namespace(F)
    Z = F - xp.max(F, axis=0, keepdims=True)
    return Z - xp.log(xp.sum(xp.exp(Z), axis=0, keepdims=True))


def softmax(F: Any) -> Any:
    """Column-wise softmax (stable)."""
    xp = namespace(F)
    E = xp.exp(F - xp.max(F, axis=0, keepdims=True))
    return E / xp.sum(E, axis=0, keepdims=True)


class Loss:
    """A loss: ``value(F, Y)`` is J (a 0-d array), ``grad(F, Y)`` is δ_N = ∂J/∂F_N."""

    name: str = "loss"
    reduction: str = "mean"

    def value(self, F: Any, Y: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def grad(self, F: Any, Y: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def check_targets(self, Y: Any) -> None:
        """ValueError when ``Y`` is not a valid target for this loss (any ``Y`` here)."""

    def _scale(self, F: Any) -> float:
        return 1.0 / F.shape[1] if self.reduction == "mean" else 1.0


@dataclass(frozen=True)
class CrossEntropy(Loss):
    """Softmax cross-entropy, ``L = −Σ_c Y_c log softmax(F)_c`` per column (§5)."""

    reduction: str = "mean"
    name: str = "cross_entropy"

    def value(self, F, Y):
        xp = namespace(F, Y)
        return -xp.sum(Y * log_softmax(F)) * self._scale(F)

    def grad(self, F, Y):
        return (softmax(F) - Y) * self._scale(F)

    def check_targets(self, Y):
        """``Y`` must hold probability columns: entries ``>= 0``, each column summing to 1
        within rounding (one host synchronisation)."""
        check_probability_columns("Y", Y)


@dataclass(frozen=True)
class SquareLoss(Loss):
    """Square loss ``||F − Y||²`` per column (no ½), mean or plain sum over columns."""

    reduction: str = "mean"
    name: str = "square"

    def value(self, F, Y):
        xp = namespace(F, Y)
        R = F - Y
        return xp.sum(R * R) * self._scale(F)

    def grad(self, F, Y):
        return 2.0 * (F - Y) * self._scale(F)


LOSSES = {"cross_entropy": CrossEntropy, "square": SquareLoss}


def get_loss(name: str | Loss, reduction: str = "mean") -> Loss:
    """``"cross_entropy"`` or ``"square"``, with ``reduction`` ``"mean"`` (default) or ``"sum"``."""
    if isinstance(name, Loss):
        return name
    if reduction not in ("mean", "sum"):
        raise ValueError(f"loss reduction must be 'mean' or 'sum', got {reduction!r}")
    try:
        cls = LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}") from None
    return cls(reduction=reduction)


def check_probability_columns(name: str, Y: Any) -> None:
    """ValueError unless every column of ``Y`` is a probability vector (``>= 0``, sum 1).

    The tolerance on the sums is rounding: ``1e-4`` in float32, ``1e-8`` in float64.
    Each test is one reduction on the device and one small copy to the host.
    """
    xp = namespace(Y)
    expected = (
        f"{name} must hold probability columns for the cross-entropy loss (entries >= 0, "
        "each column summing to 1)"
    )
    fix = "make targets with sibp_ref.one_hot(labels, num_classes)"
    neg = xp.reshape(xp.astype(Y < 0, xp.int32), (-1,))
    if bool(xp.any(neg > 0)):
        i, j = divmod(int(xp.argmax(neg)), Y.shape[1])
        raise ValueError(f"{expected}, but {name}[{i}, {j}] = {float(Y[i, j])!r}; {fix}")
    tol = 1e-4 if Y.dtype == xp.float32 else 1e-8
    off = xp.astype(xp.abs(xp.sum(Y, axis=0) - 1.0) > tol, xp.int32)
    count = int(xp.sum(off))
    if count:
        j = int(xp.argmax(off))
        total = float(xp.sum(Y[:, j]))
        raise ValueError(
            f"{expected}, but column {j} sums to {total!r} ({count} such columns); {fix}"
        )


def one_hot(labels: Any, num_classes: int, *, dtype: Any = None) -> Any:
    """Integer labels of shape ``(n,)`` as one-hot columns of shape ``(num_classes, n)``.

    ``labels`` must be an integer array (floats are refused: ``2.0`` would match no
    class); ``dtype`` is that of the result (default float64).
    """
    check_array("labels", labels, dtype="integer")
    xp = namespace(labels)
    if len(labels.shape) != 1:
        raise ValueError(f"labels must be a 1-d array, got shape {tuple(labels.shape)}")
    if check_int("num_classes", num_classes) < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    if labels.shape[0] and (int(xp.min(labels)) < 0 or int(xp.max(labels)) >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes - 1}], got range "
            f"[{int(xp.min(labels))}, {int(xp.max(labels))}]"
        )
    classes = xp.arange(num_classes, dtype=labels.dtype, device=device_of(labels))
    if dtype is None:
        dtype = xp.float64
    return xp.astype(classes[:, None] == labels[None, :], dtype)
