"""The machinery of tutorial 06 (the deep ReLU network of §5.2, Figs. 4–7, claim C7): the grid's
run configurations, reading ended logs back, the summary of a run, C7's verdict, the numbers of
the notes and the figure (one column per init: training accuracy and ‖∂J/∂W₁‖ per epoch).

A run's key (its log's file name) depends on :func:`configs` alone: the committed logs under
``tutorials/results/06_deep_network_paper_runs/`` are found by it, so its fields must not change.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import common
import numpy as np

from sibp_ref import RunConfig, read_log
from sibp_ref.run.report import COLORS

NAME = "06_deep_network"
PAPER_STDS = [0.01, 0.025, 0.03]
PAPER_WIDTH = 600
PAPER_FIG = {0.01: 4, 0.025: 5, 0.03: 6}
METHODS = ["sgd", "proxbp", "bcd", "sibp"]
DATASETS = {"mnist": "MNIST", "synthetic": "synthetic"}
TRAINS = 0.5  # "trains": final training accuracy at least this (chance is 0.1)
RESULTS = common.ROOT / "tutorials" / "results"
PAPER_RUNS = RESULTS / f"{NAME}_paper_runs"
#: the committed paper-net grid, as the tutorial's options (its logs: ``PAPER_RUNS``)
COMMITTED_PAPER = ["--paper", "--epochs", "15", "--sgd-lrs", "0.1"]
#: the committed reduced-net grids: their logs were not kept, their numbers files hold every
#: epoch of every run, so their figures are redrawn from those
COMMITTED_SUMMARIES = [f"{NAME}_reduced", f"{NAME}_reduced_long"]


def gain_scale(width: int, raw: bool = False) -> float:
    """The factor on the paper's stds that keeps a ReLU layer's variance gain ``w s²/2`` at
    fan-in ``w``: ``√(600/w)`` (1 with ``raw``)."""
    if width < 1:
        raise ValueError(f"width must be a positive integer, got {width}")
    return 1.0 if raw else math.sqrt(PAPER_WIDTH / width)


# %% the grid, as plain run configurations
def configs(args: argparse.Namespace, s: dict) -> list[RunConfig]:
    """One run per init, method and (SGD) learning rate; the registry's defaults otherwise."""
    out = []
    for std in s["inits"]:
        for m in METHODS:
            for hyper in [{"lr": lr} for lr in s["sgd_lrs"]] if m == "sgd" else [{}]:
                out.append(
                    RunConfig(
                        method=m,
                        hyper=hyper,
                        dataset=s["dataset"],
                        n_train=s["n_train"],
                        hidden=[s["width"]] * s["depth"],
                        activation="relu",
                        init_std=std,
                        epochs=s["epochs"],
                        batch_size=s["batch_size"],
                        full_batch_n=s["bcd_n"],
                        seed=s["seed"],
                        backend=args.backend,
                        dtype="float32",
                        data_dir=args.data_dir,
                    )
                )
    return out


def runs_dir(args: argparse.Namespace, s: dict) -> Path:
    """``--runs``; else the committed folder for ``--paper`` (a run started again reads its
    ended logs back and resumes the others); else ``runs/<name>`` (under ``--out`` if given)."""
    if s["runs"]:
        return Path(s["runs"])
    if s["mode"] == "paper" and not args.out:
        return PAPER_RUNS
    return (Path(args.out) if args.out else common.ROOT) / "runs" / s["name"]


def logged_dataset(runs: Path) -> str | None:
    """The data set the logs in ``runs`` were run on (MNIST where any was), None without logs."""
    sets = {read_log(p).settings.get("config", {}).get("dataset") for p in runs.glob("*.jsonl")}
    sets.discard(None)
    return ("mnist" if "mnist" in sets else sorted(sets)[0]) if sets else None


