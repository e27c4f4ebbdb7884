"""What the ridge solve's precision guards cost (sibp_ref.inner.ridge, module docstring).

The last layer of Table 2's 784-500-10 network is a dual ridge solve on ``A`` of 500 × 100
(hidden activations, batch 100, float32). Which route it takes depends on
``2λ·tr(AᵀA)·eps``: "as is" (float32, as before the guards), "float64" (AᵀA and the solve
formed in float64 from ``A``) or "svd". This times each route on the same problem, and one
whole SIBP step (η = 10, λ = 0.5 and λ = 50; weights 5 × N(0, 0.05), so that both steps
take the float64 route) with the guards and without them (float32 whatever the bound, as
before), interleaved over repeats, at the BLAS threads the process has (``--threads`` to set them).

    python benchmarks/bench_ridge_guard.py                 # ~1 minute
    python benchmarks/bench_ridge_guard.py --threads 1 --out r.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as set)")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--number", type=int, default=50, help="solves (or steps) per repeat")
    p.add_argument("--out", default=None, help="write the numbers as JSON here")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse(argv)
    if args.threads:
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[k] = str(args.threads)
    import numpy as np

    import sibp_ref.inner.ridge as rr
    from sibp_ref import MLP, SIBP

    rng = np.random.default_rng(0)
    # ReLU-like activations of column norm ≈ 250 (Table 2's hidden layer after 17 epochs)
    A = (np.maximum(rng.standard_normal((500, 100)), 0) * 15).astype(np.float32)
    A[:, 49] = A[:, 35]  # a sample drawn twice, as 8 % of batches drawn with replacement
    theta0 = (rng.standard_normal((10, 500)) * 0.05).astype(np.float32)
    T = theta0 @ A + (rng.standard_normal((10, 100)) * 0.01).astype(np.float32)
    K = A.T @ A

    def dual(route):
        if route == "as is":
            return lambda: rr.prox_ridge(A, T, theta0, 1e-4, form="dual")  # below the bound
        lam = 50.0 if route == "float64" else 1e10  # 1e10: beyond float64's bound too
        return lambda: rr.prox_ridge(A, T, theta0, lam, form="dual")

    cases = {f"dual solve, route {r}": dual(r) for r in ("as is", "float64", "svd")}
    for r, lam in (("as is", 1e-4), ("float64", 50.0), ("svd", 1e10)):
        got = rr._route(np, np.trace(K), lam, A.dtype)
        assert got == r, f"expected route {r!r} at lam={lam}, got {got!r}"

    net = MLP([784, 500, 10])
    X = rng.random((784, 100)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[:, rng.integers(0, 10, 100)]
    params = [(W * 5.0, b) for W, b in net.init(seed=0, std=0.05, dtype="float32")]
    guarded = rr._route

    def unguarded(*args):  # the solve as before the guards: float32 whatever the bound
        return "as is"

    for lam in (0.5, 50.0):
        method = SIBP(eta=10.0, lam=lam)
        state = method.init(net, params)
        for label, route in (("guarded", guarded), ("unguarded", unguarded)):

            def step(method=method, state=state, route=route):
                rr._route = route
                try:
                    return method.step(net, params, state, X, Y, check=False)
                finally:
                    rr._route = guarded

            cases[f"SIBP step, lam={lam:g}, {label}"] = step
        seen = []
        rr._route = lambda *a, seen=seen: seen.append(guarded(*a)) or seen[-1]
        method.step(net, params, state, X, Y, check=False)
        rr._route = guarded
        assert "float64" in seen, f"the SIBP step at lam={lam} took the routes {seen}"
    times = {k: [] for k in cases}
    for _ in range(args.repeats):
        for name, f in cases.items():  # interleaved: a burst of load hits every case
            f()
            t0 = time.perf_counter()
            for _ in range(args.number):
                f()
            times[name].append((time.perf_counter() - t0) / args.number * 1e3)
    res = {
        "machine": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads": args.threads or os.environ.get("OMP_NUM_THREADS", "default"),
        "load_avg": os.getloadavg(),
        "ms_median": {k: float(np.median(v)) for k, v in times.items()},
        "ms_min": {k: float(np.min(v)) for k, v in times.items()},
    }
    for k in cases:
        print(f"{k:<32} {res['ms_median'][k]:7.3f} ms (min {res['ms_min'][k]:.3f})")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1)
    return res


if __name__ == "__main__":
    sys.exit(main() and 0)
