"""SIBP (Algorithm 1): limits, a hand-computed step, an independent re-implementation,
backends, float32, ℓ1, and hyper-parameter errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

from sibp_ref import MLP, Method
from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.losses import one_hot
from sibp_ref.methods.schedules import inverse_power
from sibp_ref.methods.sibp import SIBP, SIBPState


def _classification(xp, sizes=(4, 6, 5, 3), act="sigmoid", n=12, seed=0, dtype="float64", std=0.5):
    net = MLP(list(sizes), act, "cross_entropy")
    params = net.init(seed=seed, std=std, xp=xp, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    X = B.asarray(rng.normal(size=(sizes[0], n)), xp, dtype=dtype)
    Y = one_hot(
        B.asarray(rng.integers(0, sizes[-1], n), xp), sizes[-1], dtype=B.resolve_dtype(dtype, xp)
    )
    return net, params, X, Y


def _np(params):
    return [(B.to_numpy(W), None if b is None else B.to_numpy(b)) for W, b in params]


def _max_change(p, q):
    return max(
        np.max(np.abs(B.to_numpy(a) - B.to_numpy(c)))
        for (W, b), (V, d) in zip(p, q, strict=True)
        for a, c in ((W, V), (b, d))
        if a is not None
    )


def test_sibp_follows_the_method_protocol():
    m = SIBP()
    assert isinstance(m, Method) and m.name == "sibp"
    assert (m.eta, m.lam) == (10.0, 0.5)  # the authors' η_c = 0.1, λ_c = 1 at batch 100


@pytest.mark.parametrize("solver", ["ncg", "ncg_pr", "exact", "prox_grad"])
def test_sibp_with_lambda_to_zero_stays_put(xp, solver):
    net, p, X, Y = _classification(xp)
    m = SIBP(eta=1.0, lam=1e-12, solver=solver)
    q, s = m.step(net, p, m.init(net, p), X, Y)
    assert _max_change(p, q) < 1e-10
    assert s.k == 1


@pytest.mark.parametrize("solver", ["ncg", "exact"])
def test_sibp_with_eta_to_zero_stays_put(xp, solver):
    """η → 0: F^{k+½} = F^k, and W^k already fits it exactly, so (4.1) returns W^k."""
    net, p, X, Y = _classification(xp)
    m = SIBP(eta=1e-12, lam=10.0, solver=solver)
    q, _ = m.step(net, p, m.init(net, p), X, Y)
    assert _max_change(p, q) < 1e-9


def test_sibp_one_step_on_one_layer_linear_net_is_the_ridge_solution_by_hand(xp):
    """One layer, σ = identity: F_2^{½} = F_2 − η δ_2, then W by the normal equations and
    b by its scalar formula, written out here in NumPy."""
    rng = np.random.default_rng(0)
    d, m_out, n, eta, lam, lam_b = 3, 2, 7, 0.8, 0.3, 2.0
    net = MLP([d, m_out], "relu", "square")  # the last layer is linear whatever σ says
    p = net.init(seed=1, std=0.5, xp=xp)
    Xn, Yn = rng.normal(size=(d, n)), rng.normal(size=(m_out, n))
    X, Y = B.asarray(Xn, xp), B.asarray(Yn, xp)
    W0, b0 = (B.to_numpy(a) for a in p[0])
    F2 = W0 @ Xn + b0
    T = F2 - eta * 2.0 * (F2 - Yn) / n  # δ_N of the mean square loss
    # W: min ||W X + b0 − T||² + ||W − W0||²/(2λ)  ⇔  W (2XXᵀ + I/λ) = 2(T − b0)Xᵀ + W0/λ
    W1 = np.linalg.solve((2 * Xn @ Xn.T + np.eye(d) / lam).T, (2 * (T - b0) @ Xn.T + W0 / lam).T).T
    # b: min ||W1 X + b − T||² + ||b − b0||²/(2λ_b)  ⇔  b (2n + 1/λ_b) = 2Σ(T − W1X) + b0/λ_b
    b1 = (2 * np.sum(T - W1 @ Xn, axis=1, keepdims=True) + b0 / lam_b) / (2 * n + 1 / lam_b)
    m = SIBP(eta=eta, lam=lam, lam_b=lam_b)
    q, _ = m.step(net, p, m.init(net, p), X, Y)
    np.testing.assert_allclose(B.to_numpy(q[0][0]), W1, atol=1e-12)
    np.testing.assert_allclose(B.to_numpy(q[0][1]), b1, atol=1e-12)


def _prox_by_bfgs(z0, make_G, grad_of, s, T, lam):
    """argmin_z ||s(make_G(z)) − T||² + ||z − z0||²/(2λ) by scipy's BFGS."""
    f = lambda G_: B.to_numpy(s.f(G_))
    df = lambda G_: B.to_numpy(s.df(G_))

    def phi(z):
        R = f(make_G(z.reshape(z0.shape))) - T
        return np.sum(R * R) + np.sum((z - z0.ravel()) ** 2) / (2 * lam)

    def jac(z):
        Z = z.reshape(z0.shape)
        G_ = make_G(Z)
        return (grad_of(2 * df(G_) * (f(G_) - T)) + (Z - z0) / lam).ravel()

    r = scipy.optimize.minimize(
        phi, z0.ravel(), jac=jac, method="BFGS", options={"gtol": 1e-12, "maxiter": 5000}
    )
    return r.x.reshape(z0.shape)


