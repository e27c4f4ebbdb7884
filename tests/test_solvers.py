"""Inner solvers of (4.1): each against an independent oracle (C2 and the ℓ1 variant)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize

from sibp_ref import backend as B
from sibp_ref.activations import get_activation
from sibp_ref.inner import (
    exact,
    ncg,
    ones_row,
    prox_grad,
    prox_objective,
    prox_ridge,
    prox_ridge_bias,
    soft_threshold,
    spectral_norm_sq,
)

SMOOTH = ["sigmoid", "tanh", "softplus"]


def _problem(xp, m=3, d=4, n=6, seed=0, dtype="float64"):
    rng = np.random.default_rng(seed)
    A = B.asarray(rng.normal(size=(d, n)), xp, dtype=dtype)
    T = B.asarray(rng.uniform(0.1, 0.9, size=(m, n)), xp, dtype=dtype)
    Z0 = B.asarray(rng.normal(scale=0.5, size=(m, d)), xp, dtype=dtype)
    C = B.asarray(rng.normal(scale=0.3, size=(m, 1)), xp, dtype=dtype)
    return A, T, Z0, C


def _grad_f(Z, A, T, sigma, C):
    """∇f for f(Z) = ||σ(ZA + C) − T||², written from scratch in NumPy."""
    sig = get_activation(sigma)
    Z, A, T, C = (B.to_numpy(a) for a in (Z, A, T, C))
    G = Z @ A + C
    return 2.0 * ((B.to_numpy(sig.df(G)) * (B.to_numpy(sig.f(G)) - T)) @ A.T)


@pytest.mark.parametrize("sigma", SMOOTH)
@pytest.mark.parametrize("lam", [0.05, 1.0, 20.0])
def test_C2_exact_W_update_is_a_proximal_step(xp, sigma, lam):
    """After (4.1): W^{k+1} = W^k − λ ∇f(W^{k+1}), to the solver's tolerance."""
    A, T, Z0, C = _problem(xp)
    r = exact(A, T, Z0, lam, sigma, C=C, tol=1e-11)
    Z = B.to_numpy(r.x)
    resid = Z - (B.to_numpy(Z0) - lam * _grad_f(r.x, A, T, sigma, C))
    assert np.linalg.norm(resid) <= 1e-9 * max(1.0, lam)
    assert r.n_iter < 500


@pytest.mark.parametrize("sigma", SMOOTH)
def test_C2_exact_b_update_is_a_proximal_step(xp, sigma):
    """The b-half of (4.1) in the same generic form, A = 1ᵀ: b^{k+1} = b^k − λ ∇f(b^{k+1})."""
    A, T, Z0, C = _problem(xp)
    WF = Z0 @ A
    b0 = C
    ones = ones_row(WF)
    r = exact(ones, T, b0, 0.7, sigma, C=WF, tol=1e-11)
    resid = B.to_numpy(r.x) - (B.to_numpy(b0) - 0.7 * _grad_f(r.x, ones, T, sigma, WF))
    assert np.linalg.norm(resid) <= 1e-9


@pytest.mark.parametrize("beta", ["fr", "pr"])
@pytest.mark.parametrize("sigma", SMOOTH)
def test_C2_ncg_many_iterations_agrees_with_scipy_minimize(sigma, beta):
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp, seed=3)
    lam = 2.0

    def phi(z):
        return float(prox_objective(z.reshape(Z0.shape), A, T, Z0, lam, sigma, C=C))

    def grad(z):
        Z = z.reshape(Z0.shape)
        return (_grad_f(Z, A, T, sigma, C) + (Z - Z0) / lam).ravel()

    ref = scipy.optimize.minimize(
        phi, Z0.ravel(), jac=grad, method="BFGS", options={"gtol": 1e-12, "maxiter": 2000}
    )
    r = ncg(A, T, Z0, lam, sigma, C=C, iters=300, beta=beta)
    np.testing.assert_allclose(r.x.ravel(), ref.x, atol=1e-7)
    assert phi(r.x.ravel()) <= ref.fun + 1e-12


