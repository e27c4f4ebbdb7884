"""Every method's step at the default BLAS threads and at one thread, in the same run.

NumPy and SciPy wheels each bring their own OpenBLAS; with both pools at several threads
they can spin against each other, which shows up in the methods that mix products (NumPy)
with Cholesky solves (``backend.solve_spd``). This script times one step of every method on
the paper's 784-500-10 network (float32, batch 100) both ways, interleaved so that both
see the same machine load, and prints the median of each and the ratio.

    python benchmarks/bench_threads.py [--repeats 30] [--json out.json]

The thread pools are listed first (threadpoolctl), so the figures say which BLAS ran.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import scipy  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from sibp_ref.methods import make_method  # noqa: E402
from sibp_ref.network import MLP  # noqa: E402

METHODS = {
    "sgd": {},
    "adam": {},
    "proxbp": {},
    "proxbp-cg": {"solver": "cg"},
    "sibp": {},
    "bcd": {},
}


def problem(method: str, batch: int):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((784, batch)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[:, rng.integers(0, 10, batch)]
    net = MLP([784, 500, 10], loss="square" if method == "bcd" else "cross_entropy")
    return net, net.init(seed=0, std=0.05, dtype="float32"), X, Y


def modes() -> dict:
    """How a step is run: every pool at its default threads (as ``train`` runs every step:
    no step loads SciPy, so there is no second pool to limit); every pool at one."""
    return {
        "default": contextlib.nullcontext,
        "1 thread": lambda: threadpool_limits(limits=1),
    }


def time_step(m, net, params, state, X, Y, repeats: int, ways=None) -> dict:
    """Median seconds of one step in each way, the ways alternated so all see one load."""
    ways = ways or {"default": contextlib.nullcontext, "1 thread": lambda: threadpool_limits(1)}
    out = {k: [] for k in ways}
    names = list(ways)
    for r in range(repeats):
        for k in names[r % len(names) :] + names[: r % len(names)]:
            with ways[k]():
                t0 = time.perf_counter()
                m.step(net, params, state, X, Y)
                out[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in out.items()}


def _scipy_cho(A, B):
    import scipy.linalg

    c = scipy.linalg.cho_factor(np.asarray(A), lower=True, check_finite=False)
    return scipy.linalg.cho_solve(c, np.asarray(B), check_finite=False)


def _numpy_solve(A, B):
    return np.linalg.solve(A, B)


def _scipy_cho_limited(controller):
    def solve(A, B):
        with controller.limit(limits=1):
            return _scipy_cho(A, B)

    return solve


def solve_variants() -> dict:
    """Ways to do ``solve_spd``'s left solve on NumPy, to compare under the same load."""
    import scipy.linalg
    from threadpoolctl import ThreadpoolController

    lib = [i for i in threadpool_info() if "scipy_openblas-" in Path(i["filepath"]).name]
    out = {"scipy cho_solve": _scipy_cho, "numpy linalg.solve": _numpy_solve}
    if lib:
        ctl = ThreadpoolController().select(filepath=lib[0]["filepath"])
        out["scipy cho_solve, scipy pool at 1"] = _scipy_cho_limited(ctl)
    del scipy.linalg
    return out


def compare_solves(repeats: int) -> list:
    """ProxBP (exact) and SIBP steps with each way of solving, default threads and one."""
    import sibp_ref.backend as B

    real, rows = B.solve_spd, []
    users = [  # every module that imported the name (``from .backend import solve_spd``)
        mod
        for name, mod in list(sys.modules.items())
        if name.startswith("sibp_ref") and getattr(mod, "solve_spd", None) is real
    ]
    try:
        for label, fn in solve_variants().items():

            def patched(A, Bm, *, side="left", _fn=fn):
                if side == "right":
                    return patched(A, Bm.T).T
                return _fn(A, Bm)

            for mod in users:
                mod.solve_spd = patched
            for name in ("proxbp", "sibp"):
                m = make_method(name)
                net, params, X, Y = problem(name, 100)
                state = m.init(net, params)
                m.step(net, params, state, X, Y)
                t = time_step(m, net, params, state, X, Y, repeats)
                md, mo = t["default"] * 1e3, t["1 thread"] * 1e3
                rows.append({"solve": label, "method": name, "default_ms": md, "one_thread_ms": mo})
                print(f"{label:<34} {name:<7} {md:8.2f} {mo:8.2f} {md / mo:6.2f}")
    finally:
        for mod in users:
            mod.solve_spd = real
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--solves", action="store_true", help="also time ways of solving (ProxBP, SIBP)"
    )
    a = ap.parse_args()
    pools = [
        {
            k: i.get(k)
            for k in ("internal_api", "num_threads", "architecture", "version", "filepath")
        }
        for i in threadpool_info()
    ]
    for p in pools:
        print(f"pool: {p['internal_api']} {p['version']} {p['architecture']} "
              f"threads={p['num_threads']} {Path(p['filepath']).name}")  # fmt: skip
    rows = []
    ways = modes()
    print(f"{'method':<10} " + " ".join(f"{k + ' ms':>12}" for k in ways) + "  default/1")
    for name, hyper in METHODS.items():
        base = "proxbp" if name.startswith("proxbp") else name
        m = make_method(base, **hyper)
        batch = 1000 if base == "bcd" else 100
        net, params, X, Y = problem(base, batch)
        state = m.init(net, params)
        _, state = m.step(net, params, state, X, Y)  # warm-up; builds BCD's blocks
        t = time_step(m, net, params, state, X, Y, a.repeats, ways)
        rows.append({"method": name, "batch": batch, **{k + "_ms": v * 1e3 for k, v in t.items()}})
        cells = " ".join(f"{v * 1e3:12.2f}" for v in t.values())
        print(f"{name:<10} {cells}  {t['default'] / t['1 thread']:9.2f}")
    solves = compare_solves(a.repeats) if a.solves else []
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pools": pools,
        "rows": rows,
        "solves": solves,
    }
    if a.json:
        Path(a.json).write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
