"""How many inner NCG steps should SIBP take? Accuracy per second of computing (§5.6, Fig. 13).

Each SIBP iteration solves the subproblems (4.1) of the nonlinear layers only approximately,
with a few nonlinear-CG steps (``iters``; the paper and the defaults use 5). More steps give a
more exact proximal step but cost more time. The paper trains a 3072-4000-1000-4000-10 MLP on
CIFAR-10 with several NCG step counts and concludes (claim C11, Fig. 13) that *5 iterations give
higher training accuracy per unit of computing time* than more steps ("too many redundant
steps in nonlinear CG can be ineffective").

**What differs here.** CIFAR-10 is not on these machines and a 3072-4000-1000-4000-10 net is
far too big for two shared CPU cores. The default (full) mode trains a wide MLP, 784-1000-500-10
with ReLU, on the first 2 000 MNIST training images (tested on all 10 000 test images), for
10 epochs, with ``iters`` ∈ {1, 3, 5, 10} (NCG, Fletcher–Reeves, the other settings SIBP's
defaults: η = 10, λ = 0.5, batch 100). ``--paper`` runs the paper's network on CIFAR-10
(``--data-dir`` must hold ``cifar-10-batches-bin``; meant for a GPU, ``--backend cupy``).

**Timing honestly on a shared machine.** Wall time is the time spent in SIBP steps (as
:class:`sibp_ref.History` records it: evaluation excluded, device synchronised once per
epoch). The four settings are run *interleaved*: every epoch, each setting trains on the same
mini-batches, in an order that rotates from epoch to epoch, so that a burst of load from other
processes hits all settings alike. The work per epoch is fixed, so the spread of one setting's
epoch times (coefficient of variation) measures the timing noise; it is reported.

Run: ``python tutorials/09_inner_iterations.py [--data-dir DIR]``
(``figures/09_inner_iterations.md`` records how long it took). ``--quick``: a small net on
300 samples, 2 epochs.
``--replot``: the numbers and figure again from the records in the saved results file.
``--seeds N``: the whole interleaved comparison again for seeds 0, …, N − 1 (the seed draws the
initial weights and the batches), each seed's records saved in
``tutorials/results/09_inner_iterations_runs/seed<s>.json`` (a seed already there is read back,
not rerun), and, per pair of step counts, on how many seeds the fewer steps are ahead at equal
time, with the mean ± sd of the accuracies; the figure and the main results stay seed 0's.
"""

# %%
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common
import numpy as np

import sibp_ref
from sibp_ref import MLP, load_dataset, make_synthetic
from sibp_ref import backend as B
from sibp_ref.run import evaluate

NAME = "09_inner_iterations"

# %% [markdown]
# ## Settings


# %%
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv)
    p = argparse.ArgumentParser()
    p.add_argument("--paper", action="store_true", help="CIFAR-10, 3072-4000-1000-4000-10")
    p.add_argument("--replot", action="store_true", help="numbers and figure from the records")
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 (default 1: seed 0)")
    extra, _ = p.parse_known_args(argv)
    if extra.seeds < 1:
        raise SystemExit(f"--seeds must be a positive integer, got {extra.seeds}")
    args.replot, args.seeds = extra.replot, extra.seeds
    paper = extra.paper
    S = dict(iters=[1, 3, 5, 10], eta=10.0, lam=0.5, batch_size=100, init_std=0.05, seed=0)
    if args.quick:
        S.update(dataset="mnist", hidden=[64, 32], n_train=300, epochs=2)
    elif paper:
        S.update(dataset="cifar10", hidden=[4000, 1000, 4000], n_train=None, epochs=10)
    else:
        S.update(dataset="mnist", hidden=[1000, 500], n_train=2000, epochs=10)
    S["mode"] = "quick" if args.quick else ("paper" if paper else "reduced")
    return args, S


# %% [markdown]
# ## Data (synthetic only as a fallback in quick mode)


# %%
def data(args, S: dict):
    """The data set, the network of ``S["hidden"]`` on it, and its layer sizes."""
    xp = B.get_backend(args.backend)
    if common.dataset_or_synthetic(args, S["dataset"]) == "synthetic":
        ds = make_synthetic(n_train=S["n_train"], n_test=500, d=64, xp=xp)
    else:
        ds = load_dataset(S["dataset"], data_dir=args.data_dir, xp=xp, n_train=S["n_train"])
    S["data"] = repr(ds)
    sizes = [ds.n_features, *S["hidden"], ds.num_classes]
    net = MLP(sizes, activation="relu", loss="cross_entropy")
    print(ds, "net", sizes)
    return ds, net, sizes


