"""``ncg_authors``: the published code's inner solver (docs/conventions.md §5) against the
numbers of the published code itself (``tests/data/authors_code/``: every inner call and
every whole step of six problems), each of its behaviours shown by a small test of its
own, a literal re-implementation of the description as a second oracle, and SIBP with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sibp_ref import MLP
from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.inner import exact, ncg, ncg_authors, ones_row, prox_objective, solve_layer
from sibp_ref.inner.ncg_authors import authors_variant
from sibp_ref.losses import one_hot
from sibp_ref.methods.sibp import SIBP, SIBPState

ARMIJO, RHO = 0.1, 0.6  # the authors' Armijo constant and backtracking factor
FR3 = {"reset_exponent": True, "offset_free_first_gradient": False}  # their ReLU layers
FR4 = {"reset_exponent": False, "offset_free_first_gradient": True}  # their linear layer
PLAIN = {"reset_exponent": False, "offset_free_first_gradient": False}
FIXTURES = sorted((Path(__file__).parent / "data" / "authors_code").glob("*.npz"))


# ------------------------------------------------------------------ the literal oracle
def _phi(Z, A, T, Z0, lam, sig, C):
    return float(prox_objective(Z, A, T, Z0, lam, sig, C=C))


def _grad(Z, A, T, Z0, lam, sig, C):
    s = get_activation(sig)
    G = Z @ A + C
    return 2.0 * (s.df(G) * (s.f(G) - T)) @ A.T + (Z - Z0) / lam


def _m_star(f0, s):
    """The reset exponent as MATLAB computes it (``max`` ignores a NaN)."""
    with np.errstate(all="ignore"):
        v = np.floor(np.log(0.01 * f0 / abs(s)) / np.log(RHO))
    return 0.0 if np.isnan(v) else max(float(v), 0.0)


def _literal(A, T, Z0, lam, sig, C, iters, reset_exponent, offset_free_first_gradient,
             restart=False):  # fmt: skip
    """The description of docs/conventions.md §5 written out again as the published code
    is laid out: each φ evaluated afresh from Z, the search as a ``while m < 50`` loop
    whose exponent is replaced after the first evaluation; ``restart`` adds a descent
    restart the published code does not have (for the test that it has none)."""
    Z = Z0.copy()
    g = _grad(Z0, A, T, Z0, lam, sig, 0.0 * C if offset_free_first_gradient else C)
    d = -g
    for _ in range(iters):
        f0, s = _phi(Z, A, T, Z0, lam, sig, C), ARMIJO * float(np.sum(g * d))
        m, mk, first = 0.0, 0.0, True
        while m < 50:
            new, rhs = _phi(Z + RHO**m * d, A, T, Z0, lam, sig, C), f0 + s * RHO**m
            if first and reset_exponent:
                m = _m_star(f0, s)
            first = False
            if new < rhs:
                mk = m
                break
            m += 1
        if mk > 0:
            Z = Z + RHO**mk * d
        g_new = _grad(Z, A, T, Z0, lam, sig, C)
        d = -g_new + (np.sum(g_new * g_new) / np.sum(g * g)) * d
        if restart and np.sum(g_new * d) >= 0:
            d = -g_new
        g = g_new
    return Z


def _problem(m=3, d=4, n=6, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    A = scale * rng.normal(size=(d, n))
    T = rng.uniform(0.1, 0.9, size=(m, n))
    Z0 = rng.normal(scale=0.5, size=(m, d))
    C = rng.normal(scale=0.3, size=(m, 1))
    return A, T, Z0, C


# ------------------------------------------------------- the published code's numbers
def _calls(z):
    """Each recorded inner call: (σ, A, T, Z0, λ, C, returned x), in our symbols."""
    for c in range(1, int(z["ncalls"]) + 1):
        k = f"call{c:02d}_"
        sigma = {"FR3": "relu", "FR4": "identity"}[str(z[k + "solver"])]
        lam = 1.0 / (2.0 * float(z[k + "lambda"]))  # their λ_c‖x − W_old‖²
        yield sigma, z[k + "F"], z[k + "F_next"], z[k + "W_old"], lam, z[k + "B"], z[k + "x"]


@pytest.mark.parametrize("form", ["primal", "dual"])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_ncg_authors_reproduces_every_inner_call_of_the_published_code(path, form):
    """Every call of their FR3 (ReLU layers) and FR4 (linear layer) in one step, from its
    recorded inputs: the returned ``x`` to 1e-10 of the call's update, in both forms."""
    assert len(FIXTURES) == 6
    z = np.load(path, allow_pickle=False)
    for sigma, A, T, Z0, lam, C, want in _calls(z):
        update = float(np.max(np.abs(want - Z0)))
        assert update > 0
        r = ncg_authors(A, T, Z0, lam, sigma, C=C, form=form, **authors_variant(sigma))
        np.testing.assert_allclose(r.x, want, rtol=0, atol=1e-10 * update)
        np.testing.assert_allclose(r.G, r.x @ A + C, rtol=0, atol=1e-12 * np.max(np.abs(r.G)))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_sibp_with_ncg_authors_is_one_step_of_the_published_code(path):
    """``SIBP(eta=n·η_c, lam=1/(2λ_c), solver="ncg_authors")`` from their start: every W
    and b of their step to 1e-10 of its update (docs/conventions.md §4–5)."""
    z = np.load(path, allow_pickle=False)
    L = sum(1 for k in z.files if k.startswith("W") and k.endswith("_start"))
    sizes = [z[f"W{i}_start"].shape[1] for i in range(1, L + 1)] + [z[f"W{L}_start"].shape[0]]
    net = MLP(sizes, "relu", "cross_entropy")
    params = [(z[f"W{i}_start"], z[f"b{i}_start"]) for i in range(1, L + 1)]
    n = z["X"].shape[1]
    sibp = SIBP(eta=n * float(z["eta_c"]), lam=1.0 / (2.0 * float(z["lambda_c"])),
                solver="ncg_authors")  # fmt: skip
    new, _ = sibp.step(net, params, SIBPState(0), z["X"], z["Y"])
    for i, (W, b) in enumerate(new, start=1):
        for name, got in ((f"W{i}", W), (f"b{i}", b)):
            want, start = z[name + "_authors"], z[name + "_start"]
            update = float(np.max(np.abs(want - start)))
            assert update > 0, name
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-10 * update, err_msg=name)


