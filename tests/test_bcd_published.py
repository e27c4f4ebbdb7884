"""The published BCD code (timlautk/BCD-for-DNNs-PyTorch, ``bcd_dnn_mlp_mnist.ipynb``) is
``BCD(gamma, rho, alpha, wb="separate")``: its W-then-b update takes W at the old b and b at
the old W (a Jacobi pair); the default ``wb="joint"`` solves (W, b) as one block.

Oracle: one and three sweeps of the notebook on three small problems
(``tests/data/peer_codes/``, README there), and the notebook's two update formulas,
written out below with NumPy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sibp_ref import MLP
from sibp_ref import backend as B
from sibp_ref.methods.bcd import BCD

DATA = Path(__file__).parent / "data" / "peer_codes"
FILES = sorted(p.name for p in DATA.glob("bcd_p*_sweeps*.npz"))
L = 4  # the notebook's net: three hidden ReLU layers and a linear output layer


def load(name: str) -> dict:
    return dict(np.load(DATA / name, allow_pickle=False))


def sweeps(z: dict, wb: str, xp=None) -> dict:
    """Every block after the file's number of sweeps of ``BCD(γ, ρ, α, wb=wb)`` from a
    fresh ``init``, named as the file names them, run on the backend ``xp`` (NumPy by
    default; float64) and returned as NumPy arrays."""
    xp = xp or B.get_backend("numpy")
    a = lambda k: B.asarray(z[k], xp, "float64")  # noqa: E731
    net = MLP([int(s) for s in z["sizes"]], activation="relu", loss="square")
    params = [(a(f"W{i}"), a(f"b{i}")) for i in range(1, L + 1)]
    m = BCD(float(z["gamma"]), float(z["rho"]), float(z["alpha"]), wb=wb)
    state = m.init(net, params)
    for _ in range(int(z["sweeps"])):
        params, state = m.step(net, params, state, a("X"), a("Y"))
    out = {}
    for i in range(1, L + 1):
        out[f"W{i}"], out[f"b{i}"] = map(B.to_numpy, params[i - 1])
        out[f"U{i}"], out[f"V{i}"] = B.to_numpy(state.U[i]), B.to_numpy(state.V[i])
    return out


def errors(z: dict, got: dict) -> tuple[float, float]:
    """The largest ``|ours − notebook|`` over all W, b, U, V, and the largest update the
    notebook made to any of them (``|after − start|``), the unit of the comparison."""
    err = max(float(np.abs(got[k] - z[k + "_peer"]).max()) for k in got)
    step = max(float(np.abs(z[k + "_peer"] - z[k]).max()) for k in got)
    return err, step


@pytest.mark.parametrize("name", FILES)
def test_separate_wb_equals_the_published_notebook_after_its_sweeps_and_joint_does_not(name):
    z = load(name)
    err, step = errors(z, sweeps(z, "separate"))
    assert err <= 1e-10 * step, err / step
    err_joint, _ = errors(z, sweeps(z, "joint"))
    assert err_joint > 1e-2 * step  # the fixture tells the two updates apart


@pytest.mark.parametrize("name", FILES)
def test_separate_wb_equals_the_published_notebook_on_every_backend(xp, name):
    z = load(name)
    err, step = errors(z, sweeps(z, "separate", xp))
    assert err <= 1e-10 * step, err / step


@pytest.mark.parametrize("name", FILES[:1])
def test_the_first_sweep_starts_from_the_notebooks_blocks(name):
    """The notebook's start ``U_i = W_iV_{i−1} + b_i``, ``V_i = relu(U_i)``, ``V_4 = U_4`` is
    the forward pass BCD's first step builds its state from."""
    z = load(name)
    net = MLP([int(s) for s in z["sizes"]], activation="relu", loss="square")
    G, F = net.forward([(z[f"W{i}"], z[f"b{i}"]) for i in range(1, L + 1)], z["X"])
    for i in range(1, L + 1):
        np.testing.assert_allclose(G[i], z[f"U{i}"], rtol=0, atol=1e-13)
        np.testing.assert_allclose(F[i], z[f"V{i}"], rtol=0, atol=1e-13)


def notebook_wb(W, b, V, U, rho, alpha):
    """The notebook's pair, with its explicit inverse:
    ``W⁺ = (αW + ρ(U − b1ᵀ)Vᵀ)(αI + ρVVᵀ)⁻¹``, ``b⁺ = (αb + ρ(U − WV)1)/(ρn + α)``."""
    d, n = V.shape
    W_new = (alpha * W + rho * (U - b) @ V.T) @ np.linalg.inv(alpha * np.eye(d) + rho * V @ V.T)
    b_new = (alpha * b + rho * (U - W @ V).sum(axis=1, keepdims=True)) / (rho * n + alpha)
    return W_new, b_new


def problem(seed, m=5, d=4, n=7):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(m, d)), rng.normal(size=(m, 1))
    return W, b, rng.normal(size=(d, n)) + 0.7, rng.normal(size=(m, n))


@pytest.mark.parametrize("seed", range(3))
def test_separate_update_is_W_at_the_old_b_and_b_at_the_old_W(seed):
    W, b, V, U = problem(seed)
    rho, alpha = 0.7, 1.9
    got = BCD(rho=rho, alpha=alpha, wb="separate").update_Wb((W, b), V, U)
    for g, w in zip(got, notebook_wb(W, b, V, U, rho, alpha), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-13)
    joint = BCD(rho=rho, alpha=alpha).update_Wb((W, b), V, U)
    assert np.abs(joint[0] - got[0]).max() > 1e-3  # rows of V do not sum to zero here


def test_separate_and_joint_agree_when_the_rows_of_V_sum_to_zero():
    """Then ``[V; 1ᵀ][V; 1ᵀ]ᵀ`` is block-diagonal: the joint block decouples into the pair."""
    W, b, V, U = problem(5)
    V = V - V.mean(axis=1, keepdims=True)
    sep = BCD(rho=2.0, alpha=0.3, wb="separate").update_Wb((W, b), V, U)
    joint = BCD(rho=2.0, alpha=0.3).update_Wb((W, b), V, U)
    for s, j in zip(sep, joint, strict=True):
        np.testing.assert_allclose(s, j, rtol=1e-12, atol=1e-13)


def test_wb_is_checked_and_shown():
    with pytest.raises(ValueError, match="wb must be one of 'joint', 'separate'.*'separate'"):
        BCD(wb="seperate")
    assert "wb='separate'" in repr(BCD(wb="separate"))
    assert "wb" not in repr(BCD())