def _algorithm_1_by_scipy(net, params, X, Y, eta, lam):
    """Algorithm 1 written again from the paper, each half of (4.1) by scipy's BFGS."""
    L = net.num_layers
    P = _np(params)
    F, G = [X], [None]
    for i, (W, b) in enumerate(P):
        G.append(W @ F[i] + b)
        F.append(G[-1] if i == L - 1 else B.to_numpy(net.sigma.f(G[-1])))
    n = X.shape[1]
    e = np.exp(F[L] - F[L].max(0))
    delta = (e / e.sum(0) - Y) / n  # δ_N of the mean cross-entropy
    Fh = F[L] - eta * delta
    new = [None] * L
    for i in range(L - 1, -1, -1):
        W, b = P[i]
        s = get_activation("identity") if i == L - 1 else net.sigma
        Fi = F[i]
        W1 = _prox_by_bfgs(
            W, lambda Z, Fi=Fi, b=b: Z @ Fi + b, lambda M, Fi=Fi: M @ Fi.T, s, Fh, lam
        )
        b1 = _prox_by_bfgs(
            b, lambda z, Fi=Fi, W1=W1: W1 @ Fi + z, lambda M: M.sum(1, keepdims=True), s, Fh, lam
        )
        new[i] = (W1, b1)
        if i > 0:
            delta = W1.T @ (B.to_numpy(s.df(G[i + 1])) * delta)  # (4.2): new W, old G
            Fh = F[i] - eta * delta
    return new


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softplus"])
def test_sibp_exact_step_matches_algorithm_1_solved_by_scipy(act):
    xp = B.get_backend("numpy")
    net, p, X, Y = _classification(xp, act=act)
    eta, lam = 3.0, 0.7
    m = SIBP(eta=eta, lam=lam, solver="exact", tol=1e-12)
    q, _ = m.step(net, p, m.init(net, p), X, Y)
    want = _algorithm_1_by_scipy(net, p, X, Y, eta, lam)
    for (W, b), (Wr, br) in zip(_np(q), want, strict=True):
        np.testing.assert_allclose(W, Wr, atol=1e-7)
        np.testing.assert_allclose(b, br, atol=1e-7)


@pytest.mark.parametrize("solver", ["ncg", "ncg_pr", "exact", "prox_grad"])
def test_sibp_gives_the_same_step_on_every_backend(xp, solver):
    ref = _classification(B.get_backend("numpy"))
    net, p, X, Y = _classification(xp)
    m = SIBP(eta=2.0, lam=[0.3, 1.0, 0.5], lam_b=0.2, solver=solver, l1=0.0)
    q, _ = m.step(net, p, m.init(net, p), X, Y)
    q_ref, _ = m.step(ref[0], ref[1], m.init(ref[0], ref[1]), ref[2], ref[3])
    for (W, b), (Wr, br) in zip(_np(q), _np(q_ref), strict=True):
        np.testing.assert_allclose(W, Wr, atol=1e-10)
        np.testing.assert_allclose(b, br, atol=1e-10)