# ------------------------------------------------------------- each behaviour, alone
def _line_case(lam):
    """Z = (0, 0), σ active everywhere on the search: ∇φ(Z^0) = (1, 3), so
    ``s = 0.1⟨g, −g⟩ = −1`` exactly, ``f_0 = 3.25``, ``m* = ⌊log(0.0325)/log 0.6⌋ = 6``,
    and ``φ(Z^0 − g) = 1.25 + 10/(2λ)``: the unit step passes for large λ, fails for small
    λ, and ties ``f_0 + s = 2.25`` exactly at λ = 5 (all in exact binary arithmetic)."""
    A = np.array([[2.0, -1.0], [0.0, 1.0]])
    T = np.array([[2.0, 1.5]])
    Z0 = np.zeros((1, 2))
    C = np.array([[3.0, 3.0]])
    return A, T, Z0, C


def _first_search(A, T, Z0, lam, C, sigma="relu"):
    """``(f_0, s, m*, D)`` of the first iteration, with the full first gradient."""
    g = _grad(Z0, A, T, Z0, lam, sigma, C)
    f0, s = _phi(Z0, A, T, Z0, lam, sigma, C), ARMIJO * float(np.sum(g * -g))
    return f0, s, _m_star(f0, s), -g


def _passes(A, T, Z0, lam, C, alpha, sigma="relu"):
    f0, s, _, D = _first_search(A, T, Z0, lam, C, sigma)
    return _phi(Z0 + alpha * D, A, T, Z0, lam, sigma, C) < f0 + s * alpha


def test_armijo_test_is_strict_in_the_relu_solver():
    """λ = 5: ``φ(Z^0 + D) = f_0 + s`` exactly. A tie fails, so FR3 goes on at
    ``m* + 1 = 7`` (a ``≤`` test would accept the untested ``m* = 6``)."""
    A, T, Z0, C = _line_case(5.0)
    f0, s, m_star, D = _first_search(A, T, Z0, 5.0, C)
    assert (f0, s, m_star) == (3.25, -1.0, 6.0)
    assert _phi(Z0 + D, A, T, Z0, 5.0, "relu", C) == f0 + s  # the tie, exactly
    r = ncg_authors(A, T, Z0, 5.0, "relu", C=C, iters=1, **FR3)
    np.testing.assert_allclose(r.x, Z0 + RHO**7 * D, rtol=0, atol=1e-15)


