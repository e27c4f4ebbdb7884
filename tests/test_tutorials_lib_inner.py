"""``tutorials/_lib/inner.py`` (the machinery of tutorials 09–12) against hand-made records
whose answers are known, and each tutorial's ``--replot`` against its committed results:
it must reproduce their numbers from the committed logs alone and run nothing.

Fast and without data: nothing here trains a network or reads MNIST.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tutorial_modules import load_tutorial, tutorials_lib

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tutorials" / "results"


@pytest.fixture
def inner(monkeypatch):
    """``tutorials/_lib/inner.py`` as the tutorials see it: from the folder they sit in."""
    return tutorials_lib(monkeypatch, "inner").inner


def _records(times, accs):
    pairs = enumerate(zip(times, accs, strict=True))
    return [{"epoch": e, "time": t, "train_acc": a} for e, (t, a) in pairs]


def _no(what: str):
    def fail(*a, **k):
        raise AssertionError(f"--replot {what}")

    return fail


# %% 09: equal-time comparisons


def test_each_pair_is_compared_at_the_longest_time_both_settings_ran(inner):
    # 1 step: 2 s in all, reaches 0.9; 3 steps: 4 s in all, 0.6 at 2 s (halfway from 0.2 to 1.0)
    runs = {
        1: inner.as_run(_records([0.0, 1.0, 2.0], [0.1, 0.5, 0.9])),
        3: inner.as_run(_records([0.0, 2.0, 4.0], [0.1, 0.6, 1.0])),
        5: inner.as_run(_records([0.0, 3.0, 6.0], [0.1, 0.4, 0.7])),
    }
    out = inner.summarise([1, 3, 5], runs, n=200, bs=100)
    assert out["t_common"] == 2.0
    assert out["pairs"]["1_vs_3"] == {"time_s": 2.0, "acc_1": 0.9, "acc_3": 0.6}
    assert out["pairs"]["3_vs_5"]["time_s"] == 4.0
    assert out["pairs"]["3_vs_5"]["acc_3"] == 1.0
    assert out["pairs"]["3_vs_5"]["acc_5"] == pytest.approx(0.1 + 0.3 * 4 / 3)
    assert out["summary"][5]["train_acc_at_common_time"] == pytest.approx(0.1 + 0.3 * 2 / 3)
    assert out["summary"][3]["time_to_train_acc"] == {"0.9": 4.0, "0.95": 4.0, "0.99": 4.0}
    assert out["summary"][1]["time_to_train_acc"]["0.95"] is None
    assert out["summary"][3]["s_per_epoch_mean"] == 2.0 and out["summary"][3]["s_per_step"] == 1.0
    assert out["ratios"][5] == [3.0, 3.0]
    assert out["verdict"] == {
        "best_iters_at_common_time": 1,
        "fewer_steps_ahead_in_every_pair_at_equal_time": True,
    }


def test_over_seeds_counts_the_seeds_on_which_fewer_steps_are_ahead(inner):
    def seed(acc_1, acc_3):
        pairs = {"1_vs_3": {"time_s": 1.0, "acc_1": acc_1, "acc_3": acc_3}}
        return {"pairs": pairs, "verdict": {"best_iters_at_common_time": 1}, "t_common": 1.0}

    out = inner.over_seeds({0: seed(0.9, 0.8), 1: seed(0.7, 0.8), 2: seed(0.95, 0.5)})
    p = out["pairs_at_equal_time"]["1_vs_3"]
    assert p["seeds_fewer_ahead"] == 2 and p["seeds"] == 3 == out["seeds"]
    assert p["acc_1_mean_sd"] == pytest.approx([0.85, math.sqrt(0.0175)])
    assert p["acc_3_mean_sd"] == pytest.approx([0.7, math.sqrt(0.03)])


def test_a_seed_file_is_read_back_only_for_its_own_settings(inner, tmp_path):
    S = {"iters": [1, 3], "eta": 10.0, "seed": 0, "data": "Dataset('x', d=4, classes=2, train=6)"}
    path = inner.seed_path(tmp_path, 0)
    records = {1: _records([0.0, 1.0], [0.5, 0.6]), 3: _records([0.0, 2.0], [0.5, 0.7])}
    inner.write_seed(path, S, records)
    assert inner.read_seed(path, S)["records"] == records
    assert inner.read_seed(path, dict(S, eta=1.0)) is None
    assert inner.read_seed(path, dict(S, data="Dataset('synthetic', …)")) is None
    no_data = {k: v for k, v in S.items() if k != "data"}  # a replot: no data loaded
    assert inner.read_seed(path, no_data)["settings"]["data"] == S["data"]
    assert inner.read_seed(inner.seed_path(tmp_path, 1), S) is None


def test_the_data_shape_is_read_from_the_description_and_bad_text_is_named(inner):
    d = "Dataset('mnist', d=784, classes=10, train=2000, test=10000)"
    assert inner.data_shape(d) == (784, 10, 2000)
    with pytest.raises(ValueError, match="description"):
        inner.data_shape("MNIST, 2000 images")


# %% 11: how far a step goes along the exact one


def test_step_ratios_give_the_length_and_the_projection_on_the_exact_step(inner):
    exact = np.array([[3.0, 0.0], [0.0, 4.0]])  # ‖ΔW_*‖ = 5
    side = np.array([[0.0, 5.0], [0.0, 0.0]])  # orthogonal to it, of the same length
    assert inner.step_ratios(exact, exact) == {"length": 1.0, "along": 1.0}
    assert inner.step_ratios(0.2 * exact, exact) == pytest.approx({"length": 0.2, "along": 0.2})
    assert inner.step_ratios(side, exact) == {"length": 1.0, "along": 0.0}
    assert inner.step_ratios(exact + side, exact) == pytest.approx(
        {"length": math.sqrt(2), "along": 1.0}
    )
    assert inner.step_ratios(-exact, exact)["along"] == -1.0
    assert inner.step_ratios(side, 0 * exact) == {"length": None, "along": None}


def test_step_summary_is_the_mean_and_sd_over_seeds_leaving_out_missing_ratios(inner):
    def run(along):
        layer = {"W": {"ncg": {"length": 1.0, "along": along}}}
        return [{"k": 0, "layers": [layer]}]

    S = {"eta_c": [0.1], "stops": [0], "seeds": 3}
    rows = inner.summarise_steps({"0.1/0": run(0.2), "0.1/1": run(0.4), "0.1/2": run(None)}, S,
                                 ("ncg",))  # fmt: skip
    assert rows == [{"eta_c": 0.1, "k": 0, "layer": 1, "solver": "ncg",
                     "length": [1.0, 0.0], "along": [pytest.approx(0.3), pytest.approx(
                         math.sqrt(0.02))]}]  # fmt: skip


# %% 10 and 12: ended logs read back


def test_read_back_finds_the_committed_logs_by_key_and_nothing_else(inner, monkeypatch, tmp_path):
    t10 = load_tutorial("10_authors_solver", monkeypatch)
    args, s = t10.settings(["--replot"])
    cfgs = t10.configs(args, s)
    found = inner.read_back(cfgs, t10.RUNS)
    assert [c for c, _ in found] == cfgs and all(h.done for _, h in found)
    other = t10.configs(args, dict(s, seeds=[7]))
    assert [h for _, h in inner.read_back(other, t10.RUNS)] == [None, None]
    assert [h for _, h in inner.read_back(cfgs[:1], tmp_path)] == [None]


# %% every --replot: the committed numbers again, from the committed logs, running nothing


def _committed(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _as_json(x):
    return json.loads(json.dumps(x, default=float))


def test_inner_iterations_replot_reproduces_the_committed_numbers_and_runs_nothing(
    monkeypatch, tmp_path
):
    t9 = load_tutorial("09_inner_iterations", monkeypatch)
    monkeypatch.setattr(t9, "train_interleaved", _no("trained"))
    monkeypatch.setattr(t9, "data", _no("loaded data"))
    runs = RESULTS / "09_inner_iterations_runs"
    got = t9.main(["--replot", "--runs", str(runs), "--out", str(tmp_path)])
    want = _committed("09_inner_iterations")
    assert _as_json(got["summary"]) == want["summary"]
    assert _as_json(got["pairs"]) == want["pairs_at_equal_time"]
    assert _as_json(got["over_seeds"]) == want["over_seeds"]
    assert (tmp_path / "figures" / "09_inner_iterations.png").is_file()
    assert not (tmp_path / "results" / "09_inner_iterations.json").exists()
    with pytest.raises(SystemExit, match="--replot"):
        t9.main(["--replot", "--runs", str(runs), "--out", str(tmp_path), "--seeds", "9"])


def test_authors_solver_replot_reproduces_the_committed_numbers_and_runs_nothing(
    monkeypatch, tmp_path
):
    t10 = load_tutorial("10_authors_solver", monkeypatch)
    monkeypatch.setattr(t10.common, "run_grid", _no("ran the grid"))
    got = t10.main(["--replot", "--out", str(tmp_path)])
    assert _as_json(got["summary"]) == _committed("10_authors_solver")["summary"]
    assert (tmp_path / "figures" / "10_authors_solver.png").is_file()
    assert not (tmp_path / "results").exists()


def test_inner_step_length_replot_reproduces_the_committed_numbers_and_runs_nothing(
    monkeypatch, tmp_path
):
    t11 = load_tutorial("11_inner_step_length", monkeypatch)
    monkeypatch.setattr(t11, "measure", _no("measured"))
    monkeypatch.setattr(t11, "trajectory", _no("trained"))
    titles = []
    plot = t11.inner.plot_steps
    monkeypatch.setattr(t11.inner, "plot_steps", lambda r, S, lab, title: (
        titles.append(title), plot(r, S, lab, title))[1])  # fmt: skip
    path = RESULTS / "11_inner_step_length.json"
    got = t11.main(["--replot", "--runs", str(path), "--out", str(tmp_path)])
    want = _committed("11_inner_step_length")
    assert _as_json(got["summary"]) == want["summary"]
    assert (tmp_path / "figures" / "11_inner_step_length.png").is_file()
    assert not (tmp_path / "results" / "11_inner_step_length.json").exists()
    # results made before the authors' solver was corrected say so in the figure's title
    measured_before_fix = want["meta"]["date"] < t11.AUTHORS_FIXED[1]
    assert ("FIRST EMULATION" in titles[0]) == measured_before_fix


def test_published_codes_replot_reproduces_the_committed_numbers_and_runs_nothing(
    monkeypatch, tmp_path
):
    t12 = load_tutorial("12_published_codes", monkeypatch)
    monkeypatch.setattr(t12.common, "run_grid", _no("ran the grid"))
    got = t12.main(["--replot", "--out", str(tmp_path)])
    want = _committed("12_published_codes")
    assert _as_json(got["comparisons"]) == want["comparisons"]
    assert _as_json(got["final_test_acc"]) == want["final_test_acc"]
    assert (tmp_path / "figures" / "12_published_codes.png").is_file()
    assert not (tmp_path / "results").exists()


def test_inner_iterations_paper_mode_reads_cifar10_into_the_papers_network(tmp_path, monkeypatch):
    """``--paper`` (C11's own setting: CIFAR-10, 3072-4000-1000-4000-10, meant for a GPU) is
    not trained here; its path up to the first step is: the settings, CIFAR-10 read from
    generated binary batches in ``--data-dir``, and the paper's network built on it."""
    from sibp_ref.data.cifar import CIFAR_TEST, CIFAR_TRAIN
    from tests.data_files import isolate

    isolate(monkeypatch, tmp_path)  # no other data folder is seen
    folder = tmp_path / "c" / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in (*CIFAR_TRAIN, *CIFAR_TEST):  # 2 images per batch file: label byte, 3072 pixels
        rec = np.concatenate(
            [rng.integers(0, 10, (2, 1)), rng.integers(0, 256, (2, 3072))], axis=1
        ).astype(np.uint8)
        (folder / name).write_bytes(rec.tobytes())
    t9 = load_tutorial("09_inner_iterations", monkeypatch)
    args, S = t9.settings(["--paper", "--data-dir", str(tmp_path / "c"), "--out", str(tmp_path)])
    assert S["mode"] == "paper" and S["dataset"] == "cifar10" and S["epochs"] == 10
    ds, net = t9.data(args, S)
    assert net.sizes == [3072, 4000, 1000, 4000, 10]
    assert ds.n_train == 2 * len(CIFAR_TRAIN) and ds.n_test == 2 * len(CIFAR_TEST)
