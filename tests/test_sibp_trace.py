"""``SIBP.step(..., trace=[])``: the step's intermediates (the errors δ of (4.2), the targets
F^{k+½}, the pre-activations G^k, the new (W, b) of (4.1)) as the step itself computed them.

Oracles written from scratch here: the forward pass (2.1) and the sweep of (4.2) by hand in
float64 NumPy (tanh, square loss), and BP's δ (3.1) as λ → 0, where the new weights are the
old ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_conv import small_conv_problem

from sibp_ref import backend as B
from sibp_ref.methods.schedules import inverse_power
from sibp_ref.methods.sibp import SIBP, SIBPLayerTrace, SIBPState

SIZES = (3, 5, 4, 2)  # three weight layers: the sweep has a top, a middle and a first layer
N = 7
to = B.to_numpy


def _step(m, net, params, X, Y, state=None):
    """``m.step`` with a trace: ``(Θ^{k+1}, state, trace)``."""
    trace: list = []
    new, state = m.step(net, params, state or m.init(net, params), X, Y, trace=trace)
    return new, state, trace


def _by_hand(params, X):
    """(2.1) by hand for the tanh MLP with a linear last layer: ``G[l], F[l]``, l = 0..L."""
    G, F = [None], [X]
    for l, (W, b) in enumerate(params):
        G.append(W @ F[-1] + b)
        F.append(G[-1] if l == len(params) - 1 else np.tanh(G[-1]))
    return G, F


@pytest.mark.parametrize("solver", ["ncg", "exact", "ncg_authors"])
def test_a_traced_step_returns_the_same_parameters_bit_for_bit(xp, make_problem, solver):
    net, p, X, Y = make_problem(SIZES, N, xp=xp)
    m = SIBP(eta=2.0, lam=0.3, solver=solver)
    plain, s0 = m.step(net, p, SIBPState(k=0), X, Y)
    traced, s1, trace = _step(m, net, p, X, Y)
    assert s0 == s1
    for (W0, b0), (W1, b1) in zip(plain, traced, strict=True):
        np.testing.assert_array_equal(to(W0), to(W1))
        np.testing.assert_array_equal(to(b0), to(b1))
    # the entries are the step's own arrays: the returned (W, b), not copies of them
    assert all(e.W is traced[e.layer][0] and e.b is traced[e.layer][1] for e in trace)


def test_the_trace_has_one_entry_per_layer_in_the_order_of_the_sweep(make_problem):
    net, p, X, Y = make_problem(SIZES, N)
    _, _, trace = _step(SIBP(eta=1.0, lam=0.5), net, p, X, Y)
    assert all(isinstance(e, SIBPLayerTrace) for e in trace)
    assert [e.layer for e in trace] == [2, 1, 0]  # the paper's i = N−1, …, 1
    for e in trace:
        out, inp = SIZES[e.layer + 1], SIZES[e.layer]
        assert e.delta.shape == e.target.shape == e.G.shape == (out, N)
        assert e.W.shape == (out, inp) and e.b.shape == (out, 1)


def test_traced_delta_is_42_with_the_new_weights_and_the_old_pre_activations(make_problem):
    """δ_N = ∂J/∂F_N = 2(F_N − Y)/n, then δ_i = (W_i^{k+1})ᵀ(σ'(G_{i+1}^k) ⊙ δ_{i+1}) by hand,
    and F^{k+½} = F^k − ηδ. The same sweep with the old weights (BP's δ) must not pass."""
    net, p, X, Y = make_problem(SIZES, N, loss="square")
    assert [net.activation_of(i).name for i in range(3)] == ["tanh", "tanh", "identity"]
    eta = 1.5
    new, _, trace = _step(SIBP(eta=eta, lam=0.8, solver="exact", tol=1e-13), net, p, X, Y)
    G, F = _by_hand(p, X)
    want = want_old = 2.0 * (F[3] - Y) / N  # δ_N
    for e in trace:  # l = 2, 1, 0
        l = e.layer
        np.testing.assert_allclose(e.delta, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(e.target, F[l + 1] - eta * want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(e.G, G[l + 1], rtol=1e-12, atol=1e-15)
        if l < 2:  # below the top layer, the new weights above make a different δ
            assert np.linalg.norm(e.delta - want_old) > 0.05 * np.linalg.norm(want_old)
        sp = 1.0 if l == 2 else 1.0 - np.tanh(G[l + 1]) ** 2
        want, want_old = new[l][0].T @ (sp * want), p[l][0].T @ (sp * want_old)


def test_the_target_is_the_forward_pass_minus_eta_k_delta_with_a_schedule(make_problem):
    """F_{i+1}^{k+½} = F_{i+1}^k − η_k δ_{i+1}, bit for bit, at the schedule's η_k."""
    net, p, X, Y = make_problem(SIZES, N)
    m = SIBP(lam=0.5, schedule=inverse_power(4.0, p=1.0))
    _, state, trace = _step(m, net, p, X, Y, state=SIBPState(k=3))
    assert state.k == 4 and m.eta_at(3) == 1.0
    G, F = net.forward(p, X)
    for e in trace:
        np.testing.assert_array_equal(e.target, F[e.layer + 1] - 1.0 * e.delta)
        np.testing.assert_array_equal(e.G, G[e.layer + 1])


def test_traced_delta_is_bps_delta_as_lambda_goes_to_zero(make_problem):
    """λ → 0 keeps W^{k+1} = W^k, and (4.2) becomes BP's (3.1) (:meth:`Network.backward`)."""
    net, p, X, Y = make_problem(SIZES, N)
    _, _, trace = _step(SIBP(eta=1.0, lam=1e-12, solver="exact"), net, p, X, Y)
    G, F = net.forward(p, X)
    _, delta_bp = net.backward(p, G, F, Y)
    for e in trace:
        np.testing.assert_allclose(e.delta, delta_bp[e.layer + 1], rtol=1e-9, atol=1e-15)


def test_a_conv_nets_trace_is_in_gs_matrix_form_and_the_step_unchanged():
    """Remark 5.1: the target of a convolution is at σ(G), before its pooling."""
    net, p, X, Y = small_conv_problem(n=3)
    m = SIBP(eta=1.0, lam=0.5, iters=2)
    plain, _ = m.step(net, p, m.init(net, p), X, Y)
    traced, _, trace = _step(m, net, p, X, Y)
    for (W0, b0), (W1, b1) in zip(plain, traced, strict=True):
        np.testing.assert_array_equal(W0, W1)
        np.testing.assert_array_equal(b0, b1)
    G, _ = net.forward(p, X)
    assert [e.layer for e in trace] == list(range(net.num_layers - 1, -1, -1))
    for e in trace:
        sigma = net.activation_of(e.layer)
        assert e.delta.shape == e.target.shape == e.G.shape == G[e.layer + 1].shape
        np.testing.assert_allclose(e.target, sigma.f(e.G) - 1.0 * e.delta, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", [(), {}, "trace"])
def test_a_trace_that_is_not_a_list_is_refused_by_name(make_problem, bad):
    net, p, X, Y = make_problem(SIZES, N)
    m = SIBP()
    with pytest.raises(TypeError, match="trace must be a list"):
        m.step(net, p, m.init(net, p), X, Y, trace=bad)
