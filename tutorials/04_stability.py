"""Stability over the step sizes: SIBP and ProxBP over (η, λ), SGD and Adam over lr (§5.2, Table 2;
Theorem 4.1).

Table 2 of the paper claims that SIBP "is stable with different choice of parameter" while
SGD fails for large learning rates. Before believing that, note the scale. In our convention
(``docs/conventions.md §2``: ``J`` a mean over the batch, prox term ``1/(2λ)||W − W^k||²``)
a small SIBP step moves ``W`` by about ``−2λη ∇J``, and ProxBP as λ → 0 is SGD with learning
rate ``2λη``. So a grid over (η, λ) is, to first order, a grid over one *effective step*
``2λη``, and SIBP with η = 0.1, λ = 0.01 is about SGD with lr 0.002. Comparing SIBP at
"η = 10" with SGD at "lr = 10" compares different things. The question that matters is:

    are SIBP and ProxBP still stable at effective steps 2λη at which SGD diverges?

Panel 1 answers it on a problem that runs in minutes on a CPU: the synthetic set
(:func:`sibp_ref.data.make_synthetic`: 4 000 training and 2 000 test samples, 32
features, 10 overlapping classes), a 32-64-10 ReLU network, softmax cross-entropy, batch 100
(shuffled), init N(0, 0.05), 5 epochs (200 steps), float32, one seed; η ∈ {0.1, 1, 10, 100}
and λ ∈ {0.01, 0.1, 1, 10, 100} for SIBP (5 NCG steps) and ProxBP (exact), lr ∈ {0.01, …,
100} for SGD and lr ∈ {10⁻⁴, …, 1} for Adam. The heat maps show the final training loss (the
text adds the test accuracy and 2λη); a second figure puts every run on one axis, the
effective step, so the three methods can be compared where it matters. ``--mnist`` runs
panel 1 on the first 5 000 MNIST samples with 784-100-10 and 3 epochs instead (about 10× the
time; on 2 busy cores, more than the 10 minutes a tutorial may take here). Table 2 itself,
on MNIST 784-500-10, is tutorial 05. All runs go through :func:`sibp_ref.run_grid`
(logs under ``runs/04_stability/``, resumable).

Panel 2 is Theorem 4.1's region: full batch, float64, a smooth activation (tanh: C² with
σ' > 0, Assumption 4.2), the synthetic set (300 samples, 32 features, 10 classes),
a 32-32-10 network, exact inner solves for SIBP, 40 steps. For each (η, λ) it records
whether the full-batch loss ``J(W^k)`` decreased at every step (✓), not (✗, with the
number of increases), or diverged (/). The theorem promises ✓ for η below some
``η̄(λ, W^0)``; it says nothing about its size, and the map shows where it lies here.

``--quick`` (tests): 500 synthetic samples, a 32-16-10 net, 1 epoch, a 2 × 2 corner of
each grid, 5 full-batch steps.
"""

# %%
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


