"""The Armijo search of the nonlinear CG at the edge of its test: a first trial that fails
(raising φ, or lowering it too little) or passes by a hair decides as Armijo says, the
accepted step satisfies Armijo on φ itself, and NCG never increases φ.

The case: one ReLU unit, one sample, ``φ(z) = (relu(z) − t)² + (z − z^0)²/(2λ)`` with
``z^0 = 1``, ``λ = 1``; the first trial step (the Gauss–Newton model's minimiser) crosses
the kink, where the model no longer holds, and the target ``t < 0`` is solved for (brentq)
so that ``φ(z^0 + α_0 D) − φ(z^0) = ρ·α_0⟨g, D⟩`` for a chosen ``ρ`` near ``c1``: the
Armijo test ``Δφ ≤ c1·α⟨g, D⟩`` holds exactly when ``ρ ≥ c1``. φ is written out here in
NumPy, not taken from the library.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq

from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.inner import Armijo, armijo_backtracking, ncg
from sibp_ref.inner.line_search import Direction, Point, Subproblem

C1, Z0, LAM = 1e-4, 1.0, 1.0


def phi(z: float, t: float) -> float:
    return (max(z, 0.0) - t) ** 2 + (z - Z0) ** 2 / (2 * LAM)


def first_trial(t: float) -> tuple[float, float]:
    """``(α_0, ⟨g, D⟩)`` at ``z^0`` along ``D = −g``: ``g = 2σ'(z^0)(relu(z^0) − t)`` (the
    proximal term's gradient is 0 there), ``α_0 = −⟨g, D⟩/(2(σ'D)² + D²/λ)``."""
    g = 2.0 * (Z0 - t)
    D = -g
    return -g * D / (2.0 * D * D + D * D / LAM), g * D


def ratio(t: float) -> float:
    """``ρ = (φ(z^0 + α_0 D) − φ(z^0)) / (α_0⟨g, D⟩)``."""
    alpha0, gD = first_trial(t)
    return (phi(Z0 - alpha0 * 2.0 * (Z0 - t), t) - phi(Z0, t)) / (alpha0 * gD)


def target_for(rho: float) -> float:
    return brentq(lambda t: ratio(t) - rho, -20.0, -2.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)


def search(t: float):
    xp, sig = B.get_backend("numpy"), get_activation("relu")
    A, T, Z = np.ones((1, 1)), np.full((1, 1), t), np.full((1, 1), Z0)
    G = Z @ A
    R, S = sig.f(G) - T, sig.df(G)
    D = -(2.0 * S * R) @ A.T
    gD, zero = float(np.sum(-D * D)), np.zeros(())
    eps, DD = float(np.finfo(float).eps), np.sum(D * D)
    along = Direction(D @ A, np.asarray(gD), zero, DD, lambda: zero)
    found = armijo_backtracking(
        xp, Armijo(c1=C1), Subproblem(sig, T, LAM, eps), Point(G, R, S), along
    )
    return found, float(D[0, 0]), gD


# ρ < 0: the first trial raises φ; 0 < ρ < c1: lowers it too little; ρ > c1: enough
EDGES = {
    "raises_phi_by_a_hair": (-0.5 * C1, False),
    "fails_armijo_by_a_hair": ((1 - 1e-2) * C1, False),
    "passes_armijo_by_a_hair": ((1 + 1e-2) * C1, True),
}


@pytest.mark.parametrize("edge", EDGES)
def test_first_trial_at_the_edge_is_accepted_exactly_when_armijo_holds(edge):
    rho, accept = EDGES[edge]
    t = target_for(rho)
    alpha0, gD0 = first_trial(t)
    assert ratio(t) == pytest.approx(rho, rel=1e-6)  # the case is at its edge
    found, D, gD = search(t)
    assert gD == pytest.approx(gD0, rel=1e-14)
    alpha = float(found[0])
    if accept:
        assert alpha == pytest.approx(alpha0, rel=1e-14)
    else:
        assert alpha < alpha0 * (1 - 1e-9)  # rejected: backtracked
    # the accepted step satisfies Armijo on φ itself, and so lowers it
    assert phi(Z0 + alpha * D, t) - phi(Z0, t) <= C1 * alpha * gD < 0


@pytest.mark.parametrize("form", ["primal", "dual"])
@pytest.mark.parametrize("edge", EDGES)
def test_ncg_never_increases_phi_from_a_first_trial_at_the_edge(edge, form):
    t = target_for(EDGES[edge][0])
    A, T, Z = np.ones((1, 1)), np.full((1, 1), t), np.full((1, 1), Z0)
    values = [phi(Z0, t)]
    for iters in range(1, 6):
        res = ncg(A, T, Z, LAM, "relu", iters=iters, c1=C1, form=form)
        values.append(phi(float(res.x[0, 0]), t))
    assert all(b <= a for a, b in zip(values, values[1:], strict=False)), values
    assert values[-1] < values[0]