def test_C2_ridge_closed_form_agrees_with_dense_solve():
    """prox_ridge (primal and dual) and prox_ridge_bias against the vectorised normal
    equations solved densely: vec(θ) of min ||θA − T||² + ||θ − θ0||²/(2λ)."""
    rng = np.random.default_rng(1)
    m, d, n, lam = 2, 5, 3, 0.3
    A, T, th0 = rng.normal(size=(d, n)), rng.normal(size=(m, n)), rng.normal(size=(m, d))
    # row-major vec: (θA)_{ij} = Σ_k θ_{ik} A_{kj}  ⇒  vec(θA) = (I_m ⊗ Aᵀ) vec(θ)
    K = np.kron(np.eye(m), A.T)
    H = 2 * K.T @ K + np.eye(m * d) / lam
    want = np.linalg.solve(H, 2 * K.T @ T.ravel() + th0.ravel() / lam).reshape(m, d)
    xp = B.get_backend("numpy")
    for form in ("primal", "dual"):
        np.testing.assert_allclose(prox_ridge(A, T, th0, lam, form=form), want, atol=1e-12)
    # the identity-σ b-subproblem: θ = b (m, 1), A = 1ᵀ
    b0 = rng.normal(size=(m, 1))
    K1 = np.kron(np.eye(m), np.ones((n, 1)))
    H1 = 2 * K1.T @ K1 + np.eye(m) / lam
    want_b = np.linalg.solve(H1, 2 * K1.T @ T.ravel() + b0.ravel() / lam).reshape(m, 1)
    np.testing.assert_allclose(
        prox_ridge_bias(xp.asarray(T), xp.asarray(b0), lam), want_b, atol=1e-12
    )


@pytest.mark.parametrize("beta", ["fr", "pr"])
def test_ncg_never_increases_the_subproblem_objective(xp, beta):
    for seed in range(4):
        A, T, Z0, C = _problem(xp, seed=seed)
        for lam in (0.01, 1.0, 100.0):
            r = ncg(A, T, Z0, lam, "sigmoid", C=C, iters=5, beta=beta)
            before = float(prox_objective(Z0, A, T, Z0, lam, "sigmoid", C=C))
            after = float(prox_objective(r.x, A, T, Z0, lam, "sigmoid", C=C))
            assert after < before
            np.testing.assert_allclose(B.to_numpy(r.G), B.to_numpy(r.x @ A + C), atol=1e-12)


def test_ncg_float32_armijo_still_makes_progress():
    """In float32 the late decreases of φ fall below its resolution; comparing the change
    directly (docs/conventions.md §6) keeps the line search accepting steps, so 20
    float32 iterations follow the float64 ones."""
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp, m=10, d=50, n=2000, seed=4)
    A32, T32, Z32, C32 = (xp.astype(a, xp.float32) for a in (A, T, Z0, C))
    r64 = ncg(A, T, Z0, 1.0, "sigmoid", C=C, iters=20, beta="pr")
    r32 = ncg(A32, T32, Z32, 1.0, "sigmoid", C=C32, iters=20, beta="pr")
    phi0 = float(prox_objective(Z0, A, T, Z0, 1.0, "sigmoid", C=C))
    phi64 = float(prox_objective(r64.x, A, T, Z0, 1.0, "sigmoid", C=C))
    phi32 = float(prox_objective(xp.astype(r32.x, xp.float64), A, T, Z0, 1.0, "sigmoid", C=C))
    assert r32.x.dtype == xp.float32 and r32.n_iter == 20
    assert phi32 - phi64 <= 1e-4 * (phi0 - phi64)
    np.testing.assert_allclose(r32.x, r64.x, atol=1e-3)


def test_ncg_line_search_computes_DA_once_per_iteration(counting_matmul):
    """Two products with the data per CG iteration (D·A and the gradient's (σ'⊙R)·Aᵀ),
    one for the first gradient, none for a gradient after the last step (it would only
    feed an unused direction), however many trial steps the line search takes."""
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp, seed=5)
    G0 = Z0 @ A + C
    Ac = A.view(counting_matmul)
    r = ncg(Ac, T, Z0, 50.0, "tanh", C=C, G0=G0, iters=5)
    # the .T of a counting array is a counting array too: both products are counted
    assert r.n_iter == 5
    assert counting_matmul.count == 1 + 2 * r.n_iter - 1