def read_back(cfgs: list[RunConfig], runs: Path) -> list:
    """``(config, history)`` of the configs whose log in ``runs`` has ended; nothing runs."""
    out, missing = [], []
    for cfg in cfgs:
        log = runs / f"{cfg.key()}.jsonl"
        h = read_log(log) if log.is_file() else None
        if h is not None and h.done:
            out.append((cfg, h))
        else:
            lr = f" lr={cfg.hyper['lr']:g}" if cfg.method == "sgd" else ""
            missing.append(f"{cfg.method}{lr} N(0, {cfg.init_std:g})")
    print(f"replot: {len(out)} of {len(cfgs)} runs have ended in {common.shown_path(runs)}")
    if missing:
        print("replot: not ended (left out):", ", ".join(missing))
    return out


# %% a run's summary, and the verdict on C7
def first_epoch_above(acc, level: float) -> int | None:
    """The first epoch (0 = the init) whose accuracy is at least ``level``; None if none."""
    hit = np.flatnonzero(np.nan_to_num(np.asarray(acc, dtype=float)) >= level)
    return int(hit[0]) if hit.size else None


def summarise(results) -> list[dict]:
    """One row per run: its curves over the epochs (epoch 0 = the init) and final numbers."""
    rows = []
    for cfg, h in results:
        epochs = h.column("epoch")
        if not np.array_equal(epochs, np.arange(len(epochs))):
            raise ValueError(f"run {cfg.key()}: epochs {epochs.tolist()} are not 0, 1, 2, ...")
        acc = h.column("train_acc")
        rows.append(
            {
                "init_std": cfg.init_std,
                "method": cfg.method,
                "hyper": cfg.settings()["hyper"],
                "status": h.status,
                "train_acc": acc.tolist(),
                "test_acc": h.column("test_acc").tolist(),
                "train_loss": h.column("train_loss").tolist(),
                "grad_norm_W1": h.column("grad_norm_W1").tolist(),
                "time_s": float(np.nanmax(h.column("time"))),
                "final_train_acc": float(acc[-1]),
                "final_test_acc": float(h.column("test_acc")[-1]),
                "epoch_train_acc_0.8": first_epoch_above(acc, 0.8),
                "trains": bool(np.nan_to_num(acc[-1]) >= TRAINS),
            }
        )
    return rows


def label(r: dict) -> str:
    return f"sgd lr={r['hyper']['lr']:g}" if r["method"] == "sgd" else r["method"]


def verdict(rows: list[dict], s: dict) -> dict:
    """Which runs train at each init; C7 needs SIBP to train at all three paper inits and SGD
    (the first of ``--sgd-lrs``) to fail at the first two and train at N(0, 0.03)."""
    trains = {
        f"N(0, {p:g}) -> N(0, {v:g})": {label(r): r["trains"] for r in rows if r["init_std"] == v}
        for p, v in zip(s["paper_inits"], s["inits"], strict=True)
    }
    out = {"trains_means": f"final training accuracy >= {TRAINS}", "trains": trains}
    if sorted(s["paper_inits"]) != PAPER_STDS:
        return out
    by_paper = dict(zip(s["paper_inits"], trains.values(), strict=True))
    per = [by_paper[p] for p in PAPER_STDS]
    sgd = f"sgd lr={s['sgd_lrs'][0]:g}"
    if not all("sibp" in t and sgd in t for t in per):  # --replot of an unfinished grid
        out["C7_confirmed"] = None
        out["C7_incomplete"] = "SIBP or SGD has not ended at every init"
        return out
    out["C7_sibp_trains_at_all_three"] = all(t["sibp"] for t in per)
    out["C7_sgd_fails_at_first_two"] = not per[0][sgd] and not per[1][sgd]
    out["C7_sgd_trains_at_third"] = per[2][sgd]
    out["C7_confirmed"] = bool(
        out["C7_sibp_trains_at_all_three"]
        and out["C7_sgd_fails_at_first_two"]
        and out["C7_sgd_trains_at_third"]
    )
    return out


# %% the numbers of the notes
def shown_epochs(epochs: int) -> list[int]:
    return sorted({e for e in (1, 2, 3, 5, 10, 20, epochs) if e <= epochs})


def init_text(s: dict, std: float) -> str:
    p = dict(zip(s["inits"], s["paper_inits"], strict=True))[std]
    return f"N(0, {std:g})" if s["init_scale"] == 1 else f"N(0, {std:.3g}) (paper's {p:g})"