def test_armijo_test_is_strict_in_the_linear_solver():
    """FR4 at an exact tie at α = 1 (offset-free first gradient ``g = (1, 3)``, ``s = −1``,
    ``f_0 = 4 = φ(Z^0 + D) + 1``): the tie fails and ``α = 0.6`` is taken, where a ``≤``
    test would accept α = 1 and, its exponent being 0, not move at all."""
    A, T, Z0 = np.ones((1, 1)), np.array([[-0.5], [-1.5]]), np.zeros((2, 1))
    C, lam = np.array([[-0.5], [0.5]]), 5.0
    D = -_grad(Z0, A, T, Z0, lam, "identity", 0.0 * C)  # the offset-free first direction
    np.testing.assert_array_equal(D, [[-1.0], [-3.0]])
    f0 = _phi(Z0, A, T, Z0, lam, "identity", C)
    assert _phi(Z0 + D, A, T, Z0, lam, "identity", C) == f0 + ARMIJO * -10.0 == 3.0
    r = ncg_authors(A, T, Z0, lam, "identity", C=C, iters=1, **FR4)
    np.testing.assert_allclose(r.x, Z0 + RHO * D, rtol=0, atol=1e-15)


def test_relu_solver_takes_the_untested_step_rho_to_the_m_star():
    """α = 1 passes (λ large), the exponent is then reset to ``m* = 6``, and the step
    taken is ``ρ^6 D``: a step the search never evaluated."""
    A, T, Z0, C = _line_case(1e6)
    _, _, m_star, D = _first_search(A, T, Z0, 1e6, C)
    assert _passes(A, T, Z0, 1e6, C, 1.0) and m_star == 6
    r = ncg_authors(A, T, Z0, 1e6, "relu", C=C, iters=1, **FR3)
    np.testing.assert_allclose(r.x, Z0 + RHO**6 * D, rtol=0, atol=1e-15)


def test_relu_solver_after_a_failed_unit_step_goes_on_at_m_star_plus_one():
    """α = 1 fails (λ = 0.5); ``ρ^{m*}`` would pass but is never tried: the search goes
    on at ``m* + 1`` and takes ``ρ^7``."""
    A, T, Z0, C = _line_case(0.5)
    _, _, m_star, D = _first_search(A, T, Z0, 0.5, C)
    assert not _passes(A, T, Z0, 0.5, C, 1.0) and m_star == 6
    assert _passes(A, T, Z0, 0.5, C, RHO**6) and _passes(A, T, Z0, 0.5, C, RHO**7)
    r = ncg_authors(A, T, Z0, 0.5, "relu", C=C, iters=1, **FR3)
    np.testing.assert_allclose(r.x, Z0 + RHO**7 * D, rtol=0, atol=1e-15)


def test_linear_solver_has_no_exponent_reset():
    """The same two searches without the reset (FR4's rule): a failed α = 1 goes on at
    ``m = 1, 2, …`` (here ``ρ^2`` is taken, not FR3's ``ρ^7``), and an accepted α = 1
    is the exponent 0 (no step, where FR3 takes ``ρ^6``)."""
    A, T, Z0, C = _line_case(0.5)
    _, _, _, D = _first_search(A, T, Z0, 0.5, C, "identity")
    assert not _passes(A, T, Z0, 0.5, C, RHO, "identity")
    assert _passes(A, T, Z0, 0.5, C, RHO**2, "identity")
    r = ncg_authors(A, T, Z0, 0.5, "identity", C=C, iters=1, **PLAIN)
    np.testing.assert_allclose(r.x, Z0 + RHO**2 * D, rtol=0, atol=1e-15)
    r = ncg_authors(A, T, Z0, 1e6, "identity", C=C, iters=1, **PLAIN)
    np.testing.assert_array_equal(r.x, Z0)
    r = ncg_authors(A, T, Z0, 1e6, "identity", C=C, iters=1, **FR3)
    np.testing.assert_allclose(r.x, Z0 + RHO**6 * D, rtol=0, atol=1e-15)


