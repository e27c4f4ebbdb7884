"""Update rules (SGD, heavy-ball and Nesterov momentum, Adam) against ``torch.optim``
on the same sequence of gradients, and their hyper-parameter checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.methods.optimizers import SGD, Adam, Momentum, get_rule

SHAPES = [(3, 2), (3, 1)]
STEPS = 5


def gradient_sequence(seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(STEPS)]


def start(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in SHAPES]


def run_ours(rule, xp):
    params = [B.asarray(p, xp) for p in start()] + [None]  # None: a missing bias
    state = rule.init(params)
    for gs in gradient_sequence():
        grads = [B.asarray(g, xp) for g in gs] + [None]
        params, state = rule.update(params, grads, state)
    assert params[-1] is None
    return [B.to_numpy(p) for p in params[:-1]]


def run_torch(make_opt):
    torch = pytest.importorskip("torch")
    params = [torch.tensor(p, requires_grad=True) for p in start()]
    opt = make_opt(params)
    for gs in gradient_sequence():
        for p, g in zip(params, gs, strict=True):
            p.grad = torch.tensor(g)
        opt.step()
    return [p.detach().numpy() for p in params]


CASES = {
    "sgd": (lambda: SGD(lr=0.1), lambda t: lambda p: t.optim.SGD(p, lr=0.1)),
    "sgd_wd": (
        lambda: SGD(lr=0.1, weight_decay=0.01),
        lambda t: lambda p: t.optim.SGD(p, lr=0.1, weight_decay=0.01),
    ),
    "momentum": (
        lambda: Momentum(lr=0.1, momentum=0.9),
        lambda t: lambda p: t.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    "nesterov": (
        lambda: get_rule("nesterov", lr=0.05, momentum=0.8, weight_decay=0.1),
        lambda t: lambda p: t.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
    ),
    "adam": (lambda: Adam(lr=1e-2), lambda t: lambda p: t.optim.Adam(p, lr=1e-2)),
    "adam_wd": (
        lambda: Adam(lr=3e-2, b1=0.5, b2=0.9, eps=1e-6, weight_decay=0.1),
        lambda t: lambda p: t.optim.Adam(p, lr=3e-2, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.1),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_update_rule_equals_torch_optim_on_the_same_gradients(xp, case):
    torch = pytest.importorskip("torch")
    ours, theirs = CASES[case]
    got = run_ours(ours(), xp)
    want = run_torch(theirs(torch))
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_sgd_and_momentum_closed_forms_without_torch():
    # SGD: θ − lr Σ g; heavy ball with μ: v_k = Σ_j μ^{k−j} g_j, θ − lr Σ_k v_k
    gs = gradient_sequence()
    got = run_ours(SGD(lr=0.1), "numpy")
    for i, p0 in enumerate(start()):
        np.testing.assert_allclose(got[i], p0 - 0.1 * sum(g[i] for g in gs), rtol=1e-13)
    got = run_ours(Momentum(lr=0.1, momentum=0.5), "numpy")
    for i, p0 in enumerate(start()):
        vs = [sum(0.5 ** (k - j) * gs[j][i] for j in range(k + 1)) for k in range(STEPS)]
        np.testing.assert_allclose(got[i], p0 - 0.1 * sum(vs), rtol=1e-13)


def test_first_adam_step_moves_each_entry_by_lr():
    # t = 1: m̂ = g and v̂ = g², so the step is lr·g/(|g| + eps) ≈ lr·sign(g)
    p, g = np.array([1.0, -2.0, 3.0]), np.array([1e-3, -5.0, 40.0])
    (new,), _ = Adam(lr=0.1, eps=1e-12).update([p], [g], Adam().init([p]))
    np.testing.assert_allclose(new, p - 0.1 * np.sign(g), rtol=1e-9)


def test_rules_do_not_modify_their_inputs(xp):
    for rule in (SGD(lr=0.1), Momentum(lr=0.1), Adam(lr=0.1)):
        p = B.asarray(np.ones((2, 2)), xp)
        g = B.asarray(np.full((2, 2), 0.5), xp)
        state = rule.init([p])
        for _ in range(2):
            _, state = rule.update([p], [g], state)
        np.testing.assert_array_equal(B.to_numpy(p), 1.0)
        np.testing.assert_array_equal(B.to_numpy(g), 0.5)


BAD = [
    (SGD, {"lr": 0.0}, "lr must be a finite number > 0"),
    (SGD, {"lr": -0.1}, "lr must be"),
    (SGD, {"lr": math.nan}, "lr must be"),
    (SGD, {"lr": math.inf}, "lr must be"),
    (SGD, {"lr": "0.1"}, "lr must be"),
    (SGD, {"lr": True}, "lr must be"),
    (SGD, {"weight_decay": -1e-4}, "weight_decay must be a finite number >= 0"),
    (Momentum, {"momentum": -0.1}, "momentum must be"),
    (Momentum, {"momentum": 1.0}, "momentum must be < 1"),
    (Momentum, {"lr": 0}, "lr must be"),
    (Adam, {"b1": 1.0}, r"b1 must lie in \[0, 1\)"),
    (Adam, {"b2": -0.5}, r"b2 must lie in \[0, 1\)"),
    (Adam, {"b1": math.nan}, "b1 must lie"),
    (Adam, {"eps": 0.0}, "eps must be a finite number > 0"),
    (Adam, {"lr": -1e-3}, "lr must be"),
]


@pytest.mark.parametrize("cls, kwargs, msg", BAD, ids=[f"{c.__name__}-{k}" for c, k, _ in BAD])
def test_bad_hyper_parameters_are_clear_value_errors(cls, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        cls(**kwargs)


def test_numpy_scalar_hyper_parameters_are_accepted():
    assert SGD(lr=np.float32(0.5)).lr == 0.5
    assert Momentum(lr=np.float64(0.1), momentum=np.float32(0.5)).mu == 0.5


def test_unknown_rule_name_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown update rule 'rmsprop'.*adam"):
        get_rule("rmsprop", lr=0.1)
