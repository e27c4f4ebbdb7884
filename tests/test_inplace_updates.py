"""Issue 7's in-place updates keep the pure-functional contract: the caller's parameters,
state and (unless handed over) gradients are never modified, and the results are
bit-for-bit those of the plain expressions."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.methods.bp import BP
from sibp_ref.methods.optimizers import Adam, Momentum, get_rule
from sibp_ref.network import MLP

RULES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.01}),
    ("momentum", {}),
    ("nesterov", {}),
    ("adam", {"lr": 1e-2}),
    ("adam", {"lr": 1e-2, "weight_decay": 0.01}),
]


def _arrays(xp, seed):
    rng = np.random.default_rng(seed)
    return [B.asarray(rng.standard_normal(s), xp) for s in ((4, 3), (4, 1))]


@pytest.mark.parametrize("name, kw", RULES)
def test_consuming_the_gradients_gives_the_same_bits_and_spares_the_callers_arrays(xp, name, kw):
    rule = get_rule(name, **kw)
    params = _arrays(xp, 0)
    kept = [B.to_numpy(p).copy() for p in params]
    state = rule.init(params)
    for step in range(3):
        grads = _arrays(xp, step + 1)
        g_kept = [B.to_numpy(g).copy() for g in grads]
        fast, _ = rule.update(params, [g * 1.0 for g in grads], state, consume_grads=True)
        params_new, state = rule.update(params, grads, state)
        for g, k in zip(grads, g_kept, strict=True):
            np.testing.assert_array_equal(B.to_numpy(g), k)  # not handed over: untouched
        for a, b in zip(fast, params_new, strict=True):
            np.testing.assert_array_equal(B.to_numpy(a), B.to_numpy(b))  # same bits
        for p, k in zip(params, kept, strict=True):
            np.testing.assert_array_equal(B.to_numpy(p), k)  # the caller's params: untouched
        params, kept = params_new, [B.to_numpy(p).copy() for p in params_new]


def test_adam_and_momentum_leave_an_old_state_valid():
    xp = B.get_backend("numpy")
    for rule in (Adam(lr=1e-2), Momentum(lr=0.1)):
        params = _arrays(xp, 0)
        s0 = rule.init(params)
        _, s1 = rule.update(params, _arrays(xp, 1), s0)
        snap = [np.array(a, copy=True) for a in (s1.m + s1.v if hasattr(s1, "m") else s1.v)]
        rule.update(params, _arrays(xp, 2), s1, consume_grads=True)
        now = s1.m + s1.v if hasattr(s1, "m") else s1.v
        for a, b in zip(now, snap, strict=True):
            np.testing.assert_array_equal(a, b)


def test_bp_step_does_not_modify_the_callers_parameters(xp):
    net = MLP([5, 4, 3], "relu", "cross_entropy")
    params = net.init(seed=0, xp=xp)
    kept = [(B.to_numpy(W).copy(), B.to_numpy(b).copy()) for W, b in params]
    X = B.asarray(np.random.default_rng(1).uniform(size=(5, 7)), xp)
    Y = B.asarray(np.eye(3)[:, [0, 1, 2, 0, 1, 2, 0]], xp)
    m = BP(lr=0.5)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    for (W, b), (Wk, bk) in zip(params, kept, strict=True):
        np.testing.assert_array_equal(B.to_numpy(W), Wk)
        np.testing.assert_array_equal(B.to_numpy(b), bk)
    assert not np.allclose(B.to_numpy(new[0][0]), kept[0][0])
