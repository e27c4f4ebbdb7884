"""How many inner NCG steps should SIBP take? Accuracy per second of computing (§5.6, Fig. 13).

Each SIBP iteration solves the subproblems (4.1) of the nonlinear layers only approximately,
with a few nonlinear-CG steps (``iters``; the paper and the defaults use 5). More steps give a
more exact proximal step but cost more time. The paper trains a 3072-4000-1000-4000-10 MLP on
CIFAR-10 with several step counts and concludes (claim C11, Fig. 13) that *5 iterations give
higher training accuracy per unit of computing time* than more steps.

**What differs here.** CIFAR-10 is not on these machines and the paper's net is far too big
for two shared CPU cores. The default (full) mode trains 784-1000-500-10 ReLU on the first
2 000 MNIST training images (tested on all 10 000) for 10 epochs with ``iters`` ∈ {1, 3, 5,
10} (Fletcher–Reeves NCG; η = 10, λ = 0.5, batch 100). ``--paper`` runs the paper's network
on CIFAR-10 (``--data-dir`` must hold ``cifar-10-batches-bin``; meant for a GPU).

**Timing honestly on a shared machine.** Time is the time spent in SIBP steps (evaluation
excluded, the device synchronised once per epoch). The four settings are run *interleaved*:
every epoch each trains on the same mini-batches, in an order that rotates from epoch to
epoch, so that a burst of load from other processes hits all of them alike. The work per epoch
is fixed, so the spread of one setting's epoch times measures the timing noise.

Run: ``python tutorials/09_inner_iterations.py [--data-dir DIR] [--seeds N]``: seeds 0, …,
N − 1 (default 1), each seed's records in ``tutorials/results/09_inner_iterations_runs/
seed<s>.json`` (``--runs DIR``; a seed already there is read back, not rerun). ``--replot``:
the figure and the numbers from those records alone (every seed there unless ``--seeds``),
loading no data and training nothing. ``--quick``: a small net on 300 samples, 2 epochs.
"""

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path

import common
import numpy as np
from _lib import inner

import sibp_ref
from sibp_ref import MLP, load_dataset, make_synthetic
from sibp_ref import backend as B
from sibp_ref.run import evaluate

NAME = "09_inner_iterations"


# %% settings
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv)
    p = argparse.ArgumentParser()
    p.add_argument("--paper", action="store_true", help="CIFAR-10, 3072-4000-1000-4000-10")
    p.add_argument("--replot", action="store_true", help="figure and numbers from the records")
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 1)")
    p.add_argument("--runs", default=None, help="folder of the seed records")
    extra, _ = p.parse_known_args(argv)
    if extra.seeds is not None and extra.seeds < 1:
        raise SystemExit(f"--seeds must be a positive integer, got {extra.seeds}")
    args.replot, args.seeds = extra.replot, extra.seeds
    args.runs = Path(extra.runs or common.results_path(args, NAME).parent / f"{NAME}_runs")
    S = dict(iters=[1, 3, 5, 10], eta=10.0, lam=0.5, batch_size=100, init_std=0.05, seed=0)
    if args.quick:
        S.update(dataset="mnist", hidden=[64, 32], n_train=300, epochs=2)
    elif extra.paper:
        S.update(dataset="cifar10", hidden=[4000, 1000, 4000], n_train=None, epochs=10)
    else:
        S.update(dataset="mnist", hidden=[1000, 500], n_train=2000, epochs=10)
    S["mode"] = "quick" if args.quick else ("paper" if extra.paper else "reduced")
    return args, S


# %% data (synthetic only as a fallback in quick mode)
def data(args, S: dict):
    """The data set and the network of ``S["hidden"]`` on it."""
    xp = B.get_backend(args.backend)
    if common.dataset_or_synthetic(args, S["dataset"]) == "synthetic":
        ds = make_synthetic(n_train=S["n_train"], n_test=500, d=64, xp=xp)
    else:
        ds = load_dataset(S["dataset"], data_dir=args.data_dir, xp=xp, n_train=S["n_train"])
    S["data"] = repr(ds)
    net = MLP([ds.n_features, *S["hidden"], ds.num_classes], "relu", "cross_entropy")
    print(ds, "net", net.sizes)
    return ds, net


# %% interleaved training: every setting sees the same batches; the order rotates per epoch
def record(net, ds, params, epoch: int, seconds: float) -> dict:
    tr = evaluate(net, params, ds.X_train, ds.Y_train)
    te = evaluate(net, params, ds.X_test, ds.Y_test)
    return {"epoch": epoch, "time": seconds, "train_loss": tr["loss"], "train_acc": tr["acc"],
            "test_loss": te["loss"], "test_acc": te["acc"]}  # fmt: skip


