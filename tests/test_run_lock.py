"""One writer per run (:mod:`sibp_ref.run.lock`): processes started at the same instant on
the same runs write each log once; a killed holder's lock is free at once; a live holder's
lock is respected, by ``skip_locked`` or with an error that names the lock file and the pid.

The race: 8 processes wait on one barrier, then each runs the same 3 tiny runs, through the
real :func:`~sibp_ref.run.config.run_config` (``train(..., log=...)``) or
:func:`~sibp_ref.run.run_grid` (``skip_locked``), round after round in fresh folders.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from sibp_ref.run import RunConfig, RunLocked, RunNote, read_log, run_grid
from sibp_ref.run.lock import RunLock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the tests use fcntl and SIGKILL")

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
EPOCHS = 2
WORKERS = 8
MODES = ("train", "grid")  # half the workers call train, half run_grid


def race_configs() -> list[RunConfig]:
    return [
        RunConfig(method="sgd", hidden=(4,), epochs=EPOCHS, n_train=60, batch_size=20, seed=s)
        for s in range(3)
    ]


def race_worker(folder: str, rounds: int, mode: str, barrier, me: int) -> None:
    """One of the racing processes: at each round, wait for all, then run every config;
    writes how often it was refused (the race did happen) to ``worker<me>.json``."""
    try:
        refused = race_rounds(Path(folder), rounds, mode, barrier)
    except BaseException:
        barrier.abort()  # the others stop waiting at once
        raise
    (Path(folder) / f"worker{me}.json").write_text(json.dumps({"refused": refused}))


def race_rounds(folder: Path, rounds: int, mode: str, barrier) -> int:
    from sibp_ref.run.config import run_config

    cache, refused = {}, 0
    for r in range(rounds):
        out = folder / f"round{r}"
        barrier.wait(timeout=60)
        if mode == "grid":
            with warnings.catch_warnings(record=True) as notes:
                warnings.simplefilter("always", RunNote)
                run_grid(race_configs(), out, skip_locked=True, progress=False)
            refused += sum("skipped here" in str(n.message) for n in notes)
            continue
        for cfg in race_configs():
            try:
                run_config(cfg, log=out / f"{cfg.key()}.jsonl", progress=False, cache=cache)
            except RunLocked:
                refused += 1
    return refused


def check_written_once(folder: Path) -> None:
    """Every run's log: one start, one record per epoch 0..EPOCHS in order, one end;
    no lock and no checkpoint left."""
    for cfg in race_configs():
        log = folder / f"{cfg.key()}.jsonl"
        events = [json.loads(line) for line in log.read_text().splitlines()]
        kinds = [e["event"] for e in events]
        assert kinds == ["start"] + ["epoch"] * (EPOCHS + 1) + ["end"], (log, kinds)
        assert [e["epoch"] for e in events if e["event"] == "epoch"] == list(range(EPOCHS + 1))
        assert read_log(log).status == "finished"
    assert not list(folder.glob("*.lock")) and not list(folder.glob("*.ckpt.npz"))


def race(folder: Path, rounds: int) -> int:
    """Run the race ``rounds`` times; return how many refusals the workers saw."""
    ctx = multiprocessing.get_context("forkserver")  # one import of the package, not 8
    ctx.set_forkserver_preload(["sibp_ref.run", "sibp_ref.run.config"])
    barrier = ctx.Barrier(WORKERS)
    modes = [MODES[i % len(MODES)] for i in range(WORKERS)]
    procs = [
        ctx.Process(target=race_worker, args=(str(folder), rounds, m, barrier, i))
        for i, m in enumerate(modes)
    ]
    for p in procs:
        p.start()
    try:
        for p in procs:
            p.join(timeout=60 + 5 * rounds)
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in procs] == [0] * WORKERS
    for r in range(rounds):
        check_written_once(folder / f"round{r}")
    return sum(
        json.loads((folder / f"worker{i}.json").read_text())["refused"] for i in range(WORKERS)
    )


def test_processes_started_together_on_the_same_runs_write_each_log_once(tmp_path):
    assert race(tmp_path, rounds=3) > 0  # > 0: they did meet on a run


@pytest.mark.slow
def test_processes_started_together_write_each_log_once_in_200_rounds(tmp_path):
    assert race(tmp_path, rounds=200) > 0


# ------------------------------------------------------------ a holder in another process
HOLD = (
    "import sys, time\nfrom sibp_ref.run.lock import RunLock\n"
    "RunLock(sys.argv[1]).acquire()\nprint('held', flush=True)\ntime.sleep(120)\n"
)
# a holder between taking the OS lock and writing its id: the window the old protocol
# judged stale
HOLD_UNWRITTEN = (
    "import fcntl, os, sys, time\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(120)\n"
)


def holder(code: str, *args) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *map(str, args)], env=ENV, stdout=subprocess.PIPE, text=True
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_a_lock_held_by_a_live_process_is_refused_naming_the_lock_file_and_the_pid(tmp_path):
    lock = tmp_path / "run.lock"
    proc = holder(HOLD, lock)
    try:
        with pytest.raises(RunLocked) as err:
            RunLock(lock, what="run.jsonl").acquire()
        assert f"process {proc.pid}" in str(err.value) and str(lock) in str(err.value)
        assert lock.read_text().split()[0] == str(proc.pid)  # left to its holder
    finally:
        stop(proc)


def test_skip_locked_skips_the_run_a_live_process_holds_and_runs_the_others(tmp_path):
    first, *rest = race_configs()
    proc = holder(HOLD, tmp_path / f"{first.key()}.lock")
    try:
        with pytest.warns(RunNote, match=f"process {proc.pid} .*skipped here"):
            out = run_grid(race_configs(), tmp_path, skip_locked=True, progress=False)
        assert out[0] == (first, None) and not (tmp_path / f"{first.key()}.jsonl").exists()
        assert [h.status for _, h in out[1:]] == ["finished"] * len(rest)
        with pytest.raises(RunLocked, match=f"process {proc.pid} .*{first.key()}.lock"):
            run_grid(race_configs(), tmp_path, progress=False)
    finally:
        stop(proc)


def test_a_lock_file_taken_but_not_yet_written_is_not_judged_stale(tmp_path):
    """The bug of the old protocol: an existing lock file without a pid was deleted and
    taken, and two processes wrote one log."""
    lock = tmp_path / "run.lock"
    proc = holder(HOLD_UNWRITTEN, lock)
    try:
        with pytest.raises(RunLocked, match=f"another process \\(lock {lock}\\)"):
            RunLock(lock).acquire()
        assert lock.exists() and lock.read_text() == ""
    finally:
        stop(proc)


def test_a_lock_whose_holder_was_killed_is_taken_at_once(tmp_path):
    lock = tmp_path / "run.lock"
    proc = holder(HOLD, lock)
    pid = proc.pid
    os.kill(pid, signal.SIGKILL)
    stop(proc)
    assert lock.read_text().split()[0] == str(pid)  # left behind, but no OS lock on it
    t0 = time.perf_counter()
    with RunLock(lock) as taken:
        assert time.perf_counter() - t0 < 1.0 and taken.held
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not lock.exists()


KILLED_MID_RUN = """\
import sys, time
import numpy as np
from sibp_ref import MLP
from sibp_ref.methods import BP
from sibp_ref.run import train

