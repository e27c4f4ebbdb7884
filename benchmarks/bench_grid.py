"""A grid of 8 configs of the main job's problem, serially and in parallel.

The main job is ``sibp-ref compare`` on the built-in synthetic problem (32-64-64-10, batch
100, 4000 training samples, its tuned hyper-parameters). This grid takes four of its methods
(SGD, Adam, ProxBP, SIBP) at two seeds and runs it

- with ``--workers 1`` (in this process, one run after another),
- with ``--workers 2`` (a local process pool),
- on a Dask ``LocalCluster`` with 2 worker processes (when dask is installed),

each into a fresh folder, and prints the wall time and the throughput against the serial
run, and the largest relative difference of a recorded loss from the serial run (zero when
the serial run has the workers' BLAS threads, e.g. under ``OMP_NUM_THREADS=1``).

    python benchmarks/bench_grid.py [--epochs 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sibp_ref.methods import MAIN_JOB  # noqa: E402
from sibp_ref.run import RunConfig, make_executor, read_log, run_grid  # noqa: E402


def configs(epochs: int) -> list[RunConfig]:
    return [
        RunConfig(
            method=m,
            hyper=dict(MAIN_JOB.hyper.get(m, {})),
            hidden=(64, 64),
            epochs=epochs,
            seed=seed,
        )  # fmt: skip
        for m in ("sgd", "adam", "proxbp", "sibp")
        for seed in (0, 1)
    ]


def records(folder: Path) -> dict:
    return {
        p.name: [{k: v for k, v in r.items() if k != "time"} for r in read_log(p).records]
        for p in sorted(folder.glob("*.jsonl"))
    }


def max_rel_diff(a: dict, b: dict) -> float:
    """Largest relative difference of the loss between two folders' records: runs at other
    BLAS thread counts round differently in float32 (equal at the same count)."""
    assert a.keys() == b.keys()
    worst = 0.0
    for k in a:
        for ra, rb in zip(a[k], b[k], strict=True):
            x, y = ra["train_loss"], rb["train_loss"]
            worst = max(worst, abs(x - y) / max(abs(x), 1e-30))
    return worst


def timed(label: str, cfgs, folder: Path, executor) -> float:
    t0 = time.perf_counter()
    res = run_grid(cfgs, folder, executor=executor, progress=False)
    wall = time.perf_counter() - t0
    assert all(h is not None and h.done for _, h in res), label
    return wall


def dask_executor():
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)  # fmt: skip
    return cluster, make_executor(scheduler=cluster.scheduler_address)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    os.environ.setdefault("PYTHONPATH", str(ROOT))  # for the worker processes
    cfgs = configs(a.epochs)
    out = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": platform.platform(),
           "cores": os.cpu_count(), "epochs": a.epochs, "configs": len(cfgs)}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        serial = timed("workers 1", cfgs, tmp / "w1", None)
        ref = records(tmp / "w1")
        print(f"workers 1: {serial:7.1f} s")
        with make_executor(2) as ex:
            two = timed("workers 2", cfgs, tmp / "w2", ex)
        d2 = max_rel_diff(records(tmp / "w2"), ref)
        print(f"workers 2: {two:7.1f} s  throughput x{serial / two:.2f}  loss rel diff {d2:.1e}")
        out.update(serial_s=serial, workers2_s=two, workers2_speedup=serial / two, w2_diff=d2)
        if importlib.util.find_spec("distributed") is not None:
            cluster, ex = dask_executor()
            try:
                with ex:
                    dsk = timed("dask", cfgs, tmp / "dask", ex)
            finally:
                cluster.close()
            dd = max_rel_diff(records(tmp / "dask"), ref)
            print(
                f"dask x2:   {dsk:7.1f} s  throughput x{serial / dsk:.2f}  loss rel diff {dd:.1e}"
            )
            out.update(dask2_s=dsk, dask2_speedup=serial / dsk, dask_diff=dd)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
