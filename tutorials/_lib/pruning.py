"""The machinery of tutorial 08 (ℓ1 pruning, claim C10): proximal SGD, the fraction of zero
weights, one cached run of the MLP sweep, the LeNet-5 sweep (run, resumed or read back), their
tables, C10's verdict and the two panels.

A run's cache key hashes its settings (:func:`run`, :func:`lenet_key`): the committed runs under
``tutorials/results/08_l1_pruning_lenet/`` are found by it, so those settings must not change.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from types import SimpleNamespace

import common

import sibp_ref
from sibp_ref import backend as B
from sibp_ref import load_dataset, make_synthetic
from sibp_ref.inner import soft_threshold
from sibp_ref.nets import get_net
from sibp_ref.run import train

NAME = "08_l1_pruning"
ETA, LAM, ITERS = 10.0, 0.5, 5  # SIBP's defaults (the authors' code; sibp_ref.methods)
ITERS_MORE = 20  # the second SIBP curve: a more accurate ℓ1 subproblem
# part of every SIBP run's cache key, so runs of the old ℓ1 solver are never reused
L1_SOLVER = "prox_grad: MFISTA+restart, t=1/L (power iteration), identity layers from ridge"
TINY = 1e-12  # the diagnostic run's negligible ℓ1 weight
TARGET_ACC, TARGET_ZEROS = 0.985, 0.70  # the paper's claim C10


# %% the MLP panel's data: MNIST when it is at hand, otherwise (quick mode only) synthetic
def data(args, S: dict):
    """The first ``S["n_train"]`` MNIST images (or synthetic data), and the net's sizes."""
    xp = B.get_backend(args.backend)
    if common.dataset_or_synthetic(args, "mnist") == "synthetic":
        ds = make_synthetic(n_train=S["n_train"], n_test=500, d=64, xp=xp)
    else:
        ds = load_dataset("mnist", data_dir=args.data_dir, xp=xp, n_train=S["n_train"])
    S["dataset"] = repr(ds)
    sizes = [ds.n_features, *S["hidden"], ds.num_classes]
    print(ds, "net", sizes)
    return ds, sizes


# %% proximal SGD: the baseline with an ℓ1 penalty (tutorial-only)
class ProxSGD:
    """``θ ← S_{lr·μ}(θ − lr ∇_θ J)`` for every W and b: proximal SGD on ``J + μ||θ||_1``."""

    name = "prox_sgd"

    def __init__(self, lr: float, mu: float) -> None:
        if not lr > 0 or not mu >= 0:
            raise ValueError(f"need lr > 0 and mu >= 0, got lr={lr!r}, mu={mu!r}")
        self.lr, self.mu = float(lr), float(mu)

    def __repr__(self) -> str:
        return f"ProxSGD(lr={self.lr}, mu={self.mu})"

    def init(self, net, params):
        return None

    def step(self, net, params, state, X, Y):
        G, F = net.forward(params, X, check=False)  # (2.1)
        grads, _ = net.backward(params, G, F, Y)  # (3.1)-(3.2): ∂J/∂W, ∂J/∂b
        tau = self.lr * self.mu
        new = [
            tuple(
                None if p is None else soft_threshold(p - self.lr * g, tau)
                for p, g in zip(pg, gg, strict=True)
            )
            for pg, gg in zip(params, grads, strict=True)
        ]
        return new, state


def zero_fraction(params) -> dict:
    """Fraction of exactly-zero entries of the weight matrices, overall and per layer."""
    xp = B.namespace(params[0][0])
    zeros = [B.to_float(xp.sum(xp.astype(W == 0, xp.float64))) for W, _ in params]
    total = [int(W.shape[0] * W.shape[1]) for W, _ in params]
    return {
        "zeros": sum(zeros) / sum(total),
        "zeros_per_layer": [z / t for z, t in zip(zeros, total, strict=True)],
    }


