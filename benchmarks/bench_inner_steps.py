"""Time one SIBP step for several inner NCG step counts (tutorial 09's question, claim C11).

Tutorial 09 ranks SIBP's inner step counts by training accuracy per second, so its answer
depends on what one inner step costs against the rest of an SIBP step (the forward pass
(2.1), the error propagation (4.2), the output layer's closed-form ridge solve). This script
measures that directly: SIBP steps on an MLP (default tutorial 09's 784-1000-500-10, ReLU,
cross-entropy), batch 100, float32, NumPy, generated data (uniform pixels, random labels;
the cost does not depend on the values), for each ``iters``; the settings are interleaved
within each repeat and the median over the repeats is reported.

``--sibp-ref DIR`` times the package found in ``DIR`` (e.g. a worktree of an older commit)
instead of this checkout, with the same calls (``MLP``, ``SIBP(eta, lam, iters)``,
``net.init``, ``method.step``), so two versions can be compared back to back.

Run ``python benchmarks/bench_inner_steps.py --threads 1``; ``--quick`` for a smoke run.
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


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as set)")
    p.add_argument("--sizes", default="784,1000,500,10", help="layer sizes, comma-separated")
    p.add_argument("--iters", default="1,3,5,10", help="inner NCG step counts")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--steps", type=int, default=20, help="timed steps per repeat")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps before the first repeat")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sibp-ref", default=None, help="import sibp_ref from this directory")
    p.add_argument("--quick", action="store_true", help="smoke run: 2 repeats of 2 steps")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    a = p.parse_args(argv)
    if a.quick:
        a.repeats, a.steps, a.warmup = 2, 2, 1
    return a


ARGS = parse_args()
if ARGS.threads is not None:
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(ARGS.threads)  # before NumPy starts its pool

import numpy as np  # noqa: E402

_here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.abspath(ARGS.sibp_ref or _here))
import sibp_ref  # noqa: E402


def main() -> dict:
    sizes = [int(s) for s in ARGS.sizes.split(",")]
    iters = [int(s) for s in ARGS.iters.split(",")]
    rng = np.random.default_rng(0)
    n = ARGS.batch * max(ARGS.steps, ARGS.warmup)
    X = rng.uniform(0.0, 1.0, size=(sizes[0], n)).astype(np.float32)
    Y = np.eye(sizes[-1], dtype=np.float32)[:, rng.integers(0, sizes[-1], n)]
    batches = [
        (X[:, k : k + ARGS.batch], Y[:, k : k + ARGS.batch]) for k in range(0, n, ARGS.batch)
    ]
    net = sibp_ref.MLP(sizes, activation="relu", loss="cross_entropy")
    runs = {}
    for it in iters:
        m = sibp_ref.SIBP(eta=10.0, lam=0.5, iters=it)
        p = net.init(seed=0, std=0.05, dtype="float32")
        runs[it] = {"m": m, "p": p, "s": m.init(net, p), "ms": []}
        for Xb, Yb in batches[: ARGS.warmup]:
            r = runs[it]
            r["p"], r["s"] = m.step(net, r["p"], r["s"], Xb, Yb)
    for _ in range(ARGS.repeats):
        for it in iters:  # interleaved: a burst of load hits every setting alike
            r = runs[it]
            t0 = time.perf_counter()
            for Xb, Yb in batches[: ARGS.steps]:
                r["p"], r["s"] = r["m"].step(net, r["p"], r["s"], Xb, Yb)
            r["ms"].append((time.perf_counter() - t0) / ARGS.steps * 1e3)
    base = statistics.median(runs[iters[0]]["ms"])
    rows = []
    print(f"SIBP step, MLP {'-'.join(map(str, sizes))}, batch {ARGS.batch}, float32, numpy")
    print(f"sibp_ref from {os.path.dirname(sibp_ref.__file__)}")
    print("| inner NCG steps | ms/step (median) | × first |")
    print("|---|---|---|")
    for it in iters:
        med = statistics.median(runs[it]["ms"])
        rows.append({"iters": it, "ms_per_step": med, "all_ms": runs[it]["ms"]})
        print(f"| {it} | {med:.1f} | {med / base:.2f} |")
    if len(iters) > 1:
        a, b = rows[0], rows[-1]
        per = (b["ms_per_step"] - a["ms_per_step"]) / (b["iters"] - a["iters"])
        print(f"one more inner step: {per:.2f} ms (from {a['iters']} to {b['iters']} steps)")
    out = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "sibp_ref_dir": os.path.dirname(sibp_ref.__file__),
        "threads": ARGS.threads,
        "load_average": os.getloadavg(),
        "settings": {k: v for k, v in vars(ARGS).items() if k != "out"},
        "rows": rows,
    }
    if ARGS.out:
        with open(ARGS.out, "w") as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == "__main__":
    main()
