"""The machinery of tutorial 04 (stability over the step sizes): the two grids of runs, the
summary that answers the question, the results file and the three figures.

Panel 1 is mini-batch training over (η, λ) for SIBP and ProxBP and over lr for SGD and Adam;
panel 2 is Theorem 4.1's full-batch region (tanh, float64, exact inner solves). The figures
are drawn from the results dictionary alone (settings included), so ``--replot`` redraws
them from the committed ``tutorials/results/04_stability.json`` and runs nothing.

A panel-1 run's key (its log's file name) depends on :func:`config` alone, so its fields
must not change.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common
import numpy as np

from sibp_ref import MLP, RunConfig, make_method, make_synthetic
from sibp_ref.run import train

NAME = "04_stability"
ETAS = [0.1, 1.0, 10.0, 100.0]
LAMS = [0.01, 0.1, 1.0, 10.0, 100.0]
LRS_SGD = [0.01, 0.1, 1.0, 10.0, 100.0]
LRS_ADAM = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
FONT = 10  # the smallest text of a figure


# %% panel 1: mini-batch training over the grid
def config(args: argparse.Namespace, method: str, hyper: dict) -> RunConfig:
    """One panel-1 run: ReLU, softmax CE, batch 100 shuffled, init N(0, 0.05), float32, seed 0."""
    return RunConfig(
        method=method,
        hyper=hyper,
        dataset=args.dataset,
        n_train=args.n_train,
        hidden=args.hidden,
        activation="relu",
        init_std=0.05,
        epochs=args.epochs,
        batch_size=100,
        sampling="shuffle",
        seed=0,
        backend=args.backend,
        dtype="float32",
        data_dir=args.data_dir,
    )


def grid(args: argparse.Namespace) -> dict:
    """method → rows of hyper-parameters: (η, λ) for SIBP and ProxBP (rows η, columns λ), a
    single row of lr for SGD and Adam."""
    return {
        "sibp": [[{"eta": e, "lam": la} for la in args.lams] for e in args.etas],
        "proxbp": [[{"eta": e, "lam": la} for la in args.lams] for e in args.etas],
        "sgd": [[{"lr": lr} for lr in args.lrs_sgd]],
        "adam": [[{"lr": lr} for lr in args.lrs_adam]],
    }


def outcome(h: dict, H) -> dict:
    """One run's cell: its effective step (2λη, or lr), whether it diverged or halved the
    initial training loss ("learned"), and its final numbers (None when diverged)."""
    J0 = H.records[0]["train_loss"]
    J = H.final.get("train_loss", np.nan)
    diverged = H.diverged or not np.isfinite(J)
    return {
        **h,
        "effective_step": h["lr"] if "lr" in h else 2 * h["lam"] * h["eta"],
        "diverged": bool(diverged),
        "learned": bool(not diverged and J < 0.5 * J0),
        "train_loss": None if diverged else float(J),
        "train_acc": None if diverged else float(H.final["train_acc"]),
        "test_acc": None if diverged else float(H.final["test_acc"]),
        "initial_loss": float(J0),
        "time_s": float(H.final.get("time", np.nan)),
    }


def panel_1(args: argparse.Namespace) -> tuple[dict, float]:
    """Every cell of :func:`grid`, one run each through the grid driver (resumable logs)."""
    g = grid(args)
    configs = [config(args, m, h) for m, rows in g.items() for row in rows for h in row]
    t0 = time.perf_counter()
    hist = {
        cfg.key(): H for cfg, H in common.run_grid(configs, args.runs_dir, args, progress=False)
    }
    wall = time.perf_counter() - t0
    print(
        f"panel 1: {len(configs)} runs on {args.dataset} ({args.n_train} samples) in {wall:.0f} s"
    )
    cells = {
        m: [[outcome(h, hist[config(args, m, h).key()]) for h in row] for row in rows]
        for m, rows in g.items()
    }
    return cells, wall


# %% panel 2: Theorem 4.1's region, full batch, float64, tanh
def monotone_run(net, method, params0, data, steps: int) -> dict:
    """``steps`` full-batch steps; "monotone" when ``J(W^{k+1}) ≤ J(W^k)(1 + 1e-10) + 1e-12``
    at every step (the exact inner solves are accurate to 1e-10)."""
    h = train(net, method, params0, data, epochs=steps, full_batch=True, grad_norm=False)
    J = h.column("train_loss")
    if h.diverged or not np.all(np.isfinite(J)):
        return {"status": "diverged", "increases": None, "J0": J[0], "J_end": None}
    inc = int(np.sum(J[1:] > J[:-1] * (1 + 1e-10) + 1e-12))
    return {
        "status": "monotone" if inc == 0 else "not monotone",
        "increases": inc,
        "J0": float(J[0]),
        "J_end": float(J[-1]),
    }


def monotone_problem() -> tuple:
    """Panel 2's problem: synthetic 300 × 32 (10 classes, seed 1), 32-32-10 tanh (C², σ' > 0,
    Assumption 4.2), softmax CE, init N(0, 0.05) seed 0, float64; ``(net, params0, (X, Y))``."""
    ds = make_synthetic(300, 300, d=32, dtype="float64", seed=1)
    net = MLP([32, 32, 10], activation="tanh", loss="cross_entropy")
    params0 = net.init(seed=0, std=0.05, xp="numpy", dtype="float64")
    return net, params0, (ds.X_train, ds.Y_train)


def panel_2(args: argparse.Namespace) -> tuple[dict, float]:
    """Theorem 4.1 over the same (η, λ) on :func:`monotone_problem`.

    Cached beside the run logs (keyed by the grid), so a re-run only redraws."""
    cache = args.runs_dir / (
        f"panel2-{len(args.etas)}x{len(args.lams)}-{args.fb_steps}-{len(args.lrs_sgd)}.json"
    )
    if cache.is_file():
        print("panel 2: read from", common.shown_path(cache))
        return json.loads(cache.read_text()), float("nan")
    t0 = time.perf_counter()
    net, params0, data = monotone_problem()

    def run(name: str, **hyper) -> dict:
        method = make_method(name, **hyper)
        return {**hyper, **monotone_run(net, method, params0, data, args.fb_steps)}

    panel2 = {
        "sibp": [
            [run("sibp", eta=e, lam=la, solver="exact") for la in args.lams] for e in args.etas
        ],
        "proxbp": [[run("proxbp", eta=e, lam=la) for la in args.lams] for e in args.etas],
        "sgd": [[run("sgd", lr=lr) for lr in args.lrs_sgd]],
    }
    for row in panel2["sibp"]:  # the results file records the grid's (η, λ), not the solver
        for c in row:
            c.pop("solver")
    wall = time.perf_counter() - t0
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(panel2, default=float))
    print(f"panel 2: full-batch monotonicity map in {wall:.0f} s")
    return panel2, wall


# %% the numbers that answer the question, and the results file
def summarise(panel1: dict) -> dict:
    """Per method: how many runs halved the loss or diverged, the largest effective step
    that learned, the smallest that diverged, the best test accuracy."""
    summary = {}
    for m, rows in panel1.items():
        cells = [c for row in rows for c in row]
        ok = [c["effective_step"] for c in cells if c["learned"]]
        bad = [c["effective_step"] for c in cells if c["diverged"]]
        summary[m] = {
            "largest_effective_step_that_learned": max(ok) if ok else None,
            "smallest_effective_step_that_diverged": min(bad) if bad else None,
            "learned": sum(c["learned"] for c in cells),
            "diverged": sum(c["diverged"] for c in cells),
            "runs": len(cells),
            "best_test_acc": max((c["test_acc"] or 0.0) for c in cells),
        }
    return summary


def print_summary(results: dict) -> None:
    s2 = results["settings"]
    for m, s in results["summary"].items():
        print(
            f"{m:>7}: {s['learned']}/{s['runs']} halved the loss, {s['diverged']} diverged; "
            f"largest effective step that learned {s['largest_effective_step_that_learned']}, "
            f"smallest that diverged {s['smallest_effective_step_that_diverged']}; "
            f"best test acc {s['best_test_acc']:.4f}"
        )
    for m in ("sibp", "proxbp"):
        print(f"{m} full batch (Thm 4.1), rows η = {s2['etas']}, columns λ = {s2['lams']}:")
        for row in results["panel2"][m]:
            print("   ", " ".join(f"{c['status']:>13}" for c in row))
    print("sgd full batch:", [c["status"] for c in results["panel2"]["sgd"][0]])


def results(args: argparse.Namespace, panel1: dict, panel2: dict, walls: tuple) -> dict:
    """The results file's content: the settings (all a figure needs), the walls, the
    summary and both panels."""
    return {
        "settings": {
            "panel1": {
                "dataset": args.dataset,
                "n_train": args.n_train,
                "hidden": list(args.hidden),
                "activation": "relu",
                "loss": "cross_entropy",
                "epochs": args.epochs,
                "batch_size": 100,
                "sampling": "shuffle",
                "init_std": 0.05,
                "dtype": "float32",
                "seed": 0,
                "sibp": "5 NCG steps",
                "proxbp": "exact",
            },
            "panel2": {
                "dataset": "synthetic n=300 d=32 10 classes seed 1",
                "sizes": [32, 32, 10],
                "activation": "tanh",
                "loss": "cross_entropy",
                "steps": args.fb_steps,
                "dtype": "float64",
                "sibp": "solver=exact",
                "monotone": "J_{k+1} <= J_k (1 + 1e-10) + 1e-12 at every step",
            },
            "etas": args.etas,
            "lams": args.lams,
            "lrs_sgd": args.lrs_sgd,
            "lrs_adam": args.lrs_adam,
        },
        "wall_s": {"panel1": walls[0], "panel2": walls[1]},
        "summary": summarise(panel1),
        "panel1": panel1,
        "panel2": panel2,
    }


def read_back(args: argparse.Namespace) -> dict:
    """The results file of an earlier run (``--replot``): the committed one, or under ``--out``."""
    path = common.results_path(args, NAME)
    if not path.is_file():
        raise SystemExit(
            f"--replot needs the results of a run, and {path.name} is missing: "
            "run once without --replot"
        )
    return json.loads(path.read_text(encoding="utf-8"))


# %% figures, drawn from the results dictionary alone
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": FONT + 1, "axes.titlesize": FONT + 2})
    return plt


def describe(settings: dict) -> str:
    """Panel 1's problem in one line."""
    p = settings["panel1"]
    net = (
        f"{p['dataset']} {p['n_train']} samples, 784-{p['hidden'][0]}-10"
        if p["dataset"] == "mnist"
        else f"synthetic {p['n_train']}×32, 32-{p['hidden'][0]}-10"
    )
    return f"{net} ReLU, CE, batch 100, {p['epochs']} epochs, float32, seed 0"


