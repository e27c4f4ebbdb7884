"""The machinery tutorial 03 (one step, four ways) imports from ``tutorials/_lib/one_step.py``:
each measure against a hand computation, and the tutorial's targets against the formulas it
used to write out by hand (ProxBP's ``T = G − η σ'(G) ⊙ δ`` (3.1); SIBP's through its trace).

Fast: the tutorial's 2-3-2-2 network, one step of each method, no data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tutorial_modules import load_tutorial, tutorials_lib

from sibp_ref import BP, SIBP
from sibp_ref import backend as B

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def lib(monkeypatch):
    """``tutorials/_lib/one_step.py`` as the tutorial sees it (from the folder it sits in)."""
    return tutorials_lib(monkeypatch, "one_step").one_step


@pytest.fixture
def tut(monkeypatch, lib):
    """Tutorial 03 as a module, free of the environment's quick mode and backend."""
    return load_tutorial("03_one_step_four_ways", monkeypatch)


@pytest.fixture
def P(tut):
    return tut.problem("numpy")


def test_angle_is_the_angle_in_degrees(lib):
    e1, e2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    assert lib.angle(e1, e2) == pytest.approx(90.0, abs=1e-12)
    assert lib.angle(e1, e1 + e2) == pytest.approx(45.0, abs=1e-12)
    assert lib.angle(e1, -3 * e1) == pytest.approx(180.0, abs=1e-12)
    assert lib.angle(2 * e2, e2) == pytest.approx(0.0, abs=1e-6)  # arccos near 1


def test_flat_lists_w1_b1_w2_b2_row_by_row(lib):
    params = [
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[5.0], [6.0]])),
        (np.array([[7.0, 8.0]]), np.array([[9.0]])),
    ]
    np.testing.assert_array_equal(lib.flat(params), np.arange(1.0, 10.0))
    np.testing.assert_array_equal(lib.layer_change(params, params, 1), np.zeros(3))


def test_bps_step_is_minus_h_grad_j_exactly(lib, P):
    """BP moves Θ by −h∇J (3.2): angle 0, ‖ΔΘ‖ = h‖∇J‖, and J after as the net computes it."""
    h = 0.3
    m = BP(lr=h)
    new, state = m.step(P.net, P.params0, m.init(P.net, P.params0), P.X, P.Y)
    v = lib.measure(P, new, state, h)
    grad = np.concatenate([np.concatenate([g.ravel() for g in gi]) for gi in P.grads])
    assert v["step_norm"] == pytest.approx(h * np.linalg.norm(grad), rel=1e-12)
    assert v["step_over_h_grad_norm"] == pytest.approx(1.0, rel=1e-12)
    assert v["angle_to_minus_grad_deg"] < 1e-5
    assert max(v["angle_per_layer_deg"]) < 1e-5
    assert v["J_after"] == B.to_float(P.net.loss(new, P.X, P.Y)) < P.J0


def test_a_step_across_the_gradient_is_at_90_degrees(lib, P):
    """A hand-made step orthogonal to ∇J in every layer: 90° per layer and in all."""
    rng = np.random.default_rng(0)
    new = []
    for (W, b), (dW, db) in zip(P.params0, P.grads, strict=True):
        g = np.concatenate([dW.ravel(), db.ravel()])
        r = rng.normal(size=g.size)
        r -= (r @ g) / (g @ g) * g  # r ⟂ g
        new.append((W + r[: W.size].reshape(W.shape), b + r[W.size :].reshape(b.shape)))
    v = lib.measure(P, new, None, 1.0)
    assert v["angle_to_minus_grad_deg"] == pytest.approx(90.0, abs=1e-9)
    assert v["angle_per_layer_deg"] == pytest.approx([90.0] * P.L, abs=1e-9)


def test_the_results_file_keeps_the_numbers_not_the_arrays(lib):
    v = {k: float(i) for i, k in enumerate(lib.RESULT_KEYS)} | {"params": [], "state": None}
    out = lib.per_h_results({0.5: {"BP": v, "SIBP": v}})
    assert list(out) == ["0.5"] and list(out["0.5"]) == ["BP", "SIBP"]
    assert out["0.5"]["SIBP"] == {k: float(i) for i, k in enumerate(lib.RESULT_KEYS)}


def test_delta_vs_bp_is_the_relative_difference_and_the_angle(lib, P):
    same = {i: B.to_numpy(P.delta_bp[i]) for i in range(1, P.L)}
    for scale, rel, ang in ((1.0, 0.0, 0.0), (3.0, 2.0, 0.0), (-1.0, 2.0, 180.0)):
        out = lib.delta_vs_bp(P, {i: scale * d for i, d in same.items()})
        assert list(out) == [f"F_{i + 1}" for i in range(P.L - 1, 0, -1)]
        for r in out.values():
            assert r["rel_diff"] == pytest.approx(rel, abs=1e-12)
            assert r["angle_deg"] == pytest.approx(ang, abs=1e-5)


def test_optimality_holds_for_sibps_exact_step_and_fails_for_a_wrong_target(lib, tut, P):
    """(4.1)'s fixed point W^{k+1} = W^k − λ∇f(W^{k+1}) with f written out in the lib: it
    holds for the exact solver's W and its own targets, not for targets moved by 1 %."""
    h = 1.0
    R = tut.step_each(P, h)
    T = tut.targets(P, R)
    kkt = lib.optimality(P, R["SIBP"]["params"], T.F_half, h / (2 * tut.ETA))
    assert len(kkt) == P.L and max(kkt) < 1e-8
    moved = {i: 1.01 * F for i, F in T.F_half.items()}
    with pytest.raises(AssertionError):
        lib.optimality(P, R["SIBP"]["params"], moved, h / (2 * tut.ETA))


def test_the_tutorials_targets_are_the_formulas_it_used_to_write_out(tut, P):
    """ProxBP: ``T_i = G_{i+1}^k − η σ'(G_{i+1}^k) ⊙ δ_{i+1}`` with BP's δ (3.1); SIBP: from the
    top, ``δ_N = ∂J/∂F_N`` and (4.2) ``δ_i = (W_i^{k+1})ᵀ(σ'(G_{i+1}^k) ⊙ δ_{i+1})`` with its new
    weights, ``F^{k+½} = F^k − ηδ`` (the sweep the tutorial re-derived before the trace)."""
    R = tut.step_each(P, tut.FIG_H)
    T = tut.targets(P, R)
    np_ = B.to_numpy
    for i in range(P.L):
        sp = np_(P.net.activation_of(i).df(P.G[i + 1]))
        want = np_(P.G[i + 1]) - tut.ETA * sp * np_(P.delta_bp[i + 1])
        np.testing.assert_allclose(T.prox_T[i], want, rtol=1e-12, atol=1e-15)
    new = R["SIBP"]["params"]
    delta = np_(P.net.loss_fn.grad(P.F[P.L], P.Y))
    for i in range(P.L, 0, -1):
        np.testing.assert_allclose(T.delta_si[i], delta, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(T.F_half[i], np_(P.F[i]) - tut.ETA * delta, rtol=1e-12)
        sp = np_(P.net.activation_of(i - 1).df(P.G[i]))
        delta = np_(new[i - 1][0]).T @ (sp * delta)


def test_sibp_alone_is_traced(tut, P):
    R = tut.step_each(P, 0.01)
    assert [n for n, v in R.items() if "trace" in v] == ["SIBP"]
    assert [e.layer for e in R["SIBP"]["trace"]] == list(range(P.L - 1, -1, -1))
    assert isinstance(tut.methods(0.01)["SIBP"], SIBP)
