"""A deep ReLU network from a vanishing-gradient start (§5.2 "Deep Network", Figs. 4–7, claim C7)

The paper trains a ``784 × 600¹⁰ × 10`` fully connected ReLU network on MNIST (ten hidden
layers of 600) from three small initialisations, N(0, 0.01), N(0, 0.025) and N(0, 0.03)
(standard deviations; biases drawn the same way, ``docs/conventions.md §3``), with SGD,
ProxBP, BCD and SIBP:

- Fig. 4, N(0, 0.01): "SGD and ProxBP can barely optimize this deep network while BCD and
  SIBP show an advantage"; SIBP passes 80 % training accuracy in fewer epochs than BCD;
- Fig. 5, N(0, 0.025): SGD still fails, SIBP "takes the effect quicker" than ProxBP, BCD;
- Fig. 6, N(0, 0.03): SGD now trains; SIBP reaches a good training accuracy much earlier;
- Fig. 7: ``||∂J/∂W_1||`` of SIBP "decreases and becomes stable more quickly" than SGD's.

Why these starts are hard: with fan-in ``w`` and weights of standard deviation ``s``, a ReLU
layer multiplies the variance of the signal (forward) and of the error (backward) by about
``w s²/2``; for ``w = 600`` that is 0.03, 0.19 and 0.27 at the three inits, so ten layers
shrink ``δ`` by ``(w s²/2)^5`` ≈ 2·10⁻⁸, 2·10⁻⁴, 1·10⁻³ in size: the gradient of ``W_1``
vanishes. SIBP's backward pass (4.2) uses the *new* weights, each found by an implicit
(proximal) step, so the error it sends down is not tied to the tiny initial weights.

Settings
--------
- ``--paper`` (for a GPU, ``--backend cupy``): 784-600¹⁰-10, all 60 000 MNIST samples,
  20 epochs, the paper's three inits, BCD on the first 10 000 samples (full batch).
  Outputs are named ``06_deep_network_paper`` and the logs are committed in
  ``tutorials/results/06_deep_network_paper_runs/`` (``--runs DIR`` elsewhere): the same
  command again reads the finished runs back and resumes the others from their checkpoints;
  ``--replot`` draws the figure and numbers from the ended logs alone, running nothing.
  An intermediate run of about 4 minutes on an H100 (our estimate, not measured):
  ``--paper --epochs 3 --sgd-lrs 0.1 --backend cupy``.
- default (this 2-core CPU, ~8 minutes): the cost of the paper's net is ~0.2 s per SGD step
  and ~0.9 s per SIBP step here (single BLAS thread), and a test-set evaluation ~20 s, so a
  single epoch of one method on 4 000 samples would take a minute. We keep the depth (ten
  hidden layers: the point of the experiment) and narrow the layers to 100, and keep the
  per-layer gain ``w s²/2`` of each of the paper's inits by scaling the stds by
  ``√(600/100)`` (``--raw-init`` keeps the paper's stds, which at width 100 vanish much
  harder); 4 000 training samples, 15 epochs, BCD on the same 4 000 (full batch).
- ``--quick`` (tests): 784-32³-10, 300 samples, 2 epochs; synthetic data without MNIST.
- ``--width``, ``--depth``, ``--n-train``, ``--epochs``, ``--bcd-n``, ``--sgd-lrs`` set each alone;
  ``--inits 0.01,0.03`` runs some of the paper's inits only, ``--suffix _long`` renames the
  outputs (the committed ``06_deep_network_long`` run: ``--inits 0.01,0.03 --epochs 40
  --sgd-lrs 0.1 --suffix _long``, 1 600 steps, to see whether more steps change the verdict).

Methods (registry defaults, ``sibp_ref.methods``): SGD lr 0.1 (the paper does not say; also a
small sweep ``--sgd-lrs``, default 0.1, 0.01, 1), ProxBP (η = 1, λ = 0.5, exact solve), BCD
(γ = ρ = α = 1, square loss, full batch: one sweep per epoch), SIBP (η = 10, λ = 0.5, five
NCG steps: the authors' code in our convention). Batch 100, shuffled, float32, seed 0.
Every run logs to ``runs/06_deep_network/`` through :func:`sibp_ref.run_grid`; an
interrupted run resumes. On a shared CPU set ``OMP_NUM_THREADS=1`` (see figures/06_*.md).
"""

# %%
from __future__ import annotations

import argparse
import math
import time
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
LABELS = {"sgd": "SGD", "proxbp": "ProxBP", "bcd": "BCD", "sibp": "SIBP"}
TRAINS = 0.5  # "trains": final training accuracy above this (chance is 0.1)