def test_sibp_trains_in_float32(xp):
    """The authors' setting in our symbols (η = 10, λ = 0.5, 5 FR-NCG steps) on a small
    ReLU net in float32: float32 throughout, the loss goes down, and it follows the
    float64 run of the same iteration."""
    losses = {}
    for dtype in ("float32", "float64"):
        net, p, X, Y = _classification(
            xp, sizes=(8, 16, 3), act="relu", n=100, dtype=dtype, std=0.1
        )
        m = SIBP()
        s = m.init(net, p)
        J = [float(net.loss(p, X, Y))]
        for _ in range(10):
            p, s = m.step(net, p, s, X, Y)
            J.append(float(net.loss(p, X, Y)))
        dt = B.resolve_dtype(dtype, xp)
        assert all(W.dtype == dt and b.dtype == dt for W, b in p)
        losses[dtype] = np.array(J)
    assert np.all(np.diff(losses["float32"]) < 0)
    np.testing.assert_allclose(losses["float32"], losses["float64"], rtol=1e-4)


def test_sibp_with_l1_prunes_weights(xp):
    """Remark 4.1: γ||W||_1 in (4.1), solved by soft-thresholding, sets weights to zero."""
    net, p, X, Y = _classification(xp, std=0.05)
    m = SIBP(eta=1.0, lam=0.5, l1=0.05, iters=20)
    s = m.init(net, p)
    for _ in range(3):
        p, s = m.step(net, p, s, X, Y)
    zeros = sum(int(np.sum(B.to_numpy(W) == 0)) for W, _ in p)
    assert zeros > 0.5 * sum(W.shape[0] * W.shape[1] for W, _ in p)


def test_sibp_with_a_negligible_l1_gives_the_plain_step_on_a_linear_net(xp):
    """γ → 0 on identity layers: every subproblem's ℓ1 minimiser is within λγ√(#entries)
    of the ridge one (strong convexity, modulus 1/λ), and prox-grad starts at the ridge
    solution, where ∇s = 0, so each of its 5 steps moves by at most tγ ≤ λγ. With γ = 1e-12
    the steps agree to ~1e-11 before δ carries them to the layers below; 1e-9 allows
    for that. (5 prox-grad steps from W^k instead would be off by O(1).)"""
    net, p, X, Y = _classification(xp, act="identity")
    plain = SIBP(eta=2.0, lam=0.7)
    tiny = SIBP(eta=2.0, lam=0.7, l1=1e-12)
    q, _ = plain.step(net, p, plain.init(net, p), X, Y)
    r, _ = tiny.step(net, p, tiny.init(net, p), X, Y)
    assert _max_change(p, q) > 1e-2  # a real step
    assert _max_change(q, r) < 1e-9


def test_sibp_with_a_negligible_l1_keeps_the_output_layer_step():
    """The output layer (identity) is solved first, from the forward pass alone, so its
    update with γ = 1e-12 is the ridge one whatever the hidden layers' solver (5 prox-grad
    steps from W^k there would be far from it: tutorial 08 shows what that costs).
    The hidden layers (sigmoid) agree when both solve to tolerance (``solver="exact"``):
    prox-grad and PR-NCG stop at relative gradient 1e-10, so 1e-7 as in the other exact
    tests."""
    xp = B.get_backend("numpy")
    net, p, X, Y = _classification(xp, act="sigmoid")
    q, _ = SIBP(eta=2.0, lam=0.7).step(net, p, SIBPState(0), X, Y)
    r, _ = SIBP(eta=2.0, lam=0.7, l1=1e-12).step(net, p, SIBPState(0), X, Y)
    assert _max_change(q[-1:], r[-1:]) < 1e-10
    assert _max_change(p[-1:], q[-1:]) > 1e-2
    q, _ = SIBP(eta=2.0, lam=0.7, solver="exact").step(net, p, SIBPState(0), X, Y)
    r, _ = SIBP(eta=2.0, lam=0.7, l1=1e-12, solver="exact").step(net, p, SIBPState(0), X, Y)
    assert _max_change(q, r) < 1e-7


