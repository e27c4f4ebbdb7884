"""Losses L(F_N, Y) with their value and the error signal δ_N = ∂J/∂F_N.

Convention (SPEC §1): samples are columns and ``J`` is the **mean over the
columns**, so δ_N carries the factor 1/n; for softmax cross-entropy
δ_N = (softmax(F_N) − Y)/n. The toy problem of §5.1 writes its square loss as
a plain sum: ``SquareLoss(reduction="sum")``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .backend import device_of, namespace

__all__ = ["Loss", "CrossEntropy", "SquareLoss", "get_loss", "one_hot", "log_softmax", "softmax"]


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


def one_hot(labels: Any, num_classes: int, *, dtype: Any = None) -> Any:
    """Integer labels of shape ``(n,)`` as one-hot columns of shape ``(num_classes, n)``."""
    xp = namespace(labels)
    if len(labels.shape) != 1:
        raise ValueError(f"labels must be a 1-d array, got shape {tuple(labels.shape)}")
    if num_classes < 1:
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
