"""Grids in parallel: a local process pool and a Dask cluster give the serial run's records;
only the driving process writes the logs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sibp_ref.run import RunConfig, make_executor, read_log, run_grid
from sibp_ref.run import cli as C
from sibp_ref.run.threads import threads_per_worker

ROOT = Path(__file__).resolve().parents[1]
METHODS = ("sgd", "adam", "proxbp", "sibp")
ARGS = ["--epochs", "3", "--n-train", "120", "--hidden", "8", "-q", "--no-figure"]


def configs():
    return [RunConfig(method=m, hidden=(8,), epochs=3, n_train=120) for m in METHODS]


def without_time(records):
    return [{k: v for k, v in r.items() if k != "time"} for r in records]


def logs(folder: Path) -> dict:
    return {p.name: without_time(read_log(p).records) for p in sorted(folder.glob("*.jsonl"))}


def test_a_process_pool_grid_equals_the_serial_grid(tmp_path):
    serial = run_grid(configs(), tmp_path / "s")
    with make_executor(2) as ex:
        par = run_grid(configs(), tmp_path / "p", executor=ex)
    for (c1, h1), (c2, h2) in zip(serial, par, strict=True):
        assert c1 == c2 and h2.status == "finished"
        assert without_time(h1.records) == without_time(h2.records)
        for (W1, b1), (W2, b2) in zip(h1.params, h2.params, strict=True):
            assert (W1 == W2).all() and (b1 == b2).all()
    assert logs(tmp_path / "s") == logs(tmp_path / "p")
    assert not list((tmp_path / "p").glob("*.ckpt.npz")) and not list(
        (tmp_path / "p").glob("*.lock")
    )


def test_one_worker_runs_here_and_workers_share_the_cores():
    assert make_executor(1) is None
    assert threads_per_worker(2, 2) == 1 and threads_per_worker(1, 16) == 16
    assert threads_per_worker(4, 2) == 1
    with pytest.raises(ValueError, match="--workers"):
        make_executor(0)


@pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="dask[distributed] is not installed (pip install 'sibp_ref[dask]')",
)
def test_a_dask_local_cluster_through_scheduler_equals_the_serial_run(tmp_path, monkeypatch):
    from distributed import LocalCluster

    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    assert C.main(["compare", *METHODS, *ARGS, "--workers", "1", "--out", str(tmp_path / "s")]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:  # fmt: skip
        rc = C.main(["compare", *METHODS, *ARGS, "--scheduler", cluster.scheduler_address,
                     "--out", str(tmp_path / "d")])  # fmt: skip
    assert rc == 0
    serial, dask = logs(tmp_path / "s"), logs(tmp_path / "d")
    assert len(serial) == 4 and serial == dask
