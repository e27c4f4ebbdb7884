"""The machinery of tutorial 07 (small training sets, §5.4, Figs. 10–11, claims C8 and C9): the
run configurations, reading ended logs back, a run's summary, the verdict of one seed, the
mean ± sd over the seeds, the numbers of the notes and the figure.

A run's key (its log's file name) depends on :func:`configs` alone: the committed logs under
``tutorials/results/07_small_samples_runs/`` (which tutorial 12 reads too) are found by it, so
its fields must not change.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import common
import numpy as np

from _lib.deep import style
from sibp_ref import RunConfig, read_log

NAME = "07_small_samples"
METHODS = ["sgd", "proxbp", "bcd", "sibp"]
RUNS = common.ROOT / "tutorials" / "results" / f"{NAME}_runs"
SHOWN = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "synthetic": "synthetic"}
#: the two experiments: data set, training samples, hidden width, the paper's figure and SIBP
EXPERIMENTS = [
    {"dataset": "mnist", "n_train": 10000, "hidden": 500, "fig": 10, "paper_sibp_test": 0.967},
    {"dataset": "fashion-mnist", "n_train": 2000, "hidden": 1000, "fig": 11,
     "paper_sibp_test": 0.8225},
]  # fmt: skip


# %% the runs, as plain run configurations
def configs(args: argparse.Namespace, s: dict, e: dict, seed: int) -> list[RunConfig]:
    """The four methods on one experiment and seed, with the registry's hyper-parameters."""
    return [
        RunConfig(
            method=m,
            dataset=e["dataset"],
            n_train=e["n_train"],
            hidden=[e["hidden"]],
            activation="relu",
            init_std=s["init_std"],
            epochs=s["epochs"],
            batch_size=s["batch_size"],
            seed=seed,
            backend=args.backend,
            dtype="float32",
            data_dir=args.data_dir,
        )
        for m in METHODS
    ]


def ended(cfg: RunConfig, runs: Path):
    """The history of ``cfg`` if its log in ``runs`` says the run ended, else None."""
    log = Path(runs) / f"{cfg.key()}.jsonl"
    h = read_log(log) if log.is_file() else None
    return h if h is not None and h.done else None


def seeds_found(args, s: dict, runs: Path, limit: int = 1000) -> list[int]:
    """The seeds from ``s['seed']`` on whose runs (every method, both experiments) have all
    ended in ``runs``, up to the first seed that has not."""
    seeds = []
    for seed in range(s["seed"], s["seed"] + limit):
        cfgs = [c for e in s["experiments"] for c in configs(args, s, e, seed)]
        if not all(ended(c, runs) is not None for c in cfgs):
            break
        seeds.append(seed)
    return seeds


# %% a run's summary, one seed's verdict, the spread over the seeds
def first_epoch(acc: np.ndarray, level: float) -> int | None:
    hit = np.flatnonzero(np.nan_to_num(acc) >= level)
    return int(hit[0]) if hit.size else None


def summarise(results) -> list[dict]:
    """One row per run: its curves (epoch 0 = the init) and its final numbers."""
    rows = []
    for cfg, h in results:
        tr, te = h.column("train_acc"), h.column("test_acc")
        rows.append(
            {
                "method": cfg.method,
                "hyper": cfg.settings()["hyper"],
                "status": h.status,
                "train_acc": tr.tolist(),
                "test_acc": te.tolist(),
                "train_loss": h.column("train_loss").tolist(),
                "time_s": float(np.nanmax(h.column("time"))),
                "final_train_acc": float(tr[-1]),
                "final_test_acc": float(te[-1]),
                "best_test_acc": float(np.nanmax(te)),
                "first_epoch_100pct_train": first_epoch(tr, 1.0),
                "first_epoch_99pct_train": first_epoch(tr, 0.99),
            }
        )
    return rows


def verdict(rows: list[dict], e: dict) -> dict:
    """One seed: is SIBP's final test accuracy the highest, is it first to 100 % training?"""
    by = {r["method"]: r for r in rows}
    sibp, others = by["sibp"], [r for m, r in by.items() if m != "sibp"]
    e100 = {m: r["first_epoch_100pct_train"] for m, r in by.items()}
    first = sibp["first_epoch_100pct_train"] is not None and all(
        v is None or v >= e100["sibp"] for m, v in e100.items() if m != "sibp"
    )
    best_other = max(r["final_test_acc"] for r in others)
    return {
        "sibp_final_test_acc": sibp["final_test_acc"],
        "paper_sibp_test_acc": e["paper_sibp_test"],
        "best_other_final_test_acc": best_other,
        "sibp_test_highest": sibp["final_test_acc"] >= best_other,
        "first_epoch_100pct_train": e100,
        "sibp_reaches_100pct_train_first": bool(first),
        "first_epoch_99pct_train": {m: r["first_epoch_99pct_train"] for m, r in by.items()},
    }


