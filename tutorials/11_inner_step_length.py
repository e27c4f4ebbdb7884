"""How much of the subproblem's step do the inner solvers take? (4.1), our NCG, the authors'

SIBP's step is Algorithm 1 with each layer's subproblem (4.1) solved *inexactly*: 5 inner
iterations in the paper. Table 2 (``figures/05_table2.md``) found that the authors' inner
solver (``SIBP(solver="ncg_authors")``, ``docs/conventions.md §5``) learns more slowly than
ours at the authors' default η_c = 0.1 (tutorial 10), but *generalises better* at their
largest η_c = 10. One explanation is that their solver takes a shorter step than the exact
solution of (4.1), i.e. damps the update. This script measures it directly.

From the same point ``Θ^k`` and on the same batch it takes one SIBP step with each of

- ``SIBP(solver="ncg")`` (ours: 5 Fletcher–Reeves iterations on the ReLU layer, the closed
  form ridge solve on the linear last layer),
- ``SIBP(solver="ncg_authors")`` (theirs: 5 iterations of their routine on every layer,
  the linear last layer included),
- ``SIBP(solver="exact")`` (NCG until ``‖∇φ‖`` is below 1e-12 of its start, at most 500
  iterations; in one check, η_c = 1 at k = 0, 3.5e-4 relative from the solution after
  6 000 iterations),

and compares, layer by layer, the change ``ΔW = W^{k+1} − W^k`` of each solver with the exact
one ``ΔW_*``: its **length** ``‖ΔW‖ / ‖ΔW_*‖`` and how far it goes **along** the exact step,
``⟨ΔW, ΔW_*⟩ / ‖ΔW_*‖²`` (1 for the exact step; 0.2 means a fifth of the way). The layers
are solved top down, each from the δ its own solver's upper layer gives (4.2), so the
hidden layer's subproblem is not quite the same for the three; the last layer's is.

Settings: MNIST 784-500-10, ReLU, softmax cross-entropy, all 60 000 training images, init
N(0, 0.05), batch 100 drawn with replacement; λ_c = 1 and η_c ∈ {0.1, 1, 10} in the
authors' units (ours ``lam = 0.5``, ``eta = 100·η_c``, ``docs/conventions.md §4``), the
columns of Table 2. The points ``Θ^k`` lie on a training run of ``SIBP()`` (our NCG) in
float32, at steps k ∈ {0, 100, 600, 3000} (3000 = 5 epochs); the three comparison steps
are taken in float64. Seeds 0–2 (each its own init and batches).

The ReLU subproblem need not have a unique solution (it is piecewise quadratic and non-convex),
so "exact" is the stationary point NCG reaches from ``W^k``; for the linear last layer it is
the unique ridge solution, which ``SIBP()`` computes in closed form.

Run: ``python tutorials/11_inner_step_length.py`` (about 55 minutes on one loaded core here);
``--seeds N``; ``--quick`` for the tests (synthetic data without MNIST, a small net).
Writes ``figures/11_inner_step_length.png`` and ``tutorials/results/11_inner_step_length.json``,
which keeps every seed's ratios (``runs``, by ``"<η_c>/<seed>"``). ``--replot``: the table and
the figure again from that file alone (``--runs FILE`` for another), computing nothing.
"""

# %%
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import common
import numpy as np
from _lib import inner

from sibp_ref import MLP, SIBP, load_dataset, make_synthetic
from sibp_ref import backend as B

NAME = "11_inner_step_length"
SOLVERS = ("ncg", "ncg_authors")  # each against "exact"
LABELS = {"ncg": "SIBP(): our NCG, closed form in the linear layer",
          "ncg_authors": "SIBP(solver='ncg_authors')"}  # fmt: skip
#: ``ncg_authors`` as the authors' code runs it since this commit; results dated before it
#: measured the first emulation, and their figure says so.
AUTHORS_FIXED = ("9edac02", "2026-12-03 15:28:16")


# %% settings
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv)
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3)")
    p.add_argument("--replot", action="store_true", help="table and figure from the results")
    p.add_argument("--runs", default=None, help="results file to replot from")
    extra, _ = p.parse_known_args(argv)
    if extra.seeds is not None and extra.seeds < 1:
        raise SystemExit(f"--seeds must be a positive integer, got {extra.seeds}")
    args.replot = extra.replot
    args.runs = Path(extra.runs) if extra.runs else common.results_path(args, NAME)
    S = dict(lam_c=1.0, batch_size=100, init_std=0.05, iters=5, exact_tol=1e-12,
             exact_max_iters=500)  # fmt: skip
    if args.quick:
        S.update(dataset="mnist", n_train=500, hidden=[32], eta_c=[0.1, 10.0], stops=[0, 5],
                 seeds=1)  # fmt: skip
    else:
        S.update(dataset="mnist", n_train=60000, hidden=[500], eta_c=[0.1, 1.0, 10.0],
                 stops=[0, 100, 600, 3000], seeds=3)  # fmt: skip
    if extra.seeds:
        S["seeds"] = extra.seeds
    if not args.replot:  # a replot takes the settings of the file it redraws
        S["dataset"] = common.dataset_or_synthetic(args, S["dataset"])
    return args, S