def test_sibp_uses_the_schedule_and_counts_iterations():
    xp = B.get_backend("numpy")
    net, p, X, Y = _classification(xp)
    sched = inverse_power(4.0, p=1.0)
    m = SIBP(schedule=sched, lam=0.5)
    s = m.init(net, p)
    assert s == SIBPState(k=0)
    assert [m.eta_at(k) for k in range(3)] == [4.0, 2.0, 4.0 / 3.0]
    # step k = 1 with the schedule equals a constant-η step with η_1
    p1, s = m.step(net, p, s, X, Y)
    q, s = m.step(net, p1, s, X, Y)
    r, _ = SIBP(eta=2.0, lam=0.5).step(net, p1, SIBPState(k=7), X, Y)
    assert s.k == 2
    assert _max_change(q, r) == 0.0


def test_sibp_without_bias():
    xp = B.get_backend("numpy")
    net = MLP([3, 4, 2], "tanh", "square", bias=False)
    p = net.init(seed=0, std=0.5, xp=xp)
    X = B.normal((3, 9), seed=1, xp=xp)
    Y = B.normal((2, 9), seed=2, xp=xp)
    m = SIBP(eta=0.5, lam=0.5, solver="exact")
    q, _ = m.step(net, p, m.init(net, p), X, Y)
    assert all(b is None for _, b in q)
    assert float(net.loss(q, X, Y)) < float(net.loss(p, X, Y))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eta": 0.0}, "eta"),
        ({"eta": -1.0}, "eta"),
        ({"eta": float("nan")}, "eta"),
        ({"lam": 0.0}, "lam"),
        ({"lam": [0.5, -1.0]}, r"lam\[1\]"),
        ({"lam": []}, "lam"),
        ({"lam_b": 0.0}, "lam_b"),
        ({"iters": 0}, "iters"),
        ({"iters": 2.5}, "iters"),
        ({"solver": "lbfgs"}, "unknown solver"),
        ({"l1": -0.1}, "l1"),
        ({"tol": 0.0}, "tol"),
        ({"max_iters": 0}, "max_iters"),
    ],
)
def test_sibp_bad_hyper_parameters_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SIBP(**kwargs)


def test_sibp_bad_schedule_and_layer_count_raise_clear_errors():
    with pytest.raises(TypeError, match="schedule"):
        SIBP(schedule=0.1)
    with pytest.raises(TypeError, match="lam"):
        SIBP(lam="0.5")
    xp = B.get_backend("numpy")
    net, p, X, Y = _classification(xp)
    with pytest.raises(ValueError, match="3 layers"):
        SIBP(lam=[0.5, 0.5]).init(net, p)
    m = SIBP(schedule=lambda k: -1.0)
    with pytest.raises(ValueError, match=r"schedule\(0\)"):
        m.step(net, p, m.init(net, p), X, Y)


def test_sibp_accepts_numpy_scalars_for_every_number():
    m = SIBP(eta=np.float32(10.0), lam=np.float32(0.5), lam_b=np.float64(0.25), iters=np.int64(3))
    assert (m.eta, m.lam, m.lam_b, m.iters) == (10.0, 0.5, 0.25, 3)
    assert SIBP(lam=[np.float32(0.5), 1]).lam == [0.5, 1.0]
    assert SIBP(lam=np.asarray(0.5), tol=np.asarray(1e-9)).lam == 0.5  # 0-d arrays
    assert SIBP(lam=np.asarray([0.5, 0.25])).lam == [0.5, 0.25]  # one per layer


@pytest.mark.parametrize("lam", ["0.5", None, float("nan"), float("inf"), -1.0, [0.5, "a"], {}])
def test_sibp_bad_lam_of_any_kind_names_lam(lam):
    with pytest.raises((ValueError, TypeError), match="lam"):
        SIBP(lam=lam)


def test_sibp_class_declares_its_requirements_and_solvers():
    assert SIBP.full_batch is False and SIBP.required_loss is None
    assert set(SIBP.solvers) == {"ncg", "ncg_pr", "exact", "prox_grad", "ncg_authors"}


def test_sibp_step_without_checks_is_the_same_step():
    xp = B.get_backend("numpy")
    net, p, X, Y = _classification(xp)
    m = SIBP(eta=2.0, lam=0.5)
    q, s = m.step(net, p, SIBPState(0), X, Y)
    r, t = m.step(net, p, SIBPState(0), X, Y, check=False)
    assert _max_change(q, r) == 0.0 and s == t
    with pytest.raises(ValueError, match="X"):
        m.step(net, p, SIBPState(0), X[:2], Y)