def settings(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, and the grids and problem sizes they select (as attributes)."""
    args = common.options(__doc__.splitlines()[0], argv, grid=True)
    p = argparse.ArgumentParser()
    p.add_argument(
        "--runs", default=None, help="folder of the run logs (default runs/04_stability)"
    )
    p.add_argument("--mnist", action="store_true", help="panel 1 on 5 000 MNIST samples")
    extra = p.parse_known_args(argv)[0]
    args.runs, args.mnist = extra.runs, extra.mnist
    if args.quick or not args.mnist:
        args.dataset = "synthetic"
    else:
        args.dataset = common.dataset_or_synthetic(args, "mnist")
    if args.quick:
        args.etas, args.lams = [0.1, 100.0], [0.01, 100.0]
        args.lrs_sgd, args.lrs_adam = [0.1, 100.0], [1e-3, 1.0]
        args.n_train, args.hidden, args.epochs, args.fb_steps = 500, (16,), 1, 5
    else:
        args.etas, args.lams, args.lrs_sgd, args.lrs_adam = ETAS, LAMS, LRS_SGD, LRS_ADAM
        args.n_train, args.hidden, args.epochs, args.fb_steps = 4000, (64,), 5, 40
        if args.dataset == "mnist":
            args.n_train, args.hidden, args.epochs = 5000, (100,), 3
    args.runs_dir = Path(args.runs) if args.runs else common.ROOT / "runs" / NAME
    if args.out and not args.runs:
        args.runs_dir = Path(args.out) / "runs" / NAME
    return args


# %% panel 1: mini-batch training over the grid
def panel_1(args) -> tuple[dict, float]:
    """Every (η, λ) of SIBP and ProxBP and every lr of SGD and Adam, one run each."""
    dataset, n_train, hidden, epochs = args.dataset, args.n_train, args.hidden, args.epochs
    etas, lams, lrs_sgd, lrs_adam = args.etas, args.lams, args.lrs_sgd, args.lrs_adam

    def config(method: str, hyper: dict) -> RunConfig:
        return RunConfig(
            method=method,
            hyper=hyper,
            dataset=dataset,
            n_train=n_train,
            hidden=hidden,
            activation="relu",
            init_std=0.05,
            epochs=epochs,
            batch_size=100,
            sampling="shuffle",
            seed=0,
            backend=args.backend,
            dtype="float32",
            data_dir=args.data_dir,
        )

    grid = {
        "sibp": [[{"eta": e, "lam": la} for la in lams] for e in etas],
        "proxbp": [[{"eta": e, "lam": la} for la in lams] for e in etas],
        "sgd": [[{"lr": lr} for lr in lrs_sgd]],
        "adam": [[{"lr": lr} for lr in lrs_adam]],
    }
    configs = [config(m, h) for m, rows in grid.items() for row in rows for h in row]
    t0 = time.perf_counter()
    results = common.run_grid(configs, args.runs_dir, args, progress=False)
    hist = {cfg.key(): h for cfg, h in results}
    wall1 = time.perf_counter() - t0
    print(f"panel 1: {len(configs)} runs on {dataset} ({n_train} samples) in {wall1:.0f} s")

    def outcome(method: str, h: dict) -> dict:
        H = hist[config(method, h).key()]
        J0 = H.records[0]["train_loss"]
        J = H.final.get("train_loss", np.nan)
        diverged = H.diverged or not np.isfinite(J)
        return {
            **h,
            "effective_step": h["lr"] if "lr" in h else 2 * h["lam"] * h["eta"],
            "diverged": bool(diverged),
            "learned": bool(not diverged and J < 0.5 * J0),  # halved the initial loss
            "train_loss": None if diverged else float(J),
            "train_acc": None if diverged else float(H.final["train_acc"]),
            "test_acc": None if diverged else float(H.final["test_acc"]),
            "initial_loss": float(J0),
            "time_s": float(H.final.get("time", np.nan)),
        }

    return {m: [[outcome(m, h) for h in row] for row in rows] for m, rows in grid.items()}, wall1


# %% panel 2: Theorem 4.1's region, full batch, float64, tanh
def panel_2(args) -> tuple[dict, float]:
    """Whether the full-batch loss decreases at every step, over the same (η, λ) grid."""
    etas, lams, lrs_sgd, fb_steps = args.etas, args.lams, args.lrs_sgd, args.fb_steps

    def monotone_map() -> dict:
        ds = make_synthetic(300, 300, d=32, dtype="float64", seed=1)
        net = MLP([32, 32, 10], activation="tanh", loss="cross_entropy")
        params0 = net.init(seed=0, std=0.05, xp="numpy", dtype="float64")
        data = (ds.X_train, ds.Y_train)

        def run(method) -> dict:
            h = train(net, method, params0, data, epochs=fb_steps, full_batch=True, grad_norm=False)
            J = h.column("train_loss")
            if h.diverged or not np.all(np.isfinite(J)):
                return {"status": "diverged", "increases": None, "J0": J[0], "J_end": None}
            inc = int(np.sum(J[1:] > J[:-1] * (1 + 1e-10) + 1e-12))  # exact solves to 1e-10
            return {
                "status": "monotone" if inc == 0 else "not monotone",
                "increases": inc,
                "J0": float(J[0]),
                "J_end": float(J[-1]),
            }

        out = {
            "sibp": [
                [
                    {"eta": e, "lam": la, **run(make_method("sibp", eta=e, lam=la, solver="exact"))}
                    for la in lams
                ]
                for e in etas
            ],
            "proxbp": [
                [{"eta": e, "lam": la, **run(make_method("proxbp", eta=e, lam=la))} for la in lams]
                for e in etas
            ],
            "sgd": [[{"lr": lr, **run(make_method("sgd", lr=lr))} for lr in lrs_sgd]],
        }
        return out

    # cached beside the run logs (keyed by the grid), so a re-run only redraws
    p2_cache = args.runs_dir / f"panel2-{len(etas)}x{len(lams)}-{fb_steps}-{len(lrs_sgd)}.json"
    t0 = time.perf_counter()
    if p2_cache.is_file():
        panel2, wall2 = json.loads(p2_cache.read_text()), float("nan")
    else:
        panel2 = monotone_map()
        wall2 = time.perf_counter() - t0
        p2_cache.write_text(json.dumps(panel2, default=float))
    print(f"panel 2: full-batch monotonicity map in {wall2:.0f} s")
    return panel2, wall2


# %% the numbers that answer the question: the largest stable effective step per method
def summarise(args, panel1: dict, panel2: dict) -> dict:
    etas, lams = args.etas, args.lams
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
    for m, s in summary.items():
        print(
            f"{m:>7}: {s['learned']}/{s['runs']} halved the loss, {s['diverged']} diverged; "
            f"largest effective step that learned {s['largest_effective_step_that_learned']}, "
            f"smallest that diverged {s['smallest_effective_step_that_diverged']}; "
            f"best test acc {s['best_test_acc']:.4f}"
        )
    for m in ("sibp", "proxbp"):
        print(f"{m} full batch (Thm 4.1 panel), rows η = {etas}, columns λ = {lams}:")
        for row in panel2[m]:
            print("   ", " ".join(f"{c['status']:>13}" for c in row))
    print("sgd full batch:", [c["status"] for c in panel2["sgd"][0]])
    return summary


# %% figures
def describe(args) -> str:
    dataset, n_train, hidden, epochs = args.dataset, args.n_train, args.hidden, args.epochs
    return (
        f"{dataset} {n_train} samples, 784-{hidden[0]}-10 ReLU, CE, batch 100, {epochs} epochs, "
        "float32, seed 0"
        if dataset == "mnist"
        else f"synthetic {n_train}×32, 32-{hidden[0]}-10 ReLU, CE, batch 100, {epochs} epochs, "
        "float32, seed 0"
    )


def heat(ax, cells, xlabels, ylabels, xlabel, ylabel, title, cmap, norm, eff=True):
    M = np.array([[np.nan if c["diverged"] else c["train_loss"] for c in r] for r in cells])
    im = ax.imshow(np.ma.masked_invalid(M), cmap=cmap, norm=norm, aspect="auto", origin="lower")
    for i, r in enumerate(cells):
        for j, c in enumerate(r):
            if c["diverged"]:
                txt = "/"
            else:
                txt = f"{c['train_loss']:.3g}\n{100 * c['test_acc']:.1f}%"
            if eff:
                txt += f"\n2λη={c['effective_step']:g}"
            else:
                txt = f"lr={c['lr']:g}\n{txt}"
            dark = np.isfinite(M[i, j]) and norm(M[i, j]) > 0.6
            ax.text(j, i, txt, ha="center", va="center", fontsize=7, color="w" if dark else "k")
    ax.set_xticks(range(len(xlabels)), [f"{x:g}" for x in xlabels])
    ax.set_yticks(range(len(ylabels)), ylabels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return im


def plot_grid(args, panel1: dict) -> Path:
    """Heat maps of the final training loss over the step sizes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    lams, lrs_sgd, lrs_adam, settings = args.lams, args.lrs_sgd, args.lrs_adam, describe(args)
    etas = args.etas
    fig, axes = plt.subplots(
        1, 3, figsize=(16, 4.8), gridspec_kw={"width_ratios": [len(lams), len(lams), 3.2]}
    )
    cmap = plt.get_cmap("magma_r").with_extremes(bad="#bdbdbd")
    norm = LogNorm(vmin=0.01, vmax=10.0)

    heat(
        axes[0],
        panel1["sibp"],
        lams,
        [f"{e:g}" for e in etas],
        "λ",
        "η",
        "SIBP (5 NCG steps)",
        cmap,
        norm,
    )
    heat(
        axes[1],
        panel1["proxbp"],
        lams,
        [f"{e:g}" for e in etas],
        "λ",
        "η",
        "ProxBP (exact)",
        cmap,
        norm,
    )
    # SGD and Adam as two rows over their own lr; transpose so lr runs down the rows
    cells = [[panel1["sgd"][0][k], panel1["adam"][0][k]] for k in range(len(lrs_sgd))]
    im = heat(
        axes[2],
        cells,
        [0, 1],
        [f"{a:g} | {b:g}" for a, b in zip(lrs_sgd, lrs_adam, strict=True)],
        "",
        "learning rate (in each cell)",
        "SGD and Adam",
        cmap,
        norm,
        eff=False,
    )
    axes[2].set_xticks([0, 1], ["SGD", "Adam"])
    axes[2].set_yticks([])
    fig.subplots_adjust(wspace=0.25)
    fig.colorbar(
        im, ax=axes, pad=0.06, label="final training loss (text: loss, test acc.; grey '/': NaN)"
    )
    fig.suptitle(f"Final loss over the step sizes — {settings}", fontsize=11)
    path = common.savefig(fig, args, f"{NAME}_grid.png")
    plt.close(fig)
    return path


def plot_effective_step(args, panel1: dict) -> Path:
    """The same runs on one axis: the effective step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs, settings = args.epochs, describe(args)
    # the same runs on one axis: the effective step
    fig, ax = plt.subplots(figsize=(8, 4.8))
    style = {"sibp": ("#d62728", "o"), "proxbp": ("#2ca02c", "s"), "sgd": ("#7f7f7f", "^")}
    top = 1.5 * max(
        [c["train_loss"] for m in style for r in panel1[m] for c in r if not c["diverged"]] + [10.0]
    )
    for m, (col, mk) in style.items():
        cs = sorted((c for row in panel1[m] for c in row), key=lambda c: c["effective_step"])
        x = np.array([c["effective_step"] for c in cs])
        y = np.array([top if c["diverged"] else c["train_loss"] for c in cs])
        d = np.array([c["diverged"] for c in cs])
        ax.scatter(
            x[~d],
            y[~d],
            facecolors="none" if m == "proxbp" else col,
            edgecolors=col,
            s=70 if m == "proxbp" else 30,
            marker=mk,
            label={"sgd": "SGD (lr)", "sibp": "SIBP (2λη)", "proxbp": "ProxBP (2λη)"}[m],
        )
        ax.scatter(x[d], y[d], color=col, marker="x", s=60)
    if any(c["diverged"] for m in style for r in panel1[m] for c in r):
        ax.axhline(top, color="k", lw=0.5, ls=":")
        ax.text(1e-3, top * 1.1, "× NaN (diverged)", fontsize=8)
    ax.axhline(np.log(10), color="k", lw=0.5, ls="--")
    ax.text(1e-3, np.log(10) * 1.1, "chance level ln 10", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("effective step: 2λη (SIBP, ProxBP), lr (SGD)")
    ax.set_ylabel(f"training loss after {epochs} epochs")
    ax.set_title(f"Stable at which effective step?\n{settings}", fontsize=10)
    ax.legend(title="method")
    path = common.savefig(fig, args, f"{NAME}_effective_step.png")
    plt.close(fig)
    return path


def plot_monotone(args, panel2: dict) -> Path:
    """Theorem 4.1: where the full-batch loss decreases monotonically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    etas, lams, fb_steps = args.etas, args.lams, args.fb_steps
    # Theorem 4.1: where the full-batch loss decreases monotonically
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    fig.subplots_adjust(top=0.8, bottom=0.2)
    colors = {"monotone": "#1a9850", "not monotone": "#fdae61", "diverged": "#bdbdbd"}
    for ax, m in zip(axes, ("sibp", "proxbp"), strict=True):
        for i, row in enumerate(panel2[m]):
            for j, c in enumerate(row):
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, color=colors[c["status"]]))
                txt = {"monotone": "✓", "diverged": "/"}.get(c["status"], f"✗ {c['increases']}")
                if c["J_end"] is not None:
                    txt += f"\nJ={c['J_end']:.3g}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=8)
        ax.set_xlim(-0.5, len(lams) - 0.5)
        ax.set_ylim(-0.5, len(etas) - 0.5)
        ax.set_xticks(range(len(lams)), [f"{x:g}" for x in lams])
        ax.set_yticks(range(len(etas)), [f"{x:g}" for x in etas])
        ax.set_xlabel("λ")
        ax.set_ylabel("η")
        ax.set_title(
            ("SIBP (exact inner solves)" if m == "sibp" else "ProxBP (exact)")
            + f"; J(W^0) = {panel2[m][0][0]['J0']:.3g}",
            fontsize=10,
        )
    sgd = ", ".join(
        f"lr={c['lr']:g}: {'✓' if c['status'] == 'monotone' else c['status']}"
        for c in panel2["sgd"][0]
    )
    fig.suptitle(
        f"Theorem 4.1: does the full-batch loss decrease at every step? ({fb_steps} steps, "
        "synthetic 300×32, 32-32-10 tanh, CE, float64)\n"
        f"✓ monotone, ✗ k = k increases in {fb_steps} steps, / diverged; "
        "text: J after the last step",
        fontsize=10,
    )
    fig.text(0.5, 0.03, f"Full-batch gradient descent on the same problem: {sgd}", ha="center")
    path = common.savefig(fig, args, f"{NAME}_monotone.png")
    plt.close(fig)
    return path