# %% the MLP sweep (each run cached as JSON, so an interrupted sweep resumes)
def summarise(cfg: dict, method, h) -> dict:
    """What a pruning run's summary file keeps: its settings, final numbers and sparsity."""
    return {
        "settings": cfg,
        "method_repr": repr(method),
        "status": h.status,
        "train_acc": h.final["train_acc"],
        "test_acc": h.final.get("test_acc"),
        "train_loss": h.final["train_loss"],
        "step_time_s": h.final["time"],
        "curve_train_acc": list(h.column("train_acc")),
        **zero_fraction(h.params),
    }


def run(ctx: SimpleNamespace, method_name: str, mu: float) -> dict:
    """One run of the sweep, read back from its cached JSON when it is there."""
    args, S, ds, net, run_dir = ctx.args, ctx.S, ctx.ds, ctx.net, ctx.run_dir
    xp = B.get_backend(args.backend)
    cfg = {k: S[k] for k in ("hidden", "n_train", "epochs", "batch_size", "init_std", "seed")}
    cfg.update(method=method_name, mu=mu, dataset=S["dataset"], backend=args.backend)
    if method_name.startswith("sibp"):
        cfg.update(l1_solver=L1_SOLVER)
    if method_name == "sibp":
        cfg.update(eta=ETA, lam=LAM, iters=ITERS, gamma=2 * ETA * mu)
        method = sibp_ref.SIBP(eta=ETA, lam=LAM, iters=ITERS, l1=2 * ETA * mu)
    elif method_name == "sibp_iters_more":
        cfg.update(eta=ETA, lam=LAM, iters=ITERS_MORE, gamma=2 * ETA * mu)
        method = sibp_ref.SIBP(eta=ETA, lam=LAM, iters=ITERS_MORE, l1=2 * ETA * mu)
    elif method_name == "sibp_tiny_l1":  # the whole l1 code path, negligible γ (a diagnostic)
        cfg.update(eta=ETA, lam=LAM, iters=ITERS, gamma=TINY)
        method = sibp_ref.SIBP(eta=ETA, lam=LAM, iters=ITERS, l1=TINY)
    elif method_name == "sibp_prox_grad":  # prox-grad on the hidden layers, γ = 0 (diagnostic)
        cfg.update(eta=ETA, lam=LAM, iters=ITERS, gamma=0.0, solver="prox_grad")
        method = sibp_ref.SIBP(eta=ETA, lam=LAM, iters=ITERS, solver="prox_grad")
    else:
        cfg.update(lr=S["sgd_lr"])
        method = ProxSGD(lr=S["sgd_lr"], mu=mu)
    key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]
    path = run_dir / f"{method_name}-{key}.json"
    if path.is_file():
        return json.loads(path.read_text())
    t0 = time.perf_counter()
    params = net.init(seed=S["seed"], std=S["init_std"], xp=xp, dtype="float32")
    h = train(
        net,
        method,
        params,
        ds,
        epochs=S["epochs"],
        batch_size=S["batch_size"],
        seed=S["seed"],
        grad_norm=False,
    )
    out = {**summarise(cfg, method, h), "wall_s": time.perf_counter() - t0}
    path.write_text(json.dumps(out, indent=1))
    return out


def sweep(ctx: SimpleNamespace) -> dict:
    """SIBP (two inner step counts) and proximal SGD at every μ of the settings."""
    S = ctx.S
    results = {"sibp": [], "sibp_iters_more": [], "prox_sgd": []}
    for mu in S["mu"]:
        for m in results:
            r = run(ctx, m, mu)
            results[m].append(r)
            print(
                f"{m:15s} mu={mu:g} (gamma={2 * ETA * mu:g}): zeros {r['zeros']:.3f} "
                f"train {r['train_acc']:.4f} test {r['test_acc']:.4f} "
                f"({r['step_time_s']:.0f} s in steps)"
            )
    return results


