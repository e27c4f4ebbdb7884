"""Layers: what the algorithms need to know about one layer of a network.

A **parametrised layer** is a linear map in matrix form followed by σ,

.. math:: G = W\\,A(F) + b\\,1ᵀ, \\qquad F_{\\text{out}} = σ(G),

where ``A`` *lifts* the layer input ``F`` to the matrix ``W`` acts on. For a dense
layer ``A`` is the identity and this is (2.1); a convolution (``W`` of shape
``(c_out, c_in·k·k)``) has ``A`` its patch matrix. Every method's layer update is
written on ``A(F)`` — BP's gradient (3.2) ``∂J/∂W = (∂J/∂G) A(F)ᵀ``, ProxBP's least
squares, SIBP's subproblem (4.1) ``σ(W A(F) + b) ≈ F^{k+½}`` — and the error goes back
by the adjoint ``A*``: ``δ = A*(Wᵀ ∂J/∂G)`` ((3.1), (4.2)). So a new kind of
parametrised layer supplies only :meth:`~Dense.lift` and :meth:`~Dense.lift_T`.

A **parameter-free layer** (pooling, flattening) supplies ``forward(F)`` and its
vector–Jacobian product ``vjp(F, dOut)``; it has no ``(W, b)``. In a
:class:`~sibp_ref.network.Network` it belongs to the *block* of the parametrised
layer before it: ``params[i] = (W_{i+1}, b_{i+1})`` stays one pair per block, and
``F[i]`` is the input of block ``i`` (docs/conventions.md §1).

Every layer states ``in_features`` and ``out_features``, the number of entries of one
sample of its input and output (rows of ``F`` for a dense layer).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .activations import Activation, get_activation
from .validation import check_int

__all__ = ["Dense", "ParameterFree", "Parametrised"]


@runtime_checkable
class Parametrised(Protocol):
    """A layer ``G = W A(F) + b``, then σ (module docstring)."""

    in_features: int
    out_features: int
    activation: Activation
    bias: bool

    @property
    def weight_shape(self) -> tuple[int, int]: ...

    def lift(self, F: Any) -> Any: ...

    def lift_T(self, M: Any, F: Any) -> Any: ...


@runtime_checkable
class ParameterFree(Protocol):
    """A layer without parameters: a map ``F ↦ forward(F)`` and its vector–Jacobian product."""

    in_features: int
    out_features: int

    def forward(self, F: Any) -> Any: ...

    def vjp(self, F: Any, dOut: Any) -> Any: ...


def is_parametrised(layer: Any) -> bool:
    """Whether ``layer`` carries ``(W, b)`` (it has a lift ``A``)."""
    return hasattr(layer, "lift") and hasattr(layer, "lift_T")


class Dense:
    """A fully connected layer, (2.1): ``G = W F + b 1ᵀ`` (``A`` the identity), then σ.

    Parameters
    ----------
    in_features, out_features : int
        ``d_i`` and ``d_{i+1}``: ``W`` has shape ``(out_features, in_features)`` and ``b``
        shape ``(out_features, 1)``; ``F`` is ``(in_features, n)``, samples as columns.
    activation : str or Activation
        σ after the linear map (``"identity"`` for the output layer).
    bias : bool
        Whether the layer has ``b``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation: str | Activation = "identity",
        bias: bool = True,
    ) -> None:
        self.in_features = check_int("in_features", in_features, 1)
        self.out_features = check_int("out_features", out_features, 1)
        self.activation = get_activation(activation)
        self.bias = bool(bias)

    def __repr__(self) -> str:
        return (
            f"Dense({self.in_features}, {self.out_features}, "
            f"activation={self.activation.name!r}, bias={self.bias})"
        )

    @property
    def weight_shape(self) -> tuple[int, int]:
        """``(d_{i+1}, d_i)``, the shape of ``W``."""
        return (self.out_features, self.in_features)

    def lift(self, F: Any) -> Any:
        """``A(F)``, the matrix ``W`` acts on: ``F`` itself for a dense layer."""
        return F

    def lift_T(self, M: Any, F: Any) -> Any:
        """``A*(M)``, the adjoint of the lift, back in ``F``'s shape: ``M`` itself here."""
        return M
