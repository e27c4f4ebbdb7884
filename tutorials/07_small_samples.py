"""Training on small samples: who fits first, who generalises (§5.4, Figs. 10–11, C8, C9)

With few training samples a one-hidden-layer net can reach 100 % training accuracy, and the
question becomes how fast each method gets there and what test accuracy it lands on. The
paper compares SGD, ProxBP, BCD and SIBP on

- MNIST, ``784 × 500 × 10`` ReLU, 10 000 training samples (Fig. 10): "SIBP reach 100 %
  training accuracy with less epochs", and its test accuracy "reaches 96.7 % after 20
  epochs, which is still slightly higher than other methods" (C8);
- Fashion-MNIST, ``784 × 1000 × 10`` ReLU, 2 000 training samples (Fig. 11): "SIBP achieves
  82.25 % accuracy on the test set which is slightly higher than other methods" (C9).

Settings
--------
- default = ``--paper`` (the paper's settings fit this CPU: ~7 minutes with one BLAS thread):
  the first 10 000 MNIST / first 2 000 Fashion-MNIST training samples, the whole 10 000-sample
  test sets, 20 epochs each (the paper gives 20 epochs for MNIST and no count for
  Fashion-MNIST; we use 20 too), batch 100 shuffled, float32, init N(0, 0.05) (the authors'
  code; the paper does not say for §5.4), seed 0. ``--epochs`` and ``--seed`` change them;
  ``--seeds N`` runs seeds ``--seed`` … ``--seed + N − 1`` and prints each method's final
  accuracies as mean ± sd over them (the curves stay those of the first seed); ``--runs DIR``
  names the log folder (the committed 5-seed logs: ``tutorials/results/07_small_samples_runs``,
  so ``--seeds 5 --runs tutorials/results/07_small_samples_runs`` only reads them back).
- ``--quick`` (tests): 784-32-10 on 300 samples, 2 epochs; synthetic data without the files.

Methods (registry defaults, ``sibp_ref.methods``; the paper gives no hyper-parameters for §5.4):
SGD lr 0.1, ProxBP η = 1, λ = 0.5 (exact solve), BCD γ = ρ = α = 1 (full batch on the
whole subset, square loss, one sweep per epoch), SIBP η = 10, λ = 0.5 (5 NCG steps, the
authors' code in our convention). Each run logs to ``runs/07_small_samples/`` through
:func:`sibp_ref.run_grid`; an interrupted run resumes.
"""

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path

import common
import numpy as np

from sibp_ref import RunConfig
from sibp_ref.run.report import COLORS

NAME = "07_small_samples"
METHODS = ["sgd", "proxbp", "bcd", "sibp"]
LABELS = {
    "sgd": "SGD lr=0.1",
    "proxbp": "ProxBP η=1 λ=0.5",
    "bcd": "BCD γ=ρ=α=1",
    "sibp": "SIBP η=10 λ=0.5",
}
# the two experiments: data set, training samples, hidden width, the paper's figure and claim
EXPERIMENTS = [
    {"dataset": "mnist", "n_train": 10000, "hidden": 500, "fig": 10, "paper_sibp_test": 0.967},
    {"dataset": "fashion-mnist", "n_train": 2000, "hidden": 1000, "fig": 11,
     "paper_sibp_test": 0.8225},
]  # fmt: skip