# %% diagnostics: what does the ℓ1 code path cost without the penalty?
def diagnostics(ctx: SimpleNamespace) -> tuple[dict | None, dict | None]:
    diag = None if ctx.args.quick else run(ctx, "sibp_prox_grad", 0.0)
    diag_tiny = None if ctx.args.quick else run(ctx, "sibp_tiny_l1", 0.0)
    for lab, dg in (("SIBP prox_grad, gamma=0", diag), (f"SIBP l1={TINY:g}", diag_tiny)):
        if dg is not None:
            print(
                f"{lab}: train {dg['train_acc']:.4f} test {dg['test_acc']:.4f} "
                f"zeros {dg['zeros']:.3f} ({dg['step_time_s']:.0f} s in steps)"
            )
    return diag, diag_tiny


# %% C10: is 98.5 % training accuracy reached with ≥ 70 % zero weights?
def c10_verdict(results: dict) -> dict:
    verdict = {}
    for m, rs in results.items():
        ok = [r for r in rs if r["zeros"] >= TARGET_ZEROS and r["train_acc"] >= TARGET_ACC]
        best = max(
            (r for r in rs if r["train_acc"] >= TARGET_ACC), key=lambda r: r["zeros"], default=None
        )
        verdict[m] = {
            "reached_98.5_at_70pct_zeros": bool(ok),
            "max_zeros_with_train_acc_ge_98.5": None if best is None else best["zeros"],
        }
        print(m, verdict[m])
    return verdict


# %% the figures: accuracy against the fraction of exactly-zero weights
def curve_styles(iters: int, iters_more: int, sgd_lr: float) -> dict:
    """Colour, marker and label of each method's curve (both panels)."""
    return {
        "sibp": ("#d62728", "o", f"SIBP + ℓ1 (γ = 2ημ), {iters} inner steps"),
        "sibp_iters_more": ("#1f77b4", "^", f"SIBP + ℓ1 (γ = 2ημ), {iters_more} inner steps"),
        "prox_sgd": ("#7f7f7f", "s", f"proximal SGD (lr={sgd_lr:g}) + ℓ1 (μ)"),
    }


def mark_target(ax, text: str) -> None:
    """The paper's point (98.5 % train at 70 % zeros) as dotted lines, with ``text``."""
    ax.axhline(100 * TARGET_ACC, color="k", lw=0.6, ls=":")
    ax.axvline(100 * TARGET_ZEROS, color="k", lw=0.6, ls=":")
    ax.text(100 * TARGET_ZEROS, 100 * TARGET_ACC, text, fontsize=7, va="bottom")


def plot_diagnostics(ax, diag: dict | None, diag_tiny: dict | None) -> None:
    """The two diagnostic runs of the MLP panel, one marker each (none in quick mode)."""
    if diag is not None:
        ax.plot(
            [100 * diag["zeros"]],
            [100 * diag["train_acc"]],
            "D",
            color="#ff7f0e",
            label="SIBP, γ = 0, prox-grad on hidden layer, train (diagnostic)",
        )
    if diag_tiny is not None:
        ax.plot(
            [100 * diag_tiny["zeros"]],
            [100 * diag_tiny["train_acc"]],
            "v",
            color="#9467bd",
            label=f"SIBP, γ = {TINY:g} (ℓ1 code path), train (diagnostic)",
        )


