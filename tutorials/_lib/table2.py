"""The machinery of tutorial 05 (Table 2): the grid's run configurations, the paper's table,
each cell's mean ± sd over the seeds, the paper-in-spread rule, the printed table, the Markdown
block of ``figures/05_table2.md`` and the figure.

A run's key (its log's file name) depends on :func:`config` alone: the committed logs under
``tutorials/results/05_table2_paper/`` are found by it, so its fields must not change.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import common
import numpy as np

from _lib import notes
from sibp_ref import RunConfig, make_method, read_log

NAME = "05_table2"
LRS = [100.0, 10.0, 1.0, 0.1, 0.01]
LAMS = [100.0, 10.0, 1.0, 0.1, 0.01]
SIBP_ETAS = [10.0, 1.0, 0.1]
AUTHORS_ETAS = [10.0, 1.0]  # the --authors-solver rows
#: The --proxprop-cg rows: ProxProp's default CG-1; CG-3 and CG-5, which its paper also ran.
PROXPROP_CG_ITERS = [1, 3, 5]
PROX_ETA = 0.1
BATCH = 100
CHANCE = 0.2  # training accuracy below this (10 classes) counts as a failed run
PAPER_RUNS = common.ROOT / "tutorials" / "results" / f"{NAME}_paper"

#: The paper's Table 2 (training / test accuracy, mean of 5 runs, 50 epochs); None = "/".
#: Rows: SGD over LRS; ProxBP η=0.1 over LAMS; SIBP η=10, 1, 0.1 over LAMS.
PAPER = {
    "SGD": [None, None, (1.0, 0.9826), (0.9842, 0.9757), (0.9295, 0.9301)],
    "ProxBP η=0.1": [(1, 0.9727), (1, 0.9716), (1, 0.9719), (1, 0.9732), (1, 0.9723)],
    "SIBP η=10": [(1, 0.9827), (1, 0.9817), (1, 0.9822), (1, 0.9822), (1, 0.9827)],
    "SIBP η=1": [(1, 0.9830), (1, 0.9822), (1, 0.9828), (1, 0.9814), (1, 0.9817)],
    "SIBP η=0.1": [
        (0.9899, 0.9727),
        (0.9891, 0.9783),
        (0.9899, 0.9765),
        (0.9886, 0.9776),
        (0.9857, 0.9759),
    ],
}


def to_ours(eta: float, lam: float, reading: str, batch: int = BATCH) -> tuple[float, float]:
    """Table 2's (η, λ) in our symbols: the code's ``η = n η_c, λ = 1/(2λ_c)``, or as is."""
    return common.authors_to_ours(eta, lam, batch) if reading == "code" else (eta, lam)


def runs_dir(args: argparse.Namespace) -> Path:
    """Where the logs go: ``--runs``; else under ``--out``; else the committed paper logs
    (``--paper``) or ``runs/05_table2``."""
    if args.runs:
        return Path(args.runs)
    if args.out:
        return Path(args.out) / "runs" / NAME
    return PAPER_RUNS if args.paper else common.ROOT / "runs" / NAME


def out_name(args: argparse.Namespace) -> str:
    """The literal reading's, the paper-length and the published codes' figure and numbers
    sit beside the default's, not over them."""
    return (
        NAME
        + ("_paper" if args.paper else "")
        + ("" if args.reading == "code" else "_reading-paper")
        + ("_published" if args.authors_solver or args.proxprop_cg else "")
    )


# %% the grid, as plain run configurations
# A row is (label, method, [(column, hyper-parameters)], the paper's row it is compared with).
# The run key of a cell (the log's file name) depends on these values only, so the same cell
# and seed always find the same log.
def config(args, dataset: str, method: str, hyper: dict, seed: int) -> RunConfig:
    return RunConfig(
        method=method,
        hyper=hyper,
        dataset=dataset,
        n_train=args.n_train,
        hidden=(500,),
        activation="relu",
        init_std=0.05,
        epochs=args.epochs,
        batch_size=BATCH,
        sampling=args.sampling,
        seed=seed,
        backend=args.backend,
        dtype="float32",
        data_dir=args.data_dir,
    )


