"""BCD (§3.3, Zeng et al. 2019): every block update is the exact minimiser of the merit
function in that block, the merit function never increases, and J can.

Oracles: an independent PyTorch transcription of the merit function, minimised block by
block with scipy.optimize (smooth blocks) or on a brute-force grid (the ReLU U-block).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
from hypothesis import given
from hypothesis import strategies as st
from oracle import TORCH_ACTIVATIONS, needs_torch, torch

from sibp_ref import MLP, get_activation, one_hot
from sibp_ref import backend as B
from sibp_ref.methods.bcd import BCD, BCDState, _fingerprint, relu_prox, scalar_prox


def merit(blocks, X, Y, act, gamma, rho):
    """½||V_N − Y||² + Σ γ/2||V_i − σ_i(U_i)||² + Σ ρ/2||U_i − W_iV_{i−1} − b_i||², in torch."""
    U, V, Th = blocks["U"], blocks["V"], blocks["theta"]
    L = len(Th)
    Vs = [torch.as_tensor(X)] + list(V)
    total = 0.5 * ((V[-1] - torch.as_tensor(Y)) ** 2).sum()
    for i in range(L):
        sig = (lambda u: u) if i == L - 1 else TORCH_ACTIVATIONS[act]
        W, b = Th[i][:, :-1], Th[i][:, -1:]
        total = total + 0.5 * gamma * ((V[i] - sig(U[i])) ** 2).sum()
        total = total + 0.5 * rho * ((U[i] - W @ Vs[i] - b) ** 2).sum()
    return total


def random_state(sizes, n, seed, act="tanh"):
    """A 3-block configuration that is *not* a forward pass (all penalties active)."""
    rng = np.random.default_rng(seed)
    net = MLP(sizes, act, "square")
    params = [
        (rng.normal(size=(sizes[i + 1], sizes[i])), rng.normal(size=(sizes[i + 1], 1)))
        for i in range(len(sizes) - 1)
    ]
    X, Y = rng.normal(size=(sizes[0], n)), rng.normal(size=(sizes[-1], n))
    U = [None] + [rng.normal(size=(d, n)) for d in sizes[1:]]
    V = [X] + [rng.normal(size=(d, n)) for d in sizes[1:]]
    return net, params, X, Y, U, V


def block_minimiser(blocks, key, idx, X, Y, act, gamma, rho, prox):
    """Minimise the merit (+ prox/2 ||block − block^k||²) over one block with L-BFGS."""
    ref = blocks[key][idx].detach().clone()

    def f(x):
        t = torch.tensor(x.reshape(ref.shape), requires_grad=True)
        bl = {k: list(v) for k, v in blocks.items()}
        bl[key][idx] = t
        val = merit(bl, X, Y, act, gamma, rho) + 0.5 * prox * ((t - ref) ** 2).sum()
        val.backward()
        return val.item(), t.grad.numpy().ravel().copy()

    res = scipy.optimize.minimize(
        f,
        ref.numpy().ravel(),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 5000},
    )
    return res.x.reshape(ref.shape), f


@needs_torch
def test_each_block_update_is_the_exact_minimiser_of_the_merit_function():
    """Replays one sweep (V_N, U_N, θ_N, then V_i, U_i, θ_i downwards) and checks every new
    block against a numerical minimiser with the blocks updated so far, and α only on V_N,
    every θ and the hidden U (the authors' code)."""
    sizes, n, act = [3, 4, 3, 2], 5, "tanh"
    gamma, rho, alpha = 0.7, 1.3, 0.4
    net, params, X, Y, U, V = random_state(sizes, n, seed=0, act=act)
    m = BCD(gamma, rho, alpha, iters=60)
    state = BCDState(U=U, V=V, fingerprint=_fingerprint(X, Y))
    new_params, new_state = m.step(net, params, state, X, Y)
    T = torch.tensor
    cur = {
        "U": [T(u) for u in U[1:]],
        "V": [T(v) for v in V[1:]],
        "theta": [T(np.hstack([W, b])) for W, b in params],
    }
    new = {
        "U": [T(u) for u in new_state.U[1:]],
        "V": [T(v) for v in new_state.V[1:]],
        "theta": [T(np.hstack([W, b])) for W, b in new_params],
    }
    L = len(params)
    order = []
    for i in range(L - 1, -1, -1):
        order += [
            ("V", i, alpha if i == L - 1 else 0.0),
            ("U", i, 0.0 if i == L - 1 else alpha),
            ("theta", i, alpha),
        ]
    for key, idx, prox in order:
        want, f = block_minimiser(cur, key, idx, X, Y, act, gamma, rho, prox)
        got = new[key][idx].numpy()
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=f"{key}[{idx}]")
        # closed forms are stationary to round-off; the smooth U-block's Gauss–Newton
        # (60 steps here, linear convergence) to a small fraction of its starting gradient
        g0 = np.linalg.norm(f(cur[key][idx].numpy().ravel())[1])
        assert np.linalg.norm(f(got.ravel())[1]) < 1e-7 * g0, f"{key}[{idx}] not stationary"
        cur[key][idx] = new[key][idx]


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
def test_relu_U_block_is_exact_minimiser_on_a_brute_force_grid(act):
    rng = np.random.default_rng(1)
    gamma, rho, alpha = 0.9, 0.6, 0.3
    V, U_old = rng.normal(size=(3, 4)) * 2, rng.normal(size=(3, 4)) * 2
    W, b, Vprev = rng.normal(size=(3, 2)), rng.normal(size=(3, 1)), rng.normal(size=(2, 4))
    got = BCD(gamma, rho, alpha).update_U(get_activation(act), V, U_old, (W, b), Vprev)
    c = W @ Vprev + b
    grid = np.linspace(-12, 12, 480_001)[:, None, None]
    sig = get_activation(act).f
    h = (
        gamma / 2 * (V - sig(grid)) ** 2
        + rho / 2 * (grid - c) ** 2
        + alpha / 2 * (grid - U_old) ** 2
    )
    best = grid[:, 0, 0][np.argmin(h, axis=0)]
    np.testing.assert_allclose(got, best, atol=1e-4)