def plot(args, S: dict, results: dict, diag, diag_tiny, sizes: list, ds) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    style = curve_styles(ITERS, ITERS_MORE, S["sgd_lr"])
    for m, rs in results.items():
        c, mk, lab = style[m]
        z = [100 * r["zeros"] for r in rs]
        ax.plot(z, [100 * r["train_acc"] for r in rs], "-" + mk, color=c, label=lab + ", train")
        ax.plot(
            z,
            [100 * r["test_acc"] for r in rs],
            "--" + mk,
            color=c,
            mfc="none",
            label=lab + ", test",
        )
        for r, zz in zip(rs, z, strict=True):
            ax.annotate(
                f"μ={r['settings']['mu']:g}",
                (zz, 100 * r["train_acc"]),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
                color=c,
            )
    plot_diagnostics(ax, diag, diag_tiny)
    mark_target(ax, " paper (LeNet-5): 98.5 % train at 70 % zeros")
    ax.set_xlabel("weights exactly zero (% of all W entries)")
    ax.set_ylabel("accuracy (%)")
    lo = min(min(100 * r["test_acc"] for r in rs) for rs in results.values())
    ax.set_ylim(max(lo - 2, 0), 101.5)
    ax.set_xlim(-3, 103)
    ax.legend(fontsize=8, loc="lower left")
    data_name = "MNIST" if "mnist" in S["dataset"] else "synthetic"
    ax.set_title(
        f"ℓ1 pruning, MLP {'-'.join(map(str, sizes))} ReLU, {data_name} n_train={ds.n_train}, "
        f"{S['epochs']} epochs, batch {S['batch_size']}\n"
        f"SIBP η={ETA:g} λ={LAM:g}, {ITERS} or {ITERS_MORE} prox-grad steps; one point per μ; "
        f"{'quick mode' if args.quick else 'reduced setting (paper: LeNet-5)'}",
        fontsize=9,
    )
    png = common.savefig(fig, args, f"{NAME}.png")
    plt.close(fig)
    return png


# %% the LeNet-5 sweep
LENET_NAME = NAME + "_lenet"
LENET_METHODS = ("sibp", "sibp_iters_more", "prox_sgd")


def lenet_runs_dir(args) -> Path:
    base = Path(args.out) / "results" if args.out else common.ROOT / "tutorials" / "results"
    return base / LENET_NAME


def lenet_data(spec: dict):
    """MNIST's first ``n_train`` training images (all test images), or synthetic 784-d data."""
    xp = B.get_backend(spec["backend"])
    S = spec["S"]
    if spec["synthetic"]:
        return make_synthetic(n_train=S["n_train"], n_test=S["n_test"], d=784, xp=xp)
    return load_dataset("mnist", data_dir=spec["data_dir"], xp=xp, n_train=S["n_train"])


def lenet_method(S: dict, method_name: str, mu: float):
    """The method of one run and its part of the run's settings."""
    if method_name == "prox_sgd":
        return ProxSGD(lr=S["sgd_lr"], mu=mu), {"lr": S["sgd_lr"]}
    iters = S["iters"] if method_name == "sibp" else S["iters_more"]
    gamma = 2 * ETA * mu  # SIBP's γ for proximal SGD's μ (see "Matching the two penalties")
    m = sibp_ref.SIBP(eta=S["eta"], lam=S["lam"], iters=iters, l1=gamma)
    return m, {"eta": S["eta"], "lam": S["lam"], "iters": iters, "gamma": gamma,
               "l1_solver": S["l1_solver"]}  # fmt: skip


def lenet_key(spec: dict, method_name: str, mu: float, seed: int) -> tuple[dict, Path]:
    """A run's settings and the stem of its files (the key hashes the settings)."""
    S = spec["S"]
    cfg = {k: S[k] for k in ("net", "n_train", "epochs", "batch_size", "init_std")}
    cfg.update(method=method_name, mu=mu, seed=seed, backend=spec["backend"])
    cfg.update(dataset="synthetic" if spec["synthetic"] else "mnist")
    cfg.update(lenet_method(S, method_name, mu)[1])
    key = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]
    return cfg, Path(spec["runs_dir"]) / f"{method_name}-{key}"


def log_settings(cfg: dict) -> dict:
    """``cfg`` for the log header: its ``method`` (the sweep's name, e.g.
    ``sibp_iters_more``) and ``net`` (a name) become ``variant`` and ``net_name``, beside the
    loop's own ``method`` (the method's name) and ``net`` (the network's repr)."""
    out = {k: v for k, v in cfg.items() if k not in ("method", "net")}
    return {**out, "variant": cfg["method"], "net_name": cfg["net"]}


