"""The machinery tutorials 06 (deep network, C7) and 07 (small samples, C8, C9) import from
``tutorials/_lib``: the run keys against the committed logs they must find, the numbers of the
notes against what the logs give, the verdict, the spread over seeds and the figure's styles.

Without data: the replots read committed logs only, and the one run here is on the synthetic set.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
from tutorial_modules import load_tutorial, tutorials_lib

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def lib(monkeypatch):
    """``tutorials/_lib`` as the tutorials see it: imported from the folder they sit in."""
    return tutorials_lib(monkeypatch, "deep", "notes", "small_samples")


def _no_runs(*a, **k):
    raise AssertionError("a replot ran the grid")


# %% run keys: the committed logs are found by them, so they must not change
def test_deep_network_keys_find_the_12_committed_paper_logs(lib, monkeypatch):
    t6 = load_tutorial("06_deep_network", monkeypatch)
    args, s = t6.settings([*lib.deep.COMMITTED_PAPER, "--replot"])
    keys = {c.key() for c in lib.deep.configs(args, s)}
    logs = {p.stem for p in lib.deep.PAPER_RUNS.glob("*.jsonl")}
    assert len(keys) == 12 and keys == logs


def test_small_samples_keys_find_the_40_committed_logs_of_five_seeds(lib, monkeypatch):
    t7 = load_tutorial("07_small_samples", monkeypatch)
    args, s = t7.settings(["--replot"])
    ss = lib.small_samples
    keys = {
        c.key() for e in s["experiments"] for seed in range(5) for c in ss.configs(args, s, e, seed)
    }
    logs = {p.stem for p in ss.RUNS.glob("*.jsonl")}
    assert len(keys) == 40 and keys <= logs  # the folder also holds tutorial 12's runs
    assert ss.seeds_found(args, s, ss.RUNS) == [0, 1, 2, 3, 4]


# %% the notes' numbers are what the committed logs give
def test_deep_network_replot_writes_the_notes_numbers_from_the_committed_records(
    lib, monkeypatch, tmp_path
):
    t6 = load_tutorial("06_deep_network", monkeypatch)
    monkeypatch.setattr(t6.common, "run_grid", _no_runs)
    got = t6.main(["--replot", "--out", str(tmp_path)])
    notes = ROOT / "figures" / "06_deep_network.md"
    for name in ["06_deep_network_paper", *lib.deep.COMMITTED_SUMMARIES]:
        alone = (tmp_path / "figures" / f"{name}_numbers.md").read_text(encoding="utf-8")
        assert alone == lib.notes.read_block(notes, name), name
        assert (tmp_path / "figures" / f"{name}.png").is_file()
    again = json.loads(got["results"].read_text())
    committed = json.loads((ROOT / "tutorials/results/06_deep_network_paper.json").read_text())
    assert again["runs"] == committed["runs"] and again["verdict"] == committed["verdict"]
    assert again["verdict"]["C7_sibp_trains_at_all_three"] is True


def test_small_samples_replot_writes_the_notes_numbers_from_the_committed_logs(
    lib, monkeypatch, tmp_path
):
    t7 = load_tutorial("07_small_samples", monkeypatch)
    monkeypatch.setattr(t7.common, "run_grid", _no_runs)
    got = t7.main(["--replot", "--out", str(tmp_path)])
    block = lib.notes.read_block(ROOT / "figures" / "07_small_samples.md", "07_small_samples")
    assert got["numbers"].read_text(encoding="utf-8") == block
    committed = json.loads((ROOT / "tutorials/results/07_small_samples.json").read_text())
    for k, x in got["out"].items():
        assert json.loads(json.dumps(x["seed_spread"])) == committed["results"][k]["seed_spread"]


def test_small_samples_replot_reads_the_seeds_back_and_runs_nothing(lib, monkeypatch, tmp_path):
    t7 = load_tutorial("07_small_samples", monkeypatch)
    out = [
        "--quick",
        "--out",
        str(tmp_path),
        "--data-dir",
        str(tmp_path / "none"),
        "--workers",
        "1",
    ]
    first = t7.main([*out, "--seeds", "2"])["out"]
    monkeypatch.setattr(t7.common, "run_grid", _no_runs)
    again = t7.main([*out, "--replot"])["out"]  # the seeds come from the logs
    for k in first:
        assert again[k]["seed_spread"] == first[k]["seed_spread"]
        assert again[k]["seed_spread"]["sibp"]["seeds"] == 2


# %% the rules
def test_first_epoch_above_is_the_first_at_or_over_the_level(lib):
    f = lib.deep.first_epoch_above
    assert f([0.1, np.nan, 0.79, 0.8, 0.5, 0.9], 0.8) == 3  # at the level counts, NaN does not
    assert f([0.1, 0.2], 0.8) is None


def _rows(trains: dict) -> list[dict]:
    """Rows of the three paper inits, ``trains[(std, method)]`` the final training accuracy."""
    return [
        {"init_std": std, "method": m, "hyper": {"lr": 0.1} if m == "sgd" else {},
         "trains": acc >= 0.5}
        for (std, m), acc in trains.items()
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("sgd", "sibp", "confirmed"),
    [((0.1, 0.1, 0.9), (0.9, 0.9, 0.9), True), ((0.1, 0.9, 0.9), (0.9, 0.9, 0.9), False),
     ((0.1, 0.1, 0.1), (0.9, 0.9, 0.9), False), ((0.1, 0.1, 0.9), (0.1, 0.9, 0.9), False)],
)  # fmt: skip
def test_c7_needs_sibp_at_all_three_and_sgd_failing_at_the_first_two_only(
    lib, sgd, sibp, confirmed
):
    stds = lib.deep.PAPER_STDS
    s = {"paper_inits": stds, "inits": stds, "sgd_lrs": [0.1]}
    acc = {(v, "sgd"): a for v, a in zip(stds, sgd, strict=True)}
    acc |= {(v, "sibp"): a for v, a in zip(stds, sibp, strict=True)}
    assert lib.deep.verdict(_rows(acc), s)["C7_confirmed"] is confirmed
    del acc[(stds[0], "sibp")]  # a run that has not ended: no verdict
    assert lib.deep.verdict(_rows(acc), s)["C7_confirmed"] is None


def test_gain_scale_keeps_each_layers_variance_gain(lib):
    for w in (32, 100, 600):
        assert w * (0.01 * lib.deep.gain_scale(w)) ** 2 == pytest.approx(600 * 0.01**2)
    assert lib.deep.gain_scale(100, raw=True) == 1.0
    with pytest.raises(ValueError, match="width"):
        lib.deep.gain_scale(0)


def test_summarise_refuses_a_log_whose_epochs_are_not_consecutive(lib):
    from sibp_ref import History

    cfg = argparse.Namespace(key=lambda: "sgd-x")
    h = History({}, [{"epoch": e, "train_acc": 0.1} for e in (0, 1, 3)], status="finished")
    with pytest.raises(ValueError, match="not 0, 1, 2"):
        lib.deep.summarise([(cfg, h)])


def test_seed_spread_is_the_mean_and_sample_sd_and_counts_sibps_wins(lib):
    def seed(te_sibp, te_sgd):
        return [
            {"method": m, "final_train_acc": 1.0, "final_test_acc": te, "time_s": 2.0,
             "first_epoch_99pct_train": None}
            for m, te in (("sgd", te_sgd), ("proxbp", 0.5), ("bcd", 0.5), ("sibp", te_sibp))
        ]  # fmt: skip

    out = lib.small_samples.seed_spread([seed(0.96, 0.95), seed(0.94, 0.95), seed(0.97, 0.9)])
    assert out["sibp"]["test_mean"] == pytest.approx(np.mean([0.96, 0.94, 0.97]))
    assert out["sibp"]["test_sd"] == pytest.approx(np.std([0.96, 0.94, 0.97], ddof=1))
    assert out["sibp_test_highest_in"] == "2 of 3 seeds"
    one = lib.small_samples.seed_spread([seed(0.96, 0.95)])
    assert one["sibp"]["test_sd"] is None


# %% the figure and the notes
def test_every_curve_of_the_deep_figure_has_its_own_colour_and_line_style(lib, tmp_path):
    import matplotlib.pyplot as plt

    runs = [("sgd", {"lr": lr}) for lr in (0.1, 0.01, 1.0)]
    runs += [("proxbp", {"eta": 1.0, "lam": 0.5}), ("bcd", {}), ("sibp", {"eta": 10.0, "lam": 0.5})]
    styles = [lib.deep.style(m, h) for m, h in runs]
    assert len({st["color"] for st in styles}) == len({str(st["ls"]) for st in styles}) == 6
    assert len({st["label"] for st in styles}) == 6
    s = {"inits": [0.01, 0.03], "paper_inits": [0.01, 0.03], "init_scale": 1.0}
    rows = [
        {"init_std": v, "method": m, "hyper": h, "status": "finished",
         "train_acc": [0.1, 0.5, 0.9], "grad_norm_W1": [1e-8, 0.0, 1e-2]}
        for v in s["inits"] for m, h in runs
    ]  # fmt: skip
    seen = []
    real_savefig = plt.Figure.savefig

    def keep(fig, *a, **k):
        seen.append(fig)
        return real_savefig(fig, *a, **k)

    plt.Figure.savefig = keep
    try:
        lib.deep.plot(rows, s, tmp_path / "f.png", "title")
    finally:
        plt.Figure.savefig = real_savefig
    (fig,) = seen
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert len(lines) == 6 and len({ln.get_color() for ln in lines}) == 6
    (legend,) = fig.legends
    assert len(legend.get_texts()) == 6
    assert any(r"\partial J/\partial W_1" in ax.get_ylabel() for ax in fig.axes)


def test_notes_block_is_replaced_between_its_markers_or_written_alone(lib, tmp_path):
    notes = lib.notes
    md = tmp_path / "n.md"
    md.write_text("a\n<!-- x numbers -->\nold\n<!-- end x numbers -->\nb\n")
    assert notes.write_block(tmp_path, "n.md", "x", "new\n") == md
    assert md.read_text() == "a\n<!-- x numbers -->\nnew\n<!-- end x numbers -->\nb\n"
    assert notes.read_block(md, "x") == "new\n"
    alone = notes.write_block(tmp_path, "n.md", "y", "other\n")  # no markers for y
    assert alone == tmp_path / "y_numbers.md" and alone.read_text() == "other\n"
    with pytest.raises(ValueError, match="no block"):
        notes.read_block(md, "y")
