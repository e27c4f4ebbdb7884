"""The machinery tutorial 02 imports from ``tutorials/_lib/toy.py`` (§5.1, Figure 3): SIBP's
first step against its ridge closed form and an independent forward pass, the halving count
against :func:`sibp_ref.iterations_to_halve`, the blow-up rule against the committed record,
the medians and the JSON form of "not halved".

Fast: a few hundred scalar steps at most.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest
from tutorial_modules import tutorials_lib

from sibp_ref import BP, SIBP, iterations_to_halve, toy_problem

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "tutorials" / "results" / "02_toy_problem.json"


@pytest.fixture
def toy(monkeypatch):
    """``tutorials/_lib/toy.py`` as the tutorial sees it (from the tutorials' folder)."""
    return tutorials_lib(monkeypatch, "toy").toy


def _settings(toy, quick: bool = True):
    return toy.settings(argparse.Namespace(quick=quick, backend="numpy"))


def test_sibps_first_step_is_the_ridge_closed_form_with_the_effective_step_alpha(toy):
    """(4.1) for a scalar layer: ``Δw_i = −α_i ⟨δ_{i+1}, F_i⟩``, ``α_i = 2λη/(1 + 2λ‖F_i‖²)``,
    with ``‖F_i‖²`` from a forward pass written here: ``F_1 = x``, ``F_{i+1} = w_i F_i``."""
    C = _settings(toy)
    r = toy.first_step_check(C, toy.SIBP_PAPER)
    assert r["closed_form_max_rel_err"] < 1e-8
    _, params, X, _ = toy_problem(seed=0)
    w = [float(W[0, 0]) for W, _ in params]
    F = np.asarray(X, dtype=float)[0]
    energy = []
    for wi in w:
        energy.append(float(np.sum(F**2)))
        F = wi * F
    eta, lam = toy.SIBP_PAPER["eta"], toy.SIBP_PAPER["lam"]
    alpha = [2 * lam * eta / (1 + 2 * lam * e) for e in energy]
    assert r["input_energy_||F_i||^2"] == pytest.approx(energy, rel=1e-12)
    assert r["alpha_i"] == pytest.approx(alpha, rel=1e-12)
    # the top layer's input is tiny: its step is the gradient step −2λη ∂F/∂w_7; the first
    # layer's input is O(1): its step is a small fraction of it
    assert r["ratio_sibp_to_2lam_eta_grad"][6] == pytest.approx(1.0, abs=1e-3)
    assert abs(r["ratio_sibp_to_2lam_eta_grad"][0]) < 1e-5


@pytest.mark.parametrize("batch", [None, 1])
def test_the_halving_count_of_a_run_is_the_packages_iterations_to_halve(toy, batch):
    C = _settings(toy)
    for method in (SIBP(**toy.SIBP_PAPER), BP(lr=0.03)):
        got = toy.run(C, method, 3, batch, 300, after_halved=0)
        want = iterations_to_halve(method, toy_problem(seed=3), 300, batch=batch, seed=3)
        assert got["halved"] == want and not got["blew_up"]
        if math.isfinite(want):  # stopped right at the halving, loss at most half the start
            assert len(got["loss"]) == want + 1 and got["loss"][-1] <= got["loss"][0] / 2


def test_sgd_at_lr_1_blows_up_where_the_committed_full_run_recorded(toy):
    """Full batch, seed 0: the committed run rejected lr 1 at iteration 319, unhalved."""
    record = json.loads(COMMITTED.read_text(encoding="utf-8"))["settings"]
    record = record["sgd_rates_rejected"]["full"]["1"]
    C = _settings(toy)
    r = toy.run(C, BP(lr=1.0), record["seed"], None, 400, after_halved=C.AFTER)
    assert r["blew_up"] and len(r["loss"]) - 1 == record["blew_up_at_iteration"] == 319
    assert r["loss"][-1] > toy.BLOWUP * r["loss"][0] or not math.isfinite(r["loss"][-1])
    assert math.isinf(r["halved"]) and record["halved_before_at"] == "inf"


def test_the_median_leaves_out_blown_up_seeds_and_counts_unhalved_ones_as_infinite(toy):
    s = toy.summary([-1, math.inf, 5, 7, 9, -1])
    assert s["counts"] == ["blew up", "not halved", 5, 7, 9, "blew up"]
    assert s["median_over_runs_not_blown_up"] == 8.0  # median of (5, 7, 9, inf)
    assert (s["halved"], s["blew_up"], s["seeds"]) == (3, 2, 6)
    assert toy.summary([-1, -1])["median_over_runs_not_blown_up"] is None
    assert math.isinf(toy.summary([math.inf, math.inf, 3])["median_over_runs_not_blown_up"])


def test_the_ratio_is_sgds_median_over_tuned_sibps_and_none_when_one_is_missing(toy):
    halve = {
        "SGD lr=0.01, full": [100, 300, 200],
        f"{toy.TUNED}, full": [4, 2, 3],
        "SGD lr=0.03, stochastic": [-1, -1],
        f"{toy.TUNED}, stochastic": [10],
    }
    _, ratios = toy.medians(halve, {"full": 0.01, "stochastic": 0.03})
    assert ratios == {"full": pytest.approx(200 / 3), "stochastic": None}


def test_infinity_is_written_as_a_string_for_json(toy):
    out = toy.no_inf({"a": [math.inf, 1.0, (-math.inf, 2)], "b": {"c": math.inf}, "d": "x"})
    assert out == {"a": ["inf", 1.0, ["-inf", 2]], "b": {"c": "inf"}, "d": "x"}
    json.dumps(out, allow_nan=False)


def test_the_committed_medians_are_the_medians_of_the_committed_counts(toy):
    res = json.loads(COMMITTED.read_text(encoding="utf-8"))
    for key, s in res["iterations_to_halve"].items():
        counts = [
            -1 if k == "blew up" else (math.inf if k == "not halved" else k) for k in s["counts"]
        ]
        again = toy.no_inf(toy.summary(counts))
        assert again == s, key
