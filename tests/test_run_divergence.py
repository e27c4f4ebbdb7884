"""Every divergence is named, never a crash (:func:`sibp_ref.run.loop.advance`).

A run ends ``diverged``, with a reason that says where and why and its last good parameters,
when a step raises on a NaN inside an inner solver, when its method state stops being finite,
and when its training loss grows past :data:`~sibp_ref.run.loop.GROWTH` times its start; a
step that fails otherwise on finite parameters is a bug, and is raised. The bound flags no
committed run (every log under ``tutorials/results``).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

from sibp_ref.methods import BP
from sibp_ref.network import MLP
from sibp_ref.run import RunConfig, read_log, run_config, train
from sibp_ref.run.loop import GROWTH, blown_up

ROOT = Path(__file__).resolve().parents[1]


def small_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((5, 40))
    Y = np.eye(3)[:, rng.integers(0, 3, 40)]
    net = MLP([5, 4, 3])
    return net, net.init(seed=seed, std=0.3, dtype="float64"), (X, Y)


class FailingBP(BP):
    """BP whose ``fail_at``-th step raises ``error`` (the parameters stay finite)."""

    def __init__(self, error: Exception, fail_at: int = 3) -> None:
        super().__init__(lr=0.1)
        self.error, self.fail_at, self.calls = error, fail_at, 0

    def step(self, net, params, state, X, Y, **kw):
        self.calls += 1
        if self.calls == self.fail_at:
            raise self.error
        return super().step(net, params, state, X, Y, **kw)


class NaNStateBP(BP):
    """BP whose state holds a NaN after its first step, its parameters finite."""

    def init(self, net, params):
        return {"inner": np.zeros(2), "base": super().init(net, params)}

    def step(self, net, params, state, X, Y, **kw):
        params, base = super().step(net, params, state["base"], X, Y, **kw)
        return params, {"inner": np.array([0.0, math.nan]), "base": base}


@pytest.mark.parametrize("method", ["proxbp", "sibp"])
def test_a_float32_blow_up_to_1e24_ends_diverged_not_finished(method, tmp_path):
    cfg = RunConfig(method=method, hyper={"eta": 1e10, "lam": 1e6}, dtype="float32", epochs=3,
                    n_train=200, hidden=(16,))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        h = run_config(cfg, log=tmp_path / "r.jsonl")
    assert h.status == "diverged", h.reason
    start, last = h.records[0]["train_loss"], h.records[-1]["train_loss"]
    assert math.isfinite(last) and last > GROWTH * start  # a finite blow-up, not a NaN
    assert "training loss" in h.reason and "times" in h.reason and "epoch 1" in h.reason
    assert math.isnan(h.records[-1]["train_acc"])  # no accuracy of the broken network
    assert h.params_epoch == 0  # the last good parameters: those before the blow-up
    assert read_log(tmp_path / "r.jsonl").status == "diverged"


def test_a_nan_inside_a_step_ends_diverged_with_its_reason():
    net, p, data = small_problem()
    method = FailingBP(ValueError("cannot convert float NaN to integer"))
    h = train(net, method, p, data, epochs=4, batch_size=10, grad_norm=False)
    assert h.status == "diverged"
    assert "step 3" in h.reason and "cannot convert float NaN to integer" in h.reason
    assert h.params_epoch == 0 and h.end["diverged_at"] == {"epoch": 1, "step": 3}


def test_a_non_finite_method_state_ends_diverged_and_keeps_the_last_good_params():
    net, p, data = small_problem()
    h = train(net, NaNStateBP(lr=0.1), p, data, epochs=3, batch_size=10, grad_norm=False)
    assert h.status == "diverged" and "method state are not finite" in h.reason
    assert h.params_epoch == 0
    for (W, b), (W0, b0) in zip(h.params, p, strict=True):
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(b, b0)


def test_a_step_that_fails_otherwise_on_finite_params_is_raised_as_a_bug():
    net, p, data = small_problem()
    with pytest.raises(ValueError, match="some bug"):
        train(net, FailingBP(ValueError("some bug")), p, data, epochs=2, batch_size=10)


def test_growth_bound_is_relative_to_the_start_and_at_least_growth():
    assert not blown_up(GROWTH * 2.0, 2.0) and blown_up(GROWTH * 2.0 * 1.01, 2.0)
    assert not blown_up(GROWTH * 0.99, 1e-9) and blown_up(GROWTH * 1.01, 1e-9)


def committed_growth() -> list[tuple[float, str]]:
    """(max over epochs of L_e / max(L_0, 1), file) for every committed log."""
    out = []
    for f in sorted((ROOT / "tutorials" / "results").glob("**/*.jsonl")):
        start, worst = None, 0.0
        for line in f.read_text().splitlines():
            ev = json.loads(line) if line.strip() else {}
            loss = ev.get("train_loss")
            if ev.get("event") != "epoch" or not isinstance(loss, float) or not math.isfinite(loss):
                continue
            if ev["epoch"] == 0:
                start = loss
            elif start is not None:
                worst = max(worst, loss / max(start, 1.0))
        out.append((worst, f.name))
    return out


def test_growth_bound_flags_no_committed_run():
    growth = committed_growth()
    assert len(growth) > 100  # the logs are there
    worst, name = max(growth)
    assert worst < GROWTH / 1e4, name  # the margin the docstring of GROWTH states
