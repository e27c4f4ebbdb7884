"""Convolution, pooling and flattening layers, and the networks built from them.

Oracles: PyTorch's ``conv2d`` / ``max_pool2d`` and autograd (skipped cleanly without
torch), central finite differences, and the adjoint identity ``<A(F), M> = <F, A*(M)>``.
Image batches are columns ``(c·h·w, n)``, rows ``(c, h, w)``; PyTorch's ``(n, c, h, w)``
is its transpose reshaped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sibp_ref import BP, Dense, Network
from sibp_ref import backend as B
from sibp_ref.layers import Conv2d, Flatten, MaxPool2d
from sibp_ref.nets import NETS, get_net, lenet5, lenet_cifar

SHAPES = [(5, 6, 3), (6, 5, 2), (4, 4, 4), (7, 7, 1)]  # (h, w, k): odd and even sizes


def to_torch(F, c, h, w):
    """Columns ``(c·h·w, n)`` as a float64 torch batch ``(n, c, h, w)``."""
    torch = pytest.importorskip("torch")
    F = B.to_numpy(F)
    return torch.tensor(np.ascontiguousarray(F.T).reshape(F.shape[1], c, h, w))


def from_torch(T):
    """A torch batch ``(n, c, h, w)`` as columns ``(c·h·w, n)`` (NumPy)."""
    A = T.detach().numpy()
    return A.reshape(A.shape[0], -1).T


def conv_case(padding, h, w, k, xp, n=3, seed=0):
    rng = np.random.default_rng(seed)
    layer = Conv2d(2, 3, k, padding, height=h, width=w)
    F, W, b = (
        rng.normal(size=(2 * h * w, n)),
        rng.normal(size=layer.weight_shape),
        rng.normal(size=(3, 1)),
    )
    R = rng.normal(size=(layer.out_features, n))  # an upstream ∂J/∂F_out
    return layer, *(B.asarray(a, xp) for a in (F, W, b, R))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("h", "w", "k"), SHAPES)
def test_conv2d_forward_and_backward_equal_torch_conv2d_and_autograd(xp, padding, h, w, k):
    torch = pytest.importorskip("torch")
    layer, F, W, b, R = conv_case(padding, h, w, k, xp)
    AF = layer.lift(F)
    G = W @ AF + b  # matrix form (c_out, h'·w'·n)
    dG = layer.from_columns(R)
    dW, db, dF = dG @ AF.T, B.namespace(dG).sum(dG, axis=1, keepdims=True), layer.lift_T(W.T @ dG)
    Ft = to_torch(F, 2, h, w).requires_grad_()
    Wt = torch.tensor(B.to_numpy(W).reshape(3, 2, k, k), requires_grad=True)
    bt = torch.tensor(B.to_numpy(b)[:, 0], requires_grad=True)
    out = torch.nn.functional.conv2d(Ft, Wt, bt, padding=padding)
    (out * to_torch(R, *layer.out_shape)).sum().backward()
    np.testing.assert_allclose(
        B.to_numpy(layer.to_columns(G)), from_torch(out), rtol=1e-13, atol=1e-13
    )
    np.testing.assert_allclose(
        B.to_numpy(dW), Wt.grad.numpy().reshape(3, -1), rtol=1e-13, atol=1e-13
    )
    np.testing.assert_allclose(B.to_numpy(db)[:, 0], bt.grad.numpy(), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(B.to_numpy(dF), from_torch(Ft.grad), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(("h", "w"), [(4, 6), (5, 7), (2, 3)])
def test_maxpool2d_forward_and_vjp_equal_torch_max_pool2d_and_autograd(xp, h, w):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    pool = MaxPool2d(2, channels=3, height=h, width=w)
    F = B.asarray(rng.normal(size=(3 * h * w, 4)), xp)
    R = B.asarray(rng.normal(size=(pool.out_features, 4)), xp)
    Ft = to_torch(F, 3, h, w).requires_grad_()
    out = torch.nn.functional.max_pool2d(Ft, 2)
    (out * to_torch(R, *pool.out_shape)).sum().backward()
    np.testing.assert_array_equal(B.to_numpy(pool.forward(F)), from_torch(out))
    np.testing.assert_array_equal(B.to_numpy(pool.vjp(F, R)), from_torch(Ft.grad))


def test_maxpool2d_passes_a_tied_window_s_error_to_its_first_maximum_only():
    pool = MaxPool2d(2, channels=1, height=2, width=2)
    F = np.array([[0.0], [3.0], [3.0], [1.0]])  # rows (h, w): the window [[0, 3], [3, 1]]
    np.testing.assert_array_equal(pool.vjp(F, np.array([[5.0]])), [[0.0], [5.0], [0.0], [0.0]])


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize(("h", "w", "k"), SHAPES)
def test_lift_T_is_the_adjoint_of_the_patch_matrix(xp, padding, h, w, k):
    layer, F, _, _, _ = conv_case(padding, h, w, k, xp, seed=2)
    M = B.asarray(np.random.default_rng(3).normal(size=tuple(layer.lift(F).shape)), xp)
    lhs = float(B.namespace(M).sum(layer.lift(F) * M))
    rhs = float(B.namespace(M).sum(F * layer.lift_T(M)))
    assert lhs == pytest.approx(rhs, rel=1e-12)


def small_conv_net(activation="tanh", loss="cross_entropy", padding="same"):
    """Conv(2→3, 3×3) → σ → pool → flatten → Dense → σ → Dense, on 5×6 images."""
    conv = Conv2d(2, 3, 3, padding, height=5, width=6, activation=activation)
    pool = MaxPool2d(2, channels=3, height=conv.out_height, width=conv.out_width)
    flat = Flatten(channels=3, height=pool.out_height, width=pool.out_width)
    layers = [conv, pool, flat, Dense(flat.out_features, 4, activation), Dense(4, 3)]
    return Network(layers, loss)


def small_conv_problem(xp="numpy", n=4, seed=0, **kw):
    net = small_conv_net(**kw)
    params = net.init(seed=seed, std=0.5, xp=xp)
    rng = np.random.default_rng(seed + 1)
    X = B.asarray(rng.normal(size=(net.sizes[0], n)), xp)
    Y = B.asarray(np.eye(3)[:, rng.integers(0, 3, size=n)], xp)
    return net, params, X, Y


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_net_gradient_equals_finite_differences(padding):
    from test_layers import fd_gradient

    net, params, X, Y = small_conv_problem(padding=padding)
    for (dW, db), (fW, fb) in zip(
        net.gradient(params, X, Y), fd_gradient(net, params, X, Y), strict=True
    ):
        np.testing.assert_allclose(dW, fW, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(db, fb, rtol=1e-6, atol=1e-9)


def torch_lenet_loss(net, params, X, Y, leaves=False):
    """The same network written with torch.nn.functional; returns (loss, torch params).
    With ``leaves``, ``params`` already are those torch ``(W, b)`` leaf tensors."""
    torch = pytest.importorskip("torch")
    tp = (
        params
        if leaves
        else [
            (
                torch.tensor(B.to_numpy(W), requires_grad=True),
                torch.tensor(B.to_numpy(b)[:, 0], requires_grad=True),
            )
            for W, b in params
        ]
    )
    first = net.blocks[0].layer
    Z = to_torch(X, first.c_in, first.height, first.width)
    for blk, (W, b) in zip(net.blocks, tp, strict=True):
        layer = blk.layer
        if isinstance(layer, Conv2d):
            Z = torch.nn.functional.conv2d(
                Z, W.reshape(layer.c_out, layer.c_in, layer.k, layer.k), b, padding=layer.padding
            )
        else:
            Z = Z.reshape(Z.shape[0], -1) @ W.T + b
        Z = torch.relu(Z) if layer.activation.name == "relu" else Z
        for post in blk.post:
            if isinstance(post, MaxPool2d):
                Z = torch.nn.functional.max_pool2d(Z, post.size)
    labels = torch.tensor(np.argmax(B.to_numpy(Y), axis=0))
    return torch.nn.functional.cross_entropy(Z, labels), tp


def test_lenet5_shapes_follow_the_paper():
    net = lenet5()
    assert net.sizes == [784, 6 * 14 * 14, 16 * 5 * 5, 120, 84, 10]
    assert [b.layer.weight_shape for b in net.blocks] == [
        (6, 25),
        (16, 150),
        (120, 400),
        (84, 120),
        (10, 84),
    ]
    cifar = lenet_cifar()
    assert cifar.sizes == [3072, 16 * 16 * 16, 20 * 8 * 8, 20 * 4 * 4, 10]
    assert [b.layer.out_shape for b in cifar.blocks[:3]] == [(16, 32, 32), (20, 16, 16), (20, 8, 8)]
    assert set(NETS) == {"lenet5", "lenet-cifar"} and get_net("lenet5").sizes == net.sizes
    with pytest.raises(
        ValueError, match="unknown network 'lenet'; choose one of lenet-cifar, lenet5"
    ):
        get_net("lenet")


@pytest.mark.parametrize("name", ["lenet5", "lenet-cifar"])
def test_one_bp_step_on_a_lenet_equals_torch_sgd(name):
    torch = pytest.importorskip("torch")
    net = get_net(name)
    params = net.init(seed=0, std=0.1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(net.sizes[0], 3))
    Y = np.eye(10)[:, [1, 7, 3]]
    m = BP(eta=0.5)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    loss, tp = torch_lenet_loss(net, params, X, Y)
    assert float(net.loss(params, X, Y)) == pytest.approx(loss.item(), rel=1e-13)
    loss.backward()
    with torch.no_grad():
        for (W, b), (Wt, bt) in zip(new, tp, strict=True):
            np.testing.assert_allclose(W, (Wt - 0.5 * Wt.grad).numpy(), rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(
                b[:, 0], (bt - 0.5 * bt.grad).numpy(), rtol=1e-12, atol=1e-14
            )


RULES = {
    "momentum": (
        lambda: BP("momentum", eta=0.1, momentum=0.9),
        lambda t, p: t.optim.SGD(p, lr=0.1, momentum=0.9),
    ),
    "adam": (lambda: BP("adam", lr=1e-2), lambda t, p: t.optim.Adam(p, lr=1e-2)),
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_three_bp_steps_with_momentum_or_adam_on_lenet5_equal_torch_optim(rule):
    torch = pytest.importorskip("torch")
    net = lenet5()
    params = net.init(seed=1, std=0.1)
    rng = np.random.default_rng(1)
    X, Y = rng.uniform(0.0, 1.0, size=(784, 3)), np.eye(10)[:, [4, 0, 4]]
    ours, theirs = RULES[rule]
    m = ours()
    _, tp = torch_lenet_loss(net, params, X, Y)
    opt = theirs(torch, [t for pair in tp for t in pair])
    p, state = params, m.init(net, params)
    for _ in range(3):
        p, state = m.step(net, p, state, X, Y)
        opt.zero_grad()
        torch_lenet_loss(net, tp, X, Y, leaves=True)[0].backward()
        opt.step()
    for (W, b), (Wt, bt) in zip(p, tp, strict=True):
        np.testing.assert_allclose(W, Wt.detach().numpy(), rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(b[:, 0], bt.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_conv_layers_refuse_bad_sizes_with_a_clear_error():
    with pytest.raises(ValueError, match="a 5x5 kernel does not fit a 4x6 image"):
        Conv2d(1, 2, 5, height=4, width=6)
    with pytest.raises(ValueError, match="padding must be one of 'valid', 'same', got 'full'"):
        Conv2d(1, 2, 3, "full", height=4, width=6)
    with pytest.raises(ValueError, match=r"layer 1 \(MaxPool2d\) takes 48 features"):
        Network([Conv2d(1, 2, 3, height=5, width=5), MaxPool2d(2, channels=3, height=4, width=4)])


def test_conv_layers_refuse_inputs_of_the_wrong_shape_naming_them():
    conv = Conv2d(2, 3, 3, height=4, width=5)
    with pytest.raises(
        ValueError, match=r"Conv2d\(2, 3, 3.*F has shape \(20, 2\); expected \(40, n\)"
    ):
        conv.lift(np.zeros((20, 2)))
    with pytest.raises(
        ValueError, match=r"M has shape \(18, 7\); expected \(18, a multiple of 6\)"
    ):
        conv.lift_T(np.zeros((18, 7)))
    with pytest.raises(ValueError, match=r"MaxPool2d\(2, .*F has shape \(8,\); expected \(24, n\)"):
        MaxPool2d(2, channels=2, height=3, width=4).forward(np.zeros(8))


def test_conv_layers_keep_the_dtype_of_their_input(xp_dtype):
    xp, dtype = xp_dtype
    conv = Conv2d(2, 3, 3, "same", height=4, width=5)
    pool = MaxPool2d(2, channels=2, height=4, width=5)
    F = B.asarray(np.random.default_rng(0).normal(size=(40, 2)), xp, dtype=dtype)
    M = conv.lift(F)
    want = B.resolve_dtype(dtype, xp)
    assert M.dtype == conv.lift_T(M).dtype == pool.forward(F).dtype == want
    assert pool.vjp(F, pool.forward(F)).dtype == want


@settings(max_examples=25, deadline=None)
@given(
    c_in=st.integers(1, 3),
    c_out=st.integers(1, 3),
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    k=st.integers(1, 4),
    n=st.integers(1, 3),
    padding=st.sampled_from(["valid", "same"]),
    seed=st.integers(0, 2**16),
)
def test_conv2d_equals_torch_and_lift_T_is_its_adjoint_for_any_small_shape(
    c_in, c_out, h, w, k, n, padding, seed
):
    torch = pytest.importorskip("torch")
    assume(padding == "same" or min(h, w) >= k)
    layer = Conv2d(c_in, c_out, k, padding, height=h, width=w)
    rng = np.random.default_rng(seed)
    F = rng.uniform(-1.0, 1.0, size=(layer.in_features, n))
    W = rng.uniform(-1.0, 1.0, size=layer.weight_shape)
    AF = layer.lift(F)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch: even k with "same" copies
        want = torch.nn.functional.conv2d(
            to_torch(F, c_in, h, w), torch.tensor(W.reshape(c_out, c_in, k, k)), padding=padding
        )
    np.testing.assert_allclose(layer.to_columns(W @ AF), from_torch(want), rtol=1e-12, atol=1e-13)
    M = rng.uniform(-1.0, 1.0, size=AF.shape)
    assert np.sum(AF * M) == pytest.approx(np.sum(F * layer.lift_T(M)), rel=1e-12, abs=1e-12)
