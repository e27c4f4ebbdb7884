"""The checks :func:`sibp_ref.run.loop.train` makes once, before any step.

The same mistakes get the same messages as from ``method.step`` and ``net.forward``: shapes
against the network (samples are columns: a transposed array is named as such), arrays of
one library, one floating dtype for parameters and data (``docs/conventions.md §7``), and
finite values: NaN or Inf in the data or in the initial parameters is an input error, named
with its first position, not a divergence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend as B

__all__ = ["check_inputs"]


def _is_array(a: Any) -> bool:
    return hasattr(a, "shape") and hasattr(a, "dtype") and not isinstance(a, np.generic)


def _check_arrays(params: Any, named: dict) -> None:
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"params must be a list of (W, b) pairs, got {type(params).__name__}")
    for i, pair in enumerate(params):
        if _is_array(pair) or not isinstance(pair, (list, tuple)) or len(pair) != 2:
            got = f"an array of shape {tuple(pair.shape)}" if _is_array(pair) else repr(pair)[:40]
            raise TypeError(f"params[{i}] must be a (W, b) pair, got {got}")
    for name, a in named.items():
        if a is not None and not _is_array(a):
            raise TypeError(
                f"{name} must be an array of the network's backend, got {type(a).__name__} "
                "(convert it, e.g. with numpy.asarray)"
            )


def _one_library(named: dict) -> Any:
    arrays = {k: a for k, a in named.items() if a is not None}
    try:
        return B.namespace(*arrays.values())
    except TypeError:
        libs = {k: type(a).__module__.split(".")[0] for k, a in arrays.items()}
        raise TypeError(
            "the arrays are of different libraries ("
            + ", ".join(f"{k}: {v}" for k, v in libs.items())
            + "); put parameters and data on one backend"
        ) from None


def _first_bad(a: Any) -> tuple[int, ...] | None:
    host = np.asarray(B.to_numpy(a))
    bad = np.argwhere(~np.isfinite(host))
    return tuple(int(i) for i in bad[0]) if len(bad) else None


def _check_finite(named: dict) -> None:
    for name, a in named.items():
        if a is not None and not B.is_finite(a):
            pos = _first_bad(a)
            raise ValueError(
                f"{name} contains NaN or infinite values (the first at index {pos}); "
                "clean the input: non-finite input is not a divergence"
            )


def _check_dtypes(named: dict) -> None:
    W = named["params[0] W"]
    xp = B.namespace(W)
    if W.dtype not in (xp.float32, xp.float64):
        raise TypeError(f"params must be float32 or float64, got {W.dtype}")
    for name, a in named.items():
        if a is not None and a.dtype != W.dtype:
            raise TypeError(
                f"{name} has dtype {a.dtype} but the parameters are {W.dtype}: parameters "
                f"and data must share one floating dtype (convert the data to {W.dtype})"
            )


def _check_shapes(net: Any, X: Any, Y: Any, Xt: Any, Yt: Any) -> None:
    for x, y, nx, ny in ((X, Y, "X", "Y"), (Xt, Yt, "X_test", "Y_test")):
        if x is None:
            continue
        if len(x.shape) != 2 or len(y.shape) != 2:
            raise ValueError(f"{nx} and {ny} must be 2-d (samples as columns)")
        if x.shape[1] < 1:
            raise ValueError(f"{nx} has no samples (0 columns)")
        wrong_x, wrong_y = x.shape[0] != net.sizes[0], y.shape[0] != net.sizes[-1]
        if (wrong_x or wrong_y) and (x.shape[1], y.shape[1]) == (net.sizes[0], net.sizes[-1]):
            raise ValueError(
                f"{nx} has shape {tuple(x.shape)} and {ny} {tuple(y.shape)}: samples are "
                f"columns, the net {list(net.sizes)} wants ({net.sizes[0]}, n); transpose them"
            )
        if (wrong_x or wrong_y) and nx == "X_test":
            raise ValueError(
                f"X_test has shape {tuple(x.shape)} and Y_test {tuple(y.shape)}; the net "
                f"{list(net.sizes)} wants ({net.sizes[0]}, n) and ({net.sizes[-1]}, n), as X "
                "and Y are"
            )
        if wrong_x or wrong_y:
            raise ValueError(
                f"the network {list(net.sizes)} does not match the data: {x.shape[0]} features "
                f"and {y.shape[0]} classes (make the first size {x.shape[0]} and "
                f"the last {y.shape[0]})"
            )
        if y.shape[1] != x.shape[1]:
            raise ValueError(f"{nx} has {x.shape[1]} samples but {ny} has {y.shape[1]}")


def check_inputs(net: Any, params: Any, X: Any, Y: Any, Xt: Any = None, Yt: Any = None) -> None:
    """Refuse, with a message naming the argument, what no step could train on."""
    data = {"X": X, "Y": Y, "X_test": Xt, "Y_test": Yt}
    _check_arrays(params, data)
    net.check_params(params)
    flat = {
        f"params[{i}] {n}": a for i, p in enumerate(params) for n, a in zip("Wb", p, strict=True)
    }
    named = {**flat, **data}
    _one_library(named)
    _check_dtypes(named)
    _check_shapes(net, X, Y, Xt, Yt)
    _check_finite(named)