rng = np.random.default_rng(0)
X, Y = rng.normal(size=(5, 40)), np.eye(3)[:, rng.integers(0, 3, size=40)]
net = MLP([5, 4, 3], "relu", "cross_entropy")

def after(rec):
    if rec["epoch"] == 1:
        print("held", flush=True)
        time.sleep(120)

train(net, BP(lr=0.1), net.init(seed=0), (X, Y), epochs=3, batch_size=10,
      log=sys.argv[1], callback=after)
"""


def test_a_run_whose_writer_was_killed_mid_run_is_taken_over_and_resumed(tmp_path):
    """SIGKILL of ``train`` after epoch 1: the next ``train`` on that log takes the lock at
    once and goes on from the checkpoint; the log has one start."""
    import numpy as np

    from sibp_ref import MLP
    from sibp_ref.methods import BP
    from sibp_ref.run import train

    log = tmp_path / "run.jsonl"
    proc = holder(KILLED_MID_RUN, log)
    os.kill(proc.pid, signal.SIGKILL)
    stop(proc)
    assert (tmp_path / "run.lock").exists()
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(5, 40)), np.eye(3)[:, rng.integers(0, 3, size=40)]
    net = MLP([5, 4, 3], "relu", "cross_entropy")
    h = train(net, BP(lr=0.1), net.init(seed=0), (X, Y), epochs=3, batch_size=10, log=log)
    assert h.status == "finished" and [r["epoch"] for r in h.records] == [0, 1, 2, 3]
    text = log.read_text()
    assert text.count('"event": "start"') == 1 and text.count('"event": "resume"') == 1
    assert not (tmp_path / "run.lock").exists()


# ------------------------------------------------------------ within one process
def test_two_threads_of_one_process_exclude_each_other(tmp_path):
    lock, results = tmp_path / "run.lock", []
    start = threading.Barrier(2)

    def take():
        start.wait()
        try:
            results.append(RunLock(lock).acquire())
        except RunLocked as exc:
            results.append(exc)

    threads = [threading.Thread(target=take) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = [r for r in results if isinstance(r, RunLock)]
    assert len(held) == 1 and isinstance(next(r for r in results if r not in held), RunLocked)
    held[0].release()
    assert not lock.exists()


def test_a_lock_file_removed_by_its_last_holder_after_it_was_opened_is_not_kept(
    tmp_path, monkeypatch
):  # fmt: skip
    """Between opening the file and locking it, its holder ends and removes it: a lock
    on that removed file guards nothing, so the taker opens the path again."""
    import sibp_ref.run.lock as L

    lock, real, calls = tmp_path / "run.lock", L._try_os_lock, []

    def holder_ends_meanwhile(fd):
        if not calls:
            lock.unlink()
        calls.append(fd)
        return real(fd)

    monkeypatch.setattr(L, "_try_os_lock", holder_ends_meanwhile)
    with RunLock(lock):
        assert len(calls) == 2 and os.path.samestat(os.fstat(calls[1]), os.stat(lock))
    assert not lock.exists()


def test_a_pid_only_lock_file_of_a_dead_process_is_taken_and_of_a_live_one_refused(tmp_path):
    """Lock files without an OS lock (an older version's): a dead writer's is free, a live
    one's is refused, with the advice to delete it once that process no longer runs."""
    lock, host = tmp_path / "run.lock", os.uname().nodename
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(f"{dead.pid} {host}\n")
    RunLock(lock).acquire().release()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock.write_text(f"{live.pid} {host}\n")
        with pytest.raises(RunLocked, match=f"process {live.pid} .*delete the lock file"):
            RunLock(lock).acquire()
    finally:
        live.kill()
        live.wait()
