"""ProxBP's last layer with ``last_layer="gradient"`` under a step-size schedule steps at
the schedule's ``η_k`` (the documented equivalence with ProxProp and an outer SGD whose
learning rate follows the schedule), not at the constant ``eta``.

Oracle: the gradient of the last layer written out in NumPy for a tanh network with
softmax cross-entropy (``J`` the mean over columns, docs/conventions.md §2):
``∂J/∂G_N = (softmax(G_N) − Y)/n``, ``∇W_N = (∂J/∂G_N) F_{N−1}ᵀ``, ``∇b_N = (∂J/∂G_N) 1``;
checked once against central differences of ``J``.
"""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import MLP
from sibp_ref.methods import ProxBP
from sibp_ref.methods.schedules import inverse_power

SIZES, N = (4, 5, 3), 12


def problem(seed=0):
    rng = np.random.default_rng(seed)
    net = MLP(list(SIZES), "tanh", "cross_entropy")
    params = [(rng.normal(scale=0.5, size=(m, d)), rng.normal(scale=0.5, size=(m, 1)))
              for d, m in zip(SIZES[:-1], SIZES[1:], strict=True)]  # fmt: skip
    X = rng.normal(size=(SIZES[0], N))
    Y = np.eye(SIZES[-1])[:, rng.integers(0, SIZES[-1], size=N)]
    return net, params, X, Y


def loss_np(params, X, Y):
    (W0, b0), (W1, b1) = params
    G = W1 @ np.tanh(W0 @ X + b0) + b1
    G = G - G.max(axis=0)
    return float(-np.sum(Y * (G - np.log(np.exp(G).sum(axis=0)))) / X.shape[1])


def last_layer_gradient_np(params, X, Y):
    (W0, b0), (W1, b1) = params
    F1 = np.tanh(W0 @ X + b0)
    G = W1 @ F1 + b1
    P = np.exp(G - G.max(axis=0))
    dG = (P / P.sum(axis=0) - Y) / X.shape[1]
    return dG @ F1.T, dG.sum(axis=1, keepdims=True)


def test_the_numpy_gradient_oracle_agrees_with_central_differences():
    _, params, X, Y = problem()
    dW, db = last_layer_gradient_np(params, X, Y)
    h, (W1, b1) = 1e-6, params[1]
    for i, j in [(0, 0), (2, 4), (1, 3)]:
        E = np.zeros_like(W1)
        E[i, j] = h
        up = loss_np([params[0], (W1 + E, b1)], X, Y)
        down = loss_np([params[0], (W1 - E, b1)], X, Y)
        assert (up - down) / (2 * h) == pytest.approx(dW[i, j], rel=1e-7, abs=1e-10)
    e = np.zeros_like(b1)
    e[1] = h
    fd = loss_np([params[0], (W1, b1 + e)], X, Y) - loss_np([params[0], (W1, b1 - e)], X, Y)
    assert fd / (2 * h) == pytest.approx(db[1, 0], rel=1e-7, abs=1e-10)


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_scheduled_gradient_last_layer_steps_at_the_schedules_eta_k(solver):
    """``θ_N^{k+1} = θ_N^k − η_k ∇_θ J(Θ^k)`` with ``η_k = 0.8/(1 + k)``, while the
    constant ``eta = 0.3`` that the schedule replaces is used nowhere."""
    net, params, X, Y = problem()
    schedule = inverse_power(0.8, 1.0)
    method = ProxBP(eta=0.3, lam=0.5, schedule=schedule, last_layer="gradient", solver=solver)
    state = method.init(net, params)
    for k in range(4):
        dW, db = last_layer_gradient_np(params, X, Y)
        eta_k = 0.8 / (1.0 + k)
        new, state = method.step(net, params, state, X, Y)
        np.testing.assert_allclose(new[1][0], params[1][0] - eta_k * dW, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(new[1][1], params[1][1] - eta_k * db, rtol=1e-12, atol=1e-15)
        params = new


def test_a_given_last_lr_is_the_last_layers_step_whatever_the_schedule():
    net, params, X, Y = problem(1)
    method = ProxBP(eta=0.3, schedule=inverse_power(0.8, 1.0), last_layer="gradient",
                    last_lr=0.05)  # fmt: skip
    state = method.init(net, params)
    for _ in range(3):
        dW, db = last_layer_gradient_np(params, X, Y)
        new, state = method.step(net, params, state, X, Y)
        np.testing.assert_allclose(new[1][0], params[1][0] - 0.05 * dW, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(new[1][1], params[1][1] - 0.05 * db, rtol=1e-12, atol=1e-15)
        params = new
