"""Back propagation (§3.1): ``Θ^{k+1} = Θ^k − η ∂J/∂Θ`` and its update-rule variants."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import BP, Method
from sibp_ref import backend as B

SIZES = [4, 6, 3]


def as_np(params):
    return [(B.to_numpy(W), None if b is None else B.to_numpy(b)) for W, b in params]


def torch_bp(params, X, Y, act, make_opt, steps):
    """The same training with torch.autograd and torch.optim."""
    torch = pytest.importorskip("torch")
    sig = {"tanh": torch.tanh, "relu": torch.relu}[act]
    tp = [torch.tensor(p, requires_grad=True) for pair in params for p in pair]
    opt = make_opt(tp)
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    for _ in range(steps):
        opt.zero_grad()
        F = Xt
        for i in range(0, len(tp), 2):
            G = tp[i] @ F + tp[i + 1]
            F = G if i == len(tp) - 2 else sig(G)
        torch.nn.functional.cross_entropy(F.T, Yt.T).backward()
        opt.step()
    return [p.detach().numpy() for p in tp]


@pytest.mark.parametrize(
    "rule, kwargs, torch_opt",
    [
        ("sgd", {"lr": 0.5}, lambda t, p: t.optim.SGD(p, lr=0.5)),
        (
            "nesterov",
            {"lr": 0.2, "momentum": 0.9},
            lambda t, p: t.optim.SGD(p, lr=0.2, momentum=0.9, nesterov=True),
        ),
        ("adam", {"lr": 0.05}, lambda t, p: t.optim.Adam(p, lr=0.05)),
    ],
)
def test_bp_training_equals_torch_autograd_and_optim(xp, rule, kwargs, torch_opt, make_problem):
    torch = pytest.importorskip("torch")
    net, params, X, Y = make_problem(SIZES, 8, act="relu", std=0.5, xp=xp)
    want = torch_bp(
        as_np(params), B.to_numpy(X), B.to_numpy(Y), "relu", lambda p: torch_opt(torch, p), steps=4
    )
    bp = BP(rule, **kwargs)
    state = bp.init(net, params)
    for _ in range(4):
        params, state = bp.step(net, params, state, X, Y)
    got = [a for pair in as_np(params) for a in pair]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def test_sgd_step_is_theta_minus_eta_times_gradient(xp, make_problem):
    net, params, X, Y = make_problem(SIZES, 8, std=0.5, xp=xp)
    grads = net.gradient(params, X, Y)
    bp = BP(lr=0.3)
    new, _ = bp.step(net, params, bp.init(net, params), X, Y)
    for (W, b), (dW, db), (W1, b1) in zip(params, grads, new, strict=True):
        np.testing.assert_allclose(B.to_numpy(W1), B.to_numpy(W - 0.3 * dW), rtol=1e-14)
        np.testing.assert_allclose(B.to_numpy(b1), B.to_numpy(b - 0.3 * db), rtol=1e-14)


@pytest.mark.parametrize("rule", ["sgd", "momentum", "nesterov", "adam"])
def test_full_batch_bp_with_small_step_decreases_J(rule, make_problem):
    net, params, X, Y = make_problem(SIZES, 20, act="sigmoid", std=0.5, xp="numpy")
    bp = BP(rule, lr=1e-3)
    state = bp.init(net, params)
    J = [float(net.loss(params, X, Y))]
    for _ in range(5):
        params, state = bp.step(net, params, state, X, Y)
        J.append(float(net.loss(params, X, Y)))
    assert all(b < a for a, b in zip(J[:-1], J[1:], strict=True))


def test_bp_is_a_method_and_leaves_its_inputs_alone(xp, make_problem):
    net, params, X, Y = make_problem(SIZES, 8, bias=False, std=0.5, xp=xp)
    before = as_np(params)
    bp = BP("momentum", lr=0.1)
    assert isinstance(bp, Method)
    state = bp.init(net, params)
    new, state = bp.step(net, params, state, X, Y)
    new, state = bp.step(net, new, state, X, Y)
    assert all(b is None for _, b in new)
    for (W, _), (W0, _) in zip(params, before, strict=True):
        np.testing.assert_array_equal(B.to_numpy(W), W0)


def test_bp_rejects_bad_lr_rule_and_batch(make_problem):
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        BP(lr=0.0)
    with pytest.raises(ValueError, match="unknown update rule"):
        BP("lbfgs")
    net, params, X, Y = make_problem(SIZES, 8, std=0.5, xp="numpy")
    bp = BP()
    with pytest.raises(ValueError, match="Y has shape"):
        bp.step(net, params, bp.init(net, params), X, Y[:, :3])
