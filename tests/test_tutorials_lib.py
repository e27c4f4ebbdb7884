"""The machinery the tutorials 05 and 08 import from ``tutorials/_lib``: each rule against an
independent computation, and the run keys against the committed logs they must find.

Fast and without data: nothing here trains a network or reads MNIST.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pytest
from tutorial_modules import load_tutorial, tutorials_lib

from sibp_ref import History

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def lib(monkeypatch):
    """``tutorials/_lib`` as the tutorials see it: imported from the folder they sit in."""
    return tutorials_lib(monkeypatch, "pruning", "table2")


def _cell(accs: list[float], failed: bool = False) -> dict:
    sd = float(np.std(accs, ddof=1)) if len(accs) > 1 else None
    return {"runs": len(accs), "failed": failed, "test_acc_std": sd, "test_acc_per_seed": accs}


def test_pooled_sd_is_the_sd_of_every_seeds_deviation_from_its_cells_mean(lib):
    cells = [[0.971, 0.975, 0.980, 0.978], [0.960, 0.966], [0.990, 0.981, 0.984]]
    deviations = np.concatenate([np.asarray(c) - np.mean(c) for c in cells])
    df = sum(len(c) - 1 for c in cells)
    sd, got_df = lib.table2.pooled_sd([_cell(c) for c in cells] + [_cell([0.5])])
    assert got_df == df == 6
    assert sd == pytest.approx(math.sqrt(np.sum(deviations**2) / df), rel=1e-12)


def test_pooled_sd_leaves_out_failed_cells_and_is_none_without_two_seeds(lib):
    assert lib.table2.pooled_sd([_cell([0.1, 0.3], failed=True), _cell([0.9])]) == (None, 0)


# binary fractions, so that z = ±2 lands exactly on the boundary
@pytest.mark.parametrize(("paper", "within"), [(0.875, True), (0.375, True), (0.9375, False)])
def test_paper_lies_in_our_spread_when_within_two_pooled_sd_of_our_mean(lib, paper, within):
    ours = {"runs": 5, "failed": False, "test_acc": 0.625, "test_acc_std": 0.0}  # not its own sd
    verdict = lib.table2.paper_in_spread(ours, (1.0, paper), (0.125, 12))
    assert verdict["within"] is within
    assert verdict["z"] == (paper - 0.625) / 0.125


def test_a_failed_cell_agrees_only_with_the_papers_slash(lib):
    failed = {"runs": 3, "failed": True, "test_acc": None, "test_acc_std": None}
    assert lib.table2.paper_in_spread(failed, None, (0.001, 4))["within"] is True
    assert lib.table2.paper_in_spread(failed, (1.0, 0.98), (0.001, 4))["within"] is False


def test_cell_summarises_the_ended_seeds_with_the_sample_sd(lib):
    def run(seed, train, test, status="finished"):
        rec = {"epoch": 1, "train_acc": train, "test_acc": test, "train_loss": 0.1, "time": 2.0}
        return History({"config": {"seed": seed}}, [rec], status=status)

    c = lib.table2.cell([run(0, 1.0, 0.97), run(1, 0.99, 0.98), run(2, 0.1, 0.1, "diverged")])
    assert c["runs"] == 3 and c["diverged"] == 1 and c["failed"] is True  # a NaN seed fails it
    assert c["test_acc"] == pytest.approx(0.975)
    assert c["test_acc_std"] == pytest.approx(np.std([0.97, 0.98], ddof=1))
    assert c["by_seed"] == [[0, 1.0, 0.97], [1, 0.99, 0.98]]
    chance = lib.table2.cell([run(0, 0.1, 0.1), run(1, 0.11, 0.1)])
    assert chance["failed"] is True and chance["diverged"] == 0  # at chance level: "/"


def _args(**more) -> argparse.Namespace:
    base = dict(paper=True, authors_solver=False, proxprop_cg=False, reading="code", quick=False)
    base.update(n_train=60000, epochs=50, seeds=5, sampling="replacement", backend="numpy")
    return argparse.Namespace(**{**base, "data_dir": None, "runs": None, "out": None, **more})


def _table(lib, rows_of_cells: list[list[dict]]) -> list[dict]:
    table = []
    for i, cells in enumerate(rows_of_cells):
        ours = [
            {**c, "train_acc": 1.0, "train_acc_std": 0.0, "test_acc": 0.98, "diverged": 0,
             "epoch_at_paper_test": [[0, 7], [1, None]], "paper_in_spread": {"within": None,
             "z": None, "why": "one seed"}}
            for c in cells
        ]  # fmt: skip
        n = len(cells)
        table.append({"row": f"row {i}", "columns": [1.0] * n, "ours": ours,
                      "paper": [None] * n, "pooled_sd": {"sd": 0.001, "df": 4}})  # fmt: skip
    return table


def test_every_markdown_row_has_as_many_columns_as_its_header(lib):
    table = _table(lib, [[_cell([0.98, 0.97]), _cell([0.1], failed=True)], [_cell([])]])
    pairs = [{"row": "row 1", "compared_with": "row 0", "column": 1.0, "seeds": 2,
              "test_diff_mean": 0.001, "test_diff_std": None, "authors_ahead": 1}]  # fmt: skip
    text = lib.table2.cells_markdown(_args(), table, pairs)
    tables = [b for b in text.split("\n\n") if b.startswith("|")]
    assert len(tables) == 2
    for block, rows in zip(tables, (3, 1), strict=True):
        header, rule, *body = block.strip().splitlines()
        assert len(body) == rows
        assert all(line.count("|") == header.count("|") for line in [rule, *body])
    assert "`python tutorials/05_table2.py --paper --replot`" in text


def test_table2_keys_find_every_committed_paper_log(lib, monkeypatch):
    """The committed 125 logs are read back by key: the grid's keys must not change."""
    t2 = load_tutorial("05_table2", monkeypatch)
    args = t2.parse(["--paper"])
    keys = {
        lib.table2.config(args, "mnist", m, h, s).key()
        for s in range(args.seeds)
        for _, m, cells, _ in lib.table2.table_rows(args)
        for _, h in cells
    }
    logs = {p.stem for p in lib.table2.PAPER_RUNS.glob("*.jsonl")}
    assert len(keys) == 125 and keys <= logs