def test_prox_grad_l1_solution_satisfies_subgradient_conditions(xp):
    """Remark 4.1: 0 ∈ ∇s(Z) + γ ∂||Z||_1, s the smooth part of the subproblem."""
    A, T, Z0, C = _problem(xp, seed=6)
    lam, gamma = 0.5, 0.4
    r = prox_grad(A, T, Z0, lam, "sigmoid", gamma, C=C, tol=1e-12, max_iters=5000)
    Z = B.to_numpy(r.x)
    g = _grad_f(r.x, A, T, "sigmoid", C) + (Z - B.to_numpy(Z0)) / lam
    nz = Z != 0
    assert (~nz).any(), "γ was chosen so that some weights are pruned"
    np.testing.assert_allclose(g[nz], -gamma * np.sign(Z[nz]), atol=1e-8)
    assert np.all(np.abs(g[~nz]) <= gamma + 1e-8)


def test_prox_grad_without_l1_agrees_with_exact_ncg(xp):
    A, T, Z0, C = _problem(xp, seed=7)
    r1 = prox_grad(A, T, Z0, 0.8, "tanh", 0.0, C=C, tol=1e-12, max_iters=5000)
    r2 = exact(A, T, Z0, 0.8, "tanh", C=C, tol=1e-12)
    np.testing.assert_allclose(B.to_numpy(r1.x), B.to_numpy(r2.x), atol=1e-9)


def test_soft_threshold_is_the_prox_of_l1(xp):
    z = xp.asarray([-2.0, -0.5, 0.0, 0.3, 1.5], dtype=xp.float64)
    np.testing.assert_allclose(B.to_numpy(soft_threshold(z, 0.4)), [-1.6, -0.1, 0, 0, 1.1])


def test_bad_solver_arguments_raise_clear_errors():
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp)
    with pytest.raises(ValueError, match="lam"):
        ncg(A, T, Z0, 0.0, "sigmoid")
    with pytest.raises(ValueError, match="lam"):
        prox_grad(A, T, Z0, -1.0, "sigmoid", 0.1)
    with pytest.raises(ValueError, match="iters"):
        ncg(A, T, Z0, 1.0, "sigmoid", iters=0)
    with pytest.raises(ValueError, match="beta"):
        ncg(A, T, Z0, 1.0, "sigmoid", beta="hs")
    with pytest.raises(ValueError, match="gamma"):
        prox_grad(A, T, Z0, 1.0, "sigmoid", -0.1)
    with pytest.raises(ValueError, match="tol"):
        exact(A, T, Z0, 1.0, "sigmoid", tol=0.0)
    with pytest.raises(ValueError, match="activation"):
        ncg(A, T, Z0, 1.0, "swish")


# --- prox_grad: step from a Lipschitz estimate, monotone FISTA, ridge start ---------------


@pytest.mark.parametrize("accelerate", [True, False])
@pytest.mark.parametrize("sigma", ["sigmoid", "tanh", "relu", "identity"])
def test_prox_grad_objective_never_increases_across_iterations(sigma, accelerate):
    """Monotone FISTA (and ISTA): φ + γ||·||_1 at x_k is non-increasing in k. The solver is
    deterministic, so ``iters=k`` returns the k-th iterate. Slack: the sufficient-decrease
    test passes steps whose failure is below the rounding of the computed change
    (:func:`sibp_ref.inner.prox_grad._rounding`, ~16 eps·φ), so allow 1e-13·φ_0. (NumPy only: the
    other backends run the same code, checked by the backend tests.)"""
    xp = B.get_backend("numpy")
    for seed in range(3):
        A, T, Z0, C = _problem(xp, seed=seed)
        for lam in (0.01, 1.0, 100.0):
            for gamma in (0.0, 0.1, 1.0):
                vals = [float(prox_objective(Z0, A, T, Z0, lam, sigma, C=C, gamma=gamma))]
                for k in range(1, 13):
                    r = prox_grad(A, T, Z0, lam, sigma, gamma, C=C, iters=k, accelerate=accelerate)
                    assert r.n_iter == k
                    vals.append(float(prox_objective(r.x, A, T, Z0, lam, sigma, C=C, gamma=gamma)))
                    np.testing.assert_allclose(B.to_numpy(r.G), B.to_numpy(r.x @ A + C), atol=1e-12)
                assert np.all(np.diff(vals) <= 1e-13 * vals[0]), (seed, lam, gamma, vals)
                assert vals[-1] < vals[0]