# %% settings
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv, grid=True)
    p = argparse.ArgumentParser()
    p.add_argument("--paper", action="store_true")
    p.add_argument("--width", type=int)
    p.add_argument("--depth", type=int)
    p.add_argument("--n-train", type=int)
    p.add_argument("--epochs", type=int)
    p.add_argument("--bcd-n", type=int)
    p.add_argument("--sgd-lrs", type=lambda s: [float(v) for v in s.split(",")])
    p.add_argument(
        "--inits",
        type=lambda v: [float(x) for x in v.split(",")],
        default=PAPER_STDS,
        help="the paper's stds to run (comma-separated), before the width scaling",
    )
    p.add_argument("--raw-init", action="store_true", help="the paper's stds at any width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--suffix", default="", help="appended to the output names, e.g. _long")
    p.add_argument("--runs", default=None, help="folder of the run logs")
    p.add_argument("--replot", action="store_true", help="figure and numbers from the logs")
    extra, _ = p.parse_known_args(argv)
    if extra.paper:
        s = dict(width=600, depth=10, n_train=60000, epochs=20, bcd_n=10000)
        s["sgd_lrs"] = [0.1, 0.01, 1.0]
    elif args.quick:
        s = dict(width=32, depth=3, n_train=300, epochs=2, bcd_n=300, sgd_lrs=[0.1])
    else:
        s = dict(width=100, depth=10, n_train=4000, epochs=15, bcd_n=4000)
        s["sgd_lrs"] = [0.1, 0.01, 1.0]
    for k in ("width", "depth", "n_train", "epochs", "bcd_n", "sgd_lrs"):
        if getattr(extra, k) is not None:
            s[k] = getattr(extra, k)
    s["mode"] = "paper" if extra.paper else ("quick" if args.quick else "default")
    # keep the per-layer gain w s²/2 of the paper's inits at another width
    scale = 1.0 if extra.raw_init else math.sqrt(PAPER_WIDTH / s["width"])
    s["init_scale"] = scale
    s["paper_inits"] = extra.inits
    s["inits"] = [round(v * scale, 6) for v in extra.inits]
    s["seed"] = extra.seed
    s["runs"] = extra.runs
    s["replot"] = extra.replot
    s["name"] = NAME + ("_paper" if extra.paper and not extra.suffix else extra.suffix)
    s["batch_size"] = 100
    s["dataset"] = common.dataset_or_synthetic(args, "mnist")
    if s["dataset"] == "synthetic":
        s["n_train"] = min(s["n_train"], 4000)
    return args, s


def configs(args, s) -> list[RunConfig]:
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


# %% summaries
def first_epoch_above(acc: np.ndarray, level: float) -> int | None:
    hit = np.flatnonzero(np.nan_to_num(acc) >= level)
    return int(hit[0]) if hit.size else None


