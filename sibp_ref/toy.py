"""The gradient-vanishing toy problem of §5.1, built from the same :class:`~sibp_ref.MLP`.

.. math:: \\min_{w_1,…,w_7} \\; F(w) = \\sum_{i=1}^{10} (w_7 w_6 ⋯ w_1 x_i − y_i)^2

is a deep scalar linear network: sizes ``[1]*8``, identity activation, no bias, square
loss as a plain sum, ``MLP([1]*8, "identity", "square", bias=False,
loss_reduction="sum")``. ``params[j] = (w_{j+1}, None)`` with ``w`` of shape ``(1, 1)``.

Choices the paper leaves open, made here:

- **Data.** "we randomly generate 10 points": the problem comes from [39], where the
  target is ``(w_L ⋯ w_1 − 1)²``, and Figure 2 plots ``f(w) = (w^7 − 1)²``, so the data
  should make the product 1 optimal. We take ``x_i ~ N(0, 1)`` and ``y_i = x_i``: then
  ``F(w) = (Σ x_i²)·(w_7⋯w_1 − 1)²``, Figure 2's function up to the factor ``Σ x_i²``,
  with minimum 0 on the set ``w_7⋯w_1 = 1``. ``data="uniform"`` gives ``x ~ U(−1, 1)``
  instead; ``noise > 0`` adds ``N(0, noise)`` to ``y``.
- **Initialisation.** ``w_j ~ N(0.15, s)`` with ``s = 0.01``. ``init_std=0.01`` reads
  ``s`` as a standard deviation (docs/conventions.md §3, the default); ``init_std=0.1``
  reads it as a variance. The two readings behave alike (figures/02_toy_problem.md),
  because ``0.15^7`` sets the scale of the product either way; with std 0.1 a weight is
  negative with probability 7%, the product then has the wrong sign and SGD may not
  escape at all. We keep std 0.01: it is the project's convention, and it keeps every
  ``w_j`` near 0.15, inside the vanishing-gradient region ``[−0.8, 0.8]`` of Figure 2,
  which is what §5.1 studies.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any, NamedTuple

from . import backend as B
from .network import MLP
from .validation import check_choice, check_int, check_nonnegative, check_number

__all__ = ["ToyProblem", "toy_problem", "iterations_to_halve", "TOY_SIZES"]

TOY_SIZES = [1] * 8  # seven scalar weights w_1 … w_7


class ToyProblem(NamedTuple):
    """The network, its initial parameters, and the ten data points (shapes ``(1, 10)``)."""

    net: MLP
    params: list
    X: Any
    Y: Any


def toy_problem(
    seed: int = 0,
    init_std: float = 0.01,
    *,
    init_mean: float = 0.15,
    n: int = 10,
    data: str = "normal",
    noise: float = 0.0,
    xp: ModuleType | str = "numpy",
    dtype: Any = "float64",
    device: Any = None,
) -> ToyProblem:
    """The §5.1 problem: ``(net, params, X, Y)``.

    ``seed`` draws the data and then the weights ``w_j ~ N(init_mean, init_std)`` (a
    standard deviation: the default 0.01 reads the paper's ``N(0.15, 0.01)`` as mean and
    standard deviation, ``0.1`` reads 0.01 as a variance).
    """
    check_choice("data", data, ("normal", "uniform"))
    init_std = check_nonnegative("init_std", init_std)
    init_mean = check_number("init_mean", init_mean)
    noise = check_nonnegative("noise", noise)
    n = check_int("n", n, 1)
    xp = B.get_backend(xp)
    rng = B._rng(seed)
    if data == "normal":
        x = rng.normal(0.0, 1.0, size=(1, n))
    else:
        x = rng.uniform(-1.0, 1.0, size=(1, n))
    y = x + (rng.normal(0.0, noise, size=(1, n)) if noise else 0.0)
    net = MLP(TOY_SIZES, "identity", "square", bias=False, loss_reduction="sum")
    params = net.init(seed=rng, std=init_std, mean=init_mean, xp=xp, dtype=dtype, device=device)
    X = B.asarray(x, xp, dtype=dtype, device=device)
    Y = B.asarray(y, xp, dtype=dtype, device=device)
    return ToyProblem(net, params, X, Y)


def iterations_to_halve(
    method: Any,
    problem: ToyProblem,
    max_iters: int = 1000,
    *,
    batch: int | None = None,
    seed: int = 0,
    blowup: float = 1e3,
) -> float:
    """Iterations ``method`` needs until the full loss is at most half its starting value.

    ``batch=None`` runs full batch; ``batch=b`` draws ``b`` of the points with replacement
    at each step (the stochastic setting of §5.1). Returns ``inf`` when the loss is not
    halved within ``max_iters`` and ``-1`` when it blows up first (non-finite, or above
    ``blowup`` times its starting value): the method is unstable at these settings.
    """
    net, params, X, Y = problem
    rng = B._rng(seed)
    state = method.init(net, params)
    J0 = B.to_float(net.loss(params, X, Y))
    for k in range(1, max_iters + 1):
        if batch is None:
            Xb, Yb = X, Y
        else:
            xp = B.namespace(X)
            idx = B.asarray(rng.integers(0, X.shape[1], size=batch), xp, device=B.device_of(X))
            Xb, Yb = xp.take(X, idx, axis=1), xp.take(Y, idx, axis=1)
        params, state = method.step(net, params, state, Xb, Yb)
        J = B.to_float(net.loss(params, X, Y))
        if not math.isfinite(J) or J > blowup * J0:
            return -1
        if J <= 0.5 * J0:
            return k
    return math.inf
