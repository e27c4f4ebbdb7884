"""Activations σ and their derivatives σ' (§2; Assumption 4.2, Remark 4.3).

Oracles: plain NumPy formulas, central finite differences (float64), PyTorch.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import backend as B
from sibp_ref.activations import ACTIVATIONS, LEAKY_SLOPE, get_activation

NAMES = sorted(ACTIVATIONS)
KINKED = {"relu", "leaky_relu"}

NP_SIGMA = {
    "identity": lambda g: g,
    "relu": lambda g: np.maximum(g, 0.0),
    "leaky_relu": lambda g: np.where(g > 0, g, LEAKY_SLOPE * g),
    "sigmoid": lambda g: 1.0 / (1.0 + np.exp(-g)),
    "tanh": np.tanh,
    "softplus": lambda g: np.log1p(np.exp(g)),
}


def grid():
    """Points in [-6, 6] that stay at least 1e-3 away from ReLU's kink at 0."""
    g = np.linspace(-6.0, 6.0, 41) + 1.3e-3
    return g.reshape(1, -1)


@pytest.mark.parametrize("name", NAMES)
def test_activation_values_equal_plain_numpy(xp, name):
    g = grid()
    got = B.to_numpy(get_activation(name)(B.asarray(g, xp)))
    np.testing.assert_allclose(got, NP_SIGMA[name](g), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_derivative_equals_central_finite_differences_away_from_kink(xp, name):
    a = get_activation(name)
    g, h = grid(), 1e-6
    G = B.asarray(g, xp)
    fd = (B.to_numpy(a.f(B.asarray(g + h, xp))) - B.to_numpy(a.f(B.asarray(g - h, xp)))) / (2 * h)
    np.testing.assert_allclose(B.to_numpy(a.df(G)), fd, rtol=1e-7, atol=1e-9)


@given(g=st.floats(-30.0, 30.0), name=st.sampled_from(NAMES))
def test_property_derivative_matches_finite_differences(g, name):
    if name in KINKED and abs(g) < 1e-4:
        g = 1e-4 if g >= 0 else -1e-4  # σ' is a step there (Remark 4.3)
    a = get_activation(name)
    h = 1e-6
    fd = (float(a.f(np.asarray([g + h]))[0]) - float(a.f(np.asarray([g - h]))[0])) / (2 * h)
    assert float(a.df(np.asarray([g]))[0]) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_derivative_at_the_kink_follows_the_published_convention(xp):
    z = B.asarray(np.zeros((1, 1)), xp)
    assert B.to_float(get_activation("relu").df(z)[0, 0]) == 0.0
    assert B.to_float(get_activation("leaky_relu").df(z)[0, 0]) == LEAKY_SLOPE


def test_smooth_flag_is_assumption_4_2():
    # σ ∈ C² with σ' ≥ 0 holds for these, not for the kinked ones (Remark 4.3)
    assert {n for n, a in ACTIVATIONS.items() if a.smooth} == {
        "identity",
        "sigmoid",
        "tanh",
        "softplus",
    }
    g = np.linspace(-50, 50, 1001)
    for a in ACTIVATIONS.values():
        assert np.all(a.df(g) >= 0)


@pytest.mark.parametrize("name", NAMES)
def test_activation_and_derivative_are_stable_at_large_inputs(xp, name):
    g = np.array([[-1e3, -700.0, -40.0, 40.0, 700.0, 1e3]])
    a = get_activation(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warning
        f = B.to_numpy(a.f(B.asarray(g, xp)))
        d = B.to_numpy(a.df(B.asarray(g, xp)))
    assert np.all(np.isfinite(f)) and np.all(np.isfinite(d))
    if name == "sigmoid":
        np.testing.assert_allclose(f[0, [0, -1]], [0.0, 1.0], atol=1e-300)
    if name == "softplus":  # log(1 + e^g) → 0 for g → −∞ and → g for g → +∞
        np.testing.assert_allclose(f[0, [0, -1]], [0.0, 1e3], atol=1e-300)
        np.testing.assert_allclose(f[0, 3], 40.0 + np.exp(-40.0), rtol=1e-15)


@pytest.mark.parametrize("name", sorted(set(NAMES) - {"identity"}))
def test_activation_and_derivative_equal_torch(name):
    torch = pytest.importorskip("torch")
    t_sig = {
        "relu": torch.relu,
        "leaky_relu": lambda x: torch.nn.functional.leaky_relu(x, LEAKY_SLOPE),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softplus": torch.nn.functional.softplus,
    }[name]
    g = np.concatenate([grid(), [[-900.0, 900.0]]], axis=1)
    t = torch.tensor(g, requires_grad=True)
    y = t_sig(t)
    y.sum().backward()
    a = get_activation(name)
    np.testing.assert_allclose(a.f(g), y.detach().numpy(), rtol=1e-13, atol=1e-300)
    # atol: σ' ≤ 1 and tanh' = 1 − tanh² carries rounding of order eps relative to 1
    np.testing.assert_allclose(a.df(g), t.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_unknown_activation_name_is_a_clear_value_error():
    with pytest.raises(ValueError, match="unknown activation 'swish'.*relu"):
        get_activation("swish")
    with pytest.raises(ValueError, match="unknown activation"):
        get_activation(None)
