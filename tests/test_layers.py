"""The layer interface (layers.py) and networks built from it (network.py).

A parametrised layer is ``G = W A(F) + b`` then σ; the algorithms see only ``A``
(``lift``) and its adjoint ``A*`` (``lift_T``). Two test layers prove that BP, ProxBP and
the back-propagation of the network need nothing else: a parametrised layer with a
non-trivial lift (``A(F) = [F; 2F]``) and a parameter-free one (max over pairs of rows,
a 1-d pooling). Oracles: central finite differences and the ProxBP closed form.
"""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import BCD, BP, MLP, Dense, Network, ProxBP
from sibp_ref import backend as B
from sibp_ref.activations import get_activation


class Doubled:
    """``G = W [F; 2F] + b``: a parametrised layer whose lift is not the identity."""

    def __init__(self, d_in, d_out, activation="tanh", bias=True):
        self.in_features, self.out_features = d_in, d_out
        self.activation = get_activation(activation)
        self.bias = bias

    @property
    def weight_shape(self):
        return (self.out_features, 2 * self.in_features)

    def lift(self, F):
        return B.namespace(F).concat([F, 2.0 * F], axis=0)

    def lift_T(self, M):
        d = self.in_features
        return M[:d, :] + 2.0 * M[d:, :]


class PairMax:
    """Max over consecutive pairs of rows (a 1-d max pooling by 2), without parameters."""

    def __init__(self, d_in):
        self.in_features, self.out_features = d_in, d_in // 2

    def forward(self, F):
        return B.namespace(F).maximum(F[0::2, :], F[1::2, :])

    def vjp(self, F, d):
        xp = B.namespace(F)
        first = F[0::2, :] >= F[1::2, :]
        zero = xp.zeros_like(d)
        both = xp.stack([xp.where(first, d, zero), xp.where(first, zero, d)], axis=1)
        return xp.reshape(both, (F.shape[0], F.shape[1]))


def problem(xp="numpy", n=7, seed=0, loss="cross_entropy"):
    net = Network([Doubled(3, 6, "tanh"), PairMax(6), Dense(3, 4, "softplus"), Dense(4, 2)], loss)
    params = net.init(seed=seed, std=0.5, xp=xp)
    rng = np.random.default_rng(seed + 1)
    X = B.asarray(rng.normal(size=(3, n)), xp)
    Y = B.asarray(np.eye(2)[:, rng.integers(0, 2, size=n)], xp)
    return net, params, X, Y


def fd_gradient(net, params, X, Y, h=1e-6):
    """Central differences of ``net.loss`` in every parameter entry (NumPy, float64)."""
    params = [(np.array(W), np.array(b)) for W, b in params]
    out = []
    for i in range(len(params)):
        pair = []
        for j in (0, 1):
            A = params[i][j]
            G = np.zeros_like(A)
            for idx in np.ndindex(A.shape):
                old = A[idx]
                A[idx] = old + h
                up = float(net.loss(params, X, Y))
                A[idx] = old - h
                down = float(net.loss(params, X, Y))
                A[idx] = old
                G[idx] = (up - down) / (2 * h)
            pair.append(G)
        out.append(tuple(pair))
    return out


def test_dense_lift_and_its_adjoint_are_the_identity(xp):
    layer = Dense(3, 4, "relu")
    F = B.normal((3, 5), xp=xp, seed=0)
    assert layer.lift(F) is F and layer.lift_T(F) is F
    assert layer.weight_shape == (4, 3) and layer.activation.name == "relu"


def test_lift_T_is_the_adjoint_of_lift():
    layer = Doubled(3, 2)
    rng = np.random.default_rng(0)
    F, M = rng.normal(size=(3, 5)), rng.normal(size=(6, 5))
    assert np.sum(layer.lift(F) * M) == pytest.approx(np.sum(F * layer.lift_T(M)))


def test_mlp_is_the_network_of_dense_layers():
    mlp = MLP([3, 5, 2], "tanh", "square", bias=False)
    net = Network([Dense(3, 5, "tanh", bias=False), Dense(5, 2, bias=False)], "square")
    assert mlp.sizes == net.sizes == [3, 5, 2] and mlp.num_layers == net.num_layers == 2
    assert mlp.is_dense and net.is_dense
    p = mlp.init(seed=4, std=0.7)
    for (W, _), (V, _) in zip(p, net.init(seed=4, std=0.7), strict=True):
        np.testing.assert_array_equal(W, V)
    X, Y = (
        np.random.default_rng(1).normal(size=(3, 4)),
        np.random.default_rng(2).normal(size=(2, 4)),
    )
    for (a, _), (c, _) in zip(mlp.gradient(p, X, Y), net.gradient(p, X, Y), strict=True):
        np.testing.assert_array_equal(a, c)