def seed_spread(rows_by_seed: list[list[dict]]) -> dict:
    """Mean ± sample sd over the seeds of each method's final accuracies, its first epochs at
    99 % training accuracy, and in how many seeds SIBP's final test accuracy is the highest."""
    out: dict = {}
    for m in METHODS:
        rs = [r for rows in rows_by_seed for r in rows if r["method"] == m]
        tr = np.array([r["final_train_acc"] for r in rs])
        te = np.array([r["final_test_acc"] for r in rs])
        out[m] = {
            "seeds": len(rs),
            "train_mean": float(np.mean(tr)),
            "train_sd": float(np.std(tr, ddof=1)) if len(rs) > 1 else None,
            "test_mean": float(np.mean(te)),
            "test_sd": float(np.std(te, ddof=1)) if len(rs) > 1 else None,
            "first_epoch_99pct_train": [r["first_epoch_99pct_train"] for r in rs],
            "time_s_mean": float(np.mean([r["time_s"] for r in rs])),
        }
    wins = sum(max(rows, key=lambda r: r["final_test_acc"])["method"] == "sibp"
               for rows in rows_by_seed)  # fmt: skip
    out["sibp_test_highest_in"] = f"{wins} of {len(rows_by_seed)} seeds"
    return out


# %% the numbers of the notes
def plain(method: str, hyper: dict) -> str:
    """A method and its hyper-parameters in the paper's symbols, as Markdown text."""
    if method == "sgd":
        return f"SGD lr {hyper['lr']:g}"
    if method == "bcd":
        return "BCD γ = ρ = α = 1"
    name = "ProxBP" if method == "proxbp" else "**SIBP**"
    return f"{name} η = {hyper['eta']:g}, λ = {hyper['lam']:g}"


def mean_sd(mean: float, sd: float | None) -> str:
    return f"{mean:.4f}" if sd is None else f"{mean:.4f} ± {sd:.4f}"