# %% numbers
def main(argv: list[str] | None = None) -> dict:
    args = settings(argv)
    dataset, n_train, hidden, epochs = args.dataset, args.n_train, args.hidden, args.epochs
    etas, lams, lrs_sgd, lrs_adam = args.etas, args.lams, args.lrs_sgd, args.lrs_adam
    fb_steps = args.fb_steps
    panel1, wall1 = panel_1(args)
    panel2, wall2 = panel_2(args)
    summary = summarise(args, panel1, panel2)
    plot_grid(args, panel1)
    plot_effective_step(args, panel1)
    plot_monotone(args, panel2)
    path = common.save_results(
        args,
        NAME,
        {
            "settings": {
                "panel1": {
                    "dataset": dataset,
                    "n_train": n_train,
                    "hidden": list(hidden),
                    "activation": "relu",
                    "loss": "cross_entropy",
                    "epochs": epochs,
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
                    "steps": fb_steps,
                    "dtype": "float64",
                    "sibp": "solver=exact",
                    "monotone": "J_{k+1} <= J_k (1 + 1e-10) + 1e-12 at every step",
                },
                "etas": etas,
                "lams": lams,
                "lrs_sgd": lrs_sgd,
                "lrs_adam": lrs_adam,
            },
            "wall_s": {"panel1": wall1, "panel2": wall2},
            "summary": summary,
            "panel1": panel1,
            "panel2": panel2,
        },
    )
    print(f"results: {path}")
    return {"summary": summary, "panel1": panel1, "panel2": panel2}


if __name__ == "__main__":
    main()