def test_blocks_group_parameter_free_layers_with_the_layer_before():
    net, params, X, _ = problem()
    assert net.num_layers == 3 and len(params) == 3 and not net.is_dense
    assert [type(b.layer).__name__ for b in net.blocks] == ["Doubled", "Dense", "Dense"]
    assert [len(b.post) for b in net.blocks] == [1, 0, 0]
    assert net.sizes == [3, 3, 4, 2]
    assert tuple(params[0][0].shape) == (6, 6)  # W acts on A(F) = [F; 2F]
    G, F = net.forward(params, X)
    assert tuple(G[1].shape) == (6, 7) and tuple(F[1].shape) == (3, 7)


def test_gradient_through_a_lift_and_a_pooling_layer_equals_finite_differences():
    net, params, X, Y = problem()
    for (dW, db), (fW, fb) in zip(
        net.gradient(params, X, Y), fd_gradient(net, params, X, Y), strict=True
    ):
        np.testing.assert_allclose(dW, fW, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(db, fb, rtol=1e-6, atol=1e-9)


def test_bp_on_such_a_network_is_theta_minus_eta_times_gradient(xp):
    net, params, X, Y = problem(xp)
    m = BP(eta=0.3)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    for (W, b), (W0, b0), (dW, db) in zip(new, params, net.gradient(params, X, Y), strict=True):
        np.testing.assert_allclose(B.to_numpy(W), B.to_numpy(W0 - 0.3 * dW), rtol=1e-13)
        np.testing.assert_allclose(B.to_numpy(b), B.to_numpy(b0 - 0.3 * db), rtol=1e-13)


@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_proxbp_on_such_a_network_is_its_preconditioned_gradient_step(solver):
    """θ^{k+1} = θ^k − η ∇_θJ (ĀĀᵀ + I/(2λ))^{-1} with Ā = [A(F_i); 1ᵀ] (proxbp.py)."""
    net, params, X, Y = problem()
    eta, lam = 0.7, 0.4
    m = ProxBP(eta=eta, lam=lam, solver=solver, iters=50)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    _, F = net.forward(params, X)
    for i, ((W, b), (W0, b0), (dW, db)) in enumerate(
        zip(new, params, net.gradient(params, X, Y), strict=True)
    ):
        Abar = np.vstack([net.layer(i).lift(F[i]), np.ones((1, X.shape[1]))])
        P = np.linalg.inv(Abar @ Abar.T + np.eye(Abar.shape[0]) / (2 * lam))
        want = np.hstack([W0, b0]) - eta * np.hstack([dW, db]) @ P
        np.testing.assert_allclose(np.hstack([W, b]), want, rtol=1e-9, atol=1e-11)


def test_backward_block_propagates_with_the_weight_it_is_given():
    """(4.2): ``δ_i = A*(Wᵀ(σ'(G_{i+1}) ⊙ δ_{i+1}))`` with any W, e.g. SIBP's new one."""
    net, params, X, Y = problem()
    G, F = net.forward(params, X)
    rng = np.random.default_rng(3)
    W_new = rng.normal(size=params[0][0].shape)
    d = rng.normal(size=F[1].shape)
    dG, delta = net.backward_block(0, W_new, G[1], d)
    inner = PairMax(6).vjp(np.tanh(G[1]), d) * (1.0 - np.tanh(G[1]) ** 2)
    np.testing.assert_allclose(dG, inner, rtol=1e-14)
    np.testing.assert_allclose(delta, Doubled(3, 6).lift_T(W_new.T @ inner), rtol=1e-14)
    assert net.backward_block(0, W_new, G[1], d, propagate=False)[1] is None


def test_bcd_stays_dense_only_and_says_so():
    net, params, _, _ = problem(loss="square")
    with pytest.raises(ValueError, match="BCD supports only dense networks.*Doubled, PairMax"):
        BCD().init(net, params)


def test_layers_that_do_not_fit_together_are_a_clear_error():
    with pytest.raises(ValueError, match=r"layer 1 \(Dense\) takes 5 features but layer 0"):
        Network([Dense(3, 4), Dense(5, 2)])
    with pytest.raises(ValueError, match="the first layer must have parameters"):
        Network([PairMax(4), Dense(2, 2)])
    with pytest.raises(ValueError, match="at least one layer"):
        Network([])
    with pytest.raises(ValueError, match="in_features must be an integer >= 1"):
        Dense(0, 3)