def summarise(results) -> list[dict]:
    rows = []
    for cfg, h in results:
        acc = h.column("train_acc")
        rows.append(
            {
                "init_std": cfg.init_std,
                "method": cfg.method,
                "hyper": cfg.settings()["hyper"],
                "status": h.status,
                "train_acc": h.column("train_acc").tolist(),
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


def verdict(rows, s) -> dict:
    """Which methods train at each init; C7 needs SIBP at all three paper inits, SGD (the
    reference lr, the first of ``--sgd-lrs``) failing at the first two and training at 0.03."""
    lr0 = s["sgd_lrs"][0]

    def label(r):
        return f"sgd lr={r['hyper']['lr']:g}" if r["method"] == "sgd" else r["method"]

    trains = {
        f"N(0, {p:g}) -> N(0, {v:g})": {label(r): r["trains"] for r in rows if r["init_std"] == v}
        for p, v in zip(s["paper_inits"], s["inits"], strict=True)
    }
    out = {"trains_means": f"final training accuracy >= {TRAINS}", "trains": trains}
    if sorted(s["paper_inits"]) == PAPER_STDS:  # all three, in any order
        by_paper = dict(zip(s["paper_inits"], trains.values(), strict=True))
        per = [by_paper[p] for p in PAPER_STDS]
        sgd = f"sgd lr={lr0:g}"
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


# %% figure
def plot(results, s, args) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    lr0 = s["sgd_lrs"][0]
    init_ls = dict(zip(s["inits"], ["-", "--", ":"], strict=False))
    for ax, std, paper_std, fig_no in zip(
        axes.ravel()[:3],
        s["inits"],
        s["paper_inits"],
        [PAPER_FIG.get(v, "-") for v in s["paper_inits"]],
        strict=False,
    ):
        for cfg, h in results:
            if cfg.init_std != std:
                continue
            ep, acc = h.column("epoch"), h.column("train_acc")
            c = COLORS[cfg.method]
            if cfg.method == "sgd":
                lr = cfg.hyper["lr"]
                lab, lw, ls = f"SGD lr={lr:g}", 2 if lr == lr0 else 1, "-" if lr == lr0 else ":"
                alpha = 1.0 if lr == lr0 else 0.8
            else:
                lab, lw, ls, alpha = LABELS[cfg.method], 2, "-", 1.0
                if cfg.method == "bcd":
                    lab += " (full batch, square loss)"
            if h.diverged:
                lab += " [diverged]"
            ax.plot(ep, acc, ls, marker="o", ms=3, lw=lw, color=c, alpha=alpha, label=lab)
        scaled = "" if s["init_scale"] == 1 else f" (paper's N(0, {paper_std:g}), gain-matched)"
        ax.set_title(f"init N(0, {std:.3g}){scaled}  [paper Fig. {fig_no}]", fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training accuracy (whole training subset)")
        ax.set_ylim(0, 1.02)
        ax.axhline(0.1, color="k", lw=0.5, alpha=0.4)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for unused in axes.ravel()[len(s["inits"]) : 3]:
        unused.set_visible(False)
    ax = axes[1, 1]
    for cfg, h in results:
        if cfg.method == "sibp" or (cfg.method == "sgd" and cfg.hyper["lr"] == lr0):
            who = "SIBP" if cfg.method == "sibp" else f"SGD lr={lr0:g}"
            lab = f"{who}, N(0, {cfg.init_std:.3g})"
            ax.plot(
                h.column("epoch"),
                h.column("grad_norm_W1"),
                init_ls[cfg.init_std],
                marker="o",
                ms=3,
                color=COLORS[cfg.method],
                label=lab,
            )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("||∂J/∂W_1||  (Frobenius, whole training subset)")
    ax.set_title("gradient of the first layer  [paper Fig. 7]", fontsize=10)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, which="both", alpha=0.3)
    g = np.concatenate([ln.get_ydata() for ln in ax.get_lines()])
    lo = np.min(g[np.isfinite(g) & (g > 0)]) / 1e3
    ax.set_ylim(bottom=lo)  # room for the legend below the curves
    ax.legend(fontsize=8, ncol=2, loc="lower center")
    sizes = f"784-{s['width']}^{s['depth']}-10" if s["dataset"] == "mnist" else "synthetic"
    fig.suptitle(
        f"Deep ReLU net {sizes} on {s['dataset']}: {s['n_train']} training samples, "
        f"{s['epochs']} epochs, batch 100, float32 ({s['mode']} setting)\n"
        "SGD (lr sweep), ProxBP η=1 λ=0.5, BCD γ=ρ=α=1 (1 sweep/epoch), SIBP η=10 λ=0.5 "
        "(5 NCG); cross-entropy except BCD",
        fontsize=10,
    )
    fig.tight_layout()
    path = common.savefig(fig, args, f"{s['name']}.png")
    plt.close(fig)
    return path


# %% run
def runs_dir(args, s) -> Path:
    """Where the logs go: ``--runs``; else, for ``--paper``, the committed folder
    ``tutorials/results/<name>_runs`` (a run started again reads its finished logs back and
    goes on from the others' checkpoints); else ``runs/<name>`` (under ``--out`` if given)."""
    if s["runs"]:
        return Path(s["runs"])
    if s["mode"] == "paper" and not args.out:
        return common.ROOT / "tutorials" / "results" / f"{s['name']}_runs"
    return (Path(args.out) if args.out else common.ROOT) / "runs" / s["name"]


def read_back(cfgs: list[RunConfig], runs: Path) -> list:
    """The configs whose log in ``runs`` says the run ended, with their histories; a note
    names the others (nothing runs)."""
    out, missing = [], []
    for cfg in cfgs:
        log = runs / f"{cfg.key()}.jsonl"
        h = read_log(log) if log.is_file() else None
        if h is not None and h.done:
            out.append((cfg, h))
        else:
            missing.append(f"{cfg.method} N(0, {cfg.init_std:g})")
    print(f"replot: {len(out)} of {len(cfgs)} runs have ended in {runs}")
    if missing:
        print("replot: not ended (left out):", ", ".join(missing))
    return out


def main(argv: list[str] | None = None) -> dict:
    args, s = settings(argv)
    print("settings:", s)
    runs = runs_dir(args, s)
    t0 = time.perf_counter()
    if s["replot"]:
        results = read_back(configs(args, s), runs)
        if not results:
            raise SystemExit(f"--replot: no ended run of these settings in {runs}")
    else:
        results = common.run_grid(configs(args, s), runs, args)
    results = [(c, h) for c, h in results if h is not None]
    rows = summarise(results)
    v = verdict(rows, s)
    print(f"{'init':>8} {'method':>14} {'train':>6} {'test':>6} {'ep>=80%':>7} {'status':>9}")
    for r in rows:
        m = r["method"] + (f" lr={r['hyper']['lr']:g}" if r["method"] == "sgd" else "")
        e80 = r["epoch_train_acc_0.8"]
        print(
            f"{r['init_std']:>8g} {m:>14} {r['final_train_acc']:6.3f} {r['final_test_acc']:6.3f}"
            f" {'-' if e80 is None else e80:>7} {r['status']:>9}"
        )
    print("verdict:", v)
    path = plot(results, s, args)
    saved = common.save_results(
        args,
        s["name"],
        {"settings": s, "verdict": v, "runs": rows, "wall_s": time.perf_counter() - t0},
    )
    print("figure:", path)
    return {"figure": path, "results": saved, "verdict": v}


if __name__ == "__main__":
    main()