def table_rows(args) -> list[tuple[str, str, list[tuple[float, dict]], str]]:
    lrs, lams, etas = (LRS, LAMS, SIBP_ETAS)
    if args.quick:  # a 2 × 2 corner; not η = 10 (ours 1000): on the synthetic set in float32
        # it breaks the last layer's Cholesky within 5 steps (see figures/05_table2.md)
        lrs, lams, etas = [10.0, 0.1], [1.0, 0.01], [1.0, 0.1]

    def hyper(eta: float, lam: float, **more) -> dict:
        e, la = to_ours(eta, lam, args.reading)
        return {"eta": e, "lam": la, **more}

    prox = f"ProxBP η={PROX_ETA:g}"
    rows = [("SGD", "sgd", [(lr, {"lr": lr}) for lr in lrs], "SGD")]
    rows.append((prox, "proxbp", [(lam, hyper(PROX_ETA, lam)) for lam in lams], prox))
    for eta in etas:
        label = f"SIBP η={eta:g}"
        rows.append((label, "sibp", [(lam, hyper(eta, lam)) for lam in lams], label))
    published = []  # the published codes' rows: each changes one row of ours, its paper_row
    if args.authors_solver:
        for eta in [e for e in AUTHORS_ETAS if e in etas or args.quick]:
            cells = [(lam, hyper(eta, lam, solver="ncg_authors")) for lam in lams]
            published.append((f"SIBP η={eta:g} authors' NCG", "sibp", cells, f"SIBP η={eta:g}"))
    if args.proxprop_cg:  # only the inner solver changes: the last layer stays ProxBP's
        for iters in PROXPROP_CG_ITERS:
            cells = [(lam, hyper(PROX_ETA, lam, solver="cg_proxprop", iters=iters)) for lam in lams]
            published.append((f"{prox} ProxProp CG-{iters}", "proxbp", cells, prox))
    if not published:
        return rows
    shown = []  # the rows they change, each followed by its published variants; no others
    for row in rows:
        variants = [q for q in published if q[3] == row[0]]
        if variants:
            shown += [row, *variants]
    return shown


def check_authors_solver() -> None:
    """Fail before any run when this version of the package lacks the authors' NCG."""
    try:
        make_method("sibp", solver="ncg_authors")
    except (ValueError, ImportError) as exc:
        raise SystemExit(
            f"--authors-solver needs SIBP(solver='ncg_authors'), which this version of "
            f"sibp_ref does not have ({exc}); leave the flag out"
        ) from None


def read_back(args, rows) -> tuple[str, dict]:
    """The logs of the table's cells that have ended, for every seed found: nothing runs.

    The data set is the one the logs were run on (MNIST, or the synthetic set of a quick
    run); a cell's seeds are those whose log says ``finished`` or ``diverged``.
    """
    folder = runs_dir(args)
    logs = {p.stem: read_log(p) for p in sorted(folder.glob("*.jsonl"))}
    if not logs:
        raise SystemExit(f"--replot: no run logs (*.jsonl) in {folder}; pass --runs DIR")
    heads = [h.settings.get("config", {}) for h in logs.values()]
    datasets = {c.get("dataset") for c in heads} - {None}
    dataset = "mnist" if "mnist" in datasets else sorted(datasets)[0]
    seeds = sorted({c.get("seed", 0) for c in heads} | set(range(args.seeds)))
    by_key = {}
    for _, m, cells, _ in rows:
        for _, h in cells:
            for s in seeds:
                key = config(args, dataset, m, h, s).key()
                if key in logs and logs[key].status in ("finished", "diverged"):
                    by_key[key] = logs[key]
    print(f"replot: {len(by_key)} ended runs of this table among {len(logs)} logs in {folder}")
    args.seeds = len(seeds)
    return dataset, by_key