def train_interleaved(args, S: dict, ds, net) -> dict[int, list[dict]]:
    """Every ``iters`` setting, epoch by epoch on the same batches: its records by epoch."""
    xp = B.get_backend(args.backend)
    runs = {}
    for it in S["iters"]:
        method = sibp_ref.SIBP(eta=S["eta"], lam=S["lam"], iters=it)
        params = net.init(seed=S["seed"], std=S["init_std"], xp=xp, dtype="float32")
        runs[it] = {"method": method, "params": params, "state": method.init(net, params),
                    "time": 0.0, "records": [record(net, ds, params, 0, 0.0)]}  # fmt: skip
    n, bs = ds.n_train, S["batch_size"]
    rng = np.random.default_rng([S["seed"], 1])
    order = list(S["iters"])
    for epoch in range(1, S["epochs"] + 1):
        perm = B.asarray(rng.permutation(n), xp, device=B.device_of(ds.X_train))
        Xp, Yp = xp.take(ds.X_train, perm, axis=1), xp.take(ds.Y_train, perm, axis=1)
        for it in order:
            r = runs[it]
            t0 = time.perf_counter()
            for s in range(0, n, bs):
                r["params"], r["state"] = r["method"].step(
                    net, r["params"], r["state"], Xp[:, s : s + bs], Yp[:, s : s + bs]
                )
            B.to_float(r["params"][-1][0][0, 0])  # wait for queued device work
            dt = time.perf_counter() - t0
            r["time"] += dt
            r["records"].append(record(net, ds, r["params"], epoch, r["time"]))
            q = r["records"][-1]
            print(f"epoch {epoch:2d} iters={it:2d}: {dt:6.2f} s, train acc {q['train_acc']:.4f}"
                  f" loss {q['train_loss']:.4f}", flush=True)  # fmt: skip
        order = order[1:] + order[:1]
    return {it: r["records"] for it, r in runs.items()}


def seed_records(args, S: dict, ds, net, seed: int) -> dict[int, list[dict]]:
    """The interleaved runs of ``seed``: read back from its file, or run and saved."""
    Ss, path = dict(S, seed=seed), inner.seed_path(args.runs, seed)
    saved = inner.read_seed(path, Ss)
    if saved is not None:
        print(f"seed {seed}: read back from {common.shown_path(path)}")
        return saved["records"]
    records = train_interleaved(args, Ss, ds, net)
    inner.write_seed(path, Ss, records)
    return records


def read_seeds(args, S: dict) -> tuple[dict, str]:
    """``--replot``: every seed's records (seeds 0, … while their files are there, or
    ``--seeds``) and the data set's description, from the files alone."""
    seeds, out = args.seeds or 10**6, {}
    while len(out) < seeds and (saved := inner.read_seed(
            inner.seed_path(args.runs, len(out)), dict(S, seed=len(out)))):  # fmt: skip
        out[len(out)] = saved
    if not out or (args.seeds and len(out) < args.seeds):
        want = f"seeds 0..{args.seeds - 1}" if args.seeds else "seed 0"
        raise SystemExit(f"--replot: {want} of these settings not all in "
                         f"{common.shown_path(args.runs)} (found {len(out)})")  # fmt: skip
    return {s: v["records"] for s, v in out.items()}, out[0]["settings"]["data"]


# %% run: per seed, the records and their numbers; the answer is the equal-time comparison
def main(argv: list[str] | None = None) -> dict:
    args, S = settings(argv)
    if args.replot:
        records, S["data"] = read_seeds(args, S)
    else:
        ds, net = data(args, S)
        records = {s: seed_records(args, S, ds, net, s) for s in range(args.seeds or 1)}
    d, classes, n = inner.data_shape(S["data"])
    sizes, bs = [d, *S["hidden"], classes], S["batch_size"]
    runs = {s: {it: inner.as_run(r) for it, r in rec.items()} for s, rec in records.items()}
    numbers = {}
    for s, r in runs.items():
        print(f"--- seed {s}")
        numbers[s] = inner.summarise(S["iters"], r, n, bs)
    seeds = inner.over_seeds(numbers) if len(runs) > 1 else None
    title = (f"SIBP with {', '.join(map(str, S['iters']))} NCG iterations per subproblem (4.1): "
             f"MLP {'-'.join(map(str, sizes))} ReLU, {S['dataset'].upper()} n = {n}, batch {bs}, "
             rf"$\eta = {S['eta']:g}$, $\lambda = {S['lam']:g}$, {S['epochs']} epochs, float32"
             f"\n{S['mode']} setting (paper's Fig. 13: CIFAR-10, 3072-4000-1000-4000-10); "
             "the four settings interleaved epoch by epoch on the same batches")  # fmt: skip
    fig = inner.plot_iterations(runs, numbers, title)
    print("wrote", common.savefig(fig, args, f"{NAME}.png"))
    first = numbers[0]
    if not args.replot:  # a replot leaves the results file, and the date it records, alone
        res = common.save_results(args, NAME, {
            "settings": S,
            "sizes": sizes,
            "paper": {"net": "3072-4000-1000-4000-10", "data": "CIFAR-10", "claim": "C11"},
            "summary": {str(k): v for k, v in first["summary"].items()},
            "pairs_at_equal_time": first["pairs"],
            "epoch_time_ratio_to_iters1": {str(k): v for k, v in first["ratios"].items()},
            "records": {str(it): r for it, r in records[0].items()},
            "verdict": first["verdict"],
            "over_seeds": seeds,
        })  # fmt: skip
        print("wrote", res)
    return first if seeds is None else {**first, "over_seeds": seeds}


if __name__ == "__main__":
    main()