@pytest.mark.parametrize("sigma", ["identity", "sigmoid"])
def test_prox_grad_from_a_start_minimises_the_same_objective(xp, sigma):
    """``start`` moves only the first iterate: to tolerance, the minimiser is the same as
    from Z^0 (the prox centre stays Z^0), and it satisfies the ℓ1 subgradient conditions."""
    A, T, Z0, C = _problem(xp, seed=8)
    lam, gamma = 0.5, 0.3
    start = B.asarray(np.random.default_rng(9).normal(size=Z0.shape), xp, dtype="float64")
    r1 = prox_grad(A, T, Z0, lam, sigma, gamma, C=C, tol=1e-12, max_iters=5000)
    r2 = prox_grad(A, T, Z0, lam, sigma, gamma, C=C, start=start, tol=1e-12, max_iters=5000)
    np.testing.assert_allclose(B.to_numpy(r2.x), B.to_numpy(r1.x), atol=1e-9)
    Z = B.to_numpy(r2.x)
    g = _grad_f(r2.x, A, T, sigma, C) + (Z - B.to_numpy(Z0)) / lam
    nz = Z != 0
    np.testing.assert_allclose(g[nz], -gamma * np.sign(Z[nz]), atol=1e-8)
    assert np.all(np.abs(g[~nz]) <= gamma + 1e-8)


@pytest.mark.parametrize("shape", [(4, 6), (7, 3)])
def test_prox_grad_l1_to_zero_is_the_ridge_solution(xp, shape):
    """γ → 0 (identity σ): the lasso-prox problem becomes ridge regression. Its minimiser is
    within λγ√(md) of the ridge one (strong convexity with modulus 1/λ), 1e-12 here, so
    prox-grad to tolerance 1e-12 from Z^0 lands on prox_ridge to ~1e-9 (the solver's
    stopping accuracy); started at the ridge solution, 5 steps move it by at most
    5·tγ ≤ 5λγ, so it stays there to 1e-11."""
    d, n = shape
    A, T, Z0, _ = _problem(xp, d=d, n=n, seed=10)
    lam, gamma = 0.7, 1e-12
    ridge = prox_ridge(A, T, Z0, lam)
    r = prox_grad(A, T, Z0, lam, "identity", gamma, tol=1e-12, max_iters=20000)
    np.testing.assert_allclose(B.to_numpy(r.x), B.to_numpy(ridge), atol=1e-9)
    r5 = prox_grad(A, T, Z0, lam, "identity", gamma, start=ridge, iters=5)
    np.testing.assert_allclose(B.to_numpy(r5.x), B.to_numpy(ridge), atol=1e-11)


def test_prox_grad_bias_one_step_from_ridge_is_the_exact_l1_solution(xp):
    """The identity b-subproblem ``||b1ᵀ − R||² + ||b − b^0||²/(2λ) + γ|b|`` is separable with
    curvature ``2n + 1/λ``; its minimiser is ``S_{γ/(2n+1/λ)}(b_ridge)`` (1-D closed form).
    ``||1ᵀ||₂² = n`` is exact, so t = 1/(2n + 1/λ) and one step from the ridge start is it."""
    rng = np.random.default_rng(11)
    m, n, lam, gamma = 5, 8, 0.4, 3.0
    R = B.asarray(rng.normal(size=(m, n)), xp, dtype="float64")
    b0 = B.asarray(rng.normal(size=(m, 1)), xp, dtype="float64")
    ridge = prox_ridge_bias(R, b0, lam)
    want = soft_threshold(ridge, gamma / (2 * n + 1 / lam))
    assert np.any(B.to_numpy(want) == 0) and np.any(B.to_numpy(want) != 0)
    ones = ones_row(R)
    r = prox_grad(ones, R, b0, lam, "identity", gamma, start=ridge, iters=1)
    np.testing.assert_allclose(B.to_numpy(r.x), B.to_numpy(want), atol=1e-12)
    # and the exact solver agrees: to tolerance from b^0
    r2 = prox_grad(ones, R, b0, lam, "identity", gamma, tol=1e-13, max_iters=5000)
    np.testing.assert_allclose(B.to_numpy(r2.x), B.to_numpy(want), atol=1e-10)