# %% [markdown]
# ## Interleaved training: every setting sees the same batches; the order rotates per epoch


# %%
def measure(net, ds, r: dict, epoch: int) -> None:
    tr = evaluate(net, r["params"], ds.X_train, ds.Y_train)
    te = evaluate(net, r["params"], ds.X_test, ds.Y_test)
    r["records"].append(
        {
            "epoch": epoch,
            "time": r["time"],
            "train_loss": tr["loss"],
            "train_acc": tr["acc"],
            "test_loss": te["loss"],
            "test_acc": te["acc"],
        }
    )


def runs_from_records(runs: dict, records: dict) -> None:
    """Fill ``runs`` (by ``iters``) with saved records: times, epoch times, records."""
    for it, r in runs.items():
        r["records"] = records[str(it)]
        r["time"] = r["records"][-1]["time"]
        r["epoch_times"] = np.diff([q["time"] for q in r["records"]]).tolist()


def train_interleaved(args, S: dict, ds, net) -> dict:
    """Every ``iters`` setting, epoch by epoch on the same batches (or the saved records)."""
    xp = B.get_backend(args.backend)
    runs = {}
    for it in S["iters"]:
        method = sibp_ref.SIBP(eta=S["eta"], lam=S["lam"], iters=it)
        params = net.init(seed=S["seed"], std=S["init_std"], xp=xp, dtype="float32")
        runs[it] = {
            "method": method,
            "params": params,
            "state": method.init(net, params),
            "time": 0.0,
            "records": [],
            "epoch_times": [],
        }
    n, bs = ds.n_train, S["batch_size"]
    if args.replot:  # the records of the last run, saved in the results file
        saved = json.loads(common.results_path(args, NAME).read_text())
        if saved["settings"] != json.loads(json.dumps(S)):
            raise SystemExit("--replot: the saved results were made with other settings")
        runs_from_records(runs, saved["records"])
    else:
        for r in runs.values():
            measure(net, ds, r, 0)
    rng = np.random.default_rng([S["seed"], 1])
    order = list(S["iters"])
    for epoch in range(1, 0 if args.replot else S["epochs"] + 1):
        perm = B.asarray(rng.permutation(n), xp, device=B.device_of(ds.X_train))
        Xp, Yp = xp.take(ds.X_train, perm, axis=1), xp.take(ds.Y_train, perm, axis=1)
        for it in order:
            r = runs[it]
            t0 = time.perf_counter()
            for s in range(0, n, bs):
                e = min(s + bs, n)
                r["params"], r["state"] = r["method"].step(
                    net, r["params"], r["state"], Xp[:, s:e], Yp[:, s:e]
                )
            B.to_float(r["params"][-1][0][0, 0])  # wait for queued device work
            dt = time.perf_counter() - t0
            r["time"] += dt
            r["epoch_times"].append(dt)
            measure(net, ds, r, epoch)
            rec = r["records"][-1]
            print(
                f"epoch {epoch:2d} iters={it:2d}: {dt:6.1f} s, train acc {rec['train_acc']:.4f} "
                f"loss {rec['train_loss']:.4f}",
                flush=True,
            )
        order = order[1:] + order[:1]
    return runs


# %% [markdown]
# ## Numbers: timing noise, accuracy at equal time, time to reach an accuracy


