"""ProxProp's published code (tfrerix/proxprop), call for call: ``ProxBP(solver="exact")`` is
its ``prox_exact``, ``ProxBP(solver="cg_proxprop", iters=N)`` its ``prox_cgN``.

Oracle: one step of the published code on four small problems, each in three (ℓ, τ) cases,
with the inputs and output of every layer's solve call (``tests/data/peer_codes/``, README
there). Each quirk of its CG (:mod:`sibp_ref.inner.cg_proxprop`) also has a test of its
own, against a NumPy transcription written here or against the recorded calls.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sibp_ref import MLP
from sibp_ref import backend as B
from sibp_ref.inner.cg_proxprop import PROXPROP_EPS, PROXPROP_TOL, cg_proxprop
from sibp_ref.inner.ridge import prox_ridge_cg
from sibp_ref.methods.proxbp import ProxBP

DATA = Path(__file__).parent / "data" / "peer_codes"
CG_FILES = sorted(p.name for p in DATA.glob("proxprop_p*_prox_cg*.npz"))
EXACT_FILES = sorted(p.name for p in DATA.glob("proxprop_p*_prox_exact.npz"))
CASES = (0, 1, 2)
TOL = 1e-10  # of the step


def load(name: str) -> dict:
    return dict(np.load(DATA / name, allow_pickle=False))


def layer_problem(z: dict, K: int, c: int):
    """The recorded solve of layer K, case c, in our layout: ``(A, T, θ⁰, λ)`` and the
    peer's answer θ̃ (``θ⁰ = [W_K, b_K]``, the prox centre; README here)."""
    theta0 = np.concatenate([z[f"W{K}"], z[f"b{K}"]], axis=1)
    A, T = z[f"layer{K}_Abar"][c].T, z[f"layer{K}_Ztilde"][c].T
    return A, T, theta0, float(z[f"layer{K}_tau"][c]) / 2, z[f"layer{K}_X"][c].T


def proxbp_step(z: dict, c: int, xp=None, **solver):
    """Our step on the file's problem in case c: ``ProxBP(eta=ℓ, lam=τ/2, last_layer=
    "gradient")`` (docs/conventions.md §4), run on the backend ``xp`` (NumPy by default;
    float64), and the start and the peer's parameters, all as NumPy arrays."""
    xp = xp or B.get_backend("numpy")
    a = lambda x: B.asarray(x, xp, "float64")  # noqa: E731
    L = len(z["sizes"]) - 1
    net = MLP([int(s) for s in z["sizes"]], activation="relu", loss="cross_entropy")
    params = [(z[f"W{i}"], z[f"b{i}"]) for i in range(1, L + 1)]
    start = [(a(W), a(b)) for W, b in params]
    m = ProxBP(eta=float(z["lr"][c]), lam=float(z["tau"][c]) / 2, last_layer="gradient", **solver)
    new, _ = m.step(net, start, m.init(net, start), a(z["X"]), a(z["Y"]))
    new = [(B.to_numpy(W), B.to_numpy(b)) for W, b in new]
    peer = [(z[f"W{i}_peer"][c], z[f"b{i}_peer"][c]) for i in range(1, L + 1)]
    return params, new, peer


def step_errors(params, new, peer) -> list[float]:
    """Per W_i and b_i: ``max|ours − peer| / max|peer − start|``, the error in units of the
    peer's own update of that array."""
    return [
        float(np.abs(got - want).max() / np.abs(want - start).max())
        for p0, p1, pp in zip(params, new, peer, strict=True)
        for start, got, want in zip(p0, p1, pp, strict=True)
    ]


# ------------------------------------------------------------ the recorded calls
@pytest.mark.parametrize("name", CG_FILES)
def test_every_recorded_layer_solve_is_reproduced_with_its_iteration_count(name):
    z = load(name)
    N = int(z["cg_iters"])
    for K in range(1, int(z["n_prox_layers"]) + 1):
        # the call's keyword values are the function's defaults, and ours
        assert int(z[f"layer{K}_maxit"]) == N
        assert float(z[f"layer{K}_tol"]) == PROXPROP_TOL
        assert float(z[f"layer{K}_eps"]) == PROXPROP_EPS
        for c in CASES:
            A, T, theta0, lam, want = layer_problem(z, K, c)
            res = cg_proxprop(A, T, theta0, lam, N)
            assert np.abs(res.x - want).max() <= TOL * np.abs(want - theta0).max(), (K, c)
            assert res.n_iter == int(z[f"layer{K}_k"][c]), (K, c)
            assert res.status == ("converged" if res.n_iter < N else "iteration_limit")


