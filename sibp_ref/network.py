"""Networks as sequences of layers: forward pass (2.1), back-propagation (3.1)–(3.2).

Indexing (docs/conventions.md §1). The paper counts layers from 1: ``F_1 = X``,
weights ``W_1 … W_{N−1}``, ``G_{i+1} = W_i F_i + b_i``, ``F_{i+1} = σ(G_{i+1})``, and the
last layer has no activation (``F_N = G_N``). Python counts from 0, so here

- ``params[i] = (W, b)`` is the paper's ``(W_{i+1}, b_{i+1})``;
- ``F[i]`` is the paper's ``F_{i+1}`` (``F[0] = X``) and ``G[i]`` is ``G_{i+1}``
  (``G[0]`` is ``None``: the input has no pre-activation), so
  ``G[i+1] = W A(F[i]) + b`` with ``(W, b) = params[i]``, and ``F[i+1]`` is σ(G[i+1])
  passed through the block's parameter-free layers (:mod:`sibp_ref.layers`).

``G[i+1]`` is kept in the *matrix form* of its layer (``(c_out, h'·w'·n)`` for a
convolution, the same as the columns for a dense layer), the form in which the methods
solve for ``W``: BP's ``∂J/∂W = (∂J/∂G) A(F)ᵀ`` and ``∂J/∂b = Σ_columns ∂J/∂G`` hold as
for a dense layer. ``F[i]`` is always the column form ``(features, n)``
(docs/conventions.md §1; :mod:`sibp_ref.layers` for the image layout).

A :class:`Network` is a list of layers grouped into *blocks*: a parametrised layer
followed by zero or more parameter-free ones; ``params`` has one ``(W, b)`` pair per
block. :class:`MLP` is the fully connected network of §2, all blocks one dense layer.

Shapes (samples are columns): ``X`` is ``(d_1, n)``, ``W`` of ``params[i]`` is
``(d_{i+2}, d_{i+1})`` in the paper's numbering, i.e. ``(sizes[i+1], sizes[i])``,
and ``b`` is ``(sizes[i+1], 1)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NamedTuple

from . import backend as B
from .activations import Activation, get_activation
from .layers import Dense, from_columns, is_parametrised, to_columns
from .losses import Loss, get_loss
from .validation import (
    ValidationTypeError,
    check_array,
    check_choice,
    check_number,
    check_same_dtype,
    check_same_namespace,
    describe,
)

__all__ = ["Network", "MLP", "Block", "Params", "init_params"]

Params = list  # list[tuple[W, b | None]]


class Block(NamedTuple):
    """A parametrised layer and the parameter-free layers after it (one ``(W, b)``)."""

    layer: Any
    post: tuple


def _stds(std: Any, L: int) -> list[float]:
    """One standard deviation per layer from one value or a list of ``L`` values."""
    shape = getattr(std, "shape", None)
    scalar = not isinstance(std, (list, tuple)) and (shape is None or len(shape) == 0)
    values = [std] * L if scalar else list(std)
    if len(values) != L:
        raise ValueError(f"std has {len(values)} entries for {L} layers")
    stds = []
    for v in values:
        if isinstance(v, bool) or not (isinstance(v, numbers.Real) or hasattr(v, "shape")):
            raise ValidationTypeError(
                f"std must be a number or a list of {L} numbers (one per layer), "
                f"got {describe(std)}"
            )
        stds.append(float(v))
    if any(not (0 <= s < math.inf) for s in stds):  # also rejects NaN
        raise ValueError(f"std must be non-negative and finite, got {stds}")
    return stds


def init_params(
    shapes: Sequence[tuple[tuple[int, int], bool]],
    *,
    std: float | Sequence[float] = 0.05,
    mean: float = 0.0,
    bias_std: float | None = None,
    seed: Any = 0,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float64",
    device: Any = None,
) -> Params:
    """``(W, b)`` per ``(weight shape, has bias)``: ``W ~ N(mean, std)``, ``b ~ N(0, bias_std)``.

    ``std`` is a standard deviation (one value or one per layer), ``bias_std = std`` by
    default, as the paper's N(0, s) initialisations (docs/conventions.md §3). Layer by
    layer, ``W`` is drawn before ``b`` from one generator seeded by ``seed``.
    """
    xp = B.get_backend(xp)
    rng = B._rng(seed)
    stds = _stds(std, len(shapes))
    mean = check_number("mean", mean)
    params = []
    for (shape, has_bias), s in zip(shapes, stds, strict=True):
        kw = {"seed": rng, "xp": xp, "dtype": dtype, "device": device}
        W = B.normal(shape, mean=mean, std=s, **kw)
        b = None
        if has_bias:
            bs = s if bias_std is None else check_number("bias_std", bias_std, low=0)
            b = B.normal((shape[0], 1), std=bs, **kw)
        params.append((W, b))
    return params


class Network:
    """A network as a sequence of layers, with a loss (2.2).

    >>> net = Network([Dense(784, 500, "relu"), Dense(500, 10)], loss="cross_entropy")

    ``layers`` starts with a parametrised layer; each parameter-free layer joins the
    block of the parametrised layer before it (module docstring). The public methods
    are those of :class:`MLP`; none of them knows what kind of layer a block holds.
    """

    def __init__(
        self,
        layers: Sequence[Any],
        loss: str | Loss = "cross_entropy",
        *,
        loss_reduction: str = "mean",
    ) -> None:
        self.layers = list(layers)
        self.blocks = _blocks(self.layers)
        self.sizes = [self.blocks[0].layer.in_features] + [
            (blk.post[-1] if blk.post else blk.layer).out_features for blk in self.blocks
        ]
        self.loss_fn = get_loss(loss, loss_reduction)

    def __repr__(self) -> str:
        return f"Network({self.layers!r}, loss={self.loss_fn.name!r})"

    @property
    def num_layers(self) -> int:
        """Number of parametrised layers (blocks), ``N − 1`` in the paper."""
        return len(self.blocks)

    @property
    def is_dense(self) -> bool:
        """Whether every layer is a :class:`~sibp_ref.layers.Dense` layer (an MLP)."""
        return all(isinstance(layer, Dense) for layer in self.layers)

    def layer(self, i: int) -> Any:
        """The parametrised layer of block ``i`` (``params[i]`` is its ``(W, b)``)."""
        return self.blocks[i].layer

    def activation_of(self, i: int) -> Activation:
        """σ applied after ``params[i]`` (the identity on the output layer of an MLP)."""
        return self.blocks[i].layer.activation

    # ------------------------------------------------------------------ init
    def init(
        self,
        seed: Any = 0,
        std: float | Sequence[float] = 0.05,
        xp: ModuleType | str = "numpy",
        dtype: Any = "float64",
        *,
        mean: float = 0.0,
        bias_std: float | None = None,
        device: Any = None,
    ) -> Params:
        """Parameters drawn from N(mean, std); see :func:`init_params`. ``std="fan_in"``
        scales each layer by its fan-in, ``std_i = 1/√(columns of W_i)`` (LeCun et al. 1998):
        one value for every layer does not suit both a 5 × 5 convolution with 25 inputs and
        a dense layer with 400."""
        shapes = [(blk.layer.weight_shape, blk.layer.bias) for blk in self.blocks]
        if isinstance(std, str):
            check_choice("std", std, ["fan_in"])
            std = [1.0 / math.sqrt(shape[1]) for shape, _ in shapes]
        kw = {"mean": mean, "bias_std": bias_std, "seed": seed, "xp": xp, "dtype": dtype}
        return init_params(shapes, std=std, device=device, **kw)

    # ------------------------------------------------------------- checking
    def check_params(self, params: Params, *, finite: bool = False) -> None:
        """Structure and shapes of ``params`` against the layers (no pass over the data);
        with ``finite``, also that no entry is NaN or infinite, naming the first."""
        if not isinstance(params, (list, tuple)):
            raise ValidationTypeError(
                f"params must be a list of (W, b) pairs, one per layer, got {describe(params)}"
            )
        if len(params) != self.num_layers:
            raise ValueError(f"params has {len(params)} layers, the net has {self.num_layers}")
        for i, pair in enumerate(params):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValidationTypeError(
                    f"params[{i}] must be a (W, b) pair, got {describe(pair)} (b is None in a "
                    "layer without bias)"
                )
            self._check_pair(i, *pair)
        if finite:
            _check_finite_params(params)

    def _check_pair(self, i: int, W: Any, b: Any) -> None:
        layer = self.blocks[i].layer
        check_array(f"params[{i}] W", W, finite=False)
        want = tuple(layer.weight_shape)
        if tuple(W.shape) != want:
            raise ValueError(f"params[{i}] W has shape {tuple(W.shape)}, expected {want}")
        if layer.bias and b is not None:
            check_array(f"params[{i}] b", b, finite=False)
        if layer.bias and (b is None or tuple(b.shape) != (want[0], 1)):
            got = None if b is None else tuple(b.shape)
            raise ValueError(f"params[{i}] b has shape {got}, expected {(want[0], 1)}")
        if not layer.bias and b is not None:
            raise ValueError(f"params[{i}] has a bias but the net was built with bias=False")

    def check_batch(self, X: Any, Y: Any = None, *, finite: bool = True) -> None:
        """Shapes (and, with ``finite``, values) of a batch against the network.

        ``X`` must be ``(sizes[0], n)`` and ``Y`` ``(sizes[-1], n)``: samples are columns.
        With ``finite``, NaN and infinities are refused naming the first bad position, and
        the loss checks its targets (cross-entropy: probability columns).
        """
        check_array("X", X, finite=False)
        if len(X.shape) != 2 or X.shape[0] != self.sizes[0]:
            raise ValueError(
                f"X has shape {tuple(X.shape)}; expected ({self.sizes[0]}, n) with samples "
                "as columns (transpose a samples-as-rows array)"
            )
        if X.shape[1] < 1:
            raise ValueError("X has no samples (0 columns)")
        xp = B.namespace(X)
        if not xp.isdtype(X.dtype, "real floating") or X.dtype not in (xp.float32, xp.float64):
            raise ValidationTypeError(
                f"X must be a real floating array of dtype float32 or float64, got dtype {X.dtype}"
            )
        if Y is not None:
            check_array("Y", Y, finite=False)
            want = (self.sizes[-1], X.shape[1])
            if tuple(Y.shape) != want:
                raise ValueError(
                    f"Y has shape {tuple(Y.shape)}; expected {want} (one-hot columns, "
                    "one per column of X)"
                )
        if finite:
            check_array("X", X)
            if Y is not None:
                check_array("Y", Y)
                self.loss_fn.check_targets(Y)

    def check_inputs(self, params: Params, X: Any, Y: Any = None, *, finite: bool = True) -> None:
        """The one check of every entry point: ``params`` and the batch ``(X, Y)``.

        Shapes (:meth:`check_params`, :meth:`check_batch`), one backend and device, and
        the dtype rule: parameters and data share one floating dtype, float32 or float64
        (docs/conventions.md §7; NumPy would silently promote a mixed pair). With
        ``finite`` (one host synchronisation) also that nothing is NaN or infinite and
        that the targets suit the loss. Raises ValueError or TypeError naming the array.
        """
        self.check_params(params)
        self.check_batch(X, Y, finite=False)
        check_same_namespace(params=list(params), X=X, Y=Y)
        check_same_dtype(weights=list(params), X=X, Y=Y)
        if finite:
            self.check_batch(X, Y, finite=True)
            _check_finite_params(params)

    # -------------------------------------------------------------- forward
    def forward(self, params: Params, X: Any, *, check: bool = True) -> tuple[list, list]:
        """Forward pass (2.1): ``G[i+1] = W A(F[i]) + b``, ``F[i+1] = σ(G[i+1])`` (then the
        block's parameter-free layers).

        Returns ``(G, F)``, lists of length ``N``; ``F[0] = X`` and ``G[0] = None``.
        """
        if check:
            self.check_inputs(params, X)
        G: list = [None]
        F: list = [X]
        for i, (W, b) in enumerate(params):
            Gi = W @ self.blocks[i].layer.lift(F[i])
            if b is not None:
                Gi = Gi + b
            G.append(Gi)
            out = to_columns(self.blocks[i].layer, self.activation_of(i).f(Gi))
            for post in self.blocks[i].post:
                out = post.forward(out)
            F.append(out)
        return G, F

    def predict(self, params: Params, X: Any) -> Any:
        """The network output ``F_N`` (logits for classification)."""
        return self.forward(params, X)[1][-1]

    def loss(self, params: Params, X: Any, Y: Any) -> Any:
        """``J(Θ; X, Y) = L(F_N, Y)`` (2.2) as a 0-d array (mean over columns by default)."""
        self.check_inputs(params, X, Y)
        return self.loss_fn.value(self.forward(params, X, check=False)[1][-1], Y)

    # ------------------------------------------------------------- backward
    def backward(self, params: Params, G: list, F: list, Y: Any) -> tuple[list, list]:
        """Back-propagation from a forward pass. Returns ``(grads, delta)``.

        ``delta[i] = ∂J/∂F[i]`` (δ_N = ∂J/∂F_N, then (3.1):
        ``δ_i = A*(W_iᵀ (σ'(G_{i+1}) ⊙ δ_{i+1}))``), and ``grads[i] = (dW, db)`` by (3.2):
        ``∂J/∂W_i = (σ'(G_{i+1}) ⊙ δ_{i+1}) A(F_i)ᵀ``,
        ``∂J/∂b_i = Σ_columns (σ'(G_{i+1}) ⊙ δ_{i+1})``.
        ``delta[0]`` (the input's) is not computed and is ``None``.
        """
        xp = B.namespace(F[-1])
        dG, delta = self.backward_G(params, G, F, Y)
        grads = [
            (
                dG[i] @ self.blocks[i].layer.lift(F[i]).T,  # (3.2)
                None if b is None else xp.sum(dG[i], axis=1, keepdims=True),
            )
            for i, (_, b) in enumerate(params)
        ]
        return grads, delta

    def backward_G(self, params: Params, G: list, F: list, Y: Any) -> tuple[list, list]:
        """Back-propagation (3.1) without the weight gradients: ``(dG, delta)`` with
        ``dG[i] = ∂J/∂G[i+1] = σ'(G[i+1]) ⊙ δ[i+1]`` (what ProxBP needs) and ``delta`` as in
        :meth:`backward`."""
        L = self.num_layers
        delta: list = [None] * (L + 1)
        dG: list = [None] * L
        delta[L] = self.loss_fn.grad(F[L], Y)  # δ_N = ∂J/∂F_N
        for i in range(L - 1, -1, -1):
            W = params[i][0]
            dG[i], delta[i] = self.backward_block(i, W, G[i + 1], delta[i + 1], i > 0)
        return dG, delta

    def backward_block(
        self, i: int, W: Any, G: Any, delta: Any, propagate: bool = True
    ) -> tuple[Any, Any]:
        """Through block ``i`` backwards: ``(∂J/∂G_{i+1}, δ_i)`` from ``δ_{i+1}``.

        ``∂J/∂G_{i+1} = σ'(G_{i+1}) ⊙ δ'`` with ``δ'`` the error ``δ_{i+1}`` taken back
        through the block's parameter-free layers (their vjp, :meth:`error_at_sigma`), and
        ``δ_i = A*(Wᵀ ∂J/∂G_{i+1})``: (3.1) with the current ``W``, or SIBP's (4.2) when
        ``W`` is the new ``W_i^{k+1}`` and ``G`` the old ``G_{i+1}^k``. With
        ``propagate=False`` (the first block) ``δ_i`` is not computed and is ``None``.
        """
        return self.backward_from_sigma(i, W, G, self.error_at_sigma(i, G, delta), propagate)

    def backward_from_sigma(
        self, i: int, W: Any, G: Any, d: Any, propagate: bool = True
    ) -> tuple[Any, Any]:
        """:meth:`backward_block` from ``d = ∂J/∂σ(G_{i+1})`` (matrix form):
        ``∂J/∂G_{i+1} = σ'(G_{i+1}) ⊙ d`` and ``δ_i = A*(Wᵀ ∂J/∂G_{i+1})`` (3.1)."""
        dG = self._times_df(i, G, d)  # ∂J/∂G_{i+1}
        if not propagate:
            return dG, None
        return dG, self.blocks[i].layer.lift_T(W.T @ dG)  # (3.1)

    def error_at_sigma(self, i: int, G: Any, delta: Any, S: Any = None) -> Any:
        """``∂J/∂σ(G_{i+1})`` in ``G``'s matrix form from ``δ_{i+1} = ∂J/∂F_{i+1}``: the
        error taken back through the block's parameter-free layers by their gradients
        (Remark 5.1: pooling passes the error back by the ordinary gradient). ``S`` is
        ``σ(G_{i+1})`` in matrix form when the caller has it (:meth:`sigma_at`)."""
        blk = self.blocks[i]
        if not blk.post:
            return from_columns(blk.layer, delta)
        S = self.activation_of(i).f(G) if S is None else S
        inputs = [to_columns(blk.layer, S)]
        for layer in blk.post[:-1]:
            inputs.append(layer.forward(inputs[-1]))
        for layer, inp in zip(reversed(blk.post), reversed(inputs), strict=True):
            delta = layer.vjp(inp, delta)
        return from_columns(blk.layer, delta)

    def sigma_at(self, i: int, G: Any, F_next: Any) -> Any:
        """``σ(G_{i+1})`` in ``G``'s matrix form: ``F_{i+1}`` itself (reshaped) when block
        ``i`` has no parameter-free layers, else recomputed from ``G``."""
        blk = self.blocks[i]
        if not blk.post:
            return from_columns(blk.layer, F_next)
        return self.activation_of(i).f(G)

    def _times_df(self, i: int, G: Any, delta: Any) -> Any:
        """``σ'(G) ⊙ δ`` for the activation after ``params[i]`` (δ itself for the identity)."""
        sigma = self.activation_of(i)
        return delta if sigma.name == "identity" else sigma.df(G) * delta

    def gradient(self, params: Params, X: Any, Y: Any) -> list:
        """``[(∂J/∂W_i, ∂J/∂b_i)]`` at ``params`` by (3.1)–(3.2); ``db = None`` without bias."""
        self.check_inputs(params, X, Y)
        G, F = self.forward(params, X, check=False)
        return self.backward(params, G, F, Y)[0]

    def accuracy(self, params: Params, X: Any, Y: Any) -> float:
        """Fraction of columns whose arg-max output matches the arg-max of ``Y``."""
        self.check_inputs(params, X, Y)
        xp = B.namespace(X)
        out = self.forward(params, X, check=False)[1][-1]
        return float(
            xp.mean(
                xp.astype(
                    xp.argmax(out, axis=0) == xp.argmax(Y, axis=0),
                    xp.float64 if out.dtype == xp.float64 else out.dtype,
                )
            )
        )


def _check_finite_params(params: Params) -> None:
    """No NaN or infinity in any ``W`` or ``b`` of checked ``params`` (one pass over them)."""
    for i, (W, b) in enumerate(params):
        check_array(f"params[{i}] W", W)
        if b is not None:
            check_array(f"params[{i}] b", b)


def _blocks(layers: list) -> list[Block]:
    """Group ``layers`` into blocks; check that consecutive layers fit together."""
    if not layers:
        raise ValueError("a network needs at least one layer")
    if not is_parametrised(layers[0]):
        raise ValueError(
            f"the first layer must have parameters (W, b), got {type(layers[0]).__name__}"
        )
    for j in range(1, len(layers)):
        a, b = layers[j - 1], layers[j]
        if a.out_features != b.in_features:
            raise ValueError(
                f"layer {j} ({type(b).__name__}) takes {b.in_features} features but layer "
                f"{j - 1} ({type(a).__name__}) gives {a.out_features}"
            )
    blocks: list[Block] = []
    for layer in layers:
        if is_parametrised(layer):
            blocks.append(Block(layer, ()))
        else:
            blocks[-1] = Block(blocks[-1].layer, (*blocks[-1].post, layer))
    return blocks


def _check_sizes(sizes: Any) -> list[int]:
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    return [int(s) for s in sizes]  # NumPy integers become plain ints


class MLP(Network):
    """A fully connected network described by its layer sizes.

    >>> net = MLP([784, 500, 10], activation="relu", loss="cross_entropy", bias=True)
    >>> params = net.init(seed=0, std=0.05)
    >>> G, F = net.forward(params, X)          # (2.1)
    >>> J = net.loss(params, X, Y)             # (2.2), mean over columns
    >>> grads = net.gradient(params, X, Y)     # (3.1)-(3.2): list of (dW, db)

    The hidden layers use ``activation``; the last layer has none (``F_N = G_N``).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Activation = "relu",
        loss: str | Loss = "cross_entropy",
        bias: bool = True,
        *,
        loss_reduction: str = "mean",
    ) -> None:
        sizes = _check_sizes(sizes)
        self.sigma = get_activation(activation)
        self.bias = bool(bias)
        L = len(sizes) - 1
        layers = [
            Dense(sizes[i], sizes[i + 1], self.sigma if i < L - 1 else "identity", self.bias)
            for i in range(L)
        ]
        super().__init__(layers, loss, loss_reduction=loss_reduction)

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, activation={self.sigma.name!r}, "
            f"loss={self.loss_fn.name!r}, bias={self.bias})"
        )
