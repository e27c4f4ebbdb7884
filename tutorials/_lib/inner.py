"""The machinery of tutorials 09–12, on SIBP's inner solver for the subproblems (4.1): the
seed records of 09 and their numbers at equal time, the step ratios of 11 and their table,
reading ended run logs back for 10 and 12, and the figures of all four, each seed drawn.

Nothing here trains: the tutorials run the experiments; this module turns their records
into numbers and panels, so that ``--replot`` redraws every figure from committed logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import common
import numpy as np

from sibp_ref import read_log

#: One style per inner step count (09): colour, line and marker all differ, so the curves
#: stay apart in grey print too.
STYLE = {
    1: dict(color="#7b3294", ls=":", marker="v"),
    3: dict(color="#0571b0", ls="-.", marker="s"),
    5: dict(color="#1a9641", ls="-", marker="o"),
    10: dict(color="#e66101", ls="--", marker="D"),
}


def style(iters: int) -> dict:
    """The style of ``iters`` inner steps (a grey dashed line for a count without one)."""
    return STYLE.get(iters, dict(color="0.4", ls="--", marker="x"))


# %% shared: every seed a dot, the mean ± sd beside them
def seed_dots(ax, x: float, values, *, color, marker="o", filled=True, label=None, dx=0.14):
    """Each seed's value a dot at ``x`` (spread a little sideways so that equal values stay
    visible), their mean ± sd (ddof 1) a bar at ``x + dx``; NaN (a run that did not end) is
    left out. Returns the mean and sd (sd None for fewer than two seeds)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None, None
    jitter = np.linspace(-0.05, 0.05, v.size) if v.size > 1 else np.zeros(1)
    ax.plot(x + jitter, v, ls="none", marker=marker, ms=5, color=color, alpha=0.75,
            mfc=color if filled else "white", label=label)  # fmt: skip
    sd = float(np.std(v, ddof=1)) if v.size > 1 else None
    ax.errorbar(x + dx, v.mean(), yerr=sd or 0.0, fmt="_", ms=10, color="k", capsize=3, lw=1.2)
    return float(v.mean()), sd


def read_back(cfgs: list, folder: Path) -> list:
    """``(cfg, History)`` for each config whose log in ``folder`` says the run ended, ``(cfg,
    None)`` for the others: nothing runs (``--replot``)."""
    out = []
    for cfg in cfgs:
        log = Path(folder) / f"{cfg.key()}.jsonl"
        h = read_log(log) if log.is_file() else None
        out.append((cfg, h if h is not None and h.done else None))
    ended = sum(h is not None for _, h in out)
    print(f"replot: {ended} of {len(cfgs)} runs have ended in {common.shown_path(folder)}")
    return out


# %% 09: records of the interleaved runs, one file per seed
def seed_path(folder: Path, seed: int) -> Path:
    return Path(folder) / f"seed{seed}.json"


def read_seed(path: Path, S: dict) -> dict | None:
    """The settings and the records (by ``iters``) saved in ``path`` if its settings are
    ``S``; None if the file is missing or holds other settings. Without ``S["data"]`` (a
    replot, which loads no data) the data set's description is not compared."""
    if not path.is_file():
        return None
    saved = json.loads(path.read_text())
    want = json.loads(json.dumps(S))
    got = dict(saved["settings"])
    if "data" not in want:
        got.pop("data", None)
    if got != want:
        print(f"{common.shown_path(path)} holds other settings")
        return None
    records = {int(it): recs for it, recs in saved["records"].items()}
    return {"settings": saved["settings"], "records": records}


def write_seed(path: Path, S: dict, records: dict[int, list[dict]]) -> None:
    text = json.dumps({"settings": S, "records": {str(it): r for it, r in records.items()}},
                      indent=1, default=float)  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    common.write_atomic(path, text)


def as_run(records: list[dict]) -> dict:
    """One setting's records with its total time in steps and its epoch times."""
    t = [q["time"] for q in records]
    return {"records": records, "time": t[-1], "epoch_times": np.diff(t).tolist()}


def data_shape(description: str) -> tuple[int, int, int]:
    """``(d, classes, n_train)`` from a data set's description (``Dataset('mnist', d=784,
    classes=10, train=2000, test=10000)``, as seed files record it): a replot loads no data."""
    m = re.search(r"d=(\d+), classes=(\d+), train=(\d+)", description)
    if m is None:
        raise ValueError(f"description names no d=, classes=, train=: {description!r}")
    return int(m[1]), int(m[2]), int(m[3])


