"""The published codes on the small-sample runs: do their quirks move our numbers? (C8, C9)

Our SIBP and BCD are the paper's algorithms; the paper's experiments ran its authors' MATLAB
code and Zeng et al.'s BCD notebook, which differ from them in a few precise ways
(``docs/published_codes.md``): the authors' inner solver (``SIBP(solver="ncg_authors")``)
and the notebook's W-then-b update (``BCD(wb="separate")``), each proven equal to the
published code on one step. Our C8 is a point below the paper's 96.7 %; would the published
behaviour close that gap? This script trains, on the settings of tutorial 07 (§5.4, Figs.
10–11), each method both ways and pairs them by seed (same init, same batches):

- MNIST 784-500-10, the first 10 000 training images; Fashion-MNIST 784-1000-10, the first
  2 000; 20 epochs, batch 100 shuffled, init N(0, 0.05), float32, registry defaults
  (SIBP η = 10, λ = 0.5, 5 inner iterations; BCD γ = ρ = α = 1, full batch);
- seeds 0–4 (``--seeds``). The logs of the plain methods are tutorial 07's, so with
  ``--runs tutorials/results/07_small_samples_runs`` (the default) they are read back, not run.

``--replot``: the figure and the numbers from the ended logs alone, running nothing (a run
without an ended log counts as missing). ``--quick`` (tests): 784-32-10 on 300 samples
(synthetic without the files), 2 epochs, 2 seeds.
"""

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import common
import numpy as np
from _lib import inner

from sibp_ref import RunConfig

NAME = "12_published_codes"
#: (label, method, hyper-parameters): each published behaviour beside the paper's algorithm.
VARIANTS = [
    ("SIBP, our NCG", "sibp", {}),
    ("SIBP, the authors' solver", "sibp", {"solver": "ncg_authors"}),
    ("BCD, (W, b) jointly", "bcd", {}),
    ("BCD, the notebook's W then b", "bcd", {"wb": "separate"}),
]
EXPERIMENTS = [  # data set, samples, width, the paper's SIBP test accuracy (C8, C9)
    {"claim": "C8", "dataset": "mnist", "n_train": 10000, "hidden": 500, "paper": 0.967},
    {"claim": "C9", "dataset": "fashion-mnist", "n_train": 2000, "hidden": 1000, "paper": 0.8225},
]
RUNS = common.ROOT / "tutorials" / "results" / "07_small_samples_runs"


# %% settings
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv, grid=True)
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=None, help="seeds 0 … N − 1")
    p.add_argument("--runs", default=None, help="folder of the run logs")
    p.add_argument("--replot", action="store_true", help="figure and numbers from the logs")
    extra, _ = p.parse_known_args(argv)
    quick, args.replot = args.quick, extra.replot
    exps = [dict(e, n_train=300, hidden=32) if quick else dict(e) for e in EXPERIMENTS]
    for e in exps:  # a full replot reads logs only: it needs no data files
        if quick or not args.replot:
            e["dataset"] = common.dataset_or_synthetic(args, e["dataset"])
    runs = extra.runs or (Path(args.out) / "runs" / NAME if args.out and not args.replot else RUNS)
    s = {"epochs": 2 if quick else 20, "seeds": list(range(extra.seeds or (2 if quick else 5)))}
    return args, {**s, "runs": str(runs), "experiments": exps}


def config(args, s: dict, e: dict, method: str, hyper: dict, seed: int) -> RunConfig:
    """Tutorial 07's run, so that the plain methods' committed logs are found by key."""
    return RunConfig(
        method=method,
        hyper=hyper,
        dataset=e["dataset"],
        n_train=e["n_train"],
        hidden=[e["hidden"]],
        activation="relu",
        init_std=0.05,
        epochs=s["epochs"],
        batch_size=100,
        seed=seed,
        backend=args.backend,
        dtype="float32",
        data_dir=args.data_dir,
    )


# %% the runs: every variant on every seed, paired by seed
def final_test(args, s: dict, e: dict) -> dict[str, list[float]]:
    """Final test accuracy per variant, seed by seed (NaN for a run that did not finish)."""
    cfgs = [
        (label, config(args, s, e, m, h, seed)) for seed in s["seeds"] for label, m, h in VARIANTS
    ]
    if args.replot:
        results = inner.read_back([c for _, c in cfgs], Path(s["runs"]))
        if not any(h for _, h in results):
            raise SystemExit(f"--replot: no ended run of {e['claim']} in {s['runs']}")
    else:
        results = common.run_grid([c for _, c in cfgs], Path(s["runs"]), args)
    out: dict[str, list[float]] = {label: [] for label, _, _ in VARIANTS}
    for (label, _), (_, h) in zip(cfgs, results, strict=True):
        ok = h is not None and h.status == "finished"
        out[label].append(float(h.column("test_acc")[-1]) if ok else float("nan"))
    return out