def test_a_step_is_taken_only_for_a_positive_exponent():
    """Three ways of ``m_k = 0``, each leaving ``Z`` where it was though φ can decrease
    (our NCG decreases it): FR3 accepting α = 1 with ``m* = 0`` (a second output row
    with a large residual and no gradient makes ``f_0`` large), FR4 accepting α = 1, and
    a search in which nothing passes (an uphill direction)."""
    A, T, Z0, C = _line_case(1e6)
    Z0, C = np.zeros((2, 2)), np.array([[3.0, 3.0], [-1.0, -1.0]])  # row 2: σ(G) = 0
    T = np.array([[2.0, 1.5], [10.0, 10.0]])
    f0, _, m_star, _ = _first_search(A, T, Z0, 1e6, C)
    assert _passes(A, T, Z0, 1e6, C, 1.0) and m_star == 0 and f0 == 203.25
    np.testing.assert_array_equal(ncg_authors(A, T, Z0, 1e6, "relu", C=C, iters=1, **FR3).x, Z0)
    assert _phi(ncg(A, T, Z0, 1e6, "relu", C=C, iters=1).x, A, T, Z0, 1e6, "relu", C) < f0
    A, T, Z0, C = _line_case(1e6)
    np.testing.assert_array_equal(ncg_authors(A, T, Z0, 1e6, "identity", C=C, iters=1, **FR4).x, Z0)
    A, T, Z0, C = np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)), -3.0 * np.ones((1, 1))
    D = -_grad(Z0, A, T, Z0, 1.0, "identity", 0.0 * C)  # offset-free: −2
    assert float(np.sum(_grad(Z0, A, T, Z0, 1.0, "identity", C) * D)) > 0  # uphill
    np.testing.assert_array_equal(ncg_authors(A, T, Z0, 1.0, "identity", C=C, iters=1, **FR4).x, Z0)


def test_fletcher_reeves_direction_is_never_restarted():
    """After a failed first search (uphill offset-free direction, ``Z`` unchanged) the
    Fletcher–Reeves direction ``−g + 4D`` is uphill too, and is kept: the second search
    fails as well, and the third direction is ``−g + D = 0``, so three iterations leave
    ``Z`` where it was; with a restart at ``−g`` the second iteration would decrease φ."""
    A, T, Z0, C = np.ones((1, 1)), np.zeros((1, 1)), np.ones((1, 1)), -3.0 * np.ones((1, 1))
    g = _grad(Z0, A, T, Z0, 1.0, "identity", C)
    D2 = -g + 4.0 * np.array([[-2.0]])  # β = ||g||²/||g_free||² = 16/4
    assert float(np.sum(g * D2)) > 0
    r = ncg_authors(A, T, Z0, 1.0, "identity", C=C, iters=3, **FR4)
    np.testing.assert_array_equal(r.x, Z0)
    restarted = _literal(A, T, Z0, 1.0, "identity", C, 2, restart=True, **FR4)
    f0 = _phi(Z0, A, T, Z0, 1.0, "identity", C)
    assert _phi(restarted, A, T, Z0, 1.0, "identity", C) < f0


@pytest.mark.parametrize("half", ["W", "b"])
def test_linear_solver_leaves_the_whole_offset_out_of_its_first_gradient(half):
    """FR4's first direction is ``−2(Z^0A − T)Aᵀ``: the W-half drops ``b 1ᵀ``, the b-half
    (``A = 1ᵀ``) drops ``W F`` — its first step ignores the layer's output. One iteration
    moves along that direction, not along the true gradient."""
    A, T, W, b = _problem(seed=3)
    A, Z0, C = (A, W, b) if half == "W" else (ones_row(A), b, W @ A)
    g_free = _grad(Z0, A, T, Z0, 1.0, "identity", 0.0 * C)
    g_true = _grad(Z0, A, T, Z0, 1.0, "identity", C)
    step = ncg_authors(A, T, Z0, 1.0, "identity", C=C, iters=1, **FR4).x - Z0
    alpha = float(np.sum(step * -g_free) / np.sum(g_free * g_free))
    assert alpha > 0
    np.testing.assert_allclose(step, -alpha * g_free, rtol=0, atol=1e-14)
    assert np.max(np.abs(step - (-alpha * g_true))) > 1e-3 * np.max(np.abs(step))


def test_authors_variant_is_fr4_on_a_linear_layer_and_fr3_otherwise():
    assert authors_variant("identity") == FR4
    for sigma in ("relu", "sigmoid", "tanh"):
        assert authors_variant(sigma) == FR3