# %% one step from the same point with each solver
def compare_step(net, params, X, Y, eta, lam, S) -> dict:
    """The three solvers' steps from ``params`` on ``(X, Y)`` (all in float64): per layer,
    ``‖ΔW‖/‖ΔW_*‖`` and ``⟨ΔW, ΔW_*⟩/‖ΔW_*‖²`` (and the same for b), and each batch loss."""
    xp = B.namespace(X)
    p64 = [(xp.astype(W, xp.float64), xp.astype(b, xp.float64)) for W, b in params]
    X64, Y64 = xp.astype(X, xp.float64), xp.astype(Y, xp.float64)
    steps = {s: SIBP(eta=eta, lam=lam, solver=s, iters=S["iters"]) for s in SOLVERS}
    steps["exact"] = SIBP(eta=eta, lam=lam, solver="exact", tol=S["exact_tol"],
                          max_iters=S["exact_max_iters"])  # fmt: skip
    delta, loss, secs = {}, {"before": B.to_float(net.loss(p64, X64, Y64))}, {}
    for name, m in steps.items():
        t0 = time.perf_counter()
        new, _ = m.step(net, p64, m.init(net, p64), X64, Y64)
        secs[name] = time.perf_counter() - t0
        pairs = zip(new, p64, strict=True)
        delta[name] = [(B.to_numpy(Wn - W), B.to_numpy(bn - b)) for (Wn, bn), (W, b) in pairs]
        loss[name] = B.to_float(net.loss(new, X64, Y64))
    layers = []
    for i in range(net.num_layers):
        row = {}
        for j, part in enumerate(("W", "b")):
            star = delta["exact"][i][j]
            row[part] = {"exact_norm": float(np.sum(star * star)) ** 0.5}
            for s in SOLVERS:
                row[part][s] = inner.step_ratios(delta[s][i][j], star)
        layers.append(row)
    return {"layers": layers, "loss": loss, "seconds": secs}


# %% along one training run of SIBP(), at a few steps k
def trajectory(net, ds, eta, lam, seed, S, xp) -> list[dict]:
    """Train ``SIBP()`` in float32 on batches drawn with replacement and compare the three
    solvers' steps at each of ``S["stops"]`` (on the batch the run draws next)."""
    train = SIBP(eta=eta, lam=lam, iters=S["iters"])
    params = net.init(seed=seed, std=S["init_std"], xp=xp, dtype="float32")
    state = train.init(net, params)
    rng = np.random.default_rng([seed, 11])
    device = B.device_of(ds.X_train)

    def batch():
        idx = B.asarray(rng.integers(0, ds.n_train, S["batch_size"]), xp, device=device)
        return xp.take(ds.X_train, idx, axis=1), xp.take(ds.Y_train, idx, axis=1)

    out, k = [], 0
    for stop in S["stops"]:
        while k < stop:
            X, Y = batch()
            params, state = train.step(net, params, state, X, Y)
            k += 1
        X, Y = batch()
        out.append({"k": k, **compare_step(net, params, X, Y, eta, lam, S)})
    return out


def measure(args, S) -> dict:
    """Every η_c and seed: its trajectory's comparisons, by ``"<η_c>/<seed>"``."""
    xp = B.get_backend(args.backend)
    if S["dataset"] == "synthetic":
        ds = make_synthetic(n_train=S["n_train"], n_test=100, d=64, xp=xp)
    else:
        ds = load_dataset("mnist", data_dir=args.data_dir, xp=xp, n_train=S["n_train"])
    net = MLP([ds.n_features, *S["hidden"], ds.num_classes], "relu", "cross_entropy")
    print(ds, "net", net.sizes, flush=True)
    runs = {}
    for eta_c in S["eta_c"]:
        eta, lam = common.authors_to_ours(eta_c, S["lam_c"], S["batch_size"])
        for seed in range(S["seeds"]):
            t0 = time.perf_counter()
            runs[f"{eta_c:g}/{seed}"] = trajectory(net, ds, eta, lam, seed, S, xp)
            print(f"η_c = {eta_c:g}, seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    return runs


# %% run: the ratios per η_c, k, layer and solver, mean ± sd over the seeds, and the figure
def main(argv: list[str] | None = None) -> dict:
    args, S = settings(argv)
    t0 = time.perf_counter()
    if args.replot:
        saved = json.loads(args.runs.read_text())
        S, runs, date = saved["settings"], saved["runs"], saved["meta"]["date"]
    else:
        print("settings:", S)
        runs, date = measure(args, S), time.strftime("%Y-%m-%d %H:%M:%S")
    rows = inner.summarise_steps(runs, S, SOLVERS)
    inner.print_steps(rows, S["seeds"])
    title = (f"One SIBP step ({S['iters']} inner iterations) against the exact solution of "
             rf"(4.1), $\lambda_c = {S['lam_c']:g}$; {S['dataset'].upper()}, {S['n_train']} "
             f"samples, {S['hidden'][0]} ReLU units; each of {S['seeds']} seeds a dot, "
             "the mean a line")  # fmt: skip
    if date < AUTHORS_FIXED[1]:
        title += (f"\nauthors' solver: its FIRST EMULATION (before {AUTHORS_FIXED[0]}), "
                  "to be rerun; our NCG and the exact step unaffected")  # fmt: skip
    fig = inner.plot_steps(runs, S, LABELS, title)
    path = common.savefig(fig, args, f"{NAME}.png")
    print("figure:", path)
    if args.replot:  # the results file is the record: a replot leaves it alone
        return {"figure": path, "results": args.runs, "summary": rows}
    out = {"settings": S, "summary": rows, "runs": runs, "wall_s": time.perf_counter() - t0}
    saved = common.save_results(args, NAME, out)
    return {"figure": path, "results": saved, "summary": rows}


if __name__ == "__main__":
    main()
