"""The fully connected network of §2: forward pass (2.1), back-propagation (3.1)–(3.2).

Indexing. The paper counts layers from 1: ``F_1 = X``, weights
``W_1 … W_{N−1}``, ``G_{i+1} = W_i F_i + b_i``, ``F_{i+1} = σ(G_{i+1})``, and the
last layer has no activation (``F_N = G_N``). Python counts from 0, so here

- ``params[i] = (W, b)`` is the paper's ``(W_{i+1}, b_{i+1})``;
- ``F[i]`` is the paper's ``F_{i+1}`` (``F[0] = X``) and ``G[i]`` is ``G_{i+1}``
  (``G[0]`` is ``None``: the input has no pre-activation), so
  ``G[i+1] = W F[i] + b`` with ``(W, b) = params[i]``, and ``F[i] = σ(G[i])``.

Shapes (samples are columns): ``X`` is ``(d_1, n)``, ``W`` of ``params[i]`` is
``(d_{i+2}, d_{i+1})`` in the paper's numbering, i.e. ``(sizes[i+1], sizes[i])``,
and ``b`` is ``(sizes[i+1], 1)``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from . import backend as B
from .activations import Activation, get_activation
from .losses import Loss, get_loss

__all__ = ["MLP", "Params", "normal_init"]

Params = list  # list[tuple[W, b | None]]


def normal_init(
    sizes: Sequence[int],
    *,
    std: float | Sequence[float] = 0.05,
    mean: float = 0.0,
    bias: bool = True,
    bias_std: float | None = None,
    seed: Any = 0,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float64",
    device: Any = None,
) -> Params:
    """Weights ``W ~ N(mean, std)`` (``std`` a standard deviation, one value or one per
    layer), biases ``b ~ N(0, bias_std)`` with ``bias_std = std`` by default, as the
    paper's N(0, s) initialisations (SPEC §1)."""
    xp = B.get_backend(xp)
    rng = B._rng(seed)
    L = len(sizes) - 1
    stds = [float(std)] * L if isinstance(std, (int, float)) else [float(s) for s in std]
    if len(stds) != L:
        raise ValueError(f"std has {len(stds)} entries for {L} layers")
    if any(not (0 <= s < float("inf")) for s in stds):  # also rejects NaN
        raise ValueError(f"std must be non-negative and finite, got {stds}")
    params = []
    for i in range(L):
        W = B.normal(
            (sizes[i + 1], sizes[i]),
            mean=mean,
            std=stds[i],
            seed=rng,
            xp=xp,
            dtype=dtype,
            device=device,
        )
        b = None
        if bias:
            bs = stds[i] if bias_std is None else float(bias_std)
            b = B.normal((sizes[i + 1], 1), std=bs, seed=rng, xp=xp, dtype=dtype, device=device)
        params.append((W, b))
    return params