def heat(ax, cells, xticks, yticks, title, cmap, norm, eff=True):
    """A map of the final training loss; each cell's text: loss, test accuracy and 2λη (or lr)."""
    M = np.array([[np.nan if c["diverged"] else c["train_loss"] for c in r] for r in cells])
    im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, norm=norm, aspect="auto", origin="lower")
    for i, r in enumerate(cells):
        for j, c in enumerate(r):
            txt = "/" if c["diverged"] else f"{c['train_loss']:.3g}\n{100 * c['test_acc']:.1f} %"
            if eff:
                txt += f"\n$2\\lambda\\eta$={c['effective_step']:g}"
            else:
                txt = f"lr={c['lr']:g}\n{txt}"
            dark = np.isfinite(M[i, j]) and norm(M[i, j]) > 0.45
            ax.text(j, i, txt, ha="center", va="center", fontsize=FONT, color="w" if dark else "k")
    ax.set_xticks(range(len(xticks)), xticks)
    ax.set_yticks(range(len(yticks)), yticks)
    ax.set_title(title)
    return im


def plot_grid(args: argparse.Namespace, res: dict) -> Path:
    """Heat maps of the final training loss over (η, λ) and over lr."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    s = res["settings"]
    p1 = res["panel1"]
    lams = [f"{x:g}" for x in s["lams"]]
    etas = [f"{x:g}" for x in s["etas"]]
    fig, axes = plt.subplots(
        1, 3, figsize=(19, 6.6), gridspec_kw={"width_ratios": [len(lams), len(lams), 2.6]}
    )
    cmap = plt.get_cmap("magma_r").with_extremes(bad="#bdbdbd")
    norm = LogNorm(vmin=0.1, vmax=50.0)
    for ax, m, title in (
        (axes[0], "sibp", "SIBP (5 NCG steps)"),
        (axes[1], "proxbp", "ProxBP (exact)"),
    ):
        heat(ax, p1[m], lams, etas, title, cmap, norm)
        ax.set_xlabel(r"$\lambda$")
        ax.set_ylabel(r"$\eta$", rotation=0, labelpad=12)
    # SGD and Adam as two columns over their own lr (in each cell)
    cells = [[a, b] for a, b in zip(p1["sgd"][0], p1["adam"][0], strict=True)]
    im = heat(axes[2], cells, ["SGD", "Adam"], [], "SGD and Adam", cmap, norm, eff=False)
    axes[2].set_ylabel("learning rate (in each cell)")
    fig.subplots_adjust(wspace=0.22, top=0.84)
    fig.colorbar(im, ax=axes, pad=0.02, fraction=0.03, label=r"final training loss $J$")
    fig.suptitle(
        f"Final training loss over the step sizes: {describe(s)}\n"
        r"each cell: $J$ after the last epoch, test accuracy, effective step $2\lambda\eta$ "
        "(SGD, Adam: lr); grey '/': diverged",
        fontsize=FONT + 2,
    )
    path = common.savefig(fig, args, f"{NAME}_grid.png")
    plt.close(fig)
    return path


def plot_effective_step(args: argparse.Namespace, res: dict) -> Path:
    """Every SIBP, ProxBP and SGD run on one axis, the effective step (2λη, or lr)."""
    plt = _pyplot()
    s, p1 = res["settings"], res["panel1"]
    fig, ax = plt.subplots(figsize=(10, 5.6))
    done = [
        c["train_loss"]
        for m in ("sibp", "proxbp", "sgd")
        for r in p1[m]
        for c in r
        if not c["diverged"]
    ]
    top = 1.5 * max(done + [10.0])  # where a diverged run is drawn
    colors = plt.get_cmap("tab10").colors
    for m, ls, mk, fill in (("sibp", "-", "o", True), ("proxbp", "--", "s", False)):
        for i, row in enumerate(p1[m]):
            x = [c["effective_step"] for c in row]
            y = [top if c["diverged"] else c["train_loss"] for c in row]
            col = colors[i]
            ax.plot(
                x,
                y,
                ls=ls,
                marker=mk,
                color=col,
                ms=8 if fill else 10,
                mfc=col if fill else "none",
                mew=1.5,
                label=f"{'SIBP' if m == 'sibp' else 'ProxBP'}, $\\eta$ = {row[0]['eta']:g}",
            )
    sgd = p1["sgd"][0]
    ax.plot(
        [c["lr"] for c in sgd],
        [top if c["diverged"] else c["train_loss"] for c in sgd],
        ls=":",
        marker="^",
        ms=9,
        color="k",
        label="SGD (x = lr)",
    )
    if any(c["diverged"] for m in ("sibp", "proxbp", "sgd") for r in p1[m] for c in r):
        ax.axhline(top, color="k", lw=0.8, ls="-.")
        ax.text(2e-3, top * 1.08, "diverged (NaN)", fontsize=FONT)
    ax.axhline(np.log(10), color="0.5", lw=1, ls=(0, (1, 3)))
    ax.text(3e2, np.log(10) * 1.08, r"chance level $\ln 10$", fontsize=FONT, color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"effective step: $2\lambda\eta$ (SIBP, ProxBP), lr (SGD)")
    ax.set_ylabel(f"training loss $J$ after {s['panel1']['epochs']} epochs")
    ax.set_title(f"Which effective step still trains?\n{describe(s)}", fontsize=FONT + 1)
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=FONT, frameon=False)
    path = common.savefig(fig, args, f"{NAME}_effective_step.png")
    plt.close(fig)
    return path


def plot_monotone(args: argparse.Namespace, res: dict) -> Path:
    """Theorem 4.1: where the full-batch loss decreases at every step."""
    plt = _pyplot()
    from matplotlib.patches import Patch

    s, p2 = res["settings"], res["panel2"]
    etas, lams, steps = s["etas"], s["lams"], s["panel2"]["steps"]
    colors = {"monotone": "#66bd63", "not monotone": "#fdae61", "diverged": "#bdbdbd"}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.8))
    fig.subplots_adjust(top=0.8, bottom=0.24, wspace=0.2)
    for ax, m in zip(axes, ("sibp", "proxbp"), strict=True):
        for i, row in enumerate(p2[m]):
            for j, c in enumerate(row):
                cell = plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fc=colors[c["status"]], ec="w")
                ax.add_patch(cell)
                txt = {"monotone": "✓", "diverged": "/"}.get(c["status"], f"✗ {c['increases']}")
                if c["J_end"] is not None:
                    txt += f"\n$J$ = {c['J_end']:.3g}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=FONT)
        ax.set_xlim(-0.5, len(lams) - 0.5)
        ax.set_ylim(-0.5, len(etas) - 0.5)
        ax.set_xticks(range(len(lams)), [f"{x:g}" for x in lams])
        ax.set_yticks(range(len(etas)), [f"{x:g}" for x in etas])
        ax.set_xlabel(r"$\lambda$")
        ax.set_ylabel(r"$\eta$", rotation=0, labelpad=12)
        name = "SIBP (exact inner solves)" if m == "sibp" else "ProxBP (exact)"
        ax.set_title(f"{name}; $J(W^0)$ = {p2[m][0][0]['J0']:.3g}")
    fig.suptitle(
        r"Theorem 4.1: does the full-batch loss fall, $J(W^{k+1}) \leq J(W^k)$, at every step?"
        f"\n{steps} steps, synthetic 300×32, 32-32-10 tanh, CE, float64; "
        "text: $J$ after the last step",
        fontsize=FONT + 2,
    )
    handles = [
        Patch(color=colors["monotone"], label="✓ monotone"),
        Patch(color=colors["not monotone"], label=f"✗ n: n increases in {steps} steps"),
        Patch(color=colors["diverged"], label="/ diverged"),
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=3, bbox_to_anchor=(0.5, 0.07), frameon=False
    )
    mark = {"monotone": "✓", "not monotone": "✗", "diverged": "/"}
    gd = ", ".join(f"lr {c['lr']:g}: {mark[c['status']]}" for c in p2["sgd"][0])
    fig.text(0.5, 0.02, f"Full-batch gradient descent on the same problem: {gd}", ha="center")
    path = common.savefig(fig, args, f"{NAME}_monotone.png")
    plt.close(fig)
    return path


def plot_all(args: argparse.Namespace, res: dict) -> list[Path]:
    return [plot_grid(args, res), plot_effective_step(args, res), plot_monotone(args, res)]