# %% our table beside the paper's: mean ± sd over the seeds present
def cell(hs: list) -> dict:
    """One cell's summary over its seeds' histories (those whose runs have ended)."""
    div = sum(h.diverged or not np.isfinite(h.final.get("train_loss", np.nan)) for h in hs)
    ok = [h for h in hs if not h.diverged]
    tr = [h.final["train_acc"] for h in ok]
    te = [h.final["test_acc"] for h in ok]

    def mean(v):
        return float(np.mean(v)) if v else None

    def sd(v):
        return float(np.std(v, ddof=1)) if len(v) > 1 else None  # the sample sd

    return {
        "diverged": div,
        # "/" in the paper: a run that fails; ours fail by NaN or by staying at chance level
        "failed": bool(div or not tr or np.mean(tr) < CHANCE),
        "runs": len(hs),
        "seeds": [h.settings.get("config", {}).get("seed") for h in hs],
        "train_acc": mean(tr),
        "train_acc_std": sd(tr),
        "test_acc": mean(te),
        "test_acc_std": sd(te),
        "test_acc_per_seed": te,
        # [seed, training, test accuracy] of each run that did not diverge: what pairs a cell
        # with another one seed by seed (the same seed draws the same init and batches)
        "by_seed": [
            [h.settings.get("config", {}).get("seed"), h.final["train_acc"], h.final["test_acc"]]
            for h in ok
        ],
        "train_loss": mean([h.final["train_loss"] for h in ok]),
        "time_s": mean([h.final["time"] for h in hs]),
    }


def pooled_sd(ours: list[dict]) -> tuple[float | None, int]:
    """The sample sd of the final test accuracy pooled over a row's cells that trained with
    2 or more seeds, and its degrees of freedom ``Σ (n_i − 1)``.

    With 2–5 seeds one cell's own sd is too unsure to judge by (two seeds with equal test
    accuracy give sd 0, hence z = ∞), while the cells of one row (one method, the five λ or
    lr) spread alike over seeds; pooling them gives 5–20 degrees of freedom instead of 1–4.
    """
    ss = df = 0.0
    for o in ours:
        if o["runs"] >= 2 and not o["failed"] and o["test_acc_std"] is not None:
            n = len(o["test_acc_per_seed"])
            ss += (n - 1) * o["test_acc_std"] ** 2
            df += n - 1
    return (math.sqrt(ss / df) if df else None), int(df)


def paper_in_spread(o: dict, p: tuple | None, spread: tuple[float | None, int]) -> dict:
    """Does the paper's cell lie within our seeds' spread? ``within``: its test accuracy is
    within 2 sd of our mean, the sd being the row's pooled one (``spread``, from
    :func:`pooled_sd`), and a "/" of the paper meets a failed cell of ours; None where the
    cell has fewer than 2 seeds. ``z``: (paper − our mean) / sd."""
    if o["runs"] == 0:
        return {"within": None, "z": None, "why": "no run"}
    if p is None or o["failed"]:
        agree = p is None and o["failed"]
        why = "both fail" if agree else ("ours fails" if o["failed"] else "the paper's fails")
        return {"within": agree, "z": None, "why": why}
    sd, df = spread
    if o["runs"] < 2 or sd is None:
        return {"within": None, "z": None, "why": "one seed"}
    z = (p[1] - o["test_acc"]) / sd if sd > 0 else math.copysign(math.inf, p[1] - o["test_acc"])
    return {
        "within": bool(abs(z) <= 2),
        "z": float(z),
        "sd": sd,
        "df": df,
        "why": f"{o['runs']} seeds, row sd {sd:.4f} (df {df})",
    }


def epoch_at(hs: list, p: tuple | None) -> list:
    """[seed, the first epoch after which our test accuracy reaches the paper's final one
    (None: never in the epochs run)] per run: how many of our epochs the paper's 50 are
    worth where the two differ in speed."""
    if p is None:
        return []
    out = []
    for h in hs:
        te = h.column("test_acc")
        hit = np.flatnonzero(te >= p[1])
        seed = h.settings.get("config", {}).get("seed")
        out.append([seed, int(h.records[hit[0]]["epoch"]) if hit.size else None])
    return out


def eff_step(method: str, hyper: dict) -> float:
    return hyper["lr"] if method == "sgd" else 2 * hyper["lam"] * hyper["eta"]


