"""Clear errors for bad input to the network (issue 2): shapes of X, Y against the sizes,
non-finite values, unknown activation or loss names, non-positive sizes."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import MLP
from sibp_ref import backend as B

SIZES = [3, 4, 2]


def setup(xp, n=5):
    net = MLP(SIZES, "relu", "cross_entropy")
    params = net.init(seed=0, std=0.1, xp=xp)
    X = B.normal((3, n), xp=xp, seed=1)
    Y = B.asarray(np.eye(2)[:, np.arange(n) % 2], xp)
    return net, params, X, Y


@pytest.mark.parametrize(
    "sizes", [[3, 0, 2], [3, -4, 2], [0, 2], [3, 2.5, 2], [3, True, 2], [3, "4", 2]]
)
def test_non_positive_or_non_integer_sizes(sizes):
    with pytest.raises(ValueError, match="layer sizes must be positive integers"):
        MLP(sizes)


def test_numpy_integer_sizes_are_accepted_as_ints():
    net = MLP(np.array([3, 4, 2]))
    assert net.sizes == [3, 4, 2] and all(type(s) is int for s in net.sizes)


def test_too_few_sizes():
    with pytest.raises(ValueError, match="at least an input and an output size"):
        MLP([5])


def test_unknown_activation_or_loss_name():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        MLP(SIZES, activation="gelu")
    with pytest.raises(ValueError, match="unknown loss 'mse'"):
        MLP(SIZES, loss="mse")
    with pytest.raises(ValueError, match="reduction must be"):
        MLP(SIZES, loss_reduction="avg")


def test_X_with_wrong_rows_or_samples_as_rows(xp):
    net, params, X, Y = setup(xp)
    for method in (
        lambda X: net.forward(params, X),
        lambda X: net.loss(params, X, Y),
        lambda X: net.gradient(params, X, Y),
    ):
        with pytest.raises(ValueError, match=r"X has shape \(5, 3\); expected \(3, n\)"):
            method(X.T)
        with pytest.raises(ValueError, match="X has shape"):
            method(X[0, :])  # 1-d
    with pytest.raises(ValueError, match="no samples"):
        net.forward(params, X[:, :0])


def test_Y_not_matching_X_or_the_output_size(xp):
    net, params, X, Y = setup(xp)
    with pytest.raises(ValueError, match=r"Y has shape \(2, 4\); expected \(2, 5\)"):
        net.loss(params, X, Y[:, :4])
    with pytest.raises(ValueError, match=r"Y has shape \(5, 2\)"):
        net.gradient(params, X, Y.T)


def test_non_finite_X_or_Y(xp):
    net, params, X, Y = setup(xp)
    bad = np.array(B.to_numpy(X))
    # the message names the array, the kind of value and its first position
    for v, shown in ((np.nan, "NaN"), (np.inf, r"\+inf"), (-np.inf, "-inf")):
        bad[1, 2] = v
        with pytest.raises(ValueError, match=rf"^X contains {shown} at \[1, 2\]$"):
            net.forward(params, B.asarray(bad, xp))
    badY = np.array(B.to_numpy(Y))
    badY[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^Y contains NaN at \[0, 0\]$"):
        net.gradient(params, X, B.asarray(badY, xp))


def test_integer_X_or_dtype_differing_from_the_weights(xp):
    net, params, X, _ = setup(xp)
    with pytest.raises(TypeError, match="real floating"):
        net.forward(params, xp.astype(X, xp.int64))
    with pytest.raises(TypeError, match="X has dtype .*float32.* weights have dtype .*float64"):
        net.forward(params, xp.astype(X, xp.float32))


def test_params_not_matching_the_sizes(xp):
    net, params, X, Y = setup(xp)
    with pytest.raises(ValueError, match="params has 1 layers, the net has 2"):
        net.forward(params[:1], X)
    W, b = params[0]
    with pytest.raises(ValueError, match=r"params\[0\] W has shape \(3, 4\), expected \(4, 3\)"):
        net.forward([(W.T, b), params[1]], X)
    with pytest.raises(ValueError, match=r"params\[0\] b has shape None"):
        net.forward([(W, None), params[1]], X)
    no_bias = MLP(SIZES, bias=False)
    with pytest.raises(ValueError, match="bias=False"):
        no_bias.forward(params, X)


def test_init_bad_std_or_dtype():
    net = MLP(SIZES)
    with pytest.raises(ValueError, match="std has 3 entries for 2 layers"):
        net.init(std=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="std must be non-negative"):
        net.init(std=-0.1)
    with pytest.raises(ValueError, match="std must be non-negative and finite"):
        net.init(std=[0.1, float("nan")])
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'"):
        net.init(dtype="float16")