# %% settings
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv, grid=True)
    p = argparse.ArgumentParser()
    p.add_argument("--paper", action="store_true", help="the paper's settings (the default)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int, default=0, help="the first seed")
    p.add_argument("--seeds", type=int, default=1, help="how many seeds, from --seed on")
    p.add_argument("--runs", default=None, help="folder of the run logs")
    extra, _ = p.parse_known_args(argv)
    if extra.seeds < 1:
        raise SystemExit(f"--seeds must be an integer >= 1, got {extra.seeds}")
    exps = [dict(e) for e in EXPERIMENTS]
    epochs = 20
    if args.quick:
        epochs = 2
        for e in exps:
            e.update(n_train=300, hidden=32)
    if extra.epochs is not None:
        epochs = extra.epochs
    for e in exps:
        e["dataset"] = common.dataset_or_synthetic(args, e["dataset"])
    s = {
        "mode": "quick" if args.quick else "paper",
        "epochs": epochs,
        "seed": extra.seed,
        "seeds": list(range(extra.seed, extra.seed + extra.seeds)),
        "runs": extra.runs,
        "batch_size": 100,
        "init_std": 0.05,
        "experiments": exps,
    }
    return args, s


def configs(args, s, e, seed: int) -> list[RunConfig]:
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


# %% summaries
def summarise(results) -> list[dict]:
    rows = []
    for cfg, h in results:
        tr, te = h.column("train_acc"), h.column("test_acc")
        full = np.flatnonzero(np.nan_to_num(tr) >= 1.0)
        near = np.flatnonzero(np.nan_to_num(tr) >= 0.99)
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
                "first_epoch_100pct_train": int(full[0]) if full.size else None,
                "first_epoch_99pct_train": int(near[0]) if near.size else None,
            }
        )
    return rows


def verdict(rows, e) -> dict:
    by = {r["method"]: r for r in rows}
    sibp = by["sibp"]
    others = [r for m, r in by.items() if m != "sibp"]
    e100 = {m: r["first_epoch_100pct_train"] for m, r in by.items()}
    e99 = {m: r["first_epoch_99pct_train"] for m, r in by.items()}
    sibp_first = sibp["first_epoch_100pct_train"] is not None and all(
        v is None or v >= sibp["first_epoch_100pct_train"] for m, v in e100.items() if m != "sibp"
    )
    return {
        "sibp_final_test_acc": sibp["final_test_acc"],
        "paper_sibp_test_acc": e["paper_sibp_test"],
        "best_other_final_test_acc": max(r["final_test_acc"] for r in others),
        "sibp_test_highest": sibp["final_test_acc"] >= max(r["final_test_acc"] for r in others),
        "first_epoch_100pct_train": e100,
        "sibp_reaches_100pct_train_first": bool(sibp_first),
        "first_epoch_99pct_train": e99,
    }


def seed_spread(rows_by_seed: list[list[dict]]) -> dict:
    """Mean ± sd over the seeds of each method's final accuracies, and how often SIBP's final
    test accuracy is the highest (the paper's claim is about one run)."""
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
        }
    wins = sum(
        max(rows, key=lambda r: r["final_test_acc"])["method"] == "sibp" for rows in rows_by_seed
    )
    out["sibp_test_highest_in"] = f"{wins} of {len(rows_by_seed)} seeds"
    return out


def print_spread(spread: dict) -> None:
    print(f"{'method':>8} {'seeds':>5} {'train mean ± sd':>17} {'test mean ± sd':>17}")
    for m in METHODS:
        r = spread[m]
        sd = lambda v: "    -" if v is None else f"{v:.4f}"
        print(f"{m:>8} {r['seeds']:>5} {r['train_mean']:.4f} ± {sd(r['train_sd'])}"
              f" {r['test_mean']:.4f} ± {sd(r['test_sd'])}")  # fmt: skip
    print("SIBP's final test accuracy is the highest in", spread["sibp_test_highest_in"])