def build_table(args, dataset: str, rows, by_key: dict) -> list[dict]:
    table = []
    for label, method, cells, paper_label in rows:
        ours, runs = [], []
        for _, h in cells:
            keys = [config(args, dataset, method, h, s).key() for s in range(args.seeds)]
            runs.append([by_key[k] for k in keys if k in by_key])
            ours.append({"hyper": h, **cell(runs[-1])})
        cols = [c for c, _ in cells]
        paper = [PAPER[paper_label][(LRS if method == "sgd" else LAMS).index(c)] for c in cols]
        spread = pooled_sd(ours)
        for o, p, hs in zip(ours, paper, runs, strict=True):
            o["paper_in_spread"] = paper_in_spread(o, p, spread)
            o["epoch_at_paper_test"] = epoch_at(hs, p)
        table.append(
            {
                "row": label,
                "paper_row": paper_label,
                "pooled_sd": {"sd": spread[0], "df": spread[1]},
                "method": method,
                "columns": cols,
                "column_name": "lr" if method == "sgd" else "λ",
                "ours": ours,
                "paper": [
                    None if p is None else {"train_acc": p[0], "test_acc": p[1]} for p in paper
                ],
                "effective_step": [eff_step(method, h) for _, h in cells],
            }
        )
    return table


def fmt(tr, te) -> str:
    return "/" if tr is None else f"{tr:.4f}/{te:.4f}"


def fmt_ours(o: dict) -> str:
    if o["runs"] == 0:
        return "(no run)"
    if o["failed"]:
        return "/ (NaN)" if o["diverged"] else f"/ ({o['train_acc']:.3f})"
    sd = "" if o["test_acc_std"] is None else f"±{o['test_acc_std']:.4f}"
    return fmt(o["train_acc"], o["test_acc"]) + sd


def spread_text(o: dict) -> str:
    """``yes (z=+1.2)`` / ``no (z=-3.4)``: the paper's test accuracy against our spread."""
    v = o["paper_in_spread"]
    if v["within"] is None:
        return f"({v['why']})"
    return ("yes" if v["within"] else "no") + (
        f" (z={v['z']:+.1f})" if v["z"] is not None else f" ({v['why']})"
    )


def print_table(args, table: list[dict]) -> None:
    lines = []
    for t in table:
        cols, name, ours = t["columns"], t["column_name"], t["ours"]
        lines.append(
            f"\n{t['row']:<14}" + "".join(f"{name + '=' + format(c, 'g'):>24}" for c in cols)
        )
        lines.append(f"{'  ours':<14}" + "".join(f"{fmt_ours(o):>24}" for o in ours))
        lines.append(f"{'  seeds':<14}" + "".join(f"{o['runs']:>24}" for o in ours))
        lines.append(
            f"{'  paper':<14}"
            + "".join(
                f"{('/' if p is None else fmt(p['train_acc'], p['test_acc'])):>24}"
                for p in t["paper"]
            )
        )
        lines.append(f"{'  paper in':<14}" + "".join(f"{spread_text(o):>24}" for o in ours))
        if t["method"] != "sgd":
            lines.append(
                f"{'  our η, λ':<14}"
                + "".join(
                    f"{format(o['hyper']['eta'], 'g') + ', ' + format(o['hyper']['lam'], 'g'):>24}"
                    for o in ours
                )
            )
        lines.append(f"{'  2λη (lr)':<14}" + "".join(f"{s:>24.4g}" for s in t["effective_step"]))
    print(
        f"\nTraining/test accuracy after {args.epochs} epoch(s), {args.n_train} training samples, "
        f"mean (± sample sd of the test accuracy) over the seeds present (up to {args.seeds}); "
        f"'paper in': the paper's test accuracy within 2 sd of our mean (z in the sd pooled "
        f"over the row's cells); paper: "
        f"50 epochs, 60 000 samples, 5 runs; '/' = failed: NaN, or training accuracy below "
        f"{CHANCE} (ours in brackets)" + "\n".join(lines)
    )