def test_solve_layer_gives_both_halves_of_a_linear_layer_the_offset_free_gradient():
    """``solve_layer`` with ``"ncg_authors"`` on an identity layer is FR4 on W (offset
    ``b^k``), then FR4 on b (offset ``W^{k+1}F``); with b's offset in its first gradient
    the b-half would differ."""
    F, T, W, b = _problem(seed=5)
    W_new, b_new = solve_layer("identity", F, W, b, T, W @ F + b, 0.3, 0.7, solver="ncg_authors")
    want_W = ncg_authors(F, T, W, 0.3, "identity", C=b, **FR4).x
    np.testing.assert_allclose(W_new, want_W, rtol=0, atol=1e-13)
    want_b = ncg_authors(ones_row(F), T, b, 0.7, "identity", C=W_new @ F, **FR4).x
    np.testing.assert_allclose(b_new, want_b, rtol=0, atol=1e-13)
    with_offset = ncg_authors(ones_row(F), T, b, 0.7, "identity", C=W_new @ F, **PLAIN).x
    assert np.max(np.abs(b_new - with_offset)) > 1e-3 * np.max(np.abs(b_new - b))


# ---------------------------------------------------------------- non-finite input
@pytest.mark.parametrize("variant", [FR3, FR4], ids=["FR3", "FR4"])
@pytest.mark.parametrize("form", ["primal", "dual"])
@pytest.mark.parametrize("bad", ["nan_target", "inf_target", "overflowing_offset"])
def test_non_finite_values_flow_out_as_nan_never_an_error(variant, form, bad):
    """A NaN or infinite ``φ`` or slope (issue: ``math.floor`` of NaN in the reset) gives
    a NaN result, so the training loop reports a divergence; nothing raises."""
    A, T, Z0, C = _problem(d=8, n=5, seed=6)
    if bad == "nan_target":
        T[0, 0] = np.nan
    elif bad == "inf_target":
        T[1, 2] = np.inf
    else:
        C = C + 1e200  # φ = ||·||² overflows to inf
    with np.errstate(all="ignore"):  # the overflow warnings are not the point here
        r = ncg_authors(A, T, Z0, 0.5, "relu", C=C, form=form, **variant)
    assert np.isnan(r.x).any()


def test_reset_exponent_follows_ieee_arithmetic_at_the_edges():
    from sibp_ref.inner.ncg_authors import _reset_exponent

    assert _reset_exponent(3.25, -1.0) == 6
    assert _reset_exponent(1.0, 0.0) == 0  # |s| = 0: log(+∞) → m* = 0
    assert _reset_exponent(1e300, -1e-300) == 0  # the ratio overflows
    assert _reset_exponent(0.0, -1.0) == np.inf  # f_0 = 0: the step ρ^∞ = 0
    assert _reset_exponent(1e-300, -1e10) == _m_star(1e-300, -1e10)  # a large finite m*


def test_sibp_with_ncg_authors_at_a_huge_eta_gives_nan_not_an_error():
    """``η = 1e30`` in float32 overflows φ in the first subproblem: the step returns
    non-finite parameters (the loop's divergence), it does not raise."""
    net, p, X, Y = _net("relu")
    p32 = [(W.astype(np.float32), b.astype(np.float32)) for W, b in p]
    X32, Y32 = X.astype(np.float32), Y.astype(np.float32)
    with np.errstate(all="ignore"):
        new, _ = SIBP(eta=1e30, solver="ncg_authors").step(net, p32, SIBPState(0), X32, Y32)
    assert not all(np.isfinite(a).all() for W, b in new for a in (W, b))


# ----------------------------------------------------- the literal oracle, at random
VARIANTS = pytest.mark.parametrize("variant", [FR3, FR4, PLAIN], ids=["FR3", "FR4", "plain"])


@VARIANTS
@pytest.mark.parametrize("sigma", ["relu", "sigmoid", "tanh", "identity"])
def test_ncg_authors_follows_the_literal_description(sigma, variant):
    for seed in range(3):
        for lam in (0.05, 1.0, 20.0):
            A, T, Z0, C = _problem(seed=seed)
            for iters in (1, 2, 5):
                r = ncg_authors(A, T, Z0, lam, sigma, C=C, iters=iters, **variant)
                want = _literal(A, T, Z0, lam, sigma, C, iters, **variant)
                np.testing.assert_allclose(r.x, want, rtol=0, atol=1e-10)
                np.testing.assert_allclose(r.G, r.x @ A + C, rtol=0, atol=1e-10)
                assert (r.n_iter, r.status) == (iters, "iteration_limit")