# %% figure
def plot(all_results, s, args) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), sharex=True)
    for row, (e, results) in zip(axes, all_results, strict=True):
        for cfg, h in results:
            lab = LABELS[cfg.method] + (" (full batch, square loss)" if cfg.method == "bcd" else "")
            if h.diverged:
                lab += " [diverged]"
            for ax, key in zip(row, ("train_acc", "test_acc"), strict=True):
                ax.plot(h.column("epoch"), h.column(key), "-o", ms=3, color=COLORS[cfg.method],
                        label=lab)  # fmt: skip
        n, w = e["n_train"], e["hidden"]
        row[0].set_title(f"{e['dataset']} 784-{w}-10, {n} training samples: training accuracy"
                         f"  [paper Fig. {e['fig']}]", fontsize=10)  # fmt: skip
        row[1].set_title(f"{e['dataset']}: test accuracy (whole test set); paper's SIBP: "
                         f"{100 * e['paper_sibp_test']:.2f} %", fontsize=10)  # fmt: skip
        row[1].axhline(e["paper_sibp_test"], color=COLORS["sibp"], lw=0.8, ls="--")
        # zoom on where the runs end: the question is who gets to 100 % / the best test
        lo_tr = min(h.column("train_acc")[-1] for _, h in results)
        lo_te = min(h.column("test_acc")[-1] for _, h in results)
        for ax in row:
            ax.set_ylabel("accuracy (zoomed)")
            ax.grid(True, alpha=0.3)
        row[0].set_ylim(max(0.0, lo_tr - 0.1), 1.005)
        row[1].set_ylim(max(0.0, lo_te - 0.08), min(1.0, max(0.9, e["paper_sibp_test"]) + 0.03))
        row[1].legend(fontsize=8, loc="lower right")
    for ax in axes[1]:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(
        f"Small training sets (§5.4): {s['epochs']} epochs, batch 100 (shuffled), init "
        f"N(0, {s['init_std']:g}), float32, curves of seed {s['seed']} ({s['mode']} setting); "
        "cross-entropy except BCD.\nDashed red line: the paper's final SIBP test accuracy.",
        fontsize=10,
    )
    fig.tight_layout()
    path = common.savefig(fig, args, f"{NAME}.png")
    plt.close(fig)
    return path


# %% run
def main(argv: list[str] | None = None) -> None:
    args, s = settings(argv)
    print("settings:", s)
    runs = (
        Path(s["runs"])
        if s["runs"]
        else (Path(args.out) if args.out else common.ROOT) / "runs" / NAME
    )
    t0 = time.perf_counter()
    out, all_results = {}, []
    for e in s["experiments"]:
        cfgs = [c for seed in s["seeds"] for c in configs(args, s, e, seed)]
        done = [(c, h) for c, h in common.run_grid(cfgs, runs, args) if h is not None]
        by_seed = [[(c, h) for c, h in done if c.seed == seed] for seed in s["seeds"]]
        results = by_seed[0]  # the curves and the per-run table: the first seed
        all_results.append((e, results))
        spread = seed_spread([summarise(r) for r in by_seed if r])
        rows = summarise(results)
        v = verdict(rows, e)
        print(f"\n{e['dataset']} 784-{e['hidden']}-10, {e['n_train']} samples")
        print(
            f"{'method':>8} {'train':>6} {'test':>6} {'best test':>9} {'ep@99%':>6}"
            f" {'ep@100%':>7} {'s':>6}"
        )
        for r in rows:
            e100, e99 = r["first_epoch_100pct_train"], r["first_epoch_99pct_train"]
            print(
                f"{r['method']:>8} {r['final_train_acc']:6.4f} {r['final_test_acc']:6.4f}"
                f" {r['best_test_acc']:9.4f} {'-' if e99 is None else e99:>6}"
                f" {'-' if e100 is None else e100:>7}"
                f" {r['time_s']:6.1f}"
            )
        print("verdict:", v)
        if len(s["seeds"]) > 1:
            print_spread(spread)
        out[e["dataset"] if e["dataset"] not in out else f"{e['dataset']}_{e['fig']}"] = {
            "experiment": e,
            "verdict": v,
            "runs": rows,
            "seed_spread": spread,
        }
    path = plot(all_results, s, args)
    common.save_results(
        args, NAME, {"settings": s, "results": out, "wall_s": time.perf_counter() - t0}
    )
    print("figure:", path)


if __name__ == "__main__":
    main()
