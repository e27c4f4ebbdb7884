"""Issue 7: no host synchronisation inside a training step.

On a GPU every ``bool``/``float``/``int`` of a device array waits for the queue of
launched kernels to drain: a step with a dozen of them runs at the speed of the launch
latency, not of the GPU (measured on an H100: SIBP with 5 NCG steps at 23× a BP step
with the per-trial Armijo test on the host, 2.7× on the CPU). The oracle here is the
array itself: on ``array_api_strict`` every conversion of an array to a Python value
goes through one of the methods below, so counting their calls counts the
synchronisations a device backend would make, whatever the code path.
"""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import backend as B
from sibp_ref.network import MLP
from sibp_ref.proxbp import ProxBP
from sibp_ref.ridge import prox_ridge_cg
from sibp_ref.sibp import SIBP
from sibp_ref.solvers import exact, ncg, prox_grad, prox_objective

strict = pytest.importorskip("array_api_strict")
Array = strict._array_object.Array

# every way an array becomes a host value (or a host buffer)
CONVERSIONS = ("__bool__", "__float__", "__int__", "__index__", "__complex__", "__array__")


class SyncCounter:
    """Counts conversions of ``array_api_strict`` arrays to host values while active."""

    def __init__(self, monkeypatch):
        self.count = 0
        self.calls: list[str] = []
        for name in CONVERSIONS:
            if hasattr(Array, name):
                monkeypatch.setattr(Array, name, self._wrap(name, getattr(Array, name)))

    def _wrap(self, name, method):
        def counted(arr, *args, **kwargs):
            self.count += 1
            self.calls.append(name)
            return method(arr, *args, **kwargs)

        return counted


@pytest.fixture
def syncs(monkeypatch):
    return SyncCounter(monkeypatch)


def _batch(sizes, n, seed=0):
    xp = B.get_backend("array_api_strict")
    rng = np.random.default_rng(seed)
    X = B.asarray(rng.uniform(0, 1, size=(sizes[0], n)), xp, dtype="float32")
    labels = rng.integers(0, sizes[-1], n)
    Y = B.asarray(np.eye(sizes[-1])[:, labels], xp, dtype="float32")
    return xp, X, Y


def _steps(method, sizes, n, activation="sigmoid", steps=3):
    xp, X, Y = _batch(sizes, n)
    net = MLP(sizes, activation)
    params = net.init(0, 0.3, xp, "float32")
    state = method.init(net, params)
    for _ in range(steps):
        params, state = method.step(net, params, state, X, Y)
    return params


def test_counter_sees_a_host_sync(syncs):
    """The oracle can fail: one ``bool`` of a 0-d array is counted."""
    xp = B.get_backend("array_api_strict")
    assert bool(xp.asarray(1.0) > 0)
    assert float(xp.asarray(2.0)) == 2.0
    assert syncs.count == 2


# Batch 4 below the layer widths runs NCG and CG in the coefficient space, batch 40
# above them in the primal form: both code paths of every solver.
@pytest.mark.parametrize("n", [4, 40])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("solver", ["ncg", "ncg_pr"])
def test_sibp_fixed_iteration_step_has_no_host_sync(syncs, n, activation, solver):
    """Algorithm 1 with NCG (5 iterations, Armijo backtracking): zero host syncs."""
    params = _steps(SIBP(eta=10.0, lam=0.5, solver=solver), [12, 10, 8, 3], n, activation)
    assert syncs.count == 0, syncs.calls
    assert all(bool(B.is_finite(W)) for W, _ in params)


@pytest.mark.parametrize("n", [4, 40])
@pytest.mark.parametrize("solver", ["exact", "cg"])
def test_proxbp_step_has_no_host_sync(syncs, n, solver):
    """ProxBP, Cholesky or 5 CG iterations per layer: zero host syncs."""
    _steps(ProxBP(eta=1.0, lam=0.5, solver=solver), [12, 10, 8, 3], n)
    assert syncs.count == 0, syncs.calls