@VARIANTS
@pytest.mark.parametrize("sigma", ["relu", "tanh", "identity"])
def test_ncg_authors_in_coefficient_space_has_the_primal_iterates(sigma, variant):
    """n < d (SIBP's W-subproblems on small batches): the coefficient form gives the
    same iterates as the primal one and as the literal description."""
    for seed in range(3):
        for lam in (0.05, 1.0, 20.0):
            A, T, Z0, C = _problem(d=15, n=6, seed=seed)
            for iters in (1, 2, 5):
                kw = dict(C=C, iters=iters, **variant)
                p = ncg_authors(A, T, Z0, lam, sigma, form="primal", **kw)
                q = ncg_authors(A, T, Z0, lam, sigma, form="dual", **kw)
                np.testing.assert_allclose(q.x, p.x, rtol=0, atol=1e-10)
                np.testing.assert_allclose(q.G, p.G, rtol=0, atol=1e-10)
                want = _literal(A, T, Z0, lam, sigma, C, iters, **variant)
                np.testing.assert_allclose(q.x, want, rtol=0, atol=1e-10)


@pytest.mark.parametrize("sigma", ["sigmoid", "tanh", "softplus", "identity"])
def test_ncg_authors_with_many_iterations_reaches_the_exact_solution(sigma):
    """On well-conditioned smooth problems (λ = 0.05: curvature within a factor ~2 of
    1/λ) 200 iterations land on the exact minimiser, to the ~1e-8 that an Armijo test on
    values (not on the change) can resolve in float64."""
    for seed in range(3):
        A, T, Z0, C = _problem(seed=seed)
        ref = exact(A, T, Z0, 0.05, sigma, C=C, tol=1e-12)
        r = ncg_authors(A, T, Z0, 0.05, sigma, C=C, iters=200, **authors_variant(sigma))
        np.testing.assert_allclose(r.x, ref.x, rtol=0, atol=1e-7)


# ----------------------------------------------------------------- SIBP with it
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


@VARIANTS
@pytest.mark.parametrize("form", ["primal", "dual"])
def test_ncg_authors_gives_the_same_iterate_on_every_backend(xp, form, variant):
    A, T, Z0, C = _problem(d=15, n=6, seed=4)
    want = ncg_authors(A, T, Z0, 0.5, "relu", C=C, form=form, **variant)
    args = [B.asarray(a, xp) for a in (A, T, Z0)]
    got = ncg_authors(*args, 0.5, "relu", C=B.asarray(C, xp), form=form, **variant)
    np.testing.assert_allclose(B.to_numpy(got.x), want.x, rtol=0, atol=1e-12)
    args32 = [B.asarray(a, xp, dtype="float32") for a in (A, T, Z0, C)]
    r32 = ncg_authors(*args32[:3], 0.5, "relu", C=args32[3], form=form, **variant)
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
    reset=st.booleans(),
    offset_free=st.booleans(),
)
def test_property_ncg_authors_never_increases_phi_on_a_linear_layer(
    m, d, n, lam, seed, reset, offset_free
):
    """σ = identity makes φ convex. A tested step passed the Armijo test with ``s < 0``
    (a decrease; with ``s ≥ 0`` convexity fails every trial); the untested ``ρ^{m*}``
    follows an accepted ``α = 1``, and ``φ(Z + ρ^m D) ≤ (1 − ρ^m)φ(Z) + ρ^m φ(Z + D) <
    φ(Z)``; no step keeps φ. So the k-th iterate (``iters=k``: the solver is
    deterministic) never has a larger φ than the (k−1)-th, in either variant."""
    A, T, Z0, C = _problem(m=m, d=d, n=n, seed=seed)
    kw = dict(C=C, reset_exponent=reset, offset_free_first_gradient=offset_free)
    vals = [_phi(Z0, A, T, Z0, lam, "identity", C)]
    for k in range(1, 6):
        r = ncg_authors(A, T, Z0, lam, "identity", iters=k, **kw)
        vals.append(_phi(r.x, A, T, Z0, lam, "identity", C))
    assert np.all(np.diff(vals) <= 1e-12 * vals[0]), vals
