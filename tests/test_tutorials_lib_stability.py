"""The machinery tutorial 04 imports from ``tutorials/_lib/stability.py``: the cell of a run,
the summary, Theorem 4.1's monotonicity test against the committed numbers, and ``--replot``,
which redraws the three figures from the committed results file and runs nothing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from tutorial_modules import load_tutorial, tutorials_lib

from sibp_ref import make_method

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "tutorials" / "results" / "04_stability.json"


@pytest.fixture
def stability(monkeypatch):
    """``tutorials/_lib/stability.py`` as the tutorial sees it (from the tutorials' folder)."""
    return tutorials_lib(monkeypatch, "stability").stability


def _history(losses: list[float], diverged: bool = False):
    """A stand-in for a run's History: its first and last records, and the flag."""
    final = {"train_loss": losses[-1], "train_acc": 0.5, "test_acc": 0.4, "time": 1.0}
    return SimpleNamespace(records=[{"train_loss": losses[0]}], final=final, diverged=diverged)


def test_a_cells_effective_step_is_two_lambda_eta_and_learned_means_the_loss_halved(stability):
    cell = stability.outcome({"eta": 10.0, "lam": 0.1}, _history([2.3, 1.14]))
    assert cell["effective_step"] == pytest.approx(2.0)  # 2λη
    assert cell["learned"] and not cell["diverged"]
    assert not stability.outcome({"lr": 1.0}, _history([2.3, 1.16]))["learned"]  # 1.16 > 2.3/2
    assert stability.outcome({"lr": 3.0}, _history([2.3, 1.0]))["effective_step"] == 3.0
    gone = stability.outcome({"lr": 100.0}, _history([2.3, float("nan")]))
    assert gone["diverged"] and not gone["learned"] and gone["train_loss"] is None


def test_the_summary_of_the_committed_grid_is_the_committed_summary(stability):
    res = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert stability.summarise(res["panel1"]) == res["summary"]
    sibp = [c for row in res["panel1"]["sibp"] for c in row]
    assert res["summary"]["sibp"]["learned"] == sum(
        c["train_loss"] < c["initial_loss"] / 2 for c in sibp
    )


@pytest.mark.parametrize("lr", [1.0, 10.0])
def test_full_batch_gradient_descent_reproduces_the_committed_monotonicity(stability, lr):
    """Theorem 4.1's panel: GD on the panel's problem gives the committed status and final J."""
    res = json.loads(COMMITTED.read_text(encoding="utf-8"))
    steps = res["settings"]["panel2"]["steps"]
    want = next(c for c in res["panel2"]["sgd"][0] if c["lr"] == lr)
    net, params0, data = stability.monotone_problem()
    got = stability.monotone_run(net, make_method("sgd", lr=lr), params0, data, steps)
    assert got["status"] == want["status"] and got["increases"] == want["increases"]
    assert got["J_end"] == pytest.approx(want["J_end"], rel=1e-9)


def test_replot_redraws_the_three_figures_from_the_results_file_and_runs_nothing(
    tmp_path, monkeypatch
):
    t4 = load_tutorial("04_stability", monkeypatch)
    (tmp_path / "results").mkdir()
    shutil.copy(COMMITTED, tmp_path / "results" / COMMITTED.name)

    def ran(*a, **k):
        raise AssertionError("--replot ran something")

    for mod, name in (
        (t4.common, "run_grid"),
        (t4.stability, "train"),
        (t4.stability, "make_method"),
    ):
        monkeypatch.setattr(mod, name, ran)
    out = t4.main(["--replot", "--out", str(tmp_path)])
    pngs = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert pngs == [f"04_stability_{n}.png" for n in ("effective_step", "grid", "monotone")]
    assert (tmp_path / "results" / COMMITTED.name).read_bytes() == COMMITTED.read_bytes()
    assert out["summary"] == json.loads(COMMITTED.read_text(encoding="utf-8"))["summary"]


def test_replot_without_a_results_file_says_which_file_is_missing(tmp_path, monkeypatch):
    t4 = load_tutorial("04_stability", monkeypatch)
    with pytest.raises(SystemExit, match="04_stability.json is missing"):
        t4.main(["--replot", "--out", str(tmp_path)])