# %%
def summarise(S: dict, runs: dict, n: int, bs: int) -> dict:
    summary = {}
    t_common = min(r["time"] for r in runs.values())  # every setting ran at least this long
    for it, r in runs.items():
        et = np.array(r["epoch_times"])
        recs = r["records"]
        tt = np.array([q["time"] for q in recs])
        acc = np.array([q["train_acc"] for q in recs])
        reach = {}
        for a in (0.9, 0.95, 0.99):
            hit = np.nonzero(acc >= a)[0]
            reach[f"{a:g}"] = None if hit.size == 0 else float(tt[hit[0]])
        summary[it] = {
            "s_per_epoch_mean": float(et.mean()),
            "s_per_epoch_cv": float(et.std(ddof=1) / et.mean()) if et.size > 1 else None,
            "s_per_step": float(et.mean() / -(-n // bs)),
            "train_acc_at_common_time": float(np.interp(t_common, tt, acc)),
            "common_time_s": t_common,
            "time_to_train_acc": reach,
            "final": recs[-1],
        }
        print(
            f"iters={it:2d}: {et.mean():.1f} s/epoch (CV {summary[it]['s_per_epoch_cv']}), "
            f"train acc at {t_common:.0f} s: {summary[it]['train_acc_at_common_time']:.4f}, "
            f"time to 95%/99%: {reach['0.95']}/{reach['0.99']}, final {recs[-1]['train_acc']:.4f}"
        )

    # each pair at equal time: the longest time both ran (the cheaper setting's total)
    pairs = {}
    for a in S["iters"]:
        for b in S["iters"]:
            if a < b:
                t = min(runs[a]["time"], runs[b]["time"])
                acc_at = {}
                for it in (a, b):
                    tt = [q["time"] for q in runs[it]["records"]]
                    acc_at[it] = float(
                        np.interp(t, tt, [q["train_acc"] for q in runs[it]["records"]])
                    )
                pairs[f"{a}_vs_{b}"] = {"time_s": t, f"acc_{a}": acc_at[a], f"acc_{b}": acc_at[b]}
                print(
                    f"at {t:5.0f} s: {a:2d} steps {acc_at[a]:.4f}  vs  {b:2d} steps {acc_at[b]:.4f}"
                )

    # time ratios per epoch (the same epoch's load hits all settings alike)
    base = np.array(runs[S["iters"][0]]["epoch_times"])
    ratios = {it: (np.array(r["epoch_times"]) / base).tolist() for it, r in runs.items()}
    best_time = max(summary, key=lambda it: summary[it]["train_acc_at_common_time"])
    verdict = {
        "best_iters_at_common_time": best_time,
        "fewer_steps_ahead_in_every_pair_at_equal_time": all(
            v[f"acc_{k.split('_vs_')[0]}"] > v[f"acc_{k.split('_vs_')[1]}"]
            for k, v in pairs.items()
        ),
    }
    print("verdict:", verdict)
    return {
        "summary": summary,
        "pairs": pairs,
        "ratios": ratios,
        "verdict": verdict,
        "t_common": t_common,
    }


# %% [markdown]
# ## Over seeds: is the verdict the same for every seed?
#
# The comparison is run again, whole, for each seed; each seed's equal-time comparison uses
# its own common time (timing noise differs from seed to seed). The verdict over seeds counts,
# for each pair ``a < b`` of step counts, the seeds on which ``a`` steps are ahead of ``b``.


# %%
def seed_runs(args, S: dict, ds, net, seed: int) -> dict:
    """The interleaved runs of ``seed``: read back from its file, or run and saved."""
    Ss = dict(S, seed=seed)
    d = common.results_path(args, NAME).parent / f"{NAME}_runs"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"seed{seed}.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved["settings"] == json.loads(json.dumps(Ss)):
            runs = {it: {} for it in S["iters"]}
            runs_from_records(runs, saved["records"])
            print(f"seed {seed}: read back from {path}")
            return runs
        print(f"seed {seed}: {path} holds other settings; running it again")
    quiet = argparse.Namespace(**{**vars(args), "replot": False})
    runs = train_interleaved(quiet, Ss, ds, net)
    tmp = path.with_suffix(".json.tmp")
    records = {str(it): r["records"] for it, r in runs.items()}
    tmp.write_text(json.dumps({"settings": Ss, "records": records}, indent=1, default=float))
    tmp.replace(path)
    return runs


def over_seeds(args, S: dict, ds, net) -> dict:
    """Every seed's comparison, and the verdict counted over seeds."""
    n, bs = ds.n_train, S["batch_size"]
    per_seed = {}
    for seed in range(args.seeds):
        print(f"--- seed {seed}")
        per_seed[seed] = summarise(dict(S, seed=seed), seed_runs(args, S, ds, net, seed), n, bs)
    pairs = {}
    for k in per_seed[0]["pairs"]:
        a, b = k.split("_vs_")
        va = [per_seed[s]["pairs"][k][f"acc_{a}"] for s in per_seed]
        vb = [per_seed[s]["pairs"][k][f"acc_{b}"] for s in per_seed]
        pairs[k] = {
            "seeds_fewer_ahead": int(sum(x > y for x, y in zip(va, vb, strict=True))),
            "seeds": len(va),
            f"acc_{a}_mean_sd": [
                float(np.mean(va)),
                float(np.std(va, ddof=1)) if len(va) > 1 else 0.0,
            ],
            f"acc_{b}_mean_sd": [
                float(np.mean(vb)),
                float(np.std(vb, ddof=1)) if len(vb) > 1 else 0.0,
            ],
            "time_s": [per_seed[s]["pairs"][k]["time_s"] for s in per_seed],
        }
        p = pairs[k]
        print(
            f"over {len(va)} seeds, {a} vs {b} steps at equal time: {a} ahead on "
            f"{p['seeds_fewer_ahead']}; {np.mean(va):.4f} ± {p[f'acc_{a}_mean_sd'][1]:.4f} vs "
            f"{np.mean(vb):.4f} ± {p[f'acc_{b}_mean_sd'][1]:.4f}"
        )
    best = [per_seed[s]["verdict"]["best_iters_at_common_time"] for s in per_seed]
    return {
        "seeds": args.seeds,
        "pairs_at_equal_time": pairs,
        "best_iters_at_common_time_per_seed": best,
        "per_seed": {str(s): {k: v[k] for k in ("pairs", "verdict", "t_common")}
                     for s, v in per_seed.items()},
    }  # fmt: skip


# %% [markdown]
# ## Figure: training accuracy and loss against seconds in steps and against epochs


# %%
def plot(args, S: dict, runs: dict, numbers: dict, sizes: list, n: int, bs: int) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary, t_common = numbers["summary"], numbers["t_common"]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    cmap = plt.get_cmap("viridis")
    for j, (it, r) in enumerate(runs.items()):
        c = cmap(j / max(len(runs) - 1, 1))
        recs = r["records"]
        t = [q["time"] for q in recs]
        ep = [q["epoch"] for q in recs]
        acc = [100 * q["train_acc"] for q in recs]
        loss = [q["train_loss"] for q in recs]
        lab = (
            f"{it} NCG step{'s' if it > 1 else ''} ({summary[it]['s_per_epoch_mean']:.1f} s/epoch)"
        )
        axes[0, 0].plot(t, acc, "-o", ms=3, color=c, label=lab)
        axes[0, 1].plot(ep, acc, "-o", ms=3, color=c, label=lab)
        axes[1, 0].semilogy(t, loss, "-o", ms=3, color=c, label=lab)
        axes[1, 1].semilogy(ep, loss, "-o", ms=3, color=c, label=lab)
    for ax in axes[:, 0]:
        ax.set_xlabel("seconds spent in SIBP steps (2 shared CPU cores)")
    for ax in axes[:, 1]:
        ax.set_xlabel("epoch")
    for ax in axes[0]:
        ax.set_ylabel("training accuracy (%)")
        ax.set_ylim(
            max(min(100 * q["train_acc"] for r in runs.values() for q in r["records"][1:]) - 2, 0),
            100.5,
        )
    for ax in axes[1]:
        ax.set_ylabel("training loss (cross-entropy, mean)")
    axes[0, 0].axvline(t_common, color="k", lw=0.6, ls=":", label="equal-time comparison")
    axes[0, 0].legend(fontsize=8, loc="lower right")
    cvs = [summary[it]["s_per_epoch_cv"] or 0 for it in runs]
    data_name = S["dataset"].upper()
    fig.suptitle(
        f"SIBP inner NCG steps: MLP {'-'.join(map(str, sizes))} ReLU, {data_name} n_train={n}, "
        f"batch {bs}, η={S['eta']:g}, λ={S['lam']:g}, {S['epochs']} epochs, float32, "
        f"{args.backend}\n{S['mode']} setting (paper: CIFAR-10, 3072-4000-1000-4000-10); runs "
        f"interleaved per epoch; epoch-time CV {min(cvs):.0%}–{max(cvs):.0%}",
        fontsize=10,
    )
    fig.tight_layout()
    png = common.savefig(fig, args, f"{NAME}.png")
    plt.close(fig)
    return png


# %%
def main(argv: list[str] | None = None) -> dict:
    args, S = settings(argv)
    ds, net, sizes = data(args, S)
    if args.seeds > 1:  # seed 0's runs, read back, make the figure and the main numbers
        seeds = over_seeds(args, S, ds, net)
        runs = seed_runs(args, S, ds, net, S["seed"])
    else:
        seeds, runs = None, train_interleaved(args, S, ds, net)
    n, bs = ds.n_train, S["batch_size"]
    numbers = summarise(S, runs, n, bs)
    png = plot(args, S, runs, numbers, sizes, n, bs)
    print("wrote", png)
    summary, pairs, ratios, verdict = (
        numbers[k] for k in ("summary", "pairs", "ratios", "verdict")
    )
    res = common.save_results(
        args,
        NAME,
        {
            "settings": S,
            "sizes": sizes,
            "paper": {"net": "3072-4000-1000-4000-10", "data": "CIFAR-10", "claim": "C11"},
            "summary": {str(k): v for k, v in summary.items()},
            "replotted_from_saved_records": args.replot,
            "pairs_at_equal_time": pairs,
            "epoch_time_ratio_to_iters1": {str(k): v for k, v in ratios.items()},
            "records": {str(it): r["records"] for it, r in runs.items()},
            "verdict": verdict,
            "over_seeds": seeds,
        },
    )
    print("wrote", res)
    return numbers if seeds is None else {**numbers, "over_seeds": seeds}


if __name__ == "__main__":
    main()