@given(
    a=st.floats(-5, 5),
    b=st.floats(-5, 5),
    g=st.floats(0.01, 50),
    slope=st.sampled_from([0.0, 0.01, 0.3]),
)
def test_relu_scalar_prox_matches_brute_force_grid(a, b, g, slope):
    """argmin_u ½(a − σ(u))² + g/2 (u − b)² for σ(u) = max(u, slope·u), against a grid."""
    u = float(relu_prox(np.asarray([a]), np.asarray([b]), g, slope)[0])
    grid = np.linspace(-20, 20, 400_001)  # |u*| <= 15 here (slope 0.3, g = 0.01, a = -5)

    def h(x):
        return 0.5 * (a - np.maximum(x, slope * x)) ** 2 + 0.5 * g * (x - b) ** 2

    hg = h(grid)
    assert h(u) <= hg.min() + 1e-12
    assert abs(u - grid[np.argmin(hg)]) <= 1e-3 or abs(h(u) - hg.min()) <= 1e-9  # ties


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "softplus"])
def test_smooth_scalar_prox_matches_brute_force_grid(act):
    """For g ≥ 2 and |a| ≤ 1 the scalar problem is strictly convex: one minimiser."""
    rng = np.random.default_rng(2)
    a, b = rng.uniform(-1, 1, size=200), rng.uniform(-4, 4, size=200)
    u0 = rng.uniform(-4, 4, size=200)
    g = 2.0
    sig = get_activation(act)
    u = scalar_prox(sig, a, b, g, u0, iters=30)
    grid = np.linspace(-8, 8, 160_001)[:, None]
    h = 0.5 * (a - sig.f(grid)) ** 2 + 0.5 * g * (grid - b) ** 2
    np.testing.assert_allclose(u, grid[np.argmin(h, axis=0), 0], atol=2e-4)


def test_smooth_scalar_prox_never_rises_above_its_start():
    rng = np.random.default_rng(3)
    a, b, u0 = rng.normal(size=500) * 3, rng.normal(size=500) * 3, rng.normal(size=500) * 3
    sig = get_activation("sigmoid")

    def h(u):
        return 0.5 * (a - sig.f(u)) ** 2 + 0.5 * 0.05 * (u - b) ** 2

    for iters in (1, 3):
        assert np.all(h(scalar_prox(sig, a, b, 0.05, u0, iters)) <= h(u0) + 1e-15)


@given(
    seed=st.integers(0, 10_000),
    act=st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid", "identity"]),
    bias=st.booleans(),
    gamma=st.floats(0.05, 20),
    rho=st.floats(0.05, 20),
    alpha=st.floats(0.01, 20),
    n=st.integers(1, 6),
    hidden=st.lists(st.integers(1, 4), min_size=1, max_size=2),
)
def test_C3_bcd_merit_function_never_increases_over_sweeps(
    seed, act, bias, gamma, rho, alpha, n, hidden
):
    rng = np.random.default_rng(seed)
    sizes = [2, *hidden, 2]
    net = MLP(sizes, act, "square", bias=bias)
    params = net.init(seed=seed, std=1.0)
    X, Y = rng.normal(size=(2, n)), rng.normal(size=(2, n)) * 2
    m = BCD(gamma, rho, alpha, iters=5)
    state = m.init(net, params)
    obj = [float(m.objective(net, params, state, X, Y))]
    for _ in range(5):
        params, state = m.step(net, params, state, X, Y)
        obj.append(float(m.objective(net, params, state, X, Y)))
    assert all(o1 <= o0 + 1e-10 * (1 + obj[0]) for o0, o1 in zip(obj, obj[1:], strict=False))


