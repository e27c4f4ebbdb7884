"""Every tutorial runs from start to finish in quick mode, with a non-interactive backend.

Outputs go to a temporary folder (``SIBP_REF_OUT``), so the committed figures are never
overwritten by a quick run; the test checks that each script wrote at least one PNG and
its results file.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tutorial_modules import load_tutorial

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_in_quick_mode(script: Path, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        SIBP_REF_QUICK="1",
        SIBP_REF_OUT=str(tmp_path),
        MPLBACKEND="Agg",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    pngs = list((tmp_path / "figures").glob("*.png"))
    assert pngs, f"{script.name} wrote no figure"
    results = list((tmp_path / "results").glob("*.json"))
    assert results, f"{script.name} wrote no results file"
    for r in results:
        assert json.loads(r.read_text())["meta"]["quick"] is True


@pytest.fixture(scope="module")
def table2_quick(tmp_path_factory):
    """One quick Table 2 grid (2 seeds), then its published-codes table (``--authors-solver``:
    only the authors' rows run, the row they change is read back), which the tests below
    copy and read back: the runs cost most of their time, so they are run once."""
    out = tmp_path_factory.mktemp("table2_quick")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MPLBACKEND", "Agg")
        t2 = load_tutorial("05_table2", mp)
        args = ["--quick", "--out", str(out), "--data-dir", str(out / "none")]
        t2.main([*args, "--seeds", "2"])
        t2.main([*args, "--seeds", "2", "--authors-solver"])
    return out


def _table2_copy(table2_quick, tmp_path, monkeypatch):
    """The shared grid's folder copied to ``tmp_path`` (each test writes its own outputs),
    the tutorial loaded, and its command-line head for that folder."""
    import shutil

    out = tmp_path / "out"
    shutil.copytree(table2_quick, out)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    t2 = load_tutorial("05_table2", monkeypatch)
    return t2, out, ["--quick", "--out", str(out), "--data-dir", str(out / "none")]


def test_table2_replot_rebuilds_the_numbers_from_the_logs_alone(
    table2_quick, tmp_path, monkeypatch
):
    t2, out, args = _table2_copy(table2_quick, tmp_path, monkeypatch)
    first = json.loads((out / "results" / "05_table2.json").read_text())
    published = json.loads((out / "results" / "05_table2_published.json").read_text())

    def no_runs(*a, **k):
        raise AssertionError("--replot ran the grid")

    monkeypatch.setattr(t2.common, "run_grid", no_runs)
    (out / "figures" / "05_table2.png").unlink()
    again = t2.main([*args, "--replot"])  # the seeds come from the logs, not from --seeds
    second = json.loads(again["results"].read_text())
    assert again["results"] == out / "results" / "05_table2.json"
    assert second["table"] == first["table"]
    assert again["figure"] == out / "figures" / "05_table2.png" and again["figure"].is_file()
    cells = [o for row in second["table"] for o in row["ours"]]
    assert all(o["runs"] == 2 and sorted(o["seeds"]) == [0, 1] for o in cells)
    assert all(o["test_acc_std"] is not None for o in cells if not o["failed"])
    # the published codes' table: its own files, the same numbers from the logs alone, and
    # the rows of ours it compares with exactly as in the 25-cell table
    pub = t2.main([*args, "--replot", "--authors-solver"])
    assert pub["results"] == out / "results" / "05_table2_published.json"
    assert pub["figure"] == out / "figures" / "05_table2_published.png"
    assert json.loads(pub["results"].read_text())["table"] == published["table"]
    ours = {t["row"]: t for t in second["table"]}
    mine = [t for t in published["table"] if "authors" not in t["row"]]
    assert mine and all(t == ours[t["row"]] for t in mine)
    assert any("authors" in t["row"] for t in published["table"])


def test_table2_says_whether_the_papers_cell_lies_within_two_sd_of_our_seeds(monkeypatch):
    t2 = load_tutorial("05_table2", monkeypatch)
    row = (0.001, 6)  # the row's pooled sd and its degrees of freedom
    three = {"runs": 3, "failed": False, "test_acc": 0.980, "test_acc_std": 0.0}
    inside = t2.paper_in_spread(three, (1.0, 0.9815), row)  # the row's sd, not the cell's 0
    assert inside["within"] is True and inside["z"] == pytest.approx(1.5)
    assert inside["df"] == 6
    outside = t2.paper_in_spread(three, (1.0, 0.9770), row)
    assert outside["within"] is False and outside["z"] == pytest.approx(-3.0)
    one = {**three, "test_acc_std": None, "runs": 1}
    assert t2.paper_in_spread(one, (1, 0.98), row)["within"] is None
    failed = {**three, "failed": True}
    assert t2.paper_in_spread(failed, None, row)["within"] is True  # both "/"
    assert t2.paper_in_spread(failed, (1.0, 0.98), row)["within"] is False
    assert t2.paper_in_spread(three, None, row)["within"] is False
    assert t2.spread_text({"paper_in_spread": inside}) == "yes (z=+1.5)"


def test_table2_pools_the_seeds_sd_over_a_rows_trained_cells(monkeypatch):
    t2 = load_tutorial("05_table2", monkeypatch)

    def c(accs, failed=False):
        sd = float(np.std(accs, ddof=1)) if len(accs) > 1 else None
        return {"runs": len(accs), "failed": failed, "test_acc_std": sd,
                "test_acc_per_seed": accs}  # fmt: skip

    a, b = [0.97, 0.98, 0.99], [0.95, 0.95]  # variances 1e-4 (df 2) and 0 (df 1)
    cells = [c(a), c(b), c([0.5]), c([0.1, 0.3], failed=True)]  # one seed, failed: left out
    sd, df = t2.pooled_sd(cells)
    assert df == 3 and sd == pytest.approx(np.sqrt(2 * 1e-4 / 3))
    assert t2.pooled_sd([c([0.5])]) == (None, 0)


def test_table2_pairs_the_authors_solver_with_ours_seed_by_seed_not_by_position(monkeypatch):
    t2 = load_tutorial("05_table2", monkeypatch)

    def row(label, paper_row, by_seed):
        return {
            "row": label,
            "paper_row": paper_row,
            "method": "sibp",
            "columns": [1.0],
            "ours": [{"by_seed": by_seed}],
        }

    ours = row("SIBP η=1", "SIBP η=1", [[0, 1.0, 0.980], [1, 1.0, 0.970], [2, 1.0, 0.975]])
    # the authors' runs ended in another order, and seed 2 has not ended yet
    theirs = row("SIBP η=1 authors' NCG", "SIBP η=1", [[1, 1.0, 0.974], [0, 1.0, 0.979]])
    (pair,) = t2.solver_pairs([ours, theirs])
    assert pair["seeds"] == 2 and pair["compared_with"] == "SIBP η=1"
    assert pair["test_diff_mean"] == pytest.approx((0.004 - 0.001) / 2)
    assert pair["test_diff_std"] == pytest.approx(np.std([-0.001, 0.004], ddof=1))
    assert pair["authors_ahead"] == 1


def test_table2_finds_the_first_epoch_at_which_our_run_reaches_the_papers_test_accuracy(
    monkeypatch,
):
    from sibp_ref import History

    t2 = load_tutorial("05_table2", monkeypatch)
    accs = [0.1, 0.5, 0.97, 0.96, 0.99]
    h = History({"config": {"seed": 3}}, [{"epoch": e, "test_acc": a} for e, a in enumerate(accs)])
    assert t2.epoch_at([h], (1.0, 0.97)) == [[3, 2]]  # reached (>=) at epoch 2, not 4
    assert t2.epoch_at([h], (1.0, 0.995)) == [[3, None]]  # never
    assert t2.epoch_at([h], None) == []  # the paper's cell failed: nothing to reach


def test_table2_writes_every_cells_numbers_between_the_markers_of_its_notes(
    table2_quick, tmp_path, monkeypatch
):
    t2, tmp_out, out = _table2_copy(table2_quick, tmp_path, monkeypatch)
    alone = tmp_out / "figures" / "05_table2_published_cells.md"
    # no notes file in the figure folder: the block was written alone
    results = tmp_out / "results" / "05_table2_published.json"
    table = json.loads(results.read_text())["table"]
    text = alone.read_text()
    for t in table:
        for col, o in zip(t["columns"], t["ours"], strict=True):
            line = next(x for x in text.splitlines() if x.startswith(f"| {t['row']} | {col:g} |"))
            assert f"| {o['runs']} |" in line
            if not o["failed"]:
                assert f"{o['test_acc']:.4f} ± {o['test_acc_std']:.4f}" in line
    pairs = json.loads(results.read_text())["authors_minus_ours"]
    assert pairs and all(q["seeds"] == 2 for q in pairs)
    notes = tmp_out / "figures" / "05_table2.md"
    notes.write_text(
        "before\n<!-- 05_table2_published cells -->\nstale\n"
        "<!-- end 05_table2_published cells -->\nafter\n"
    )
    again = t2.main([*out, "--replot", "--authors-solver"])
    assert again["numbers"] == notes
    assert notes.read_text() == (
        "before\n<!-- 05_table2_published cells -->\n"
        + text
        + "<!-- end 05_table2_published cells -->\nafter\n"
    )


def test_deep_network_replot_redraws_from_the_ended_logs_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    t6 = load_tutorial("06_deep_network", monkeypatch)
    runs = tmp_path / "runs6"
    out = ["--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path / "none")]
    out += ["--runs", str(runs), "--epochs", "1"]
    first = json.loads(t6.main(out)["results"].read_text())

    def no_runs(*a, **k):
        raise AssertionError("--replot ran the grid")

    monkeypatch.setattr(t6.common, "run_grid", no_runs)
    again = json.loads(t6.main([*out, "--replot"])["results"].read_text())
    assert again["runs"] == first["runs"]
    assert again["verdict"] == first["verdict"]
    sibp = sorted(runs.glob("sibp-*.jsonl"))
    sibp[0].unlink()  # a run that has not ended is left out, and the verdict says so
    partial = json.loads(t6.main([*out, "--replot"])["results"].read_text())
    assert len(partial["runs"]) == len(first["runs"]) - 1
    assert partial["verdict"]["C7_confirmed"] is None


def test_inner_iterations_seeds_are_read_back_not_rerun(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    t9 = load_tutorial("09_inner_iterations", monkeypatch)
    out = ["--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path / "none")]
    first = t9.main([*out, "--seeds", "2"])["over_seeds"]
    assert sorted((tmp_path / "results" / "09_inner_iterations_runs").iterdir()) == [
        tmp_path / "results" / "09_inner_iterations_runs" / f"seed{s}.json" for s in (0, 1)
    ]
    pair = first["pairs_at_equal_time"]["1_vs_3"]
    assert pair["seeds"] == 2 and 0 <= pair["seeds_fewer_ahead"] <= 2
    assert pair["acc_1_mean_sd"][1] >= 0

    def no_training(*a, **k):
        raise AssertionError("a saved seed was trained again")

    monkeypatch.setattr(t9, "train_interleaved", no_training)
    again = t9.main([*out, "--seeds", "2"])["over_seeds"]
    assert again["pairs_at_equal_time"] == first["pairs_at_equal_time"]


def test_l1_pruning_lenet_panel_is_redrawn_from_its_summaries(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    t8 = load_tutorial("08_l1_pruning", monkeypatch)
    out = ["--quick", "--out", str(tmp_path), "--data-dir", str(tmp_path / "none")]
    first = t8.main([*out, "--workers", "1"])["lenet5"]
    runs = tmp_path / "results" / "08_l1_pruning_lenet"
    assert len(list(runs.glob("*.json"))) == 3 and len(list(runs.glob("*.jsonl"))) == 3
    assert set(first["table"]) == {"sibp", "sibp_iters_more", "prox_sgd"}
    row = first["table"]["sibp"][0]
    assert row["seeds"] == 1 and 0 <= row["zeros"][0] <= 1 and 0 <= row["train_acc"][0] <= 1

    def no_runs(*a, **k):
        raise AssertionError("a finished LeNet-5 run was run again")

    monkeypatch.setattr(t8.pruning, "train", no_runs)
    (tmp_path / "figures" / "08_l1_pruning_lenet.png").unlink()
    again = t8.main([*out, "--workers", "1"])["lenet5"]
    assert again["table"] == first["table"]
    assert (tmp_path / "figures" / "08_l1_pruning_lenet.png").is_file()


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_uses_the_public_api_and_has_a_main(script: Path) -> None:
    import ast

    tree = ast.parse(script.read_text(encoding="utf-8"))
    private = [
        f"{node.module}.{a.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sibp_ref")
        for a in node.names
        if a.name.startswith("_")
    ]
    assert not private, f"{script.name} imports private names {private}"
    sys_path = [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute)
        and n.attr == "path"
        and isinstance(n.value, ast.Name)
        and n.value.id == "sys"
    ]
    assert not sys_path, (
        f"{script.name} edits sys.path (line {sys_path}); the package is found installed or "
        "from PYTHONPATH, common.py beside the script"
    )
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains and [a.arg for a in mains[0].args.args] == ["argv"], script.name
    guard = tree.body[-1]
    assert isinstance(guard, ast.If) and "__main__" in ast.unparse(guard.test), script.name
    assert ast.unparse(guard.body[0]) == "main()", script.name
    assert not re.search(r"SPEC\s§", script.read_text(encoding="utf-8")), script.name
