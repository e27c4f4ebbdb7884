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
sample of its input and output: the rows of ``F``.

**Image batches.** ``F`` stays a 2-D matrix with one column per sample, for images too
(as ``X`` is ``(784, n)`` for MNIST): a batch of ``n`` images with ``c`` channels of
``h × w`` pixels is ``(c·h·w, n)``, its rows in the order ``(c, h, w)`` (channel
slowest, column ``w`` fastest, as PyTorch's ``flatten`` of one ``(c, h, w)`` image), so
``reshape(F, (c, h, w, n))`` is the image tensor with samples last. The paper's
``Conv[16*32*32]`` is such a layer output with ``c = 16``, ``h = w = 32``:
``out_features = 16·32·32`` rows. Dense layers and flattening need nothing more.

A convolution's ``G = W A(F) + b`` is a matrix of shape ``(c_out, h'·w'·n)`` (columns in
the order ``(h', w', n)``): the *matrix form* in which the methods see ``G`` and solve
for ``W``; :meth:`Conv2d.to_columns` reshapes ``σ(G)`` to the column form
``(c_out·h'·w', n)`` of ``F`` (a free reshape in that order) and
:meth:`Conv2d.from_columns` goes back. A layer without these methods (a dense layer)
has both forms equal.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from . import backend as B
from .activations import Activation, get_activation
from .validation import check_choice, check_int

__all__ = ["Conv2d", "Dense", "Flatten", "MaxPool2d", "ParameterFree", "Parametrised"]


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

    def lift_T(self, M: Any) -> Any: ...


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

    def lift_T(self, M: Any) -> Any:
        """``A*(M)``, the adjoint of the lift, back in ``F``'s shape: ``M`` itself here."""
        return M


def to_columns(layer: Any, Z: Any) -> Any:
    """``σ(G)`` (or any array in ``G``'s matrix form) in the column form of ``F``."""
    return layer.to_columns(Z) if hasattr(layer, "to_columns") else Z


def from_columns(layer: Any, D: Any) -> Any:
    """An array in the column form of the layer output back in ``G``'s matrix form."""
    return layer.from_columns(D) if hasattr(layer, "from_columns") else D


def _check_columns(who: str, name: str, X: Any, rows: int, block: int = 1) -> None:
    """``X`` must be 2-D with ``rows`` rows and a multiple of ``block`` columns."""
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) != 2 or shape[0] != rows or shape[1] % block:
        per = f"a multiple of {block}" if block > 1 else "n"
        raise ValueError(
            f"{who}: {name} has shape {shape}; expected ({rows}, {per}) "
            "(samples as columns, rows in the order (c, h, w))"
        )


def _zeros(xp: Any, shape: tuple, like: Any) -> Any:
    return xp.zeros(shape, dtype=like.dtype, device=B.device_of(like))


def _pad(xp: Any, X: Any, before: int, after: int) -> Any:
    """Zeros around axes 1 and 2 (height, width) of ``X = (c, h, w, n)``."""
    if before == after == 0:
        return X
    c, h, w, n = X.shape
    rows = [_zeros(xp, (c, before, w, n), X), X, _zeros(xp, (c, after, w, n), X)]
    X = xp.concat(rows, axis=1)
    cols = [_zeros(xp, (c, X.shape[1], before, n), X), X, _zeros(xp, (c, X.shape[1], after, n), X)]
    return xp.concat(cols, axis=2)