def at_time(run: dict, t: float, key: str = "train_acc") -> float:
    """``key`` at ``t`` seconds in steps, linear between the epochs' records."""
    return float(np.interp(t, [q["time"] for q in run["records"]],
                           [q[key] for q in run["records"]]))  # fmt: skip


def summarise(iters: list[int], runs: dict[int, dict], n: int, bs: int) -> dict:
    """One seed's numbers: per setting its time per epoch and their spread (CV), the training
    accuracy at the common time (the longest time every setting ran), the time to reach 90 /
    95 / 99 %; per pair ``a < b`` both accuracies at the longest time both ran; the verdict."""
    summary = {}
    t_common = min(r["time"] for r in runs.values())
    for it, r in runs.items():
        et = np.array(r["epoch_times"])
        tt = np.array([q["time"] for q in r["records"]])
        acc = np.array([q["train_acc"] for q in r["records"]])
        reach = {}
        for a in (0.9, 0.95, 0.99):
            hit = np.nonzero(acc >= a)[0]
            reach[f"{a:g}"] = None if hit.size == 0 else float(tt[hit[0]])
        summary[it] = {
            "s_per_epoch_mean": float(et.mean()),
            "s_per_epoch_cv": float(et.std(ddof=1) / et.mean()) if et.size > 1 else None,
            "s_per_step": float(et.mean() / -(-n // bs)),
            "train_acc_at_common_time": at_time(r, t_common),
            "common_time_s": t_common,
            "time_to_train_acc": reach,
            "final": r["records"][-1],
        }
        print(f"iters={it:2d}: {et.mean():.2f} s/epoch, train acc at {t_common:.1f} s: "
              f"{summary[it]['train_acc_at_common_time']:.4f}, time to 95%/99%: "
              f"{reach['0.95']}/{reach['0.99']}, final {acc[-1]:.4f}")  # fmt: skip
    pairs = {}
    for a in iters:
        for b in (b for b in iters if b > a):
            t = min(runs[a]["time"], runs[b]["time"])
            pairs[f"{a}_vs_{b}"] = {"time_s": t, f"acc_{a}": at_time(runs[a], t),
                                    f"acc_{b}": at_time(runs[b], t)}  # fmt: skip
    base = np.array(runs[iters[0]]["epoch_times"])
    ratios = {it: (np.array(r["epoch_times"]) / base).tolist() for it, r in runs.items()}
    verdict = {
        "best_iters_at_common_time": max(
            summary, key=lambda it: summary[it]["train_acc_at_common_time"]
        ),
        "fewer_steps_ahead_in_every_pair_at_equal_time": all(
            v[f"acc_{k.split('_vs_')[0]}"] > v[f"acc_{k.split('_vs_')[1]}"]
            for k, v in pairs.items()
        ),
    }
    print("verdict:", verdict)
    return {"summary": summary, "pairs": pairs, "ratios": ratios, "verdict": verdict,
            "t_common": t_common}  # fmt: skip


def mean_sd(v: list[float]) -> list[float]:
    return [float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0]


def over_seeds(numbers: dict[int, dict]) -> dict:
    """Per pair ``a < b``: on how many seeds ``a`` steps are ahead of ``b`` at equal time,
    and both accuracies' mean ± sd over the seeds (``numbers``: :func:`summarise` by seed)."""
    seeds = sorted(numbers)
    pairs = {}
    for k in numbers[seeds[0]]["pairs"]:
        a, b = k.split("_vs_")
        va = [numbers[s]["pairs"][k][f"acc_{a}"] for s in seeds]
        vb = [numbers[s]["pairs"][k][f"acc_{b}"] for s in seeds]
        pairs[k] = {
            "seeds_fewer_ahead": int(sum(x > y for x, y in zip(va, vb, strict=True))),
            "seeds": len(seeds),
            f"acc_{a}_mean_sd": mean_sd(va),
            f"acc_{b}_mean_sd": mean_sd(vb),
            "time_s": [numbers[s]["pairs"][k]["time_s"] for s in seeds],
        }
        p = pairs[k]
        print(f"over {len(seeds)} seeds, {a} vs {b} steps at equal time: {a} ahead on "
              f"{p['seeds_fewer_ahead']}; {p[f'acc_{a}_mean_sd'][0]:.4f} ± "
              f"{p[f'acc_{a}_mean_sd'][1]:.4f} vs {p[f'acc_{b}_mean_sd'][0]:.4f} ± "
              f"{p[f'acc_{b}_mean_sd'][1]:.4f}")  # fmt: skip
    return {
        "seeds": len(seeds),
        "pairs_at_equal_time": pairs,
        "best_iters_at_common_time_per_seed": [
            numbers[s]["verdict"]["best_iters_at_common_time"] for s in seeds
        ],
        "per_seed": {str(s): {k: numbers[s][k] for k in ("pairs", "verdict", "t_common")}
                     for s in seeds},
    }  # fmt: skip


def plot_iterations(runs: dict[int, dict], numbers: dict[int, dict], title: str):
    """09's figure from every seed (``runs``, ``numbers``: by seed, then by ``iters``):
    (a) training error against seconds in steps, a line per seed; (b) against epochs, the
    mean over seeds and their range; (c) training accuracy at the common time and (d)
    seconds per epoch, each seed a dot."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 2, figsize=(11, 8))
    seeds = sorted(runs)
    iters = list(runs[seeds[0]])
    for j, it in enumerate(iters):
        st = style(it)
        lab = f"{it} NCG iteration{'s' if it > 1 else ''}"
        for s in seeds:
            recs = runs[s][it]["records"]
            ax[0, 0].semilogy([q["time"] for q in recs], [100 * (1 - q["train_acc"]) for q in recs],
                              color=st["color"], ls=st["ls"], lw=1, alpha=0.7,
                              label=lab if s == seeds[0] else None)  # fmt: skip
        err = np.array([[100 * (1 - q["train_acc"]) for q in runs[s][it]["records"]]
                        for s in seeds])  # fmt: skip
        ep = [q["epoch"] for q in runs[seeds[0]][it]["records"]]
        ax[0, 1].semilogy(ep, err.mean(axis=0), ms=4, label=lab, **st)
        ax[0, 1].fill_between(ep, err.min(axis=0), err.max(axis=0), color=st["color"], alpha=0.15)
        acc = [100 * numbers[s]["summary"][it]["train_acc_at_common_time"] for s in seeds]
        seed_dots(ax[1, 0], j, acc, color=st["color"], marker=st["marker"])
        sec = [numbers[s]["summary"][it]["s_per_epoch_mean"] for s in seeds]
        seed_dots(ax[1, 1], j, sec, color=st["color"], marker=st["marker"])
    tc = [numbers[s]["t_common"] for s in seeds]
    ax[0, 0].set_xlabel("seconds spent in SIBP steps")
    ax[0, 1].set_xlabel("epoch")
    for a in ax[0]:
        a.set_ylabel(r"training error $1-\mathrm{acc}$ (%)")
        a.legend(fontsize=8)
        a.grid(True, which="both", alpha=0.25)
    ax[0, 0].set_title(f"(a) per second: each of {len(seeds)} seeds a line", fontsize=10)
    ax[0, 1].set_title(f"(b) per epoch: mean, band = range over {len(seeds)} seeds", fontsize=10)
    for a in ax[1]:
        a.set_xticks(range(len(iters)), [str(it) for it in iters])
        a.set_xlabel("NCG iterations per subproblem (4.1)")
        a.grid(True, axis="y", alpha=0.25)
    ax[1, 0].set_ylabel("training accuracy (%)")
    ax[1, 0].set_title(
        f"(c) at equal time, the fastest setting's total ({min(tc):.1f}–{max(tc):.1f} s):\n"
        "each seed a dot, bar = mean ± sd",
        fontsize=10,
    )
    ax[1, 1].set_ylabel("seconds per epoch in SIBP steps")
    ax[1, 1].set_title("(d) cost: each seed's mean epoch time a dot", fontsize=10)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# %% 11: how far each solver's step goes along the exact one
def step_ratios(delta: np.ndarray, exact: np.ndarray) -> dict:
    """``‖ΔW‖/‖ΔW_*‖`` (length) and ``⟨ΔW, ΔW_*⟩/‖ΔW_*‖²`` (along: 1 for the exact step,
    0.2 for a fifth of it); both None when the exact step is zero."""
    n2 = float(np.sum(exact * exact))
    if n2 == 0:
        return {"length": None, "along": None}
    return {"length": float(np.linalg.norm(delta)) / n2**0.5,
            "along": float(np.sum(delta * exact)) / n2}  # fmt: skip


def summarise_steps(runs: dict, S: dict, solvers) -> list[dict]:
    """W's length and along ratios, mean and sd over the seeds (``runs["<η_c>/<seed>"]``),
    per η_c, step k, layer and solver; a ratio that is None on a seed is left out."""
    rows = []
    for eta_c in S["eta_c"]:
        per_seed = [runs[f"{eta_c:g}/{s}"] for s in range(S["seeds"])]
        for t, k in enumerate(S["stops"]):
            for layer in range(len(per_seed[0][t]["layers"])):
                for solver in solvers:
                    row = {"eta_c": eta_c, "k": k, "layer": layer + 1, "solver": solver}
                    for what in ("length", "along"):
                        v = [r[t]["layers"][layer]["W"][solver][what] for r in per_seed]
                        v = np.array([x for x in v if x is not None], dtype=float)
                        row[what] = [float(v.mean()) if v.size else None,
                                     float(v.std(ddof=1)) if v.size > 1 else None]  # fmt: skip
                    rows.append(row)
    return rows


def print_steps(rows: list[dict], seeds: int) -> None:
    def cell(m_sd):
        m, sd = m_sd
        return "-" if m is None else f"{m:.3f}" + ("" if sd is None else f" ± {sd:.3f}")

    print(f"W's step against the exact one, mean ± sd over {seeds} seed(s)")
    print(f"{'η_c':>5} {'k':>5} {'layer':>5} {'solver':>12} {'length':>15} {'along':>15}")
    for r in rows:
        print(f"{r['eta_c']:5g} {r['k']:5d} {r['layer']:5d} {r['solver']:>12} "
              f"{cell(r['length']):>15} {cell(r['along']):>15}")  # fmt: skip


def plot_steps(runs: dict, S: dict, labels: dict[str, str], title: str):
    """11's figure: per layer, how far W's step goes along the exact one at each step k,
    each seed a dot and the mean a line; colour = η_c, line and marker = solver."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    layers = range(len(runs[next(iter(runs))][0]["layers"]))
    fig, axes = plt.subplots(1, len(layers), figsize=(5.2 * len(layers), 4.4), sharey=True)
    axes = np.atleast_1d(axes)
    colors = dict(zip(S["eta_c"], ("#0571b0", "#1a9641", "#ca0020", "#7b3294"), strict=False))
    solver_style = dict(zip(labels, (dict(ls="-", marker="o"), dict(ls="--", marker="s")),
                            strict=False))  # fmt: skip
    x = np.arange(len(S["stops"]))
    n = len(S["eta_c"]) * len(labels)
    for ax, layer in zip(axes, layers, strict=True):
        for i, (eta_c, solver) in enumerate((e, s) for e in S["eta_c"] for s in labels):
            dx = 0.3 * (i / max(n - 1, 1) - 0.5)  # side by side, so no dot hides another
            v = np.array(
                [
                    [
                        runs[f"{eta_c:g}/{s}"][t]["layers"][layer]["W"][solver]["along"]
                        for t in range(len(x))
                    ]
                    for s in range(S["seeds"])
                ],
                dtype=float,
            )
            st, c = solver_style[solver], colors[eta_c]  # fmt: skip
            ax.plot(x + dx, np.nanmean(v, axis=0), color=c, ls=st["ls"], lw=1.3)
            for row in v:
                ax.plot(x + dx, row, ls="none", marker=st["marker"], ms=4, color=c, alpha=0.8,
                        mfc=c if st["ls"] == "-" else "white")  # fmt: skip
        last = layer == len(layers) - 1
        ax.set_title(f"layer {layer + 1} ({'linear, softmax loss' if last else 'ReLU'})",
                     fontsize=10)  # fmt: skip
        ax.set_xticks(x, [str(k) for k in S["stops"]])
        ax.set_xlabel(r"training step $k$ of SIBP() at which the step is taken")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(r"$\langle \Delta W, \Delta W_* \rangle / \|\Delta W_*\|^2$"
                       "  (1: the exact step)")  # fmt: skip
    axes[0].set_ylim(-0.05, 1.1)
    handles = [Line2D([], [], color=colors[e], lw=3, label=rf"$\eta_c = {e:g}$")
               for e in S["eta_c"]]  # fmt: skip
    handles += [Line2D([], [], color="k", mfc="k" if st["ls"] == "-" else "white",
                       label=labels[s], **st)
                for s, st in solver_style.items()]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
               bbox_to_anchor=(0.5, -0.02), frameon=False)  # fmt: skip
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
