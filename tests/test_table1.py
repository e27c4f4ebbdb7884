"""The paper's Table 1, row by row, for BP, ProxBP, BCD and SIBP, checked numerically.

=============================  ====  ======  ===  ====
row                            BP    ProxBP  BCD  SIBP
=============================  ====  ======  ===  ====
propagate by chain rule        yes   yes     no   yes
implicit subproblem            no    yes     yes  yes
... including the activation   no    no      yes  yes
descent of the loss J          yes   yes     no   yes
Gauss–Seidel type update       no    no      yes  yes
=============================  ====  ======  ===  ====

How each cell is checked:

- *chain rule*: the step's small-step limit is the back-propagated gradient ∇J (torch
  autograd as the oracle): ``Δθ = −η∇J`` for BP, ``Δθ/(2λη) → −∇J`` as λ → 0 for ProxBP
  and SIBP; BCD never calls the network's back-propagation and computes no δ.
- *implicit*: the new weights satisfy ``θ^{k+1} = θ^k − λ∇f(θ^{k+1})`` (the gradient at the
  *new* point) for the method's layer problem ``f``; BP's satisfy ``θ^{k+1} = θ^k − η∇J(θ^k)``.
- *including the activation*: the layer problem that the new weights solve contains σ
  (SIBP's ``||σ(WF + b) − F^{k+½}||²``, BCD's ReLU U-block) or does not (ProxBP's
  ``||θĀ − (G − η∂J/∂G)||²``).
- *descent of J*: small steps decrease J (BP, ProxBP, SIBP); a BCD sweep can increase J.
- *Gauss–Seidel*: a lower layer's update uses the upper layer's *new* values (SIBP's δ by
  (4.2), BCD's V-block) or only the old ones (BP, ProxBP: an upper layer's hyper-parameter
  does not change a lower layer's update).

SIBP lives in ``sibp_ref.methods.sibp`` (another branch); its checks skip until it is merged.
"""

from __future__ import annotations

import numpy as np
import pytest
from oracle import TORCH_ACTIVATIONS, needs_torch, torch

from sibp_ref import BP, MLP
from sibp_ref import backend as B
from sibp_ref.methods.bcd import BCD
from sibp_ref.methods.proxbp import ProxBP


def SIBP(*args, **kwargs):
    sibp = pytest.importorskip("sibp_ref.methods.sibp", reason="SIBP is not merged yet")
    return sibp.SIBP(*args, **kwargs)


def sibp_exact(eta, lam):
    return SIBP(eta, lam, solver="exact", tol=1e-13)


def theta(params):
    return [np.hstack([W, b]) for W, b in params]