class Conv2d:
    """A 2-D convolution, stride 1, as a parametrised layer: ``G = W A(F) + b 1ᵀ``, then σ.

    ``A(F)`` is the patch matrix (im2col) of the images ``F`` (module docstring for the
    layout): its column ``(p, q, j)`` holds the ``c_in × k × k`` window of image ``j``
    at output pixel ``(p, q)``, rows in the order ``(c_in, k, k)``, so

    .. math:: G[o, (p, q, j)] = \\sum_{c, u, v} W[o, (c, u, v)]\\,
              F_j[c, p + u − t, q + v − t] + b_o

    (``t`` the zero padding on the top and left; cross-correlation, as PyTorch's
    ``conv2d``), and ``W`` reshaped to ``(c_out, c_in, k, k)`` is PyTorch's weight.
    :meth:`lift_T` is the adjoint ``A*`` (col2im: the shifted windows summed back).

    Parameters
    ----------
    c_in, c_out : int
        Input and output channels; ``W`` is ``(c_out, c_in·k·k)``, ``b`` is ``(c_out, 1)``.
    k : int
        Kernel size (``k × k``).
    padding : {"valid", "same"}
        No padding (``h' = h − k + 1``), or zeros so that ``h' = h`` (``(k−1)//2`` before
        and the rest after, as PyTorch's ``padding="same"`` for an even ``k``).
    height, width : int
        ``h`` and ``w`` of the input images.
    activation : str or Activation
        σ after the convolution.
    bias : bool
        Whether the layer has ``b`` (one per output channel).
    """

    def __init__(
        self,
        c_in: int,
        c_out: int,
        k: int,
        padding: str = "valid",
        *,
        height: int,
        width: int,
        activation: str | Activation = "identity",
        bias: bool = True,
    ) -> None:
        self.c_in = check_int("c_in", c_in, 1)
        self.c_out = check_int("c_out", c_out, 1)
        self.k = check_int("k", k, 1)
        self.padding = check_choice("padding", padding, ("valid", "same"))
        self.height = check_int("height", height, 1)
        self.width = check_int("width", width, 1)
        if self.padding == "valid" and min(self.height, self.width) < self.k:
            raise ValueError(
                f"a {self.k}x{self.k} kernel does not fit a {self.height}x{self.width} image "
                "with padding='valid'; use padding='same' or a smaller k"
            )
        self.activation = get_activation(activation)
        self.bias = bool(bias)
        grow = self.k - 1 if self.padding == "same" else 0
        self.pad = (grow // 2, grow - grow // 2)  # zeros before, after
        self.out_height = self.height + grow - self.k + 1
        self.out_width = self.width + grow - self.k + 1
        self.in_features = self.c_in * self.height * self.width
        self.out_features = self.c_out * self.out_height * self.out_width

    def __repr__(self) -> str:
        return (
            f"Conv2d({self.c_in}, {self.c_out}, {self.k}, {self.padding!r}, "
            f"height={self.height}, width={self.width}, "
            f"activation={self.activation.name!r}, bias={self.bias})"
        )

    @property
    def weight_shape(self) -> tuple[int, int]:
        """``(c_out, c_in·k·k)``, the shape of ``W``."""
        return (self.c_out, self.c_in * self.k * self.k)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """``(c_out, h', w')``: one output image."""
        return (self.c_out, self.out_height, self.out_width)

    def lift(self, F: Any) -> Any:
        """``A(F)``: ``(c_in·k·k, h'·w'·n)`` patches of ``F = (c_in·h·w, n)``, one slice of
        the padded images per kernel offset ``(u, v)``."""
        _check_columns(repr(self), "F", F, self.in_features)
        xp = B.namespace(F)
        n = F.shape[1]
        X = _pad(xp, xp.reshape(F, (self.c_in, self.height, self.width, n)), *self.pad)
        ho, wo, k = self.out_height, self.out_width, self.k
        shifts = [X[:, u : u + ho, v : v + wo, :] for u in range(k) for v in range(k)]
        return xp.reshape(xp.stack(shifts, axis=1), (self.c_in * k * k, ho * wo * n))

    def lift_T(self, M: Any) -> Any:
        """``A*(M)``, ``(c_in·h·w, n)``: col2im, each offset's slice of ``M`` added back at
        its shift (``<A(F), M> = <F, A*(M)>``)."""
        ho, wo, k = self.out_height, self.out_width, self.k
        _check_columns(repr(self), "M", M, self.c_in * k * k, ho * wo)
        xp = B.namespace(M)
        n = M.shape[1] // (ho * wo)
        M5 = xp.reshape(M, (self.c_in, k * k, ho, wo, n))
        t, a = self.pad
        out = _zeros(xp, (self.c_in, self.height + t + a, self.width + t + a, n), M)
        for u in range(k):
            for v in range(k):
                window = (slice(None), slice(u, u + ho), slice(v, v + wo), slice(None))
                out[window] = out[window] + M5[:, u * k + v, ...]
        out = out[:, t : t + self.height, t : t + self.width, :]
        return xp.reshape(out, (self.in_features, n))

    def to_columns(self, Z: Any) -> Any:
        """``(c_out, h'·w'·n)`` (matrix form of ``G``) → ``(c_out·h'·w', n)`` (columns)."""
        xp = B.namespace(Z)
        return xp.reshape(Z, (self.out_features, Z.shape[1] // (self.out_height * self.out_width)))

    def from_columns(self, D: Any) -> Any:
        """``(c_out·h'·w', n)`` → ``(c_out, h'·w'·n)``, the inverse (and adjoint) of
        :meth:`to_columns`."""
        xp = B.namespace(D)
        return xp.reshape(D, (self.c_out, self.out_height * self.out_width * D.shape[1]))


class MaxPool2d:
    """Max pooling over ``s × s`` windows with stride ``s`` (PyTorch's ``max_pool2d(F, s)``).

    ``F = (c·h·w, n)`` (module docstring) goes to ``(c·⌊h/s⌋·⌊w/s⌋, n)``; rows and columns
    beyond a multiple of ``s`` are dropped. :meth:`vjp` passes the error to the first
    maximum of each window in row-major order (PyTorch's choice on ties).

    Parameters
    ----------
    size : int
        ``s``, the window and stride (the paper: 2).
    channels, height, width : int
        ``c``, ``h``, ``w`` of the input images.
    """

    def __init__(self, size: int = 2, *, channels: int, height: int, width: int) -> None:
        self.size = check_int("size", size, 1)
        self.channels = check_int("channels", channels, 1)
        self.height = check_int("height", height, self.size)
        self.width = check_int("width", width, self.size)
        self.out_height, self.out_width = self.height // self.size, self.width // self.size
        self.in_features = self.channels * self.height * self.width
        self.out_features = self.channels * self.out_height * self.out_width

    def __repr__(self) -> str:
        return (
            f"MaxPool2d({self.size}, channels={self.channels}, height={self.height}, "
            f"width={self.width})"
        )

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """``(c, ⌊h/s⌋, ⌊w/s⌋)``: one output image."""
        return (self.channels, self.out_height, self.out_width)

    def _windows(self, F: Any) -> Any:
        """``(c, h'', s, w'', s, n)``: the windows of ``F`` on axes 2 and 4."""
        _check_columns(repr(self), "F", F, self.in_features)
        xp = B.namespace(F)
        s, ho, wo, n = self.size, self.out_height, self.out_width, F.shape[1]
        X = xp.reshape(F, (self.channels, self.height, self.width, n))[:, : ho * s, : wo * s, :]
        return xp.reshape(X, (self.channels, ho, s, wo, s, n))

    def forward(self, F: Any) -> Any:
        """The maximum of each window, ``(c·h''·w'', n)``."""
        xp = B.namespace(F)
        return xp.reshape(xp.max(self._windows(F), axis=(2, 4)), (self.out_features, F.shape[1]))

    def vjp(self, F: Any, dOut: Any) -> Any:
        """``dOut`` at each window's first maximum, zero elsewhere: ``(c·h·w, n)``."""
        xp = B.namespace(F)
        s, c, ho, wo, n = self.size, self.channels, self.out_height, self.out_width, F.shape[1]
        Xw = self._windows(F)
        top = xp.max(Xw, axis=(2, 4))
        d = xp.reshape(dOut, (c, ho, wo, n))
        zero = xp.zeros_like(d)
        taken = xp.zeros(d.shape, dtype=xp.bool, device=B.device_of(d))
        rows = []
        for a in range(s):
            row = []
            for b in range(s):
                hit = xp.logical_and(Xw[:, :, a, :, b, :] == top, xp.logical_not(taken))
                taken = xp.logical_or(taken, hit)
                row.append(xp.where(hit, d, zero))
            rows.append(xp.stack(row, axis=3))  # (c, h'', w'', s, n)
        out = xp.reshape(xp.stack(rows, axis=2), (c, ho * s, wo * s, n))
        extra_h, extra_w = self.height - ho * s, self.width - wo * s
        if extra_h or extra_w:  # the dropped rows and columns get no error
            out = xp.concat([out, _zeros(xp, (c, extra_h, wo * s, n), out)], axis=1)
            out = xp.concat([out, _zeros(xp, (c, self.height, extra_w, n), out)], axis=2)
        return xp.reshape(out, (self.in_features, n))


class Flatten:
    """Images ``(c·h·w, n)`` as feature columns for a dense layer: the identity here, since
    ``F`` is already in that layout (module docstring); kept so that a network reads as
    the paper's ``Conv → Pool → Flatten → Dense``.

    Parameters
    ----------
    channels, height, width : int
        ``c``, ``h``, ``w`` of the images; ``in_features = out_features = c·h·w``.
    """

    def __init__(self, *, channels: int, height: int, width: int) -> None:
        self.channels = check_int("channels", channels, 1)
        self.height = check_int("height", height, 1)
        self.width = check_int("width", width, 1)
        self.in_features = self.out_features = self.channels * self.height * self.width

    def __repr__(self) -> str:
        return f"Flatten(channels={self.channels}, height={self.height}, width={self.width})"

    def forward(self, F: Any) -> Any:
        """``F`` itself: rows ``(c, h, w)`` are already the features."""
        return F

    def vjp(self, F: Any, dOut: Any) -> Any:
        """``dOut`` itself."""
        return dOut
