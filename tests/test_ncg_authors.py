"""``ncg_authors``: the published code's inner solver (docs/conventions.md §5), its quirks
one test each, a literal re-implementation as oracle, and SIBP with it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import MLP
from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.inner import exact, ncg, ncg_authors, prox_objective
from sibp_ref.losses import one_hot
from sibp_ref.methods.sibp import SIBP, SIBPState

SIGMA_A, RHO = 0.1, 0.6  # the authors' Armijo constant and backtracking factor


def _problem(m=3, d=4, n=6, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    A = scale * rng.normal(size=(d, n))
    T = rng.uniform(0.1, 0.9, size=(m, n))
    Z0 = rng.normal(scale=0.5, size=(m, d))
    C = rng.normal(scale=0.3, size=(m, 1))
    return A, T, Z0, C


def _phi(Z, A, T, Z0, lam, sig, C):
    return float(prox_objective(Z, A, T, Z0, lam, sig, C=C))


def _grad(Z, A, T, Z0, lam, sig, C):
    s = get_activation(sig)
    G = Z @ A + C
    return 2.0 * (s.df(G) * (s.f(G) - T)) @ A.T + (Z - Z0) / lam


def _literal(A, T, Z0, lam, sig, C, iters, bias_free=False):
    """The description of docs/conventions.md §5 written out again, value by value: each φ
    evaluated afresh from Z (no G + αDA updates), the search as a plain exponent loop."""
    Z = Z0.copy()
    g = _grad(Z0, A, T, Z0, lam, sig, 0.0 * C if bias_free else C)
    d = -g
    for k in range(iters):
        f, gd = _phi(Z, A, T, Z0, lam, sig, C), float(np.sum(g * d))
        ok = _phi(Z + d, A, T, Z0, lam, sig, C) <= f + SIGMA_A * gd  # trial 1: α = 1
        m = max(math.floor(math.log(0.01 * f / abs(SIGMA_A * gd)) / math.log(RHO)), 0)
        trials, step = 1, (m if ok else 0)
        while not ok and trials < 50:
            trials += 1
            if _phi(Z + RHO**m * d, A, T, Z0, lam, sig, C) <= f + SIGMA_A * RHO**m * gd:
                step = m
                break
            m += 1
        if step > 0:
            Z = Z + RHO**step * d
        if k < iters - 1:
            g_new = _grad(Z, A, T, Z0, lam, sig, C)
            d = -g_new + (np.sum(g_new * g_new) / np.sum(g * g)) * d
            g = g_new
    return Z


@pytest.mark.parametrize("sigma", ["relu", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("bias_free", [False, True])
def test_ncg_authors_follows_the_literal_description(sigma, bias_free):
    for seed in range(3):
        for lam in (0.05, 1.0, 20.0):
            A, T, Z0, C = _problem(seed=seed)
            for iters in (1, 2, 5):
                r = ncg_authors(
                    A, T, Z0, lam, sigma, C=C, iters=iters, bias_free_first_gradient=bias_free
                )
                want = _literal(A, T, Z0, lam, sigma, C, iters, bias_free)
                np.testing.assert_allclose(r.x, want, rtol=0, atol=1e-10)
                np.testing.assert_allclose(r.G, r.x @ A + C, rtol=0, atol=1e-10)
                assert (r.n_iter, r.status) == (iters, "iteration_limit")


@pytest.mark.parametrize("sigma", ["relu", "tanh", "identity"])
@pytest.mark.parametrize("bias_free", [False, True])
def test_ncg_authors_in_coefficient_space_has_the_primal_iterates(sigma, bias_free):
    """n < d (SIBP's W-subproblems): the coefficient form gives the same iterates as the
    literal primal one, step by step."""
    for seed in range(3):
        for lam in (0.05, 1.0, 20.0):
            A, T, Z0, C = _problem(d=15, n=6, seed=seed)
            for iters in (1, 2, 5):
                kw = dict(C=C, iters=iters, bias_free_first_gradient=bias_free)
                p = ncg_authors(A, T, Z0, lam, sigma, form="primal", **kw)
                q = ncg_authors(A, T, Z0, lam, sigma, form="dual", **kw)
                np.testing.assert_allclose(q.x, p.x, rtol=0, atol=1e-10)
                np.testing.assert_allclose(q.G, p.G, rtol=0, atol=1e-10)
                want = _literal(A, T, Z0, lam, sigma, C, iters, bias_free)
                np.testing.assert_allclose(q.x, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("sigma", ["sigmoid", "tanh", "softplus", "identity"])
def test_ncg_authors_with_many_iterations_reaches_the_exact_solution(sigma):
    """On well-conditioned smooth problems (λ = 0.05: curvature within a factor ~2 of
    1/λ) 200 iterations land on the exact minimiser, to the ~1e-8 that an Armijo test on
    values (not on the change) can resolve in float64."""
    for seed in range(3):
        A, T, Z0, C = _problem(seed=seed)
        ref = exact(A, T, Z0, 0.05, sigma, C=C, tol=1e-12)
        r = ncg_authors(A, T, Z0, 0.05, sigma, C=C, iters=200)
        np.testing.assert_allclose(r.x, ref.x, rtol=0, atol=1e-7)


def test_ncg_authors_takes_the_untested_step_rho_to_the_m():
    """α = 1 passes the Armijo test, the exponent is then reset to m ≥ 1, and the step
    taken is ρ^m along −g: a step the search never tested."""
    A, T, Z0, C = _problem(seed=1, scale=0.3)
    T = T + 2.0  # a large residual: |⟨g, d⟩| ≥ f/6 gives a positive reset exponent
    lam = 5.0
    f, g = _phi(Z0, A, T, Z0, lam, "identity", C), _grad(Z0, A, T, Z0, lam, "identity", C)
    gd = -float(np.sum(g * g))
    assert _phi(Z0 - g, A, T, Z0, lam, "identity", C) <= f + SIGMA_A * gd  # α = 1 passes
    m = max(math.floor(math.log(0.01 * f / abs(SIGMA_A * gd)) / math.log(RHO)), 0)
    assert m >= 1
    r = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=1)
    np.testing.assert_allclose(r.x, Z0 - RHO**m * g, rtol=0, atol=1e-13)


def test_ncg_authors_discards_an_accepted_unit_step():
    """α = 1 passes and the reset exponent is 0: the iterate does not move, though the
    point is far from stationary (our NCG decreases φ from it)."""
    A, T, Z0, C = _problem(seed=1, scale=0.1)
    lam = 5.0
    f, g = _phi(Z0, A, T, Z0, lam, "identity", C), _grad(Z0, A, T, Z0, lam, "identity", C)
    gd = -float(np.sum(g * g))
    assert _phi(Z0 - g, A, T, Z0, lam, "identity", C) <= f + SIGMA_A * gd  # α = 1 passes
    assert math.log(0.01 * f / abs(SIGMA_A * gd)) / math.log(RHO) < 1  # reset m = 0
    r = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=1)
    np.testing.assert_array_equal(r.x, Z0)
    ours = ncg(A, T, Z0, lam, "identity", C=C, iters=1)
    assert _phi(ours.x, A, T, Z0, lam, "identity", C) < f - 1e-3 * abs(gd)


def test_ncg_authors_bias_free_first_gradient_can_point_uphill():
    """With the bias left out of the first gradient (the published linear layer), an
    offset ``C`` chosen so that ``⟨∇φ(Z^0), −g_{no bias}⟩ > 0`` makes the first direction
    uphill: no trial passes and the first iteration leaves ``Z`` unchanged; with the
    bias included the same call moves and decreases φ. Later iterations use the true
    gradient and do move."""
    A, T, Z0, _ = _problem(m=2, seed=2)
    lam = 1.0
    g_nb = 2.0 * (Z0 @ A - T) @ A.T  # the first gradient without the bias
    s = np.sum(A, axis=1)  # ∂/∂c of row j's fit gradient is 2 c sᵀ
    C = -(np.sum(g_nb * g_nb, axis=1) / (g_nb @ s))[:, None]  # g_true_j = g_nb_j + 2 c_j sᵀ
    g_true = _grad(Z0, A, T, Z0, lam, "identity", C)
    assert float(np.sum(g_true * -g_nb)) > 0  # −g_nb points uphill
    f = _phi(Z0, A, T, Z0, lam, "identity", C)
    quirk = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=1, bias_free_first_gradient=True)
    np.testing.assert_array_equal(quirk.x, Z0)
    plain = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=1)
    assert _phi(plain.x, A, T, Z0, lam, "identity", C) < f
    later = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=3, bias_free_first_gradient=True)
    assert _phi(later.x, A, T, Z0, lam, "identity", C) < f


def _net(act, seed=0, n=12):
    xp = B.get_backend("numpy")
    net = MLP([4, 6, 5, 3], act, "cross_entropy")
    params = net.init(seed=seed, std=0.5, xp=xp)
    rng = np.random.default_rng(seed + 1)
    X = rng.normal(size=(4, n))
    Y = one_hot(rng.integers(0, 3, n), 3)
    return net, params, X, Y


def _max_change(p, q):
    return max(
        float(np.max(np.abs(a - c)))
        for (W, b), (V, d) in zip(p, q, strict=True)
        for a, c in ((W, V), (b, d))
    )


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "softplus"])
def test_sibp_with_ncg_authors_run_long_is_the_exact_sibp_step(act):
    """Every layer, the linear last one included (no closed form there), by the authors'
    solver: with 100 inner iterations the step is ``solver="exact"``'s (λ = 0.05)."""
    net, p, X, Y = _net(act)
    q, _ = SIBP(eta=3.0, lam=0.05, solver="exact", tol=1e-12).step(net, p, SIBPState(0), X, Y)
    r, s = SIBP(eta=3.0, lam=0.05, solver="ncg_authors", iters=100).step(net, p, SIBPState(0), X, Y)
    assert _max_change(q, r) < 1e-7
    assert s.k == 1


def test_sibp_with_ncg_authors_at_five_iterations_differs_from_ours():
    """At the published 5 iterations the authors' step is not ours, and its last layer
    is not the closed-form ridge solution that SIBP's other solvers use."""
    net, p, X, Y = _net("relu")
    ours, _ = SIBP().step(net, p, SIBPState(0), X, Y)
    theirs, _ = SIBP(solver="ncg_authors").step(net, p, SIBPState(0), X, Y)
    assert _max_change(ours[-1:], theirs[-1:]) > 1e-4
    assert _max_change(ours, theirs) > 1e-4


def test_ncg_authors_refuses_l1_and_bad_arguments():
    with pytest.raises(ValueError, match="l1"):
        SIBP(solver="ncg_authors", l1=0.1)
    A, T, Z0, C = _problem()
    with pytest.raises(ValueError, match="lam"):
        ncg_authors(A, T, Z0, 0.0, "relu")
    with pytest.raises(ValueError, match="iters"):
        ncg_authors(A, T, Z0, 1.0, "relu", iters=0)
    with pytest.raises(ValueError, match="form"):
        ncg_authors(A, T, Z0, 1.0, "relu", form="coefficients")
    r = ncg_authors(A, T, Z0, 1.0, "relu", iters=np.int64(2))  # NumPy integers are integers
    assert r.n_iter == 2


@pytest.mark.parametrize("form", ["primal", "dual"])
def test_ncg_authors_gives_the_same_iterate_on_every_backend(xp, form):
    A, T, Z0, C = _problem(d=15, n=6, seed=4)
    want = ncg_authors(A, T, Z0, 0.5, "relu", C=C, form=form, bias_free_first_gradient=True)
    args = [B.asarray(a, xp) for a in (A, T, Z0)]
    C_x = B.asarray(C, xp)
    got = ncg_authors(*args, 0.5, "relu", C=C_x, form=form, bias_free_first_gradient=True)
    np.testing.assert_allclose(B.to_numpy(got.x), want.x, rtol=0, atol=1e-12)
    args32 = [B.asarray(a, xp, dtype="float32") for a in (A, T, Z0, C)]
    r32 = ncg_authors(*args32[:3], 0.5, "relu", C=args32[3], form=form)
    assert r32.x.dtype == xp.float32 and r32.G.dtype == xp.float32


def test_sibp_with_ncg_authors_gives_the_same_step_on_every_backend(xp):
    net, p, X, Y = _net("relu")
    want, _ = SIBP(solver="ncg_authors").step(net, p, SIBPState(0), X, Y)
    p_x = [(B.asarray(W, xp), B.asarray(b, xp)) for W, b in p]
    got, _ = SIBP(solver="ncg_authors").step(
        net, p_x, SIBPState(0), B.asarray(X, xp), B.asarray(Y, xp)
    )
    got = [(B.to_numpy(W), B.to_numpy(b)) for W, b in got]
    assert _max_change(want, got) < 1e-10


@given(
    m=st.integers(1, 3),
    d=st.integers(1, 6),
    n=st.integers(1, 6),
    lam=st.floats(0.01, 100.0),
    seed=st.integers(0, 10_000),
    bias_free=st.booleans(),
)
def test_property_ncg_authors_never_increases_phi_on_a_linear_layer(m, d, n, lam, seed, bias_free):
    """σ = identity makes φ convex. A tested step passed Armijo (a decrease); the untested
    ``ρ^m`` follows an accepted ``α = 1``, and by convexity ``φ(Z + ρ^m D) ≤ (1 − ρ^m)φ(Z)
    + ρ^m φ(Z + D) < φ(Z)``; no step keeps φ. So the k-th iterate (``iters=k``: the solver
    is deterministic) never has a larger φ than the (k−1)-th, whatever the quirks."""
    A, T, Z0, C = _problem(m=m, d=d, n=n, seed=seed)
    vals = [_phi(Z0, A, T, Z0, lam, "identity", C)]
    for k in range(1, 6):
        r = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=k, bias_free_first_gradient=bias_free)
        vals.append(_phi(r.x, A, T, Z0, lam, "identity", C))
    assert np.all(np.diff(vals) <= 1e-12 * vals[0]), vals