def test_spectral_norm_estimate_is_a_lower_bound_close_to_the_truth(xp):
    """Power iterations give a Rayleigh quotient: never above ``||A||₂²`` (numpy's SVD),
    exact for one row; on data with a dominant direction (non-negative, like images) it
    converges within a few iterations."""
    rng = np.random.default_rng(12)
    for shape in [(5, 9), (9, 5), (30, 30)]:
        A = rng.normal(size=shape)
        true = np.linalg.norm(A, 2) ** 2
        est = float(spectral_norm_sq(B.asarray(A, xp, dtype="float64")))
        assert 0.5 * true <= est <= true * (1 + 1e-12)
    A = rng.uniform(0, 1, size=(50, 20))  # non-negative: a large spectral gap
    est = float(spectral_norm_sq(B.asarray(A, xp, dtype="float64")))
    np.testing.assert_allclose(est, np.linalg.norm(A, 2) ** 2, rtol=1e-6)
    row = rng.normal(size=(1, 7))
    est = float(spectral_norm_sq(B.asarray(row, xp, dtype="float64")))
    np.testing.assert_allclose(est, np.sum(row**2), rtol=1e-12)
    assert float(spectral_norm_sq(B.asarray(np.zeros((3, 4)), xp, dtype="float64"))) == 0.0


def test_prox_grad_bad_arguments_raise_clear_errors():
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp)
    with pytest.raises(ValueError, match="power_iters"):
        prox_grad(A, T, Z0, 1.0, "sigmoid", 0.1, power_iters=0)
    with pytest.raises(ValueError, match="iters"):
        prox_grad(A, T, Z0, 1.0, "sigmoid", 0.1, iters=0)


# --- InnerResult.status: why a solver stopped -----------------------------------------


@pytest.mark.parametrize("form", ["primal", "dual"])
def test_ncg_status_says_why_it_stopped(form):
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp, d=8, n=5, seed=13)
    kw = dict(C=C, form=form)
    assert ncg(A, T, Z0, 1.0, "tanh", iters=3, **kw).status == "iteration_limit"
    r = ncg(A, T, Z0, 1.0, "tanh", beta="pr", tol=1e-8, **kw)
    assert (r.status, r.n_iter < 500) == ("converged", True)
    r = ncg(A, T, Z0, 1.0, "tanh", beta="pr", tol=1e-14, max_iters=2, **kw)
    assert (r.status, r.n_iter) == ("iteration_limit", 2)
    r = ncg(A, T, Z0, 1.0, "tanh", iters=3, max_backtracks=0, **kw)
    assert (r.status, r.n_iter) == ("line_search_failed", 0)
    np.testing.assert_array_equal(r.x, Z0)  # a failed search leaves the iterate as it was
    # a stationary start (zero residual, Z = Z^0): zero gradient, nothing to do
    r = ncg(A, Z0 @ A + C, Z0, 1.0, "identity", iters=3, **kw)
    assert (r.status, r.n_iter) == ("converged", 0)


def test_prox_grad_status_says_why_it_stopped():
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp, seed=14)
    assert prox_grad(A, T, Z0, 1.0, "tanh", 0.1, C=C, iters=3).status == "iteration_limit"
    r = prox_grad(A, T, Z0, 1.0, "tanh", 0.1, C=C, tol=1e-8, max_iters=5000)
    assert r.status == "converged"
    r = prox_grad(A, T, Z0, 1.0, "tanh", 0.1, C=C, tol=1e-14, max_iters=2)
    assert (r.status, r.n_iter) == ("iteration_limit", 2)
    r = prox_grad(A, T, Z0, 1.0, "tanh", 0.1, C=C, iters=3, max_backtracks=0)
    assert (r.status, r.n_iter) == ("line_search_failed", 0)


def test_solvers_accept_numpy_scalars_for_counts_and_weights():
    xp = B.get_backend("numpy")
    A, T, Z0, C = _problem(xp, seed=15)
    r = ncg(A, T, Z0, np.float32(0.5), "tanh", C=C, iters=np.int64(3))
    q = ncg(A, T, Z0, 0.5, "tanh", C=C, iters=3)
    assert r.n_iter == 3
    np.testing.assert_array_equal(r.x, q.x)
    r = prox_grad(A, T, Z0, np.float64(0.5), "tanh", np.float32(0.25), C=C, iters=np.int32(2))
    assert r.n_iter == 2
