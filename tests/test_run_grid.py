"""Grids in parallel: a local process pool and a Dask cluster give the serial run's records;
only the driving process writes the logs; several processes can share one grid."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import pytest

from sibp_ref.run import (
    CannotTrain,
    RunConfig,
    RunLocked,
    RunNote,
    make_executor,
    read_log,
    run_grid,
)
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


@pytest.mark.parametrize("where", ["serial", "threads"])
def test_a_run_whose_method_refuses_its_net_is_skipped_with_on_skip_and_raised_without(
    tmp_path, where
):
    """SIBP with three λ for a net of two layers: ``init`` refuses it when the run starts, in
    this process or in a worker; the grid tells ``on_skip``, writes nothing of that run and
    runs the others (what ``sibp-ref compare`` does with BCD on a conv net)."""
    refused = RunConfig(method="sibp", hyper={"lam": [1.0] * 3}, hidden=(8,), epochs=1, n_train=120)
    fine = RunConfig(method="sgd", hidden=(8,), epochs=1, n_train=120)
    told = []
    with ThreadPoolExecutor(2) if where == "threads" else nullcontext() as ex:
        out = run_grid(
            [refused, fine], tmp_path, executor=ex, on_skip=lambda c, e: told.append((c, str(e)))
        )
        assert out[0] == (refused, None) and out[1][1].status == "finished"
        assert [(c, msg.split(";")[0]) for c, msg in told] == [
            (refused, "lam has 3 entries but the network has 2 layers")
        ]
        assert sorted(p.name for p in tmp_path.iterdir()) == [f"{fine.key()}.jsonl"]
        with pytest.raises(CannotTrain, match="lam has 3 entries"):
            run_grid([refused], tmp_path, executor=ex)
        assert sorted(p.name for p in tmp_path.iterdir()) == [f"{fine.key()}.jsonl"]


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


# ------------------------------------------------------------ one grid, several processes
def _live_lock(folder: Path, cfg: RunConfig):
    """A lock on ``cfg``'s run held by a live process (a sleeper), as another shell's."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / f"{cfg.key()}.lock"
    lock.write_text(f"{sleeper.pid} {os.uname().nodename}\n")
    return sleeper, lock


@pytest.mark.parametrize("where", ["serial", "threads"])
def test_skip_locked_leaves_the_run_another_process_writes_and_runs_the_others(tmp_path, where):
    first, *rest = configs()
    sleeper, lock = _live_lock(tmp_path, first)
    try:
        with ThreadPoolExecutor(2) if where == "threads" else nullcontext() as ex:
            with pytest.warns(RunNote, match=f"process {sleeper.pid}.*skipped here"):
                out = run_grid(configs(), tmp_path, executor=ex, skip_locked=True)
        assert out[0] == (first, None)
        assert [h.status for _, h in out[1:]] == ["finished"] * len(rest)
        assert lock.read_text().startswith(str(sleeper.pid))  # left to its holder
        assert not (tmp_path / f"{first.key()}.jsonl").exists()
        with pytest.raises(RunLocked, match=f"process {sleeper.pid}"):  # without: refused
            run_grid(configs(), tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_serial_grid_reads_back_a_run_another_process_finished_meanwhile(tmp_path, monkeypatch):
    import sibp_ref.run.grid as G

    first, second, *_ = configs()
    real = G.run_config

    def and_meanwhile(cfg, **kw):  # while this process runs `first`, another ends `second`
        if cfg == first:
            run_grid([second], tmp_path)
        return real(cfg, **kw)

    monkeypatch.setattr(G, "run_config", and_meanwhile)
    out = run_grid(configs()[:2], tmp_path)
    assert [h.status for _, h in out] == ["finished", "finished"]
    text = (tmp_path / f"{second.key()}.jsonl").read_text()
    assert text.count('"event": "start"') == 1  # read back, not run a second time


def test_the_same_grid_in_two_processes_runs_each_run_once(tmp_path):
    """Two shells, one command: every log has one start and one end, both exit cleanly."""
    code = (
        "import sys; from sibp_ref.run import RunConfig, run_grid\n"
        "cfgs = [RunConfig(method=m, hidden=(16,), epochs=20, n_train=600, seed=s)\n"
        "        for s in range(3) for m in ('sgd', 'sibp')]\n"
        "run_grid(cfgs, sys.argv[1], skip_locked=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], env=env, stderr=subprocess.PIPE, text=True
        )  # fmt: skip
        for _ in range(2)
    ]
    errs = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    found = sorted(tmp_path.glob("*.jsonl"))
    assert len(found) == 6
    for log in found:
        text = log.read_text()
        assert text.count('"event": "start"') == 1 and text.count('"event": "end"') == 1, log
        assert read_log(log).status == "finished"
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob("*.ckpt.npz"))