@pytest.mark.parametrize("name", CG_FILES)
def test_cg_proxprop_step_equals_the_published_prox_cgN_step_and_cg_does_not(name):
    z = load(name)
    N = int(z["cg_iters"])
    worst_cg = 0.0
    for c in CASES:
        errs = step_errors(*proxbp_step(z, c, solver="cg_proxprop", iters=N))
        assert max(errs) <= TOL, (c, errs)
        worst_cg = max(worst_cg, *step_errors(*proxbp_step(z, c, solver="cg", iters=N)))
    assert worst_cg > 1e-3  # textbook CG on the whole matrix is another algorithm


@pytest.mark.parametrize("name", CG_FILES)
def test_cg_proxprop_step_equals_the_published_step_on_every_backend(xp, name):
    z = load(name)
    for c in CASES:
        errs = step_errors(*proxbp_step(z, c, xp, solver="cg_proxprop", iters=int(z["cg_iters"])))
        assert max(errs) <= TOL, (c, errs)


@pytest.mark.parametrize("name", EXACT_FILES)
def test_exact_step_equals_the_published_prox_exact_step(name):
    z = load(name)
    assert int(z["cg_iters"]) == 0
    for c in CASES:
        errs = step_errors(*proxbp_step(z, c, solver="exact"))
        assert max(errs) <= TOL, (c, errs)


# -------------------------------------------------------------- each quirk alone
def random_problem(seed=0, m=4, d=6, n=9, lam=0.4):
    rng = np.random.default_rng(seed)
    A, T, theta0 = rng.normal(size=(d, n)), rng.normal(size=(m, n)), rng.normal(size=(m, d))
    return A, T, theta0, lam


def peer_two_iterations(A, T, theta0, lam, eps=PROXPROP_EPS):
    """Two iterations of the peer's CG on one row, transcribed from its description
    (README here), in our normalisation at η = 1, with explicit vectors."""
    M = 2.0 * A @ A.T + np.eye(A.shape[0]) / lam
    x = theta0.copy()
    r = 2.0 * T @ A.T + theta0 / lam - x @ M
    s0 = r @ r
    q = M @ r  # p_0 = r_0
    alpha = s0 / (r @ q + 8 * eps)
    x = x + alpha * r
    r = r - alpha * q  # p_0 is r's storage: it is now r_1
    s1 = r @ r
    p = r + (s1 / (s0 + 4 * eps)) * r  # (1 + β_0) r_1, not r_1 + β_0 r_0
    return x + (s1 / (p @ M @ p + 8 * eps)) * p


def test_each_output_unit_runs_its_own_cg_with_its_own_alpha_and_beta():
    A, T, theta0, lam = random_problem(1)
    whole = cg_proxprop(A, T, theta0, lam, 4, tol=0.0).x
    for j in range(T.shape[0]):  # row j alone gives row j of the whole run
        alone = cg_proxprop(A, T[j : j + 1], theta0[j : j + 1], lam, 4, tol=0.0).x
        np.testing.assert_allclose(whole[j : j + 1], alone, rtol=0, atol=1e-13)
    # one CG per output unit, not one on the matrix: already one iteration differs
    one = cg_proxprop(A, T, theta0, lam, 1, eps=0.0).x
    textbook = prox_ridge_cg(A, T, theta0, lam, 1, form="primal")
    assert np.abs(one - textbook).max() > 1e-3 * np.abs(textbook - theta0).max()


def test_second_direction_is_one_plus_beta0_times_the_first_residual():
    A, T, theta0, lam = random_problem(2)
    got = cg_proxprop(A, T, theta0, lam, 2, tol=0.0).x
    want = np.stack([peer_two_iterations(A, T[j], theta0[j], lam) for j in range(T.shape[0])])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want - theta0).max())
    # textbook CG (direction r_1 + β_0 r_0), row by row, is another iterate
    rows = [prox_ridge_cg(A, T[j : j + 1], theta0[j : j + 1], lam, 2) for j in range(len(T))]
    assert np.abs(got - np.concatenate(rows)).max() > 1e-3 * np.abs(got - theta0).max()


