"""Time one training step of the published codes' solvers against ours, on Table 2's network.

The published-codes rows of Table 2 (``tutorials/05_table2.py --authors-solver --proxprop-cg``)
change one thing each in a method of ours: SIBP's inner solver becomes the authors' five
Fletcher–Reeves iterations (``solver="ncg_authors"``), ProxBP's layer solve becomes ProxProp's
CG with 1 or 5 iterations (``solver="cg_proxprop"``). This script measures what each change
costs per step, beside the method it changes: MLP 784-500-10 ReLU, cross-entropy, batch 100,
float32, NumPy, generated data (uniform pixels, random labels; the cost does not depend on the
values), Table 2's middle cell in the authors' code values (η_c = 10 and 0.1, λ_c = 1; ours
``eta = 100 η_c``, ``lam = 1/(2 λ_c)``). Every setting runs its own trajectory from the same
init; the settings are interleaved within each repeat (a burst of load hits all alike) and
the median over the repeats is reported, with the epoch (600 steps) it implies.

Run ``python benchmarks/bench_published.py`` (the BLAS threads as set) and with
``--threads 1``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone

#: name -> (method, hyper-parameters, the setting of ours it changes)
SETTINGS = {
    "sibp-ncg5": ("sibp", dict(eta=1000.0, lam=0.5, solver="ncg", iters=5), None),
    "sibp-ncg_authors5": (
        "sibp",
        dict(eta=1000.0, lam=0.5, solver="ncg_authors", iters=5),
        "sibp-ncg5",
    ),
    "proxbp-exact": ("proxbp", dict(eta=10.0, lam=0.5), None),
    "proxbp-cg_proxprop1": (
        "proxbp",
        dict(eta=10.0, lam=0.5, solver="cg_proxprop", iters=1),
        "proxbp-exact",
    ),
    "proxbp-cg_proxprop5": (
        "proxbp",
        dict(eta=10.0, lam=0.5, solver="cg_proxprop", iters=5),
        "proxbp-exact",
    ),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as set)")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before the first repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="smoke run: 2 repeats of 2 steps")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    a = p.parse_args(argv)
    for name in ("batch", "steps", "warmup", "repeats"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be an integer >= 1, got {getattr(a, name)}")
    if a.quick:
        a.repeats, a.steps, a.warmup = 2, 2, 1
    return a


ARGS = parse_args()
if ARGS.threads is not None:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(ARGS.threads)  # before NumPy starts its pool

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
import sibp_ref  # noqa: E402

SIZES = [784, 500, 10]
STEPS_PER_EPOCH = 600  # 60 000 samples, batch 100


def main() -> dict:
    rng = np.random.default_rng(0)
    n = ARGS.batch * max(ARGS.steps, ARGS.warmup)
    X = rng.uniform(0.0, 1.0, size=(SIZES[0], n)).astype(np.float32)
    Y = np.eye(SIZES[-1], dtype=np.float32)[:, rng.integers(0, SIZES[-1], n)]
    batches = [
        (X[:, k : k + ARGS.batch], Y[:, k : k + ARGS.batch]) for k in range(0, n, ARGS.batch)
    ]
    net = sibp_ref.MLP(SIZES, activation="relu", loss="cross_entropy")
    runs = {}
    for name, (method, hyper, _) in SETTINGS.items():
        m = sibp_ref.make_method(method, **hyper)
        p = net.init(seed=0, std=0.05, dtype="float32")
        r = runs[name] = {"m": m, "p": p, "s": m.init(net, p), "ms": []}
        for Xb, Yb in batches[: ARGS.warmup]:
            r["p"], r["s"] = m.step(net, r["p"], r["s"], Xb, Yb)
    for _ in range(ARGS.repeats):
        for r in runs.values():  # interleaved
            t0 = time.perf_counter()
            for Xb, Yb in batches[: ARGS.steps]:
                r["p"], r["s"] = r["m"].step(net, r["p"], r["s"], Xb, Yb)
            r["ms"].append((time.perf_counter() - t0) / ARGS.steps * 1e3)
    threads = ARGS.threads if ARGS.threads is not None else "as set"
    print(f"one step, MLP 784-500-10, batch {ARGS.batch}, float32, numpy, BLAS threads {threads}")
    print("| setting | ms/step (median) | s/epoch (600 steps) | × the setting it changes |")
    print("|---|---|---|---|")
    rows = []
    for name, (method, hyper, base) in SETTINGS.items():
        med = statistics.median(runs[name]["ms"])
        ratio = None if base is None else med / statistics.median(runs[base]["ms"])
        rows.append({"setting": name, "method": method, "hyper": hyper, "compared_with": base,
                     "ms_per_step": med, "ratio": ratio, "all_ms": runs[name]["ms"]})  # fmt: skip
        shown = "–" if ratio is None else f"{ratio:.2f} ({base})"
        print(f"| {name} | {med:.1f} | {med * STEPS_PER_EPOCH / 1e3:.1f} | {shown} |")
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads": ARGS.threads,
        "load_average": os.getloadavg(),
        "settings": {k: v for k, v in vars(ARGS).items() if k != "out"},
        "rows": rows,
    }
    print(f"load average {out['load_average'][0]:.1f} (1 min)")
    if ARGS.out:
        with open(ARGS.out, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