def test_l1_pruning_keys_find_every_committed_lenet_summary(lib, monkeypatch):
    t8 = load_tutorial("08_l1_pruning", monkeypatch)
    args, _ = t8.settings([])
    S = t8.lenet_settings(args)
    folder = ROOT / "tutorials" / "results" / "08_l1_pruning_lenet"
    spec = dict(S=S, backend="numpy", synthetic=False, runs_dir=str(folder))
    jobs = [(m, mu, s) for m in S["mu"] for mu in S["mu"][m] for s in S["seeds"]]
    stems = {lib.pruning.lenet_key(spec, *j)[1].name for j in jobs}
    assert len(stems) == 42 and stems == {p.stem for p in folder.glob("*.json")}


def test_zero_fraction_counts_the_exact_zeros_of_the_weight_matrices_not_the_biases(lib):
    W1, W2 = np.array([[0.0, 1.0], [0.0, 2.0], [3.0, 0.0]]), np.array([[0.0, 1.0]])
    got = lib.pruning.zero_fraction([(W1, np.zeros(2)), (W2, np.zeros(1))])
    assert got["zeros"] == pytest.approx(4 / 8)
    assert got["zeros_per_layer"] == pytest.approx([3 / 6, 1 / 2])


def test_prox_sgd_names_the_argument_it_rejects(lib):
    with pytest.raises(ValueError, match="lr > 0.*lr=0"):
        lib.pruning.ProxSGD(lr=0, mu=0.1)
    with pytest.raises(ValueError, match="mu >= 0.*mu=-1"):
        lib.pruning.ProxSGD(lr=0.1, mu=-1)


def test_lenet_table_is_the_mean_and_sample_sd_over_the_seeds(lib):
    def r(z, tr, te):
        return {"zeros": z, "train_acc": tr, "test_acc": te, "status": "finished"}

    res = {"sibp": {1e-3: [r(0.7, 0.99, 0.98), r(0.8, 0.985, 0.97)]}, "prox_sgd": {}}
    out = lib.pruning.lenet_table({}, res)
    (row,) = out["table"]["sibp"]
    assert row["zeros"] == pytest.approx([0.75, np.std([0.7, 0.8], ddof=1)])
    assert row["gamma"] == pytest.approx(2 * lib.pruning.ETA * 1e-3) and row["seeds"] == 2
    assert row["train_acc"] == pytest.approx([0.9875, np.std([0.99, 0.985], ddof=1)])
    assert out["verdict"]["sibp"]["reached_98.5_at_70pct_zeros (seed means)"] is True
    assert out["verdict"]["sibp"]["max_mean_zeros_with_mean_train_acc_ge_98.5"] == pytest.approx(
        0.75
    )
    assert out["verdict"]["prox_sgd"]["reached_98.5_at_70pct_zeros (seed means)"] is False


def test_the_gallery_skips_the_lib_folder():
    """sphinx-gallery makes a subsection only of a folder with a gallery header."""
    lib_dir = ROOT / "tutorials" / "_lib"
    assert not list(lib_dir.glob("GALLERY_HEADER.*")) and not list(lib_dir.glob("README*"))


@pytest.mark.parametrize("published", [False, True], ids=["table", "published_codes"])
def test_table2_page_holds_the_numbers_the_committed_logs_give(published, tmp_path, monkeypatch):
    """``figures/05_table2.md``'s blocks are what ``--paper --replot`` writes from the committed
    logs (the published codes' blocks with ``--authors-solver --proxprop-cg``, and their table
    at a glance, also in the ledger's A2): a log committed without rewriting the pages, or a
    number edited by hand, fails here."""
    lib = tutorials_lib(monkeypatch, "notes", "table2")
    t2 = load_tutorial("05_table2", monkeypatch)
    monkeypatch.setattr(t2.common, "run_grid", lambda *a, **k: pytest.fail("ran the grid"))
    flags = ["--authors-solver", "--proxprop-cg"] if published else []
    out = tmp_path / "out"
    args = ["--paper", "--replot", *flags, "--out", str(out), "--runs", str(lib.table2.PAPER_RUNS)]
    name = "05_table2_paper" + ("_published" if published else "")
    written = t2.main(args)["numbers"]
    assert written == out / "figures" / f"{name}_cells.md"
    page = ROOT / "figures" / "05_table2.md"
    assert lib.notes.read_block(page, name, kind="cells") == written.read_text(encoding="utf-8")
    glance = t2.main(args)["glance"]
    if not published:
        assert glance == []  # no published rows, no table at a glance
        return
    assert glance == [out / "figures" / f"{name}_glance.md"]  # --out: the repository untouched
    want = glance[0].read_text(encoding="utf-8")
    assert "| ProxBP η=0.1 ProxProp CG-1 " in want and "| SIBP η=10 authors' NCG " in want
    for shown in [page, *lib.table2.GLANCE_PAGES]:
        assert lib.notes.read_block(shown, name, kind="glance") == want, shown