def lenet_run(spec: dict, method_name: str, mu: float, seed: int) -> dict:
    """One LeNet-5 run (resumed from its checkpoint when interrupted); its summary."""
    cfg, stem = lenet_key(spec, method_name, mu, seed)
    summary = stem.with_suffix(".json")
    if summary.is_file():
        return json.loads(summary.read_text())
    ds = lenet_data(spec)
    net = get_net(spec["S"]["net"])
    method, _ = lenet_method(spec["S"], method_name, mu)
    xp = B.get_backend(spec["backend"])
    params = net.init(seed=seed, std=spec["S"]["init_std"], xp=xp, dtype="float32")
    h = train(
        net, method, params, ds, epochs=cfg["epochs"], batch_size=cfg["batch_size"],
        seed=seed, grad_norm=False, log=stem.with_suffix(".jsonl"), progress=False,
        settings=log_settings(cfg),
    )  # fmt: skip
    out = {**summarise(cfg, method, h), "curve_test_acc": list(h.column("test_acc"))}
    tmp = summary.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1))
    tmp.replace(summary)
    return out


def _lenet_task(spec: dict, job: tuple) -> dict:
    return lenet_run(spec, *job)


def lenet_sweep(args, S: dict, *, run: bool) -> dict:
    """Every (method, μ, seed) of the sweep: run (``run=True``) or read back what is there."""
    synthetic = common.dataset_or_synthetic(args, "mnist") == "synthetic" if run else False
    runs_dir = lenet_runs_dir(args)
    runs_dir.mkdir(parents=True, exist_ok=True)
    spec = dict(S=S, backend=args.backend, data_dir=args.data_dir, synthetic=synthetic,
                runs_dir=str(runs_dir))  # fmt: skip
    # seed-major, so that a sweep cut short has whole seeds of every curve
    mus = sorted({mu for m in LENET_METHODS for mu in S["mu"][m]})
    jobs = [(m, mu, s) for s in S["seeds"] for mu in mus for m in LENET_METHODS if mu in S["mu"][m]]
    done = {}
    if run:
        from sibp_ref.run.grid import make_executor

        todo = [j for j in jobs if not lenet_key(spec, *j)[1].with_suffix(".json").is_file()]
        # quick mode runs in this process: the docs build executes the script as no module
        # that a spawned worker could import
        workers = 1 if args.quick else min(args.workers, max(len(todo), 1))
        print(f"LeNet-5 sweep: {len(jobs)} runs, {len(todo)} to run, {workers} at once")
        ex = make_executor(workers)
        if ex is None:
            for j in todo:
                done[j] = lenet_run(spec, *j)
        else:
            with ex:
                futs = {j: ex.submit(_lenet_task, spec, j) for j in todo}
                done.update({j: f.result() for j, f in futs.items()})
    out = {m: {} for m in LENET_METHODS}
    for j in jobs:
        path = lenet_key(spec, *j)[1].with_suffix(".json")
        r = done.get(j) or (json.loads(path.read_text()) if path.is_file() else None)
        if r is not None:
            out[j[0]].setdefault(j[1], []).append(r)
    return out


def lenet_table(S: dict, res: dict) -> dict:
    """Mean ± sd over the seeds of every (method, μ), and C10's verdict per method."""
    import statistics as st

    def ms(v):
        return [st.mean(v), st.stdev(v) if len(v) > 1 else 0.0]

    table, verdict = {}, {}
    for m, by_mu in res.items():
        table[m] = []
        for mu, rs in sorted(by_mu.items()):
            row = {"mu": mu, "gamma": 0.0 if m == "prox_sgd" else 2 * ETA * mu, "seeds": len(rs)}
            for k in ("zeros", "train_acc", "test_acc"):
                row[k] = ms([r[k] for r in rs])
            row["diverged"] = sum(r["status"] == "diverged" for r in rs)
            table[m].append(row)
            print(
                f"LeNet-5 {m:15s} mu={mu:g}: zeros {row['zeros'][0]:.3f}±{row['zeros'][1]:.3f} "
                f"train {row['train_acc'][0]:.4f}±{row['train_acc'][1]:.4f} "
                f"test {row['test_acc'][0]:.4f}±{row['test_acc'][1]:.4f} ({len(rs)} seeds)"
            )
        ok = [
            r for r in table[m]
            if r["zeros"][0] >= TARGET_ZEROS and r["train_acc"][0] >= TARGET_ACC
        ]  # fmt: skip
        reach = [r for r in table[m] if r["train_acc"][0] >= TARGET_ACC]
        verdict[m] = {
            "reached_98.5_at_70pct_zeros (seed means)": bool(ok),
            "max_mean_zeros_with_mean_train_acc_ge_98.5": max(
                (r["zeros"][0] for r in reach), default=None
            ),
            "seeds": min((r["seeds"] for r in table[m]), default=0),
        }
        print("LeNet-5", m, verdict[m])
    return {"table": table, "verdict": verdict}


