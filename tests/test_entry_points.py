"""One check at every entry point (issue #14): the same mistake gets the same message from
``MLP`` and from every method's ``init``/``step``; the one API of the methods (#10.6)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from sibp_ref import BCD, BP, MLP, SIBP, Dense, Network, ProxBP, one_hot
from sibp_ref import backend as B
from sibp_ref.methods import BCDState, BPState, ProxBPState, make_method
from sibp_ref.methods.schedules import inverse_power

SIZES = [3, 4, 2]
STEPPERS = {
    "sgd": lambda: BP(lr=0.1),
    "proxbp": lambda: ProxBP(),
    "bcd": lambda: BCD(),
}
# SIBP's step calls the same shared check once it takes ``check=`` (methods/sibp.py)
if "check" in inspect.signature(SIBP.step).parameters:
    STEPPERS["sibp"] = lambda: SIBP()


def setup(xp="numpy", n=5, loss="cross_entropy", dtype="float64"):
    net = MLP(SIZES, "tanh", loss)
    params = net.init(seed=0, std=0.3, xp=xp, dtype=dtype)
    X = B.normal((3, n), xp=xp, seed=1, dtype=dtype)
    Y = B.asarray(np.eye(2)[:, np.arange(n) % 2], xp, dtype=dtype)
    return net, params, X, Y


def for_method(name, xp="numpy", dtype="float64"):
    loss = "square" if name == "bcd" else "cross_entropy"
    net, params, X, Y = setup(xp, loss=loss, dtype=dtype)
    m = STEPPERS[name]()
    return m, net, params, m.init(net, params), X, Y


def with_entry(a, pos, value, xp):
    b = np.array(B.to_numpy(a))
    b[pos] = value
    return B.asarray(b, xp, dtype=str(b.dtype))


# --------------------------------------------------------- non-finite input
@pytest.mark.parametrize("name", list(STEPPERS))
def test_step_refuses_nan_in_X_naming_the_position(name, xp):
    m, net, params, state, X, Y = for_method(name, xp)
    with pytest.raises(ValueError, match=r"^X contains NaN at \[2, 1\]$"):
        m.step(net, params, state, with_entry(X, (2, 1), np.nan, xp), Y)


@pytest.mark.parametrize("name", list(STEPPERS))
def test_step_refuses_inf_in_the_parameters_naming_the_layer(name, xp):
    m, net, params, state, X, Y = for_method(name, xp)
    W, b = params[1]
    bad = [params[0], (W, with_entry(b, (1, 0), np.inf, xp))]
    with pytest.raises(ValueError, match=r"^params\[1\] b contains \+inf at \[1, 0\]$"):
        m.step(net, bad, state, X, Y)


@pytest.mark.parametrize("name", list(STEPPERS))
def test_step_with_check_false_skips_only_the_finiteness_checks(name):
    m, net, params, state, X, Y = for_method(name)
    # shapes are still checked
    with pytest.raises(ValueError, match=r"X has shape \(5, 3\); expected \(3, n\)"):
        m.step(net, params, state, X.T, Y, check=False)
    # a NaN is not looked for: it reaches the parameters (divergence, the loop's business)
    new, _ = m.step(net, params, state, with_entry(X, (0, 0), np.nan, "numpy"), Y, check=False)
    assert not all(np.isfinite(B.to_numpy(W)).all() for W, _ in new)


def test_forward_loss_and_gradient_refuse_nan_in_the_parameters(xp):
    net, params, X, Y = setup(xp)
    W, b = params[0]
    bad = [(with_entry(W, (3, 2), np.nan, xp), b), params[1]]
    for call in (
        lambda: net.forward(bad, X),
        lambda: net.loss(bad, X, Y),
        lambda: net.gradient(bad, X, Y),
    ):
        with pytest.raises(ValueError, match=r"^params\[0\] W contains NaN at \[3, 2\]$"):
            call()


# ------------------------------------------------------------------ targets
@pytest.mark.parametrize(
    ("make", "shown"),
    [
        (lambda Y: 5 * Y, r"column 0 sums to 5\.0 \(5 such columns\)"),
        (lambda Y: 0 * Y, r"column 0 sums to 0\.0 \(5 such columns\)"),
        (lambda Y: -Y, r"Y\[0, 0\] = -1\.0"),
    ],
    ids=["Y_times_5", "all_zero", "negative"],
)
def test_cross_entropy_targets_must_be_probability_columns(make, shown, xp):
    net, params, X, Y = setup(xp)
    bad = make(Y)
    msg = r"^Y must hold probability columns for the cross-entropy loss .*" + shown
    for call in (
        lambda: net.loss(params, X, bad),
        lambda: net.gradient(params, X, bad),
        lambda: BP().step(net, params, BP().init(net, params), X, bad),
        lambda: ProxBP().step(net, params, ProxBP().init(net, params), X, bad),
    ):
        with pytest.raises(ValueError, match=msg):
            call()


def test_soft_targets_that_sum_to_one_are_accepted():
    net, params, X, _ = setup()
    Y = np.full((2, 5), 0.5)
    assert np.isfinite(float(net.loss(params, X, Y)))
    net_sq = MLP(SIZES, "tanh", "square")  # the square loss takes any finite Y
    assert float(net_sq.loss(params, X, 5 * Y)) > 0


def test_one_hot_takes_integer_labels_only(xp):
    with pytest.raises(TypeError, match=r"^labels must have an integer dtype, got float64$"):
        one_hot(B.asarray([0.0, 1.0, 2.0], xp, dtype="float64"), 3)
    with pytest.raises(TypeError, match=r"^labels must be an array .*got a list"):
        one_hot([0, 1], 3)


# ---------------------------------------------------------------- dtype rule
@pytest.mark.parametrize("name", list(STEPPERS))
def test_float32_parameters_with_float64_data_are_refused_by_step(name, xp):
    m, net, params, state, X, Y = for_method(name, xp, dtype="float32")
    X64 = xp.astype(X, xp.float64)
    with pytest.raises(TypeError) as info:
        m.step(net, params, state, X64, xp.astype(Y, xp.float64))
    assert str(info.value).startswith("X has dtype float64 but weights have dtype float32")
    with pytest.raises(TypeError) as forward_info:
        net.forward(params, X64)
    assert str(forward_info.value) == str(info.value)  # the same message


def test_data_matching_float16_parameters_is_refused():
    net, params, X, Y = setup()
    p16 = [(np.asarray(W, np.float16), np.asarray(b, np.float16)) for W, b in params]
    with pytest.raises(TypeError, match="float32 or float64, got dtype float16"):
        BP().step(net, p16, BP().init(net, p16), X.astype(np.float16), Y.astype(np.float16))


@pytest.mark.parametrize("name", list(STEPPERS))
def test_a_step_returns_parameters_of_the_data_dtype(name, xp_dtype):
    xp, dtype = xp_dtype
    m, net, params, state, X, Y = for_method(name, xp, dtype=dtype)
    new, state = m.step(net, params, state, X, Y)
    new, _ = m.step(net, new, state, X, Y)
    want = getattr(xp, dtype)
    assert all(W.dtype == want and b.dtype == want for W, b in new)
    assert all(B.is_finite(W) and B.is_finite(b) for W, b in new)


# ------------------------------------------------------- kinds of arguments
def test_python_lists_and_bare_weights_get_clear_messages():
    net, params, X, Y = setup()
    bp = BP()
    with pytest.raises(TypeError, match=r"^X must be an array .*got a list; convert it first"):
        bp.step(net, params, bp.init(net, params), X.tolist(), Y)
    with pytest.raises(TypeError, match=r"^params\[0\] must be a \(W, b\) pair"):
        net.forward([W for W, _ in params], X)
    with pytest.raises(TypeError, match=r"^params must be a list of \(W, b\) pairs"):
        net.forward(params[0][0], X)


def test_mixed_backends_are_named():
    strict = B.get_backend("array_api_strict")
    net, params, X, Y = setup(strict)
    with pytest.raises(TypeError, match=r"^X is a numpy array but params are array_api_strict"):
        BP().step(net, params, BP().init(net, params), B.to_numpy(X), Y)


BAD_NUMBERS = ["0.5", "abc", True, float("nan"), -1.0, 1j]
HYPER = [
    # None means "the default" for BP's eta and lr; a list is lam's per-layer form
    (lambda v: ProxBP(lam=v), "lam", [*BAD_NUMBERS, None, [0.5, "x"]]),
    (lambda v: ProxBP(eta=v), "eta", [*BAD_NUMBERS, None, [0.5]]),
    (lambda v: BP(eta=v), "eta", [*BAD_NUMBERS, [0.5]]),
    (lambda v: BP(lr=v), "lr", [*BAD_NUMBERS, [0.5]]),
    (lambda v: BCD(gamma=v), "gamma", [*BAD_NUMBERS, None, [0.5]]),
]


@pytest.mark.parametrize(
    ("make", "name", "bad"),
    [(make, name, bad) for make, name, bads in HYPER for bad in bads],
)
def test_a_bad_hyper_parameter_of_any_kind_names_the_argument(make, name, bad):
    with pytest.raises((TypeError, ValueError), match=rf"^{name}"):
        make(bad)


def test_numpy_scalars_are_accepted_as_numbers():
    assert ProxBP(lam=np.float32(0.5)).lam == 0.5
    assert BP(eta=np.float32(0.25)).eta == 0.25
    assert BCD(iters=np.int64(4)).iters == 4


# ---------------------------------------------------------------- one API
def test_bp_takes_eta_with_lr_as_an_alias():
    assert BP(eta=0.3).lr == 0.3 and BP(lr=0.3).eta == 0.3 and BP("sgd", 0.3).eta == 0.3
    assert BP().eta == 0.1
    with pytest.raises(ValueError, match="give eta or its alias lr, not both"):
        BP(eta=0.1, lr=0.1)


def test_bcd_iters_with_u_iters_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="use iters"):
        assert BCD(u_iters=7).iters == 7
    with pytest.raises(ValueError, match="not both"):
        BCD(iters=3, u_iters=3)


@pytest.mark.parametrize("name", list(STEPPERS))
def test_every_state_counts_its_steps(name):
    m, net, params, state, X, Y = for_method(name)
    assert state.k == 0
    for k in (1, 2):
        params, state = m.step(net, params, state, X, Y)
        assert state.k == k
    assert isinstance(state, (BPState, ProxBPState, BCDState)) or name == "sibp"


def test_bp_with_a_schedule_steps_by_eta_k():
    net, params, X, Y = setup()
    sched = inverse_power(0.4, 1.0)  # 0.4, 0.2, ...
    m = BP(schedule=sched)
    state = m.init(net, params)
    p1, state = m.step(net, params, state, X, Y)
    p2, _ = m.step(net, p1, state, X, Y)
    for (W0, _), (W1, _), (dW, _) in zip(params, p1, net.gradient(params, X, Y), strict=True):
        np.testing.assert_allclose(W1, W0 - 0.4 * dW, rtol=1e-14, atol=1e-15)
    for (W1, _), (W2, _), (dW, _) in zip(p1, p2, net.gradient(p1, X, Y), strict=True):
        np.testing.assert_allclose(W2, W1 - 0.2 * dW, rtol=1e-14, atol=1e-15)


def test_proxbp_with_a_schedule_equals_proxbp_with_that_eta():
    net, params, X, Y = setup()
    sched = inverse_power(2.0, 1.0)
    m = ProxBP(schedule=sched)
    s = m.init(net, params)
    p1, s = m.step(net, params, s, X, Y)
    p2, _ = m.step(net, p1, s, X, Y)
    q1, _ = ProxBP(eta=2.0).step(net, params, ProxBPState(), X, Y)
    q2, _ = ProxBP(eta=1.0).step(net, q1, ProxBPState(), X, Y)
    for (a, b), (c, d) in zip(p2 + p1, q2 + q1, strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_a_bad_schedule_is_a_clear_error():
    with pytest.raises(TypeError, match="schedule must be None or a callable"):
        ProxBP(schedule=0.5)
    net, params, X, Y = setup()
    m = BP(schedule=lambda k: -1.0)
    with pytest.raises(ValueError, match=r"^schedule\(0\) must be a finite number > 0"):
        m.step(net, params, m.init(net, params), X, Y)


def test_make_method_gives_the_same_classes_with_requirements_on_them():
    assert make_method("bcd").full_batch and make_method("bcd").required_loss == "square"
    assert not make_method("sgd").full_batch and make_method("proxbp").required_loss is None


def test_bcd_refuses_a_network_that_is_not_dense():
    class Half:  # a parameter-free layer: halves its input
        in_features = out_features = 4

        def forward(self, F):
            return 0.5 * F

        def vjp(self, F, d):
            return 0.5 * d

    net = Network([Dense(3, 4, "relu"), Half(), Dense(4, 2)], loss="square")
    with pytest.raises(ValueError, match="BCD supports only dense networks.*Half"):
        BCD().init(net, net.init())


def test_a_method_that_needs_another_loss_says_which():
    net, params, _, _ = setup(loss="cross_entropy")
    with pytest.raises(ValueError) as info:
        BCD().init(net, params)
    assert str(info.value) == (
        "BCD supports only the 'square' loss; this net uses loss 'cross_entropy' "
        "(build the network with loss='square')"
    )