def test_eps_in_our_normalisation_is_8_eta_squared_and_4_eta_squared_times_the_peers():
    """The recorded solve at η = 1, posed again at η = 10 (``T − θ⁰A`` ten times larger):
    with ``eta=10`` the answer is the peer's displacement times 10, to rounding; with the
    peer's ε left unscaled (``eta=1``) it is not."""
    z = load("proxprop_p1_prox_cg10.npz")
    A, T, theta0, lam, want = layer_problem(z, 1, 0)
    eta = 10.0
    T10 = theta0 @ A + eta * (T - theta0 @ A)
    want10 = theta0 + eta * (want - theta0)
    step = np.abs(want10 - theta0).max()
    assert np.abs(cg_proxprop(A, T10, theta0, lam, 10, eta=eta).x - want10).max() <= TOL * step
    assert np.abs(cg_proxprop(A, T10, theta0, lam, 10, eta=1.0).x - want10).max() > 1e-4 * step
    assert np.abs(cg_proxprop(A, T, theta0, lam, 10, eps=0.0).x - want).max() > 1e-4 * step / eta


def test_dead_unit_stays_at_its_centre_because_eps_guards_zero_over_zero():
    A, T, theta0, lam = random_problem(3)
    T[1] = theta0[1] @ A  # row 1 has nothing to fit: r = 0 from the start
    x = cg_proxprop(A, T, theta0, lam, 5, tol=0.0).x
    assert np.all(np.isfinite(x))
    np.testing.assert_array_equal(x[1], theta0[1])


def test_stops_once_max_residual_is_below_tol_squared_times_mean_initial_residual():
    """``proxprop_p1_prox_cg10``, layer 1, case 1: the peer stopped after 5 of 10 updates.
    The test reads the true residuals ``||r_j||² = ||rhs_j − θ_jM||²`` of our iterates."""
    z = load("proxprop_p1_prox_cg10.npz")
    A, T, theta0, lam, want = layer_problem(z, 1, 1)
    assert int(z["layer1_k"][1]) == 5
    M = 2.0 * A @ A.T + np.eye(A.shape[0]) / lam
    rhs = 2.0 * T @ A.T + theta0 / lam

    def s(theta):
        r = rhs - theta @ M
        return np.sum(r * r, axis=1)

    bound = PROXPROP_TOL**2 * np.mean(s(theta0))
    xs = [cg_proxprop(A, T, theta0, lam, k).x for k in (4, 5)]
    assert s(xs[0]).max() >= bound > s(xs[1]).max()
    res = cg_proxprop(A, T, theta0, lam, 10)
    assert (res.n_iter, res.status) == (5, "converged")
    np.testing.assert_array_equal(res.x, xs[1])  # 5 updates, whether asked for 5 or 10
    full = cg_proxprop(A, T, theta0, lam, 10, tol=0.0)
    assert (full.n_iter, full.status) == (10, "iteration_limit")
    assert np.abs(full.x - want).max() > 1e-4 * np.abs(want - theta0).max()


def test_one_iteration_never_tests_and_never_stops_early():
    A, T, theta0, lam = random_problem(4)
    res = cg_proxprop(A, T, theta0, lam, 1, tol=1e6)  # any residual passes the test
    assert (res.n_iter, res.status) == (1, "iteration_limit")
    assert cg_proxprop(A, T, theta0, lam, 3, tol=1e6).n_iter == 1  # tested after iteration 1


# ----------------------------------------------------------- backends and options
def test_cg_proxprop_is_the_same_on_every_backend(xp):
    z = load("proxprop_p3_prox_cg10.npz")
    A, T, theta0, lam, _ = layer_problem(z, 1, 1)
    ref = cg_proxprop(A, T, theta0, lam, 10)
    res = cg_proxprop(*(B.asarray(a, xp, "float64") for a in (A, T, theta0)), lam, 10)
    assert res.n_iter == ref.n_iter
    np.testing.assert_allclose(B.to_numpy(res.x), ref.x, rtol=0, atol=1e-12)


def test_proxbp_names_the_solvers_when_one_is_misspelt():
    with pytest.raises(ValueError, match="did you mean 'cg_proxprop'"):
        ProxBP(solver="cg_proxpro")