class MLP:
    """A fully connected network described by its layer sizes.

    >>> net = MLP([784, 500, 10], activation="relu", loss="cross_entropy", bias=True)
    >>> params = net.init(seed=0, std=0.05)
    >>> G, F = net.forward(params, X)          # (2.1)
    >>> J = net.loss(params, X, Y)             # (2.2), mean over columns
    >>> grads = net.gradient(params, X, Y)     # (3.1)-(3.2): list of (dW, db)
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
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
                raise ValueError(f"layer sizes must be positive integers, got {sizes}")
        self.sizes = [int(s) for s in sizes]  # NumPy integers become plain ints
        self.sigma = get_activation(activation)
        self.loss_fn = get_loss(loss, loss_reduction)
        self.bias = bool(bias)

    def __repr__(self) -> str:
        return (
            f"MLP(sizes={self.sizes}, activation={self.sigma.name!r}, "
            f"loss={self.loss_fn.name!r}, bias={self.bias})"
        )

    @property
    def num_layers(self) -> int:
        """Number of weight layers, ``N − 1`` in the paper."""
        return len(self.sizes) - 1

    def activation_of(self, i: int) -> Activation:
        """σ applied after ``params[i]``: the hidden activation, identity on the last layer."""
        return get_activation("identity") if i == self.num_layers - 1 else self.sigma

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
        """Parameters drawn from N(mean, std); see :func:`normal_init`."""
        return normal_init(
            self.sizes,
            std=std,
            mean=mean,
            bias=self.bias,
            bias_std=bias_std,
            seed=seed,
            xp=xp,
            dtype=dtype,
            device=device,
        )

    # ------------------------------------------------------------- checking
    def check_params(self, params: Params) -> None:
        """Shapes of ``params`` against ``sizes`` (cheap: no pass over the data)."""
        if len(params) != self.num_layers:
            raise ValueError(f"params has {len(params)} layers, the net has {self.num_layers}")
        for i, (W, b) in enumerate(params):
            want = (self.sizes[i + 1], self.sizes[i])
            if tuple(W.shape) != want:
                raise ValueError(f"params[{i}] W has shape {tuple(W.shape)}, expected {want}")
            if self.bias and (b is None or tuple(b.shape) != (want[0], 1)):
                got = None if b is None else tuple(b.shape)
                raise ValueError(f"params[{i}] b has shape {got}, expected {(want[0], 1)}")
            if not self.bias and b is not None:
                raise ValueError(f"params[{i}] has a bias but the net was built with bias=False")

    def check_batch(self, X: Any, Y: Any = None, *, finite: bool = True) -> None:
        """Shapes (and, with ``finite``, values) of a batch against the network.

        ``X`` must be ``(sizes[0], n)`` and ``Y`` ``(sizes[-1], n)``: samples are columns.
        """
        if len(X.shape) != 2 or X.shape[0] != self.sizes[0]:
            raise ValueError(
                f"X has shape {tuple(X.shape)}; expected ({self.sizes[0]}, n) with samples "
                "as columns (transpose a samples-as-rows array)"
            )
        if X.shape[1] < 1:
            raise ValueError("X has no samples (0 columns)")
        xp = B.namespace(X)
        if not xp.isdtype(X.dtype, "real floating"):
            raise TypeError(f"X must be a real floating array, got dtype {X.dtype}")
        if Y is not None:
            want = (self.sizes[-1], X.shape[1])
            if tuple(Y.shape) != want:
                raise ValueError(
                    f"Y has shape {tuple(Y.shape)}; expected {want} (one-hot columns, "
                    "one per column of X)"
                )
        if finite:
            if not B.is_finite(X):
                raise ValueError("X contains NaN or infinite values")
            if Y is not None and not B.is_finite(Y):
                raise ValueError("Y contains NaN or infinite values")

    def _check_inputs(self, params: Params, X: Any, Y: Any = None) -> None:
        """``check_params`` and ``check_batch``, and that ``X`` has the weights' dtype
        (NumPy would silently promote a float32 batch; other backends fail obscurely)."""
        self.check_params(params)
        self.check_batch(X, Y)
        W = params[0][0]
        if X.dtype != W.dtype:
            raise TypeError(f"X has dtype {X.dtype} but the weights have dtype {W.dtype}")

    # -------------------------------------------------------------- forward
    def forward(self, params: Params, X: Any, *, check: bool = True) -> tuple[list, list]:
        """Forward pass (2.1): ``G[i+1] = W F[i] + b``, ``F[i+1] = σ(G[i+1])``.

        Returns ``(G, F)``, lists of length ``N``; ``F[0] = X`` and ``G[0] = None``.
        """
        if check:
            self._check_inputs(params, X)
        G: list = [None]
        F: list = [X]
        for i, (W, b) in enumerate(params):
            Gi = W @ F[i]
            if b is not None:
                Gi = Gi + b
            G.append(Gi)
            F.append(self.activation_of(i).f(Gi))
        return G, F

    def predict(self, params: Params, X: Any) -> Any:
        """The network output ``F_N`` (logits for classification)."""
        return self.forward(params, X)[1][-1]

    def loss(self, params: Params, X: Any, Y: Any) -> Any:
        """``J(Θ; X, Y) = L(F_N, Y)`` (2.2) as a 0-d array (mean over columns by default)."""
        self._check_inputs(params, X, Y)
        return self.loss_fn.value(self.forward(params, X, check=False)[1][-1], Y)

    # ------------------------------------------------------------- backward
    def backward(self, params: Params, G: list, F: list, Y: Any) -> tuple[list, list]:
        """Back-propagation from a forward pass. Returns ``(grads, delta)``.

        ``delta[i] = ∂J/∂F[i]`` (δ_N = ∂J/∂F_N, then (3.1):
        ``δ_i = W_iᵀ (σ'(G_{i+1}) ⊙ δ_{i+1})``), and ``grads[i] = (dW, db)`` by (3.2):
        ``∂J/∂W_i = (σ'(G_{i+1}) ⊙ δ_{i+1}) F_iᵀ``, ``∂J/∂b_i = Σ_columns (σ'(G_{i+1}) ⊙ δ_{i+1})``.
        ``delta[0]`` (the input's) is not computed and is ``None``.
        """
        xp = B.namespace(F[-1])
        dG, delta = self.backward_G(params, G, F, Y)
        grads = [
            (dG[i] @ F[i].T, None if b is None else xp.sum(dG[i], axis=1, keepdims=True))  # (3.2)
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
            dG[i] = self._times_df(i, G[i + 1], delta[i + 1])  # ∂J/∂G_{i+1}
            if i > 0:
                delta[i] = params[i][0].T @ dG[i]  # (3.1)
        return dG, delta

    def _times_df(self, i: int, G: Any, delta: Any) -> Any:
        """``σ'(G) ⊙ δ`` for the activation after ``params[i]`` (δ itself for the identity)."""
        sigma = self.activation_of(i)
        return delta if sigma.name == "identity" else sigma.df(G) * delta

    def gradient(self, params: Params, X: Any, Y: Any) -> list:
        """``[(∂J/∂W_i, ∂J/∂b_i)]`` at ``params`` by (3.1)–(3.2); ``db = None`` without bias."""
        self._check_inputs(params, X, Y)
        G, F = self.forward(params, X, check=False)
        return self.backward(params, G, F, Y)[0]

    def accuracy(self, params: Params, X: Any, Y: Any) -> float:
        """Fraction of columns whose arg-max output matches the arg-max of ``Y``."""
        xp = B.namespace(X)
        out = self.predict(params, X)
        return float(
            xp.mean(
                xp.astype(
                    xp.argmax(out, axis=0) == xp.argmax(Y, axis=0),
                    xp.float64 if out.dtype == xp.float64 else out.dtype,
                )
            )
        )
