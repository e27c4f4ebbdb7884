"""ProxBP (§3.2): its step against independent oracles.

Oracles: ``∇J`` from torch autograd (not the package's back-propagation), the
preconditioned-gradient closed form solved by NumPy, and a PyTorch transcription of the
published ProxProp code's exact prox step with an outer SGD.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from oracle import TORCH_ACTIVATIONS, needs_torch, torch

from sibp_ref import MLP, one_hot
from sibp_ref import backend as B
from sibp_ref.methods.proxbp import ProxBP


def to_xp(params, xp, dtype="float64"):
    return [
        (B.asarray(W, xp, dtype), None if b is None else B.asarray(b, xp, dtype)) for W, b in params
    ]


def to_np(params):
    return [(B.to_numpy(W), None if b is None else B.to_numpy(b)) for W, b in params]


def torch_forward(net, params, X):
    """Pre-activations z_i (with grad retained) and the output, in torch float64."""
    tp = [
        (
            torch.tensor(W, requires_grad=True),
            None if b is None else torch.tensor(b, requires_grad=True),
        )
        for W, b in params
    ]
    F, zs = torch.tensor(X), []
    L = len(tp)
    for i, (W, b) in enumerate(tp):
        z = W @ F + (0 if b is None else b)
        z.retain_grad()
        zs.append(z)
        F = z if i == L - 1 else TORCH_ACTIVATIONS[net.sigma.name](z)
    return tp, zs, F


def torch_loss(net, out, Y):
    Y = torch.tensor(Y)
    if net.loss_fn.name == "cross_entropy":
        return -(Y * torch.log_softmax(out, dim=0)).sum() / out.shape[1]
    return ((out - Y) ** 2).sum() / out.shape[1]


def torch_grads(net, params, X, Y):
    """``∇_θ J`` per layer as ``[∂J/∂W, ∂J/∂b]`` (NumPy) and ``∂J/∂z`` per layer, by autograd."""
    tp, zs, out = torch_forward(net, params, X)
    torch_loss(net, out, Y).backward()
    grads = [
        np.concatenate([W.grad.numpy()] + ([] if b is None else [b.grad.numpy()]), axis=1)
        for W, b in tp
    ]
    return grads, [z.grad.numpy() for z in zs]


def closed_form_step(net, params, X, Y, eta, lam):
    """θ − η ∇_θJ (ĀĀᵀ + I/(2λ))⁻¹ for every layer, from the old forward pass (Jacobi)."""
    grads, _ = torch_grads(net, params, X, Y)
    out, F = [], X
    for i, (W, b) in enumerate(params):
        A = F if b is None else np.vstack([F, np.ones((1, F.shape[1]))])
        theta = W if b is None else np.hstack([W, b])
        M = A @ A.T + np.eye(A.shape[0]) / (2 * lam)
        out.append(theta - eta * np.linalg.solve(M, grads[i].T).T)
        G = W @ F + (0 if b is None else b)
        F = TORCH_ACTIVATIONS[net.sigma.name](torch.tensor(G)).numpy()
    return out


def as_theta(params):
    return [W if b is None else np.hstack([W, b]) for W, b in params]


@needs_torch
@pytest.mark.parametrize("n", [3, 12], ids=["dual_n<d", "primal_n>d"])
def test_prox_step_equals_preconditioned_gradient_closed_form(xp, n, make_problem):
    net, params, X, Y = make_problem([6, 8, 4], n, seed=n)
    eta, lam = 0.7, 0.3
    m = ProxBP(eta, lam)
    new, _ = m.step(
        net,
        to_xp(params, xp),
        m.init(net, to_xp(params, xp)),
        B.asarray(X, xp, "float64"),
        B.asarray(Y, xp, "float64"),
    )
    want = closed_form_step(net, params, X, Y, eta, lam)
    for got, w in zip(as_theta(to_np(new)), want, strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-9, atol=1e-12)


@needs_torch
def test_prox_step_without_bias_equals_closed_form(make_problem):
    net, params, X, Y = make_problem([5, 7, 3], 4, bias=False, act="relu", seed=3)
    m = ProxBP(0.5, 2.0)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    want = closed_form_step(net, params, X, Y, 0.5, 2.0)
    for (W, b), w in zip(new, want, strict=True):
        assert b is None
        np.testing.assert_allclose(W, w, rtol=1e-9, atol=1e-12)


def test_cg_with_enough_iterations_equals_exact_solve(xp, make_problem):
    net, params, X, Y = make_problem([5, 6, 3], 9, seed=1)
    Xs, Ys, P = B.asarray(X, xp, "float64"), B.asarray(Y, xp, "float64"), to_xp(params, xp)
    exact = ProxBP(1.0, 0.8)
    cg = ProxBP(1.0, 0.8, solver="cg", iters=7)  # ≥ (widest layer input + 1): CG is exact
    a, _ = exact.step(net, P, exact.init(net, P), Xs, Ys)
    c, _ = cg.step(net, P, cg.init(net, P), Xs, Ys)
    for x, y in zip(as_theta(to_np(a)), as_theta(to_np(c)), strict=True):
        np.testing.assert_allclose(y, x, rtol=1e-8, atol=1e-10)


@needs_torch
def test_cg_with_few_iterations_lies_between_old_weights_and_exact_solve(make_problem):
    """Warm-started CG decreases the layer objective from θ^k but (2 steps) not to the minimum."""
    net, params, X, Y = make_problem([10, 10, 3], 30, seed=2)
    eta, lam = 1.0, 5.0
    a, _ = ProxBP(eta, lam).step(net, params, None, X, Y)
    c, _ = ProxBP(eta, lam, solver="cg", iters=2).step(net, params, None, X, Y)
    _, zgrads = torch_grads(net, params, X, Y)
    W, b = params[0]
    A, T = np.vstack([X, np.ones((1, 30))]), W @ X + b - eta * zgrads[0]
    theta0 = np.hstack([W, b])

    def f(theta):
        return np.sum((theta @ A - T) ** 2) + np.sum((theta - theta0) ** 2) / (2 * lam)

    fa, fc, f0 = f(as_theta(a)[0]), f(as_theta(c)[0]), f(theta0)
    assert fa < fc < f0
    assert fc - fa > 1e-6 * (f0 - fa)


@needs_torch
def test_small_lambda_limit_is_bp_step_with_learning_rate_2_lambda_eta(make_problem):
    """θ^{k+1} − θ^k = −2λη∇J + O(λ²η): the relative error shrinks like λ."""
    net, params, X, Y = make_problem([4, 6, 3], 5, seed=4)
    grads, _ = torch_grads(net, params, X, Y)
    eta, errs = 0.9, []
    for lam in (1e-2, 1e-3, 1e-4):
        new, _ = ProxBP(eta, lam).step(net, params, None, X, Y)
        diff = [t1 - t0 for t1, t0 in zip(as_theta(new), as_theta(params), strict=True)]
        num = sum(np.sum((d / (2 * lam * eta) + g) ** 2) for d, g in zip(diff, grads, strict=True))
        den = sum(np.sum(g**2) for g in grads)
        errs.append(np.sqrt(num / den))
    assert errs[0] < 0.2
    assert errs[1] < errs[0] / 5 and errs[2] < errs[1] / 5


@needs_torch
def test_proxbp_equals_published_proxprop_with_outer_sgd(make_problem):
    """ProxProp (tfrerix/proxprop, prox_exact, samples as rows, ½-scaled objective, τ) with an
    outer SGD of learning rate ℓ is ProxBP(eta=ℓ, lam=τ/2, last_layer="gradient")."""
    net, params, X, Y = make_problem([6, 5, 4, 3], 7, act="relu", seed=5)
    tau, ell = 0.6, 0.3
    _, zgrads = torch_grads(net, params, X, Y)
    tgrads, _ = torch_grads(net, params, X, Y)
    ref, F = [], X.T  # samples as rows, as in PyTorch
    L = len(params)
    for i, (W, b) in enumerate(params):
        z = F @ W.T + b.T
        Z = np.vstack([W.T, b.T])  # their to_exact_solve_shape
        if i < L - 1:
            A = np.hstack([F, np.ones((F.shape[0], 1))])
            z_upd = z - zgrads[i].T  # explicit unit step on z
            beta = 1.0 / tau
            Xs = np.linalg.solve(A.T @ A + beta * np.eye(A.shape[1]), A.T @ z_upd + beta * Z)
            grad_field = Z - Xs
        else:  # plain nn.Linear: autograd gradient
            grad_field = tgrads[i].T
        ref.append((Z - ell * grad_field).T)  # outer SGD
        F = np.maximum(z, 0.0)
    m = ProxBP(eta=ell, lam=tau / 2, last_layer="gradient")
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    for got, want in zip(as_theta(new), ref, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@needs_torch
def test_last_layer_gradient_option_is_plain_gradient_step(make_problem):
    net, params, X, Y = make_problem([4, 5, 3], 6, seed=6)
    grads, _ = torch_grads(net, params, X, Y)
    new, _ = ProxBP(2.0, 0.5, last_layer="gradient", last_lr=0.25).step(net, params, None, X, Y)
    np.testing.assert_allclose(
        as_theta(new)[-1], as_theta(params)[-1] - 0.25 * grads[-1], rtol=1e-10, atol=1e-13
    )
    prox, _ = ProxBP(2.0, 0.5).step(net, params, None, X, Y)
    np.testing.assert_allclose(as_theta(new)[0], as_theta(prox)[0], rtol=1e-12)


def test_proxbp_is_jacobi_lower_layer_ignores_upper_layer_lambda(make_problem):
    net, params, X, Y = make_problem([4, 5, 5, 3], 6, seed=7)
    a, _ = ProxBP(1.0, [0.3, 0.3, 0.3]).step(net, params, None, X, Y)
    b, _ = ProxBP(1.0, [0.3, 5.0, 50.0]).step(net, params, None, X, Y)
    np.testing.assert_array_equal(as_theta(a)[0], as_theta(b)[0])
    assert not np.allclose(as_theta(a)[2], as_theta(b)[2])


@needs_torch
@given(
    seed=st.integers(0, 10_000),
    act=st.sampled_from(["relu", "tanh", "sigmoid"]),
    loss=st.sampled_from(["cross_entropy", "square"]),
    lam=st.floats(0.05, 20.0),
    n=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 5), min_size=1, max_size=2),
)
def test_C3_proxbp_decreases_J_for_small_eta(seed, act, loss, lam, n, hidden, make_problem):
    """C3: the step is −η∇J·P with P ≻ 0 per layer, so for small η it decreases J, and
    (J(η) − J)/η → −Σ_i ⟨∇_iJ, ∇_iJ P_i⟩ as η → 0."""
    net, params, X, Y = make_problem([3, *hidden, 2], n, act=act, loss=loss, seed=seed, std=0.8)
    J0 = float(net.loss(params, X, Y))
    grads, _ = torch_grads(net, params, X, Y)
    # first-order decrease predicted by the closed form with η = 1
    pred = 0.0
    Fs = [X]
    for W, b in params[:-1]:
        Fs.append(TORCH_ACTIVATIONS[act](torch.tensor(W @ Fs[-1] + b)).numpy())
    for Fi, g in zip(Fs, grads, strict=True):
        A = np.vstack([Fi, np.ones((1, n))])
        pred -= np.sum(g * np.linalg.solve(A @ A.T + np.eye(A.shape[0]) / (2 * lam), g.T).T)
    assume(pred < -1e-10)  # (near-)stationary start, e.g. dead ReLUs: no decrease to test
    eta = 1e-4 / max(1.0, lam)
    new, _ = ProxBP(eta, lam).step(net, params, None, X, Y)
    J1 = float(net.loss(new, X, Y))
    assert J1 < J0
    assert abs((J1 - J0) / eta - pred) <= 0.05 * abs(pred)


def test_proxbp_trains_in_float32(xp, make_problem):
    net, params, X, Y = make_problem([5, 8, 3], 20, act="relu", seed=8)
    P = to_xp(params, xp, "float32")
    Xs, Ys = B.asarray(X, xp, "float32"), B.asarray(Y, xp, "float32")
    for solver in ("exact", "cg"):
        m = ProxBP(1.0, 0.5, solver=solver)
        Q, s = P, m.init(net, P)
        J0 = float(net.loss(Q, Xs, Ys))
        for _ in range(10):
            Q, s = m.step(net, Q, s, Xs, Ys)
        assert Q[0][0].dtype == xp.float32
        assert float(net.loss(Q, Xs, Ys)) < 0.8 * J0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eta": 0.0}, "eta"),
        ({"eta": -1.0}, "eta"),
        ({"lam": 0.0}, "lam"),
        ({"lam": [0.5, -1.0]}, r"lam\[1\]"),
        ({"solver": "ncg"}, "solver"),
        ({"solver": "cg", "iters": 0}, "iters"),
        ({"last_layer": "adam"}, "last_layer"),
        ({"last_layer": "gradient", "last_lr": 0.0}, "last_lr"),
    ],
)
def test_bad_hyper_parameters_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProxBP(**kwargs)


def test_lambda_list_of_wrong_length_is_an_error():
    net = MLP([3, 4, 2])
    with pytest.raises(ValueError, match="lam"):
        ProxBP(1.0, [0.5, 0.5, 0.5]).init(net, net.init())


def test_proxbp_batch_of_wrong_shape_is_an_error():
    net = MLP([3, 4, 2])
    params = net.init()
    xp = B.get_backend("numpy")
    with pytest.raises(ValueError, match="samples"):
        ProxBP().step(net, params, None, xp.zeros((2, 5)), one_hot(xp.asarray([0, 1]), 2))