def test_table1_bcd_J_can_increase_in_a_sweep_while_its_merit_function_does_not():
    """The paper's Table 1 row: BCD decreases its merit function, not J. With ρ ≪ γ the
    auxiliary V drift from the network's own activations, and the weights fitted to V
    make the network's loss J = ||F_N(Θ) − Y||²/n go up in sweep 4 on this problem."""
    net = MLP([1, 2, 2], "relu", "square")
    params = net.init(seed=15, std=1.0)
    rng = np.random.default_rng(15)
    X, Y = rng.normal(size=(1, 4)), rng.normal(size=(2, 4))
    m = BCD(gamma=1.0, rho=0.1, alpha=0.001)
    state = m.init(net, params)
    J = [float(net.loss(params, X, Y))]
    obj = [float(m.objective(net, params, state, X, Y))]
    for _ in range(4):
        params, state = m.step(net, params, state, X, Y)
        J.append(float(net.loss(params, X, Y)))
        obj.append(float(m.objective(net, params, state, X, Y)))
    assert np.all(np.diff(obj) <= 0)
    assert np.max(np.diff(J) / np.asarray(J[:-1])) > 0.01


def test_state_starts_from_a_forward_pass_so_merit_is_half_the_summed_loss(xp):
    net = MLP([3, 4, 2], "relu", "square")
    params = net.init(seed=0, std=0.5, xp=xp)
    X = B.normal((3, 5), seed=1, xp=xp)
    Y = B.normal((2, 5), seed=2, xp=xp)
    m = BCD()
    state = m.init(net, params)
    # mean square loss J = ||F_N − Y||²/n, merit = ½||V_N − Y||² with V_N = F_N
    assert B.to_float(m.objective(net, params, state, X, Y)) == pytest.approx(
        2.5 * B.to_float(net.loss(params, X, Y)), rel=1e-12
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_bcd_runs_on_every_backend_and_fits(xp, dtype):
    net = MLP([3, 6, 2], "relu", "square")
    params = net.init(seed=0, std=0.5, xp=xp, dtype=dtype)
    X = B.normal((3, 8), seed=1, xp=xp, dtype=dtype)
    Y = one_hot(B.asarray(np.arange(8) % 2, xp), 2, dtype=getattr(xp, dtype))
    m = BCD(1.0, 1.0, 0.5)
    state = m.init(net, params)
    obj0, J0 = B.to_float(m.objective(net, params, state, X, Y)), B.to_float(net.loss(params, X, Y))
    for _ in range(15):
        params, state = m.step(net, params, state, X, Y)
    assert params[0][0].dtype == getattr(xp, dtype)
    assert B.to_float(m.objective(net, params, state, X, Y)) < 0.5 * obj0
    assert B.to_float(net.loss(params, X, Y)) < J0


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"gamma": 0.0}, "gamma"),
        ({"rho": -1.0}, "rho"),
        ({"alpha": 0}, "alpha"),
        ({"u_iters": 0}, "u_iters"),
        ({"gamma": float("nan")}, "gamma"),
    ],
)
def test_bad_hyper_parameters_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BCD(**kwargs)


def test_bcd_net_with_cross_entropy_loss_is_an_error_naming_the_loss():
    net = MLP([3, 4, 2], "relu", "cross_entropy")
    with pytest.raises(ValueError, match="cross_entropy"):
        BCD().init(net, net.init())


@pytest.mark.parametrize("change", ["other_X", "permuted", "other_Y", "fewer_samples"])
def test_bcd_step_on_a_different_batch_is_an_error(change):
    net = MLP([3, 4, 2], "relu", "square")
    params = net.init(seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(3, 6)), rng.normal(size=(2, 6))
    m = BCD()
    params, state = m.step(net, params, m.init(net, params), X, Y)
    params, state = m.step(net, params, state, X.copy(), Y.copy())  # same data: fine
    X2, Y2 = {
        "other_X": (X + 1e-3, Y),
        "permuted": (X[:, ::-1], Y[:, ::-1]),
        "other_Y": (X, Y[::-1]),
        "fewer_samples": (X[:, :5], Y[:, :5]),
    }[change]
    with pytest.raises(ValueError, match="full-batch"):
        m.step(net, params, state, X2, Y2)
    with pytest.raises(ValueError, match="full-batch"):
        m.objective(net, params, state, X2, Y2)