def numbers_markdown(out: dict) -> str:
    """Per method, the final training and test accuracy (mean ± sd over the seeds) on both
    experiments beside the paper's SIBP; then the first epoch at 99 % training accuracy of
    each seed, and the mean seconds of training steps per run."""
    exps = list(out.values())
    head = ["method"]
    for x in exps:
        e = x["experiment"]
        head += [f"{SHOWN.get(e['dataset'], e['dataset'])} {e['n_train']:,}: train", "test"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for m in METHODS:
        cells = [plain(m, next(r["hyper"] for r in exps[0]["runs"] if r["method"] == m))]
        for x in exps:
            r = x["seed_spread"][m]
            cells += [
                mean_sd(r["train_mean"], r["train_sd"]),
                mean_sd(r["test_mean"], r["test_sd"]),
            ]
        lines.append("| " + " | ".join(cells) + " |")
    paper = ["the paper's SIBP"]
    for x in exps:
        paper += ["100 %" if x["experiment"]["fig"] == 10 else "—",
                  f"{x['experiment']['paper_sibp_test']:g}"]  # fmt: skip
    lines.append("| " + " | ".join(paper) + " |")
    n = exps[0]["seed_spread"]["sibp"]["seeds"]
    text = "\n".join(lines) + f"\n\nMean ± sd over {n} seeds. SIBP's final test accuracy is the "
    text += "highest in " + "; ".join(
        f"{x['seed_spread']['sibp_test_highest_in']} on {SHOWN.get(x['experiment']['dataset'])}"
        for x in exps
    )
    head2 = ["method"]
    for x in exps:
        head2 += [f"{SHOWN.get(x['experiment']['dataset'])}: first epoch ≥ 99 %", "s per run"]
    rows2 = ["| " + " | ".join(head2) + " |", "|" + " --- |" * len(head2)]
    for m in METHODS:
        cells = [plain(m, next(r["hyper"] for r in exps[0]["runs"] if r["method"] == m))]
        for x in exps:
            r = x["seed_spread"][m]
            ep = ", ".join("—" if v is None else str(v) for v in r["first_epoch_99pct_train"])
            cells += [ep, f"{r['time_s_mean']:.0f}"]
        rows2.append("| " + " | ".join(cells) + " |")
    return (
        text
        + ".\n\nFirst epoch with at least 99 % training accuracy, seed by seed (— never), and the"
        " mean seconds of training steps per run:\n\n" + "\n".join(rows2) + "\n"
    )


# %% the figure: per experiment, the curves (mean ± sd over the seeds) and the final test
def curves(results_by_seed: list[list], m: str, key: str) -> np.ndarray:
    """``key`` per epoch of method ``m``, one row per seed."""
    return np.array([h.column(key) for rs in results_by_seed for c, h in rs if c.method == m])


def plot(all_results: list, s: dict, path: Path) -> Path:
    """Two rows (MNIST, Fashion-MNIST), three panels each: training and test accuracy per epoch
    (the mean over the seeds, a band of ± 1 sd), and the final test accuracy of every seed (a
    dot each) with its mean ± sd beside the paper's SIBP."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rng = np.random.default_rng(0)  # the dots' horizontal jitter only
    with plt.rc_context({"font.size": 13, "axes.titlesize": 14, "legend.fontsize": 13}):
        fig, axes = plt.subplots(2, 3, figsize=(18, 10.5),
                                 gridspec_kw={"width_ratios": [1.25, 1.25, 0.9]})  # fmt: skip
        for row, (e, by_seed) in zip(axes, all_results, strict=True):
            paper = e["paper_sibp_test"]
            finals = {}
            for k, m in enumerate(METHODS):
                hyper = next(c for rs in by_seed for c, _ in rs if c.method == m).settings()[
                    "hyper"
                ]
                st = style(m, hyper)
                for ax, key in zip(row[:2], ("train_acc", "test_acc"), strict=True):
                    y = curves(by_seed, m, key)
                    ep, mu = np.arange(y.shape[1]), y.mean(axis=0)
                    ax.plot(ep, mu, markevery=2, **st)
                    if len(y) > 1:
                        sd = y.std(axis=0, ddof=1)
                        ax.fill_between(ep, mu - sd, mu + sd, color=st["color"], alpha=0.18, lw=0)
                fin = curves(by_seed, m, "test_acc")[:, -1]
                finals[m] = fin
                x = k + rng.uniform(-0.12, 0.12, len(fin))
                row[2].plot(x, fin, "o", color=st["color"], ms=7, alpha=0.75, mec="white")
                sd = fin.std(ddof=1) if len(fin) > 1 else 0.0
                row[2].errorbar(k + 0.3, fin.mean(), yerr=sd, fmt="_", ms=16, mew=2.5,
                                color=st["color"], elinewidth=2.5, capsize=6)  # fmt: skip
            name = f"{SHOWN.get(e['dataset'], e['dataset'])} 784-{e['hidden']}-10"
            row[0].set_title(f"{name}, {e['n_train']:,} samples: training  (paper Fig. {e['fig']})")
            row[1].set_title(f"{name}: test (whole test set)")
            row[2].set_title(f"final test accuracy, epoch {s['epochs']}")
            for ax in row[1:]:
                ax.axhline(paper, color=style("sibp", {"eta": 10, "lam": 0.5})["color"], lw=1.2,
                           ls=(0, (2, 2)))  # fmt: skip
            row[2].text(-0.4, paper, "paper's SIBP", va="bottom", ha="left", fontsize=12)
            tr_end = min(curves(by_seed, m, "train_acc")[:, -1].mean() for m in METHODS)
            te_all = np.concatenate(list(finals.values()))
            row[0].set_ylim(max(0.0, tr_end - 0.12), 1.005)
            lo, hi = min(te_all.min(), paper) - 0.02, max(te_all.max(), paper) + 0.01
            row[1].set_ylim(lo - 0.06, hi)
            row[2].set_ylim(lo, hi)
            row[2].set_xticks(range(len(METHODS)), ["SGD", "ProxBP", "BCD", "SIBP"])
            row[2].set_xlim(-0.5, len(METHODS) - 0.4)
            row[0].set_ylabel("accuracy (zoomed)")
            for ax in row:
                ax.grid(True, alpha=0.3)
            for ax in row[:2]:
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes[1, :2]:
            ax.set_xlabel("epoch")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=4, frameon=False,
                   bbox_to_anchor=(0.5, 0), handlelength=3.5)  # fmt: skip
        n = len(all_results[0][1])
        spread = f"mean of {n} seeds, band ± 1 sd; right: each seed a dot, bar = mean ± sd" if (
            n > 1) else f"seed {s['seeds'][0]}"  # fmt: skip
        fig.suptitle(
            f"Small training sets (§5.4): {s['epochs']} epochs, batch 100, init "
            rf"$\mathcal{{N}}(0, {s['init_std']:g}^2)$, float32; cross-entropy except BCD"
            f"\n{spread}; dashed red line: the paper's final SIBP test accuracy",
            fontsize=14,
        )
        fig.tight_layout(rect=(0, 0.05, 1, 1))
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
    return path