# %% the authors' inner solver against ours, seed by seed
def solver_pairs(table: list[dict]) -> list[dict]:
    """Per cell of an ``--authors-solver`` row: its final test accuracy minus that of the
    same cell with our NCG, seed by seed (a seed draws the same init and the same batches in
    both, so the difference is paired). Mean and sample sd of the differences, and in how
    many seeds the authors' solver is ahead."""
    rows = {t["row"]: t for t in table}
    pairs = []
    for t in table:
        base = rows.get(t["paper_row"])
        if base is None or base is t:
            continue
        for col, a, b in zip(t["columns"], t["ours"], base["ours"], strict=True):
            ours = {s: te for s, _, te in b["by_seed"]}
            d = [te - ours[s] for s, _, te in a["by_seed"] if s in ours]
            pairs.append(
                {
                    "row": t["row"],
                    "compared_with": base["row"],
                    "column": col,
                    "seeds": len(d),
                    "test_diff_mean": float(np.mean(d)) if d else None,
                    "test_diff_std": float(np.std(d, ddof=1)) if len(d) > 1 else None,
                    "authors_ahead": int(sum(x > 0 for x in d)),
                }
            )
    return pairs


# %% the numbers as Markdown, for figures/05_table2.md (between its markers) or beside it
def pm(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "–"
    return f"{mean:.4f}" + ("" if sd is None else f" ± {sd:.4f}")


def replot_command(args) -> str:
    """The command that rewrites the Markdown block from the logs alone."""
    return "python tutorials/05_table2.py " + " ".join(
        a
        for a, on in (
            ("--paper", args.paper),
            ("--replot", True),
            ("--authors-solver", args.authors_solver),
            ("--proxprop-cg", args.proxprop_cg),
            ("--reading paper", args.reading == "paper"),
        )
        if on
    )


def cell_line(t: dict, col: float, o: dict, p: dict | None) -> str:
    """One cell of the table as a Markdown row (the header's eight columns)."""
    if o["runs"] == 0:
        ours = ["–", "(no run)"]
    elif o["failed"]:
        ours = ["/ (" + pm(o["train_acc"], o["train_acc_std"]) + ")", "/"]
    else:
        ours = [pm(o["train_acc"], o["train_acc_std"]), pm(o["test_acc"], o["test_acc_std"])]
    paper = "/" if p is None else f"{p['train_acc']:.4f} / {p['test_acc']:.4f}"
    at = ", ".join("never" if e is None else str(e) for _, e in o["epoch_at_paper_test"])
    return (
        f"| {t['row']} | {col:g} | {o['runs']} | {ours[0]} | {ours[1]} | {paper} "
        f"| {spread_text(o)} | {at or '–'} |"
    )


def cells_markdown(args, table: list[dict], pairs: list[dict]) -> str:
    """Every cell's mean ± sample sd over its seeds beside the paper's, and the paired
    solver differences: the text the ledger's C6 numbers are read from."""
    lines = [
        f"Written by `{replot_command(args)}` from the run logs alone ({args.n_train} samples, "
        f"{args.epochs} "
        f"epochs, up to {args.seeds} seeds; final accuracies, mean ± sample sd over the seeds "
        f"whose runs have ended). *paper in*: the paper's test accuracy lies within 2 sd "
        f"of our mean, z = (paper − ours) / sd, with the sd of the seeds pooled over the row's "
        f"cells (one cell's sd is too unsure with a few seeds; the row sds are below the "
        f"table); `/`: the run fails (NaN, or training "
        f"accuracy below {CHANCE}); *our epoch at the paper's test*: per seed, the first "
        f"epoch after which our test accuracy reaches the paper's final (50-epoch) one.",
        "",
        "| row | λ (Table 2) or lr | seeds | train (ours) | test (ours) "
        "| paper train / test | paper in | our epoch at the paper's test |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in table:
        for col, o, p in zip(t["columns"], t["ours"], t["paper"], strict=True):
            lines.append(cell_line(t, col, o, p))
    sds = [
        f"{t['row']} {t['pooled_sd']['sd']:.4f} (df {t['pooled_sd']['df']})"
        for t in table
        if t["pooled_sd"]["sd"] is not None
    ]
    if sds:
        lines += [
            "",
            "Sample sd of the test accuracy pooled over each row's cells: " + "; ".join(sds) + ".",
        ]
    return "\n".join(lines + pairs_markdown(pairs)) + "\n"


def pairs_markdown(pairs: list[dict]) -> list[str]:
    """The paired solver differences as Markdown lines (none without ``pairs``)."""
    if not pairs:
        return []
    lines = [
        "",
        "The published codes' inner solvers against ours, paired by seed (same init, same "
        "batches): final test accuracy of the row minus that of the row it is compared with "
        "(`ncg_authors` against our NCG; ProxProp's CG against our exact ProxBP).",
        "",
        "| row | compared with | λ (Table 2) | seeds | difference, mean ± sd | row ahead in |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for q in pairs:
        diff = (
            "–"
            if q["test_diff_mean"] is None
            else f"{q['test_diff_mean']:+.4f}"
            + ("" if q["test_diff_std"] is None else f" ± {q['test_diff_std']:.4f}")
        )
        lines.append(
            f"| {q['row']} | {q['compared_with']} | {q['column']:g} | {q['seeds']} | {diff} "
            f"| {q['authors_ahead']} of {q['seeds']} |"
        )
    return lines


def glance_markdown(table: list[dict], pairs: list[dict]) -> str:
    """The published codes' rows at a glance (empty without them): one column per λ of
    Table 2; per row of ours that a published solver changes, the paper's test accuracy, ours
    (mean ± sd over the seeds), then each published variant's test accuracy, its training
    accuracy, and its paired difference from ours on the same seeds. The seed count is in
    brackets wherever it is not the same in every cell of the line."""
    if not pairs:
        return ""
    rows = {t["row"]: t for t in table}
    diff = {(q["row"], q["column"]): q for q in pairs}
    cols = table[0]["columns"]

    def line(name: str, cells: list[str], seeds: list[int] | None = None) -> str:
        if seeds is not None and len(set(seeds)) > 1:
            cells = [f"{c} ({n})" if n else c for c, n in zip(cells, seeds, strict=True)]
        elif seeds is not None:
            name = f"{name} ({seeds[0]} seed{'s' if seeds[0] != 1 else ''})"
        return f"| {name} | " + " | ".join(cells) + " |"

    def runs(t: dict) -> list[int]:
        return [o["runs"] for o in t["ours"]]

    def test(o: dict) -> str:
        if o["runs"] == 0:
            return "–"
        return "/" if o["failed"] else pm(o["test_acc"], o["test_acc_std"])

    def train(o: dict) -> str:
        return "–" if o["runs"] == 0 else f"{o['train_acc']:.3f}"

    def paired(q: dict) -> str:
        if q["test_diff_mean"] is None:
            return "–"
        sd = "" if q["test_diff_std"] is None else f" ± {q['test_diff_std']:.4f}"
        return f"{q['test_diff_mean']:+.4f}{sd}"

    lines = [
        "Final test accuracy after 50 epochs, mean ± sample sd over the seeds that have ended "
        "(their number in brackets); *paired*: the variant minus ours on the same seeds (same "
        "init, same batches).",
        "",
        "| row | " + " | ".join(f"λ_c = {c:g}" for c in cols) + " |",
        "| --- |" + " --- |" * len(cols),
    ]
    for base in dict.fromkeys(q["compared_with"] for q in pairs):
        b = rows[base]
        paper = ["/" if p is None else f"{p['test_acc']:.4f}" for p in b["paper"]]
        lines.append(line(f"**{base}**, the paper", paper))
        lines.append(line(f"{base}, ours", [test(o) for o in b["ours"]], runs(b)))
        for t in (t for t in table if t["paper_row"] == base and t is not b):
            qs = [diff[(t["row"], c)] for c in cols]
            lines.append(line(t["row"], [test(o) for o in t["ours"]], runs(t)))
            lines.append(line("↳ its training accuracy", [train(o) for o in t["ours"]]))
            lines.append(
                line("↳ − ours, paired", [paired(q) for q in qs], [q["seeds"] for q in qs])
            )
    return "\n".join(lines) + "\n"


#: Pages outside ``figures/`` that show the published rows at a glance, between the markers
#: ``<!-- 05_table2_paper_published glance -->`` and its end: the replot of the committed
#: logs rewrites them (``tests/test_tutorials_lib.py`` checks they hold its numbers).
GLANCE_PAGES = [common.ROOT / "docs" / "claims" / "A2.md"]


def write_glance(args, text: str) -> list[Path]:
    """Put the glance table in ``figures/05_table2.md`` (or beside the figure) and, for the
    paper's grid read from the committed logs into ``figures/``, in :data:`GLANCE_PAGES`."""
    if not text:
        return []
    name, fig = out_name(args), common.figure_dir(args)
    written = [notes.write_block(fig, f"{NAME}.md", name, text, kind="glance")]
    if Path(fig).resolve() == (common.ROOT / "figures").resolve():
        for page in GLANCE_PAGES:
            if f"<!-- {name} glance -->" in page.read_text(encoding="utf-8"):
                written.append(notes.write_block(page.parent, page.name, name, text, kind="glance"))
    return written


def write_cells(args, text: str) -> Path:
    """Put the Markdown between the markers ``<!-- <name> cells -->`` and ``<!-- end <name>
    cells -->`` of ``figures/05_table2.md`` when that file (in the figure folder) has them;
    else write it as ``<name>_cells.md`` beside the figure."""
    return notes.write_block(
        common.figure_dir(args), f"{NAME}.md", out_name(args), text, kind="cells"
    )


# %% the figure: ours − paper, cell by cell and seed by seed
def difference_panel(ax, t: dict) -> None:
    """One row of the table: per cell, each seed's final test accuracy minus the paper's
    (dots), their mean ± sd (bar); 0 is the paper. A cell where the paper or we fail says so."""
    for j, (o, p) in enumerate(zip(t["ours"], t["paper"], strict=True)):
        if p is None or o["failed"] or not o["test_acc_per_seed"]:
            what = "no run" if o["runs"] == 0 else ("both fail" if p is None and o["failed"] else
                   "paper fails" if p is None else "ours fails")  # fmt: skip
            ax.text(j, 0.5, what, ha="center", va="center", fontsize=9, color="0.4", rotation=90,
                    transform=ax.get_xaxis_transform())  # fmt: skip
            continue
        d = 100 * (np.asarray(o["test_acc_per_seed"]) - p["test_acc"])
        ax.plot(np.full(d.size, j) + np.linspace(-0.12, 0.12, d.size), d, "o", ms=4, alpha=0.7)
        ax.errorbar(j + 0.25, d.mean(), yerr=d.std(ddof=1) if d.size > 1 else 0, fmt="s",
                    color="k", ms=4, capsize=3)  # fmt: skip
    ax.axhline(0, color="0.3", ls="--", lw=1)
    ax.set_xlim(-0.5, len(t["columns"]) - 0.5)
    ax.set_xticks(range(len(t["columns"])), [f"{c:g}" for c in t["columns"]])
    ax.set_xlabel(t["column_name"] + (" (Table 2)" if t["method"] != "sgd" else ""))
    ax.set_title(t["row"], fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def plot(args, dataset: str, table: list[dict]) -> Path:
    """Ours − paper, cell by cell and seed by seed: where the paper's number lies in our spread."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # one line of panels; the published codes' table one line per method (ProxBP, SIBP)
    lines = [table]
    if args.authors_solver or args.proxprop_cg:
        methods = dict.fromkeys(t["method"] for t in table)
        lines = [[t for t in table if t["method"] == m] for m in methods]
    ncols = max(len(line) for line in lines)
    fig, axes = plt.subplots(len(lines), ncols, figsize=(3.0 * ncols, 3.8 * len(lines)),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax_line, line in zip(axes, lines, strict=True):
        for ax, t in zip(ax_line, line, strict=False):
            difference_panel(ax, t)
        for ax in ax_line[len(line) :]:
            ax.set_visible(False)
        ax_line[0].set_ylabel("final test accuracy: ours − paper (points)")
    fig.suptitle(
        f"Table 2 measured: {dataset}, {args.n_train} samples, {args.epochs} epochs, up to "
        f"{args.seeds} seeds per cell (dots: seeds; squares: mean ± sd; dashed: the paper)"
        + (" [quick]" if args.quick else ""),
        fontsize=10,
    )
    fig.tight_layout()
    png = common.savefig(fig, args, f"{out_name(args)}.png")
    plt.close(fig)
    return png