def method_text(r: dict) -> str:
    name = {"sgd": "SGD", "proxbp": "ProxBP", "bcd": "BCD", "sibp": "**SIBP**"}[r["method"]]
    return f"{name} lr {r['hyper']['lr']:g}" if r["method"] == "sgd" else name


def numbers_markdown(rows: list[dict], s: dict, v: dict) -> str:
    """Training accuracy after some epochs, the final test accuracy and the first epoch at 80 %
    of every run, one table row each, then which runs train at which init (the verdict's facts)."""
    shown = shown_epochs(s["epochs"])
    head = ["init", "method", *[f"ep {e}" if i == 0 else str(e) for i, e in enumerate(shown)]]
    head += ["test", "first epoch ≥ 80 %"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for std in s["inits"]:
        for i, r in enumerate(r for r in rows if r["init_std"] == std):
            acc = r["train_acc"]
            cells = [init_text(s, std) if i == 0 else "", method_text(r)]
            cells += [f"{acc[e]:.3f}" if e < len(acc) else "—" for e in shown]
            e80 = r["epoch_train_acc_0.8"]
            cells += [f"{r['final_test_acc']:.3f}", "—" if e80 is None else str(e80)]
            lines.append("| " + " | ".join(cells) + " |")
    facts = []
    for std, t in zip(s["inits"], v["trains"].values(), strict=True):
        yes = [m for m, ok in t.items() if ok]
        no = [m for m, ok in t.items() if not ok]
        facts.append(
            f"- {init_text(s, std)}: trains: {', '.join(yes) or 'none'}; "
            f"stays below {TRAINS:g}: {', '.join(no) or 'none'}"
        )
    c7 = v.get("C7_confirmed", "not judged (not all three paper inits)")
    return (
        "\n".join(lines)
        + f'\n\nFrom the logs ("trains": {v["trains_means"]}):\n\n'
        + "\n".join(facts)
        + f"\n- C7 as the paper states it (SIBP trains at all three, SGD fails at the first "
        f"two and trains at the third): {c7}\n"
    )


# %% the figure: one column per init, training accuracy above, ‖∂J/∂W₁‖ below
#: SGD's learning rates: a colour, a line style and a marker each, none shared with a method
SGD_STYLES = {
    0.1: ("#4d4d4d", ":", "^"),
    0.01: (COLORS["momentum"], (0, (6, 2, 1, 2, 1, 2)), "v"),
    1.0: (COLORS["nesterov"], (0, (9, 3)), "X"),
}
METHOD_STYLES = {
    "proxbp": (COLORS["proxbp"], "--", "s"),
    "bcd": (COLORS["bcd"], "-.", "D"),
    "sibp": (COLORS["sibp"], "-", "o"),
}
MORE = [("#17becf", (0, (2, 4)), "P"), ("#ff7f0e", (0, (4, 1, 4, 4)), "*")]  # other SGD rates


def style(method: str, hyper: dict) -> dict:
    """The curve of a run: colour, line style, marker and a label with the paper's symbols."""
    if method == "sgd":
        lr = hyper["lr"]
        color, ls, marker = SGD_STYLES.get(lr) or MORE[abs(hash(lr)) % len(MORE)]
        text = f"SGD, lr = {lr:g}"
    elif method in METHOD_STYLES:
        color, ls, marker = METHOD_STYLES[method]
        eta_lam = "" if method == "bcd" else rf"$\eta={hyper['eta']:g}$, $\lambda={hyper['lam']:g}$"
        text = {
            "proxbp": f"ProxBP, {eta_lam}",
            "bcd": r"BCD, $\gamma=\rho=\alpha=1$ (full batch, square loss)",
            "sibp": f"SIBP, {eta_lam}",
        }[method]
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    lw = 2.6 if method == "sibp" else 1.9
    return dict(color=color, ls=ls, marker=marker, lw=lw, ms=5, label=text)


def plot(rows: list[dict], s: dict, path: Path, title: str) -> Path:
    """Draw ``rows`` (from :func:`summarise` or a numbers file): for each init a column, its
    training accuracy per epoch above and ``‖∂J/∂W₁‖`` (log scale) below; one legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    n = len(s["inits"])
    with plt.rc_context({"font.size": 13, "axes.titlesize": 14, "legend.fontsize": 13}):
        fig, axes = plt.subplots(2, n, figsize=(5.4 * n + 0.6, 9.4), sharex=True, sharey="row",
                                 squeeze=False)  # fmt: skip
        for j, std in enumerate(s["inits"]):
            top, low = axes[:, j]
            for r in (r for r in rows if r["init_std"] == std):
                st = style(r["method"], r["hyper"])
                st["label"] += " [diverged]" if r["status"] == "diverged" else ""
                ep = np.arange(len(r["train_acc"]))
                every = max(1, len(ep) // 16)
                top.plot(ep, r["train_acc"], markevery=every, **st)
                g = np.asarray(r["grad_norm_W1"], dtype=float)
                low.plot(ep, np.where(g > 0, g, np.nan), markevery=every, **st)  # 0: dead ReLUs
            p = dict(zip(s["inits"], s["paper_inits"], strict=True))[std]
            fig_no = f"  (paper Fig. {PAPER_FIG[p]})" if p in PAPER_FIG else ""
            top.set_title(rf"init $\sigma={std:.3g}$" + fig_no if s["init_scale"] == 1 else
                          rf"init $\sigma={std:.3g}$ (paper's {p:g}){fig_no}")  # fmt: skip
            top.axhline(0.1, color="k", lw=0.8, alpha=0.5)
            top.set_ylim(0, 1.02)
            low.set_yscale("log")
            low.set_xlabel("epoch")
            for ax in (top, low):
                ax.grid(True, which="major", alpha=0.3)
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0, 0].text(0.3, 0.035, "chance", fontsize=11, alpha=0.7)
        axes[0, 0].set_ylabel("training accuracy")
        axes[1, 0].set_ylabel(r"$\|\partial J/\partial W_1\|_F$ (whole training set)")
        handles = {}
        for ax in axes[0]:
            for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                handles.setdefault(lab, h)
        order = sorted(handles, key=lambda lab: [m in lab for m in ("SIBP", "BCD", "ProxBP")])
        ncol = 2 if n < 3 else (len(order) if len(order) <= 4 else 3)
        fig.legend([handles[k] for k in order], order, loc="lower center", ncol=ncol,
                   bbox_to_anchor=(0.5, 0), frameon=False, handlelength=3.5)  # fmt: skip
        fig.suptitle(title, fontsize=14)
        fig.tight_layout(rect=(0, 0.04 * math.ceil(len(order) / ncol), 1, 1))
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
    return path


def title(s: dict) -> str:
    net = f"784-{s['width']}$^{{{s['depth']}}}$-10" if s["dataset"] != "synthetic" else "synthetic"
    what = {"paper": "The paper's net", "default": "Reduced net"}.get(s["mode"], "Quick net")
    gain = "" if s["init_scale"] == 1 else rf", $\sigma$ scaled by $\sqrt{{600/{s['width']}}}$"
    data = DATASETS.get(s["dataset"], s["dataset"])
    return (
        f"{what} {net} ReLU on {s['n_train']:,} {data} samples, {s['epochs']} epochs, "
        f"seed {s['seed']}\nweights and biases drawn from $\\mathcal{{N}}(0, \\sigma^2)${gain}; "
        "batch 100, float32; cross-entropy except BCD"
    )


# %% the committed reduced-net grids, from their numbers files
def redraw_summary(name: str, figures: Path) -> tuple[Path, str]:
    """The figure and the numbers of a committed grid whose logs were not kept, from
    ``tutorials/results/<name>.json`` (every epoch of every run)."""
    saved = json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))
    s, rows = saved["settings"], saved["runs"]
    png = plot(rows, s, Path(figures) / f"{name}.png", title(s))
    return png, numbers_markdown(rows, s, verdict(rows, s))