def grad_J(net, params, X, Y):
    """[∂J/∂W, ∂J/∂b] per layer by torch autograd (independent of net.backward)."""
    tp = [
        (torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
        for W, b in params
    ]
    F = torch.tensor(X)
    for i, (W, b) in enumerate(tp):
        F = W @ F + b
        if i < len(tp) - 1:
            F = TORCH_ACTIVATIONS[net.sigma.name](F)
    Yt = torch.tensor(Y)
    if net.loss_fn.name == "square":
        J = ((F - Yt) ** 2).sum() / F.shape[1]
    else:
        J = -(Yt * torch.log_softmax(F, dim=0)).sum() / F.shape[1]
    J.backward()
    return [np.hstack([W.grad.numpy(), b.grad.numpy()]) for W, b in tp]


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


def run(method, net, params, X, Y, steps=1):
    state = method.init(net, params)
    for _ in range(steps):
        params, state = method.step(net, params, state, X, Y)
    return params, state


# ============================================================ all four, one interface
@pytest.mark.parametrize("name", ["bp", "proxbp", "bcd", "sibp"])
def test_all_four_methods_train_through_the_same_interface(xp, name):
    method = {
        "bp": lambda: BP(lr=0.1),
        "proxbp": lambda: ProxBP(1.0, 0.5),
        "bcd": lambda: BCD(1.0, 1.0, 0.5),
        "sibp": lambda: SIBP(1.0, 0.5),
    }[name]()
    assert method.name == name
    net = MLP([4, 6, 3], "relu", "square")
    params = net.init(seed=0, std=0.5, xp=xp)
    X = B.normal((4, 10), seed=1, xp=xp)
    Y = B.normal((3, 10), seed=2, xp=xp)
    J0 = B.to_float(net.loss(params, X, Y))
    params, _ = run(method, net, params, X, Y, steps=5)
    J = B.to_float(net.loss(params, X, Y))
    assert np.isfinite(J) and J < J0


@needs_torch
# ============================================================ row 1: chain rule
def test_table1_bp_propagates_by_chain_rule_explicit_jacobi_step(make_problem):
    """BP: θ^{k+1} = θ^k − η∇J(Θ^k) in every layer — chain rule, explicit, from old weights."""
    net, params, X, Y = make_problem([4, 5, 5, 3], 6, act="tanh", seed=1, loss="square")
    new, _ = run(BP(lr=0.3), net, params, X, Y)
    for t1, t0, g in zip(theta(new), theta(params), grad_J(net, params, X, Y), strict=True):
        np.testing.assert_allclose(t1, t0 - 0.3 * g, rtol=1e-10, atol=1e-13)


@needs_torch
@pytest.mark.parametrize("name", ["proxbp", "sibp"])
def test_table1_chain_rule_methods_reduce_to_the_gradient_as_lambda_goes_to_zero(
    name, make_problem
):
    """ProxBP and SIBP: (θ^{k+1} − θ^k)/(2λη) → −∇J as λ → 0 (the BP step of learning
    rate 2λη): their error signal is the chain-rule gradient."""
    net, params, X, Y = make_problem([4, 5, 5, 3], 6, act="tanh", seed=2, loss="square")
    g = grad_J(net, params, X, Y)
    eta, lam = 0.5, 1e-6
    m = ProxBP(eta, lam) if name == "proxbp" else sibp_exact(eta, lam)
    new, _ = run(m, net, params, X, Y)
    for t1, t0, gi in zip(theta(new), theta(params), g, strict=True):
        assert rel((t1 - t0) / (2 * lam * eta), -gi) < 1e-3


def test_table1_bcd_does_not_propagate_by_chain_rule(monkeypatch, make_problem):
    """BCD computes no δ: its step runs with the network's back-propagation disabled,
    while BP and ProxBP need it."""
    net, params, X, Y = make_problem([4, 5, 3], 6, act="relu", seed=3, loss="square")

    def no_backprop(*a, **k):
        raise AssertionError("back-propagation called")

    monkeypatch.setattr(net, "backward", no_backprop)
    monkeypatch.setattr(net, "gradient", no_backprop)
    monkeypatch.setattr(net, "backward_G", no_backprop)
    run(BCD(), net, params, X, Y, steps=2)
    for m in (BP(lr=0.1), ProxBP()):
        with pytest.raises(AssertionError, match="back-propagation"):
            run(m, net, params, X, Y)


@needs_torch
# ============================================================ row 2: implicit subproblem
def test_table1_bp_has_no_implicit_subproblem(make_problem):
    """BP's new weights do not satisfy θ^{k+1} = θ^k − η∇J(θ^{k+1}) (the implicit relation);
    they satisfy the explicit one (previous test)."""
    net, params, X, Y = make_problem([4, 5, 3], 6, act="tanh", seed=4, loss="square")
    eta = 2.0
    new, _ = run(BP(lr=eta), net, params, X, Y)
    g_new = grad_J(net, new, X, Y)
    assert rel(theta(new)[0], theta(params)[0] - eta * g_new[0]) > 1e-3


def prox_residual(t1, t0, lam, grad_at_t1):
    """Relative residual of θ^{k+1} = θ^k − λ∇f(θ^{k+1})."""
    return rel(t1, t0 - lam * grad_at_t1)


@needs_torch
def test_table1_proxbp_solves_a_linear_implicit_subproblem_without_sigma(make_problem):
    """ProxBP: θ^{k+1} = θ^k − λ∇f(θ^{k+1}) with f(θ) = ||θĀ − (G − η∂J/∂G)||² — linear in θ,
    σ not inside; and not the σ-inclusive SIBP relation with targets F − ηδ."""
    net, params, X, Y = make_problem([4, 6, 3], 5, act="tanh", seed=5, loss="square")
    eta, lam = 1.0, 2.0
    new, _ = run(ProxBP(eta, lam), net, params, X, Y)
    W, b = params[0]
    G = W @ X + b
    A = np.vstack([X, np.ones((1, 5))])
    # ∂J/∂G_2 = σ'(G) ⊙ W_2ᵀδ_N, checked against autograd through (∂J/∂G)Āᵀ = ∇_θJ
    g = grad_J(net, params, X, Y)[0]
    F1 = np.tanh(G)
    delta_N = 2 * (theta(params)[1] @ np.vstack([F1, np.ones((1, 5))]) - Y) / 5
    dJdG = (1 - F1**2) * (params[1][0].T @ delta_N)
    np.testing.assert_allclose(dJdG @ A.T, g, rtol=1e-10)  # the oracle agrees with autograd
    T = G - eta * dJdG
    t1, t0 = theta(new)[0], theta(params)[0]
    assert prox_residual(t1, t0, lam, 2 * (t1 @ A - T) @ A.T) < 1e-10
    # the σ-inclusive relation (SIBP's layer problem, targets F − η W_2ᵀδ_N) does not hold
    Tsig = F1 - eta * params[1][0].T @ delta_N
    Gn = t1[:, :-1] @ X + b
    grad_sig = 2 * (((np.tanh(Gn) - Tsig) * (1 - np.tanh(Gn) ** 2)) @ X.T)
    assert rel(t1[:, :-1], t0[:, :-1] - lam * grad_sig) > 1e-2


def test_table1_bcd_weight_block_is_an_implicit_proximal_step(make_problem):
    """BCD: (W, b)^{k+1} = (W, b)^k − (1/α)∇_θ[ρ/2 ||U_1 − θ[X; 1]||²] at the new θ."""
    net, params, X, Y = make_problem([4, 6, 3], 5, act="relu", seed=6, loss="square")
    gamma, rho, alpha = 1.0, 2.0, 0.5
    new, state = run(BCD(gamma, rho, alpha), net, params, X, Y)
    A = np.vstack([X, np.ones((1, 5))])
    t1, t0 = theta(new)[0], theta(params)[0]
    grad = -rho * (state.U[1] - t1 @ A) @ A.T
    assert prox_residual(t1, t0, 1 / alpha, grad) < 1e-10
    assert rel(t1, t0) > 1e-3  # it moved


def test_table1_sibp_last_layer_is_an_implicit_proximal_step_C2(make_problem):
    """SIBP (C2): W^{k+1} = W^k − λ∇f(W^{k+1}), f(W) = ||W F_{N−1} + b^k − (F_N − ηδ_N)||²."""
    net, params, X, Y = make_problem([4, 6, 3], 5, act="tanh", seed=7, loss="square")
    eta, lam = 1.0, 2.0
    new, _ = run(sibp_exact(eta, lam), net, params, X, Y)
    (W1, b1), (W2, b2) = params
    F1 = np.tanh(W1 @ X + b1)
    FN = W2 @ F1 + b2
    T = FN - eta * 2 * (FN - Y) / 5
    W2n = new[1][0]
    assert prox_residual(W2n, W2, lam, 2 * (W2n @ F1 + b2 - T) @ F1.T) < 1e-8


# ============================================================ row 3: activation inside
def sibp_hidden_residual(params, new, X, Y, eta, lam, W2_for_delta):
    """Residual of W_1^{k+1} = W_1^k − λ∇f(W_1^{k+1}) for SIBP's (4.1) on the hidden layer of
    a one-hidden-layer tanh net, with the target built by (4.2) from ``W2_for_delta``."""
    (W1, b1), (W2, b2) = params
    F1 = np.tanh(W1 @ X + b1)
    FN = W2 @ F1 + b2
    delta_N = 2 * (FN - Y) / X.shape[1]
    T1 = F1 - eta * W2_for_delta.T @ delta_N  # (4.2), σ' = 1 on the output layer
    W1n = new[0][0]
    G = W1n @ X + b1
    grad = 2 * ((np.tanh(G) - T1) * (1 - np.tanh(G) ** 2)) @ X.T
    return prox_residual(W1n, W1, lam, grad)


def test_table1_sibp_hidden_subproblem_includes_the_activation_and_is_gauss_seidel(make_problem):
    """SIBP: the hidden layer solves ||σ(WF + b^k) − F^{k+½}||² + ||W − W^k||²/(2λ) (σ inside),
    with F^{k+½} from δ by (4.2) with the *new* output weights (Gauss–Seidel), not the old."""
    net, params, X, Y = make_problem([4, 6, 3], 5, act="tanh", seed=8, loss="square")
    eta, lam = 1.0, 2.0
    new, _ = run(sibp_exact(eta, lam), net, params, X, Y)
    assert sibp_hidden_residual(params, new, X, Y, eta, lam, new[1][0]) < 1e-7
    assert sibp_hidden_residual(params, new, X, Y, eta, lam, params[1][0]) > 1e-3


def test_table1_bcd_U_block_includes_the_activation(make_problem):
    """BCD: the hidden U-update minimises γ/2(V − relu(u))² + ρ/2(u − W^kX − b^k)² +
    α/2(u − u^k)² entrywise (σ inside; brute-force grid), and differs from the σ-free answer."""
    net, params, X, Y = make_problem([3, 4, 2], 5, act="relu", seed=9, std=1.0, loss="square")
    gamma, rho, alpha = 1.0, 0.5, 0.3
    m = BCD(gamma, rho, alpha)
    new, state = run(m, net, params, X, Y)
    W, b = params[0]
    U_old = W @ X + b  # the first sweep starts from a forward pass
    c = U_old
    V = state.V[1]
    grid = np.linspace(-10, 10, 200_001)[:, None, None]
    h = (
        gamma / 2 * (V - np.maximum(grid, 0)) ** 2
        + rho / 2 * (grid - c) ** 2
        + alpha / 2 * (grid - U_old) ** 2
    )
    np.testing.assert_allclose(state.U[1], grid[:, 0, 0][np.argmin(h, axis=0)], atol=2e-4)
    linear = (gamma * V + (rho + alpha) * (rho * c + alpha * U_old) / (rho + alpha)) / (
        gamma + rho + alpha
    )
    assert rel(state.U[1], linear) > 1e-2


# ============================================================ row 4: descent of J
@pytest.mark.parametrize("name", ["bp", "proxbp", "sibp"])
@pytest.mark.parametrize("seed", range(5))
def test_table1_descent_of_J_for_small_steps(name, seed, make_problem):
    net, params, X, Y = make_problem(
        [3, 5, 4, 2], 6, act="sigmoid", seed=seed, std=1.0, loss="square"
    )
    m = {
        "bp": lambda: BP(lr=1e-3),
        "proxbp": lambda: ProxBP(1e-3, 0.5),
        "sibp": lambda: sibp_exact(1e-3, 0.5),
    }[name]()
    J = [float(net.loss(params, X, Y))]
    for _ in range(3):
        params, _ = run(m, net, params, X, Y)
        J.append(float(net.loss(params, X, Y)))
    assert np.all(np.diff(J) < 0)


def test_table1_bcd_descends_its_merit_function_but_not_J():
    """The problem of tests/test_bcd.py: sweep 4 raises J while the merit function falls."""
    net = MLP([1, 2, 2], "relu", "square")
    params = net.init(seed=15, std=1.0)
    rng = np.random.default_rng(15)
    X, Y = rng.normal(size=(1, 4)), rng.normal(size=(2, 4))
    m = BCD(gamma=1.0, rho=0.1, alpha=0.001)
    state = m.init(net, params)
    J, obj = [float(net.loss(params, X, Y))], [float(m.objective(net, params, state, X, Y))]
    for _ in range(4):
        params, state = m.step(net, params, state, X, Y)
        J.append(float(net.loss(params, X, Y)))
        obj.append(float(m.objective(net, params, state, X, Y)))
    assert np.all(np.diff(obj) <= 0) and np.any(np.diff(J) > 0)


# ============================================================ row 5: Gauss–Seidel
def test_table1_bp_and_proxbp_are_jacobi(make_problem):
    """A lower layer's update does not see the upper layer's step: changing the upper layer's
    λ (ProxBP) or update (ProxBP's last layer by gradient) leaves layer 1 unchanged."""
    net, params, X, Y = make_problem([4, 5, 5, 3], 6, act="tanh", seed=10, loss="square")
    a, _ = run(ProxBP(1.0, [0.5, 0.5, 0.5]), net, params, X, Y)
    b, _ = run(ProxBP(1.0, [0.5, 9.0, 90.0]), net, params, X, Y)
    c, _ = run(ProxBP(1.0, 0.5, last_layer="gradient", last_lr=3.0), net, params, X, Y)
    np.testing.assert_array_equal(theta(a)[0], theta(b)[0])
    np.testing.assert_array_equal(theta(a)[0], theta(c)[0])
    assert rel(theta(a)[2], theta(b)[2]) > 1e-3


def test_table1_bcd_is_gauss_seidel(make_problem):
    """BCD's hidden V-block uses the *new* upper (W, b) and U: its optimality condition
    (ρWᵀW + γI)V = ρWᵀ(U − b) + γσ(U_1) holds with the new values, not the old."""
    net, params, X, Y = make_problem([3, 4, 2], 5, act="relu", seed=11, loss="square")
    gamma, rho = 1.0, 2.0
    new, state = run(BCD(gamma, rho, 0.5), net, params, X, Y)
    V1 = state.V[1]
    relu_U1_old = np.maximum(params[0][0] @ X + params[0][1], 0)  # U_1 not yet updated

    def residual(W, b, U2):
        lhs = (rho * W.T @ W + gamma * np.eye(W.shape[1])) @ V1
        return rel(lhs, rho * W.T @ (U2 - b) + gamma * relu_U1_old)

    (W2n, b2n), (W2, b2) = new[1], params[1]
    assert residual(W2n, b2n, state.U[2]) < 1e-10
    U2_old = W2 @ relu_U1_old + b2
    assert residual(W2, b2, U2_old) > 1e-2
