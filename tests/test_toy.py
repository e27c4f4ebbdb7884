"""The toy problem of §5.1 and claim C5: SIBP leaves the vanishing-gradient region far
sooner than SGD (the paper: about 10 steps against 1000)."""

from __future__ import annotations

import numpy as np
import pytest

from sibp_ref import BP
from sibp_ref import backend as B
from sibp_ref.methods.sibp import SIBP
from sibp_ref.toy import iterations_to_halve, toy_problem

# SIBP on the toy problem: a small η (Theorem 4.1) and a large λ (the implicit step is
# stable for any λ), so that 2λη = 200. SGD here counts as stable at a rate when it does
# not blow up before the loss halves (~0.03); tutorial 02 also asks it to stay bounded
# for 2000 iterations after halving, which leaves 0.01 (0.03 blows up after escaping).
SIBP_TOY = dict(eta=2e-4, lam=5e5)
SGD_RATES = (0.3, 0.1, 0.03, 0.01)  # tried from the largest down


def test_toy_problem_is_the_papers_deep_scalar_linear_network(xp):
    net, params, X, Y = toy_problem(seed=3, xp=xp)
    assert net.sizes == [1] * 8 and net.sigma.name == "identity" and not net.bias
    assert tuple(X.shape) == (1, 10) and tuple(Y.shape) == (1, 10)
    w = np.array([B.to_float(W[0, 0]) for W, _ in params])
    x, y = B.to_numpy(X)[0], B.to_numpy(Y)[0]
    # F(w) = Σ_i (w_7 ⋯ w_1 x_i − y_i)², a plain sum (§5.1)
    np.testing.assert_allclose(
        B.to_float(net.loss(params, X, Y)), np.sum((np.prod(w) * x - y) ** 2), rtol=1e-13
    )
    # with y = x and every w_j = w it is Figure 2's f(w) = (w^7 − 1)², times Σ x²
    for v in (0.5, 0.9, 1.1):
        same = [(B.asarray([[v]], xp, dtype="float64"), None) for _ in range(7)]
        np.testing.assert_allclose(
            B.to_float(net.loss(same, X, Y)), np.sum(x**2) * (v**7 - 1) ** 2, rtol=1e-12
        )


def test_toy_problem_exposes_the_init_reading():
    """init_std is the standard deviation of w_j ~ N(0.15, ·); the same seed scales the
    same draws, so the std-0.01 and variance-0.01 readings differ by a factor 10."""
    a = toy_problem(seed=5, init_std=0.01)
    b = toy_problem(seed=5, init_std=0.1)
    wa = np.array([W[0, 0] for W, _ in a.params]) - 0.15
    wb = np.array([W[0, 0] for W, _ in b.params]) - 0.15
    np.testing.assert_allclose(wb, 10 * wa, rtol=1e-12)
    np.testing.assert_array_equal(a.X, b.X)
    with pytest.raises(ValueError, match="data"):
        toy_problem(data="cauchy")
    with pytest.raises(ValueError, match="init_std"):
        toy_problem(init_std=-0.1)


def _best_stable_sgd(problems, batch=None, max_iters=20_000):
    """The largest rate of SGD_RATES at which SGD blows up on none of the problems, and
    its iteration counts (``inf`` where the loss is not halved within ``max_iters``)."""
    for lr in SGD_RATES:
        counts = []
        for i, prob in enumerate(problems):
            k = iterations_to_halve(BP(lr=lr), prob, max_iters, batch=batch, seed=i)
            if k < 0:
                break
            counts.append(k)
        else:
            return lr, counts
    raise AssertionError("no stable SGD rate on the grid")


def test_C5_sibp_halves_the_toy_loss_in_30_steps_where_sgd_needs_more_than_1000():
    """Full batch, w_j ~ N(0.15, 0.01) (std), three seeds; the default suite's short form.

    SGD runs at lr 0.03, the largest rate of ``SGD_RATES`` that blows up on none of these
    problems, which the slow test below finds by search (0.3 and 0.1 blow up on seed 0);
    here it only has to fail to halve the loss within 1000 steps (the paper: "only after
    1000 steps"), so the test costs 3000 SGD steps instead of the search's 60 000+.
    """
    problems = [toy_problem(seed=s) for s in (0, 1, 2)]
    sibp = [iterations_to_halve(SIBP(**SIBP_TOY), p, 1000) for p in problems]
    sgd = [iterations_to_halve(BP(lr=0.03), p, 1000, seed=i) for i, p in enumerate(problems)]
    print(f"\nC5 full batch: SIBP {sibp}, SGD (lr=0.03) {sgd} (inf: not halved in 1000)")
    assert all(0 < k <= 30 for k in sibp)  # the paper: "after 10 steps"
    assert all(k == float("inf") for k in sgd)


@pytest.mark.slow
def test_C5_sibp_halves_the_toy_loss_far_sooner_than_sgd():
    """Full batch, w_j ~ N(0.15, 0.01) (std), three data/initialisation seeds; SGD at the
    largest rate of ``SGD_RATES`` that blows up on none of them, run until it halves."""
    problems = [toy_problem(seed=s) for s in (0, 1, 2)]
    sibp = [iterations_to_halve(SIBP(**SIBP_TOY), p, 1000) for p in problems]
    lr, sgd = _best_stable_sgd(problems)
    ratio = np.median(sgd) / np.median(sibp)
    print(f"\nC5 full batch: SIBP {sibp}, SGD (lr={lr}) {sgd}, ratio {ratio:.0f}")
    assert all(0 < k <= 30 for k in sibp)  # the paper: "after 10 steps"
    assert np.median(sgd) >= 1000  # the paper: "only after 1000 steps"
    assert ratio >= 100


@pytest.mark.slow
@pytest.mark.parametrize("init_std", [0.01, 0.1])
@pytest.mark.parametrize("batch", [None, 1])
def test_C5_holds_for_both_init_readings_and_stochastic_batches(init_std, batch):
    problems = [toy_problem(seed=s, init_std=init_std) for s in range(1, 6)]
    sibp = [
        iterations_to_halve(SIBP(**SIBP_TOY), p, 2000, batch=batch, seed=i)
        for i, p in enumerate(problems)
    ]
    lr, sgd = _best_stable_sgd(problems, batch=batch, max_iters=60_000)
    ratio = np.median(sgd) / np.median(sibp)
    print(
        f"\nC5 init_std={init_std} batch={batch}: SIBP {sibp}, SGD (lr={lr}) {sgd}, "
        f"ratio {ratio:.0f}"
    )
    assert all(k > 0 for k in sibp)
    assert ratio >= 30
