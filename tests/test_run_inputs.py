"""train() checks what step() checks, once, with messages that name the argument; NaN or
Inf in the input is an error, not a divergence; a divergence keeps the last finite state."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sibp_ref import BP, MLP
from sibp_ref import backend as B
from sibp_ref.data import make_synthetic
from sibp_ref.run import read_log, train


def small(dtype="float64", n=30):
    ds = make_synthetic(n, 20, d=6, num_classes=3, informative=3, spread=1.0, seed=1,
                        dtype=dtype)  # fmt: skip
    net = MLP([6, 8, 3])
    return ds, net, net.init(seed=0, std=0.3, dtype=dtype)


def data(ds):
    return [np.asarray(a).copy() for a in (ds.X_train, ds.Y_train, ds.X_test, ds.Y_test)]


def fit(net, params, d, **kw):
    return train(net, BP(lr=0.1), params, tuple(d), epochs=1, progress=False, **kw)


@pytest.mark.parametrize(
    "which, where",
    [(0, (2, 5)), (1, (0, 3)), (2, (4, 1)), (3, (1, 7))],
    ids=["X", "Y", "X_test", "Y_test"],
)
def test_non_finite_data_is_refused_naming_the_array_and_position_not_called_divergence(
    which, where
):
    ds, net, params = small()
    d = data(ds)
    d[which][where] = math.nan if which % 2 == 0 else math.inf
    name = ["X", "Y", "X_test", "Y_test"][which]
    with pytest.raises(
        ValueError, match=rf"^{name} contains (NaN|\+inf) at \[{where[0]}, {where[1]}\]"
    ):
        fit(net, params, d)


def test_non_finite_initial_parameters_are_refused_naming_the_layer():
    ds, net, params = small()
    W, b = params[1]
    W = np.asarray(W).copy()
    W[1, 2] = math.inf
    params = [params[0], (W, b)]
    with pytest.raises(ValueError, match=r"params\[1\] W contains \+inf at \[1, 2\]"):
        fit(net, params, data(ds))


def test_test_arrays_of_the_wrong_shape_are_named():
    ds, net, params = small()
    X, Y, Xt, Yt = data(ds)
    with pytest.raises(
        ValueError,
        match=r"X_test has shape \(5, 20\) and Y_test \(3, 20\); the net \[6, 8, 3\] wants",
    ):
        fit(net, params, (X, Y, Xt[:5], Yt))
    with pytest.raises(ValueError, match="X_test has 20 samples but Y_test has 19"):
        fit(net, params, (X, Y, Xt, Yt[:, :19]))


def test_samples_as_rows_say_transpose():
    ds, net, params = small()
    X, Y, _, _ = data(ds)
    with pytest.raises(ValueError, match="samples are columns.*transpose them"):
        fit(net, params, (X.T, Y.T))


def test_zero_columns_are_refused():
    ds, net, params = small()
    X, Y, _, _ = data(ds)
    with pytest.raises(ValueError, match="X has no samples"):
        fit(net, params, (X[:, :0], Y[:, :0]))


def test_lists_and_bare_weight_matrices_are_type_errors_that_say_so():
    ds, net, params = small()
    X, Y, _, _ = data(ds)
    with pytest.raises(TypeError, match="X must be an array .*got a list"):
        fit(net, params, (X.tolist(), Y))
    with pytest.raises(TypeError, match=r"params\[0\] must be a \(W, b\) pair, got a numpy array"):
        fit(net, [W for W, _ in params], (X, Y))


def test_mixed_backends_are_named():
    strict = pytest.importorskip("array_api_strict")
    ds, net, params = small()
    X, Y, _, _ = data(ds)
    sp = [tuple(B.asarray(np.asarray(a), strict) for a in p) for p in params]
    with pytest.raises(
        TypeError,
        match="X is a numpy array but params are array_api_strict arrays; put them on one",
    ):
        fit(net, sp, (X, Y))


def test_the_dtype_rule_is_one_message_and_the_log_records_the_params_dtype(tmp_path):
    ds, net, params32 = small(dtype="float32")
    X, Y, _, _ = data(ds)
    with pytest.raises(TypeError, match="X has dtype float64 but params have dtype float32"):
        fit(net, params32, (X.astype(np.float64), Y))
    fit(net, params32, (X, Y), log=tmp_path / "r.jsonl")
    head = json.loads((tmp_path / "r.jsonl").read_text().splitlines()[0])
    assert head["settings"]["dtype"] == "float32"


def test_a_divergence_keeps_the_last_finite_parameters_and_records_no_broken_metric(tmp_path):
    ds = make_synthetic(50, 20, d=6, num_classes=3, informative=3, spread=1.0, seed=1,
                        dtype="float64")  # fmt: skip
    net = MLP([6, 8, 3], activation="identity", loss="square")
    params = net.init(seed=0, std=0.3, dtype="float64")
    h = train(net, BP(lr=5.0), params, ds, epochs=20, batch_size=10, progress=False,
              log=tmp_path / "d.jsonl")  # fmt: skip
    assert h.diverged
    last = h.records[-1]
    assert all(math.isnan(last[k]) for k in ("train_acc", "test_loss", "test_acc"))
    assert h.params_epoch == last["epoch"] - 1 >= 0
    assert all(np.isfinite(np.asarray(a)).all() for p in h.params for a in p)
    assert h.records[h.params_epoch]["train_loss"] == pytest.approx(
        float(net.loss(h.params, ds.X_train, ds.Y_train)), rel=1e-12
    )
    back = read_log(tmp_path / "d.jsonl")
    assert back.end["diverged_at"] == {"epoch": last["epoch"], "step": last["step"]}
    assert back.end["params_epoch"] == h.params_epoch
    assert f"epoch {last['epoch']}" in back.reason
    assert back.records[-1]["test_acc"] is None  # written as null, never as a number
