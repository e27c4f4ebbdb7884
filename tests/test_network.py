"""The network of §2: forward pass (2.1), loss (2.2), back-propagation (3.1)–(3.2).

Oracles: a plain NumPy forward pass written out here, central finite differences
(float64) of ``net.loss``, and PyTorch autograd on the same numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import MLP
from sibp_ref import backend as B
from sibp_ref.activations import ACTIVATIONS, LEAKY_SLOPE
from sibp_ref.losses import one_hot

SIZES = [3, 5, 4, 2]

NP_SIGMA = {  # plain NumPy, written independently of sibp_ref.activations
    "identity": lambda g: g,
    "relu": lambda g: np.maximum(g, 0.0),
    "leaky_relu": lambda g: np.where(g > 0, g, LEAKY_SLOPE * g),
    "sigmoid": lambda g: 1.0 / (1.0 + np.exp(-g)),
    "tanh": np.tanh,
    "softplus": lambda g: np.log1p(np.exp(g)),
}


def np_forward(params, X, act):
    """F_N by (2.1) in NumPy, with no activation on the last layer."""
    F = X
    for i, (W, b) in enumerate(params):
        G = W @ F + (0.0 if b is None else b)
        F = G if i == len(params) - 1 else NP_SIGMA[act](G)
    return F


def np_loss(FN, Y, loss):
    n = FN.shape[1]
    if loss == "square":
        return np.sum((FN - Y) ** 2) / n
    lse = np.log(np.sum(np.exp(FN), axis=0))
    return -np.sum(Y * (FN - lse)) / n


def batch(xp, n=7, sizes=SIZES, seed=1, dtype="float64"):
    X = B.normal((sizes[0], n), xp=xp, seed=seed, dtype=dtype)
    labels = np.random.default_rng(seed).integers(0, sizes[-1], n)
    Y = one_hot(B.asarray(labels, xp), sizes[-1], dtype=X.dtype)
    return X, Y


def params_np(params):
    return [(B.to_numpy(W), None if b is None else B.to_numpy(b)) for W, b in params]


def fd_gradient(net, params, X, Y, h=1e-6):
    """Central finite differences of J over every entry of every W and b (NumPy, float64)."""
    out = []
    for i in range(len(params)):
        pair = []
        for j in (0, 1):
            P = params[i][j]
            if P is None:
                pair.append(None)
                continue
            D = np.zeros_like(P)
            for idx in np.ndindex(P.shape):
                vals = []
                for s in (h, -h):
                    Q = P.copy()
                    Q[idx] += s
                    pp = [list(p) for p in params]
                    pp[i][j] = Q
                    vals.append(float(net.loss([tuple(p) for p in pp], X, Y)))
                D[idx] = (vals[0] - vals[1]) / (2 * h)
            pair.append(D)
        out.append(tuple(pair))
    return out


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_forward_and_loss_equal_plain_numpy(xp, act, bias):
    for loss in ("cross_entropy", "square"):
        net = MLP(SIZES, act, loss, bias=bias)
        params = net.init(seed=3, std=0.7, xp=xp)
        X, Y = batch(xp)
        G, F = net.forward(params, X)
        assert G[0] is None and F[0] is X and len(G) == len(F) == len(SIZES)
        want = np_forward(params_np(params), B.to_numpy(X), act)
        np.testing.assert_allclose(B.to_numpy(F[-1]), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(B.to_numpy(G[-1]), want, rtol=1e-12, atol=1e-12)  # F_N = G_N
        J = B.to_float(net.loss(params, X, Y))
        assert J == pytest.approx(np_loss(want, B.to_numpy(Y), loss), rel=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "square"])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_gradient_equals_central_finite_differences(act, loss):
    net = MLP(SIZES, act, loss, bias=True)
    params = net.init(seed=4, std=0.6, xp="numpy")
    X, Y = batch("numpy", seed=5)
    got = net.gradient(params, X, Y)
    want = fd_gradient(net, params, X, Y)
    for (dW, db), (fW, fb) in zip(got, want, strict=True):
        np.testing.assert_allclose(dW, fW, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(db, fb, rtol=1e-6, atol=1e-8)


def torch_reference(params, X, Y, act, loss):
    """J, ∂J/∂(W, b) and ∂J/∂F[i] by PyTorch autograd from NumPy inputs."""
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    sig = {
        "identity": lambda g: g,
        "relu": torch.relu,
        "leaky_relu": lambda g: tF.leaky_relu(g, LEAKY_SLOPE),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softplus": tF.softplus,
    }[act]
    tp = [
        (
            torch.tensor(W, requires_grad=True),
            None if b is None else torch.tensor(b, requires_grad=True),
        )
        for W, b in params
    ]
    F = torch.tensor(X)
    Fs = []
    for i, (W, b) in enumerate(tp):
        G = W @ F + (0.0 if b is None else b)
        F = G if i == len(tp) - 1 else sig(G)
        F.retain_grad()
        Fs.append(F)
    Yt = torch.tensor(Y)
    if loss == "cross_entropy":  # probability targets, mean over the batch
        J = tF.cross_entropy(F.T, Yt.T)
    else:
        J = tF.mse_loss(F, Yt, reduction="sum") / F.shape[1]
    J.backward()
    grads = [(W.grad.numpy(), None if b is None else b.grad.numpy()) for W, b in tp]
    return float(J.detach()), grads, [f.grad.numpy() for f in Fs]


@pytest.mark.parametrize("loss", ["cross_entropy", "square"])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_gradient_and_delta_equal_torch_autograd(xp, act, loss):
    net = MLP(SIZES, act, loss, bias=True)
    params = net.init(seed=6, std=0.6, xp=xp)
    X, Y = batch(xp, seed=7)
    J_t, grads_t, deltas_t = torch_reference(
        params_np(params), B.to_numpy(X), B.to_numpy(Y), act, loss
    )
    assert B.to_float(net.loss(params, X, Y)) == pytest.approx(J_t, rel=1e-12)
    G, F = net.forward(params, X)
    grads, delta = net.backward(params, G, F, Y)
    assert delta[0] is None
    for (dW, db), (tW, tb) in zip(grads, grads_t, strict=True):
        np.testing.assert_allclose(B.to_numpy(dW), tW, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(B.to_numpy(db), tb, rtol=1e-10, atol=1e-13)
    for d, td in zip(delta[1:], deltas_t, strict=True):  # δ_i = ∂J/∂F_i, (3.1)
        np.testing.assert_allclose(B.to_numpy(d), td, rtol=1e-10, atol=1e-13)


def test_gradient_without_bias_has_no_db_and_matches_finite_differences():
    net = MLP([2, 3, 2], "tanh", "square", bias=False)
    params = net.init(seed=0, std=0.8)
    assert all(b is None for _, b in params)
    X, Y = batch("numpy", n=4, sizes=[2, 3, 2])
    got = net.gradient(params, X, Y)
    want = fd_gradient(net, params, X, Y)
    for (dW, db), (fW, _) in zip(got, want, strict=True):
        assert db is None
        np.testing.assert_allclose(dW, fW, rtol=1e-6, atol=1e-9)


@given(
    sizes=st.lists(st.integers(1, 3), min_size=2, max_size=4),
    n=st.integers(1, 4),
    act=st.sampled_from(["sigmoid", "tanh", "softplus", "identity"]),
    loss=st.sampled_from(["cross_entropy", "square"]),
    seed=st.integers(0, 2**31 - 1),
    std=st.floats(0.1, 1.5),
)
def test_property_gradient_of_random_small_net_matches_finite_differences(
    sizes, n, act, loss, seed, std
):
    net = MLP(sizes, act, loss)
    params = net.init(seed=seed, std=std)
    X, Y = batch("numpy", n=n, sizes=sizes, seed=seed % 1000)
    got = net.gradient(params, X, Y)
    want = fd_gradient(net, params, X, Y)
    for (dW, db), (fW, fb) in zip(got, want, strict=True):
        np.testing.assert_allclose(dW, fW, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(db, fb, rtol=1e-5, atol=1e-8)


def test_sum_reduction_is_n_times_the_mean():
    X, Y = batch("numpy", n=6)
    for loss in ("cross_entropy", "square"):
        mean = MLP(SIZES, "tanh", loss)
        total = MLP(SIZES, "tanh", loss, loss_reduction="sum")
        params = mean.init(seed=2, std=0.5)
        assert float(total.loss(params, X, Y)) == pytest.approx(6 * float(mean.loss(params, X, Y)))
        for (a, _), (c, _) in zip(
            mean.gradient(params, X, Y), total.gradient(params, X, Y), strict=True
        ):
            np.testing.assert_allclose(c, 6 * a, rtol=1e-12)


def test_init_same_seed_gives_same_network_on_every_backend(xp):
    net = MLP(SIZES, "relu")
    ref = net.init(seed=11, std=0.05, xp="numpy")
    got = net.init(seed=11, std=0.05, xp=xp)
    for (W, b), (W0, b0) in zip(got, ref, strict=True):
        assert tuple(W.shape) == W0.shape and tuple(b.shape) == b0.shape
        np.testing.assert_array_equal(B.to_numpy(W), W0)
        np.testing.assert_array_equal(B.to_numpy(b), b0)


def test_init_std_is_a_standard_deviation_and_mean_and_bias_std_are_used():
    net = MLP([400, 300, 2], "relu")
    params = net.init(seed=0, std=0.05, mean=0.2, bias_std=0.0)
    W, b = params[0]
    # 120 000 draws: the sample std is within 1% of 0.05, the mean within 1e-3 of 0.2
    assert np.std(W) == pytest.approx(0.05, rel=0.01)
    assert np.mean(W) == pytest.approx(0.2, abs=1e-3)
    np.testing.assert_array_equal(b, 0.0)  # bias_std = 0
    # one std per layer
    p2 = net.init(seed=0, std=[0.05, 1.0])
    assert np.std(p2[1][0]) > 0.3 > np.std(p2[0][0])


def test_float32_training_quantities_stay_float32(xp):
    net = MLP(SIZES, "relu", "cross_entropy")
    params = net.init(seed=0, std=0.3, xp=xp, dtype="float32")
    X, Y = batch(xp, dtype="float32")
    assert net.forward(params, X)[1][-1].dtype == xp.float32
    assert net.loss(params, X, Y).dtype == xp.float32
    for dW, db in net.gradient(params, X, Y):
        assert dW.dtype == xp.float32 and db.dtype == xp.float32


def test_accuracy_is_fraction_of_argmax_matches(xp):
    net = MLP(SIZES, "tanh")
    params = net.init(seed=8, std=1.0, xp=xp)
    X, Y = batch(xp, n=50, seed=9)
    out = np_forward(params_np(params), B.to_numpy(X), "tanh")
    want = np.mean(np.argmax(out, axis=0) == np.argmax(B.to_numpy(Y), axis=0))
    assert net.accuracy(params, X, Y) == pytest.approx(want)
    assert 0.0 < want < 1.0  # the test can fail both ways