def mean_sd(v) -> str:
    v = np.asarray(v, dtype=float)
    return f"{np.mean(v):.4f} ± {np.std(v, ddof=1):.4f}" if v.size > 1 else f"{v[0]:.4f}"


def compare(e: dict, acc: dict[str, list[float]]) -> list[dict]:
    """For each published behaviour: its test accuracy, ours, the paired difference, and
    whether it moves SIBP toward the paper's number (the paper gives no BCD number)."""
    rows = []
    for i in (0, 2):
        (ours, _, _), (published, _, _) = VARIANTS[i], VARIANTS[i + 1]
        d = np.asarray(acc[published]) - np.asarray(acc[ours])
        row = {
            "claim": e["claim"],
            "ours": ours,
            "published": published,
            "ours_test": mean_sd(acc[ours]),
            "published_test": mean_sd(acc[published]),
            "paired_difference": mean_sd(d),
            "published_ahead": f"{int(np.sum(d > 0))} of {d.size}",
        }
        if VARIANTS[i][1] == "sibp":
            gap = lambda v: abs(e["paper"] - float(np.mean(v)))
            row["paper"] = e["paper"]
            row["toward_paper"] = bool(gap(acc[published]) < gap(acc[ours]))
        rows.append(row)
    return rows


# %% figure: each seed's final test accuracy per variant, paired by seed; the paper's line
def plot(args, s: dict, accs: list[tuple[dict, dict]]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["SIBP\nour NCG", "SIBP\nauthors' solver", "BCD\n(W, b) jointly", "BCD\nW then b"]
    fig, axes = plt.subplots(1, len(accs), figsize=(5.6 * len(accs), 4.4))
    for ax, (e, acc) in zip(np.atleast_1d(axes), accs, strict=True):
        for j, (label, method, _) in enumerate(VARIANTS):
            color, marker = ("#0571b0", "o") if method == "sibp" else ("#e66101", "s")
            inner.seed_dots(ax, j, acc[label], color=color, marker=marker, filled=j % 2 == 0,
                            dx=0.2)  # fmt: skip
        for i in (0, 2):  # each seed's pair: ours → the published behaviour
            a, b = (np.asarray(acc[VARIANTS[k][0]]) for k in (i, i + 1))
            jit = np.linspace(-0.05, 0.05, a.size) if a.size > 1 else np.zeros(1)
            for ya, yb, d in zip(a, b, jit, strict=True):
                ax.plot([i + d, i + 1 + d], [ya, yb], color="0.6", lw=0.7, zorder=0)
        ax.axhline(e["paper"], ls="--", color="k", lw=1, label=f"paper's SIBP ({e['paper']:.4g})")
        ax.set_xticks(range(len(VARIANTS)), names)
        ax.set_xlim(-0.5, len(VARIANTS) - 0.3)
        title = f"{e['claim']}: {e['dataset']} 784-{e['hidden']}-10, {e['n_train']} samples"
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(f"test accuracy after {s['epochs']} epochs")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(f"each of {len(s['seeds'])} seeds a dot (filled: the paper's algorithm, open: "
                 "the published code's behaviour), grey lines pair a seed,\nblack bar = mean ± "
                 "sd; same seed = same init and batches", fontsize=10)  # fmt: skip
    fig.tight_layout()
    path = common.savefig(fig, args, f"{NAME}.png")
    plt.close(fig)
    return path


# %% run
def main(argv: list[str] | None = None) -> dict:
    args, s = settings(argv)
    accs = [(e, final_test(args, s, e)) for e in s["experiments"]]
    rows = [r for e, acc in accs for r in compare(e, acc)]
    for r in rows:
        toward = f"; toward the paper's {r['paper']}: {r['toward_paper']}" if "paper" in r else ""
        print(f"{r['claim']} {r['published']}: {r['published_test']} against {r['ours']} "
              f"{r['ours_test']}; paired {r['paired_difference']}, ahead in "
              f"{r['published_ahead']}{toward}")  # fmt: skip
    path = plot(args, s, accs)
    print("figure:", path)
    s = {**s, "runs": common.shown_path(s["runs"])}
    out = {"settings": s, "comparisons": rows, "final_test_acc": [acc for _, acc in accs]}
    if not args.replot:  # the results file records the run that made the logs: left alone
        common.save_results(args, NAME, out)
    return out


if __name__ == "__main__":
    main()