def _collapsed(row: dict) -> bool:
    """Whether a point's net fell to near chance on some seed (mean − sd below 50 %)."""
    return row["train_acc"][0] - row["train_acc"][1] < 0.5


def lenet_plot(args, S: dict, table: dict) -> Path | None:
    """Fig. 12's question on LeNet-5: accuracy against the fraction of zero weights."""
    if not any(table.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5))
    style = curve_styles(S["iters"], S["iters_more"], S["sgd_lr"])
    for m, rows in table.items():
        if not rows:
            continue
        c, mk, lab = style[m]
        z = [100 * r["zeros"][0] for r in rows]
        zs = [100 * r["zeros"][1] for r in rows]
        for k, ls, fill in (("train_acc", "-", None), ("test_acc", "--", "none")):
            y = [100 * r[k][0] for r in rows]
            ys = [100 * r[k][1] for r in rows]
            ax.errorbar(z, y, xerr=zs, yerr=ys, fmt=ls + mk, color=c, mfc=fill, capsize=2,
                        label=f"{lab}, {k.split('_')[0]}")  # fmt: skip
        for r, zz in zip(rows, z, strict=True):
            ax.annotate(f"μ={r['mu']:g}", (zz, 100 * r["train_acc"][0]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points", color=c)  # fmt: skip
    mark_target(ax, " paper: 98.5 % train at 70 % zeros")
    ax.set_xlabel("weights exactly zero (% of all W entries, conv and dense)")
    ax.set_ylabel("accuracy (%)")
    # a point where the net collapsed to chance (every weight zero) would squash the axis:
    # it is drawn at the lower edge, with its accuracy written beside it
    alive = [r for rs in table.values() for r in rs if not _collapsed(r)]
    lo = min((100 * (r["test_acc"][0] - r["test_acc"][1]) for r in alive), default=0.0)
    ax.set_ylim(max(lo - 2, 0), 101.5)
    off = 0  # one line of text per collapsed point, stacked
    for m, rows in table.items():
        for r in rows:
            if _collapsed(r):
                off += 1
                y0 = max(lo - 2, 0) + 0.3
                ax.plot([100 * r["zeros"][0]], [y0], "v", color=style[m][0], ms=8)
                ax.annotate(f"μ={r['mu']:g}: train {100 * r['train_acc'][0]:.1f} ± "
                            f"{100 * r['train_acc'][1]:.1f} % (off the axis)",
                            (100 * r["zeros"][0], y0), fontsize=7, xytext=(-190, 11 * off - 7),
                            textcoords="offset points", color=style[m][0])  # fmt: skip
    ax.set_xlim(-3, 103)
    ax.legend(fontsize=7, loc="lower left")
    seeds = min(r["seeds"] for rs in table.values() for r in rs)
    ax.set_title(
        f"ℓ1 pruning, LeNet-5, MNIST n_train={S['n_train']}, {S['epochs']} epochs, batch "
        f"{S['batch_size']}, init N(0, {S['init_std']:g}²)\nSIBP η={ETA:g} λ={LAM:g}; mean ± sd "
        f"over {seeds} seed(s) per point{'; quick mode' if args.quick else ''}",
        fontsize=9,
    )
    png = common.savefig(fig, args, f"{LENET_NAME}.png")
    plt.close(fig)
    return png