@pytest.mark.parametrize("n", [4, 40])
def test_ridge_cg_fixed_iterations_has_no_host_sync(syncs, n):
    xp, A, _ = _batch([12, 3], n)
    T = A[:5, :] * 0.5
    theta0 = xp.zeros((5, 12), dtype=xp.float32)
    for form in ("primal", "dual"):
        prox_ridge_cg(A, T, theta0, 0.7, 5, form=form)
    assert syncs.count == 0, syncs.calls


def _backtracking_problem(xp, seed):
    """ReLU subproblems whose quadratic-model trial fails Armijo at some iteration (found
    by search: seed 3 at iteration 6 with λ = 1, seed 5 at iterations 7 and 8, λ = 100)."""
    rng = np.random.default_rng(seed)
    A = B.asarray(rng.normal(size=(12, 6)), xp)
    T = B.asarray(rng.uniform(0.1, 0.9, (5, 6)), xp)
    Z0 = B.asarray(rng.normal(scale=2.0, size=(5, 12)), xp)
    return A, T, Z0, {3: 1.0, 5: 100.0}[seed]


@pytest.mark.parametrize("form", ["primal", "dual"])
def test_ncg_fixed_iterations_has_no_host_sync_even_when_backtracking(syncs, form):
    xp = B.get_backend("array_api_strict")
    for seed in (3, 5):
        A, T, Z0, lam = _backtracking_problem(xp, seed)
        for beta in ("fr", "pr"):
            ncg(A, T, Z0, lam, "relu", iters=8, beta=beta, form=form)
    assert syncs.count == 0, syncs.calls


@pytest.mark.parametrize("form", ["primal", "dual"])
def test_ncg_rejected_trial_is_never_an_iterate(form):
    """A rejected trial leaves Z where it was: with the last trial rejected (seed 5,
    iterations 7 and 8), 6, 7 and 8 iterations return the same Z, G = ZA stays
    consistent, and φ never increases from one iteration count to the next."""
    xp = B.get_backend("numpy")
    A, T, Z0, lam = _backtracking_problem(xp, 5)
    phis, xs = [], []
    for iters in range(1, 9):
        r = ncg(A, T, Z0, lam, "relu", iters=iters, form=form)
        np.testing.assert_allclose(r.G, r.x @ A, atol=1e-10)
        phis.append(float(prox_objective(r.x, A, T, Z0, lam, "relu")))
        xs.append(r.x)
    assert all(b <= a for a, b in zip(phis[:-1], phis[1:], strict=True)), phis
    assert phis[5] < phis[4]  # iteration 6 was accepted ...
    np.testing.assert_allclose(xs[6], xs[5], atol=1e-12)  # ... 7 and 8 were not
    np.testing.assert_allclose(xs[7], xs[5], atol=1e-12)


@pytest.mark.xfail(
    strict=True,
    reason="prox_grad still decides each backtracking trial on the host: one trial per "
    "iteration starting from t = lam (the NCG scheme) left SIBP(l1=1e-4) untrained on "
    "MNIST (loss 2.31 against 0.76 after 300 steps), so it keeps its syncs for now",
)
def test_prox_grad_fixed_iterations_has_no_host_sync(syncs):
    """Remark 4.1's ℓ1 subproblem with a fixed number of proximal-gradient steps."""
    xp, A, _ = _batch([12, 3], 6, seed=4)
    T = A[:5, :] * 0.5
    Z0 = xp.ones((5, 12), dtype=xp.float32)
    prox_grad(A, T, Z0, 0.5, "sigmoid", 0.1, iters=5)
    prox_grad(A, T, Z0, 1e3, "sigmoid", 0.1, iters=5)  # backtracking
    assert syncs.count == 0, syncs.calls


def test_tolerance_modes_sync_once_per_iteration(syncs):
    """The solvers that iterate to a tolerance need the host to decide when to stop:
    a bounded number of syncs per iteration (here: at most 2), nothing per trial step."""
    xp, A, _ = _batch([12, 3], 6, seed=5)
    T = A[:5, :] * 0.5
    Z0 = xp.zeros((5, 12), dtype=xp.float32)
    r = exact(A, T, Z0, 0.5, "sigmoid", tol=1e-5, max_iters=40)
    assert syncs.count <= 2 * (r.n_iter + 2), syncs.calls
