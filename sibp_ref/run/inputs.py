"""The checks :func:`sibp_ref.run.loop.prepare` makes of a run's data once, before any step.

The training data get the check ``method.step`` makes with ``check=True``
(:meth:`~sibp_ref.network.Network.check_inputs`, built of :mod:`sibp_ref.validation`), so the
same mistakes get the same messages; the steps then run with ``check=False``. This module
adds what only a run has: a test set, and messages that say how the data and the network
disagree (samples are columns: a transposed array is named as such). Arrays of one library,
one floating dtype for parameters and data (``docs/conventions.md §7``), and finite values:
NaN or Inf in the data or in the initial parameters is an input error, named with its first
position, not a divergence.
"""

from __future__ import annotations

from typing import Any

from ..validation import check_array, check_same_dtype, check_same_namespace

__all__ = ["check_inputs"]


def _check_shapes(net: Any, X: Any, Y: Any, Xt: Any, Yt: Any) -> None:
    """How 2-d data and the net disagree, said so that the fix is plain."""
    for x, y, nx, ny in ((X, Y, "X", "Y"), (Xt, Yt, "X_test", "Y_test")):
        if x is None:
            continue
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
    """Refuse, with a message naming the argument, what no step could train on.

    The training data and the parameters get the check every step makes with
    ``check=True``, :meth:`~sibp_ref.network.Network.check_inputs` (shapes, finite values,
    targets that suit the loss), here once for the whole run. What is this module's own
    comes first: the messages that say how the data and the network disagree (a transposed
    array, a net of other sizes), one library and one dtype across the training *and* test
    arrays, and the test set's finite values and targets."""
    data = {k: v for k, v in (("X", X), ("Y", Y), ("X_test", Xt), ("Y_test", Yt)) if v is not None}
    for name, a in data.items():
        check_array(name, a, ndim=2, finite=False)
    net.check_params(params)
    check_same_namespace(params=list(params), **data)
    check_same_dtype(params=list(params), **data)
    _check_shapes(net, X, Y, Xt, Yt)
    net.check_inputs(params, X, Y)
    if Xt is not None:
        check_array("X_test", Xt)
        check_array("Y_test", Yt)
        try:
            net.loss_fn.check_targets(Yt)
        except ValueError as exc:
            raise ValueError(f"Y_test: {exc}") from None
