"""Grids of runs: serially in this process, or in parallel through any executor.

:func:`run_grid` runs every config, logging each to ``out_dir/<key>.jsonl`` and skipping
those whose log says they are done. With an ``executor`` (any
:class:`concurrent.futures.Executor`; :func:`make_executor` gives a local process pool or a
Dask cluster's), each task is **one epoch** of one run: the worker rebuilds the run from
its config and the checkpoint it is sent, runs the epoch, and sends back the record and the
new checkpoint (a task goes on to more epochs only while they are short next to loading
the data: :data:`BUILD_RATIO`). Only this process writes logs and checkpoints, so the
workers need no shared file system, and a lost worker costs only the epochs of its task.

Several processes may run the same grid into one folder (two shells on one machine, or
machines sharing a disk): with ``skip_locked``, a run another live process is writing (its
lock, :mod:`sibp_ref.run.lock`) is skipped with a note and its result is None; a serial grid
looks at each log again just before its run, so a run another process finished meanwhile is
read back, not run again. Started side by side, the same command in N shells runs N runs at
a time, each finishing its runs one by one.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from .. import backend as B
from .checkpoint import Snapshot
from .config import RunConfig, build_job, log_path, run_config
from .env import environment
from .files import RunFiles
from .lock import RunLocked
from .loop import CannotTrain, epochs, history, snapshot, write_records
from .progress import GridProgress
from .records import History, RunNote
from .threads import call_with_blas_threads, cores, threads_per_worker

__all__ = ["run_grid", "make_executor", "BlasLimitedExecutor", "EpochResult", "epoch_task"]


# ------------------------------------------------------------------ executors
class BlasLimitedExecutor(cf.Executor):
    """An executor whose every task runs with its BLAS pools limited to ``threads``."""

    def __init__(self, inner: cf.Executor, threads: int, close: Callable | None = None):
        self.inner, self.threads, self._close = inner, threads, close

    def abandon(self) -> None:
        """Kill the local workers now (an interrupted grid): their epochs in flight are lost
        anyway, since only the driver writes, and waiting for them would delay the exit by an
        epoch. A Dask executor's workers are not this process's to kill, and are left."""
        if not isinstance(self.inner, cf.ProcessPoolExecutor):
            return
        kill = getattr(self.inner, "kill_workers", None)  # Python >= 3.14
        if kill is not None:
            kill()
            return
        for proc in list((getattr(self.inner, "_processes", None) or {}).values()):
            proc.kill()

    def submit(self, fn, /, *args, **kwargs):
        """``fn(*args, **kwargs)`` on the wrapped executor, under this executor's BLAS limit."""
        return self.inner.submit(call_with_blas_threads, self.threads, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        try:
            self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)
        except TypeError:  # Dask's ClientExecutor takes no cancel_futures
            self.inner.shutdown(wait=wait)
        finally:
            if self._close is not None:
                self._close()


def _dask_executor(scheduler: str) -> BlasLimitedExecutor:
    try:
        from distributed import Client
    except ImportError as exc:
        raise ImportError(
            "--scheduler needs Dask: pip install 'sibp_ref[dask]' (dask[distributed])"
        ) from exc
    try:
        client = Client(scheduler, timeout=20)
    except OSError as exc:
        raise OSError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from None
    slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    return BlasLimitedExecutor(client.get_executor(), threads_per_worker(slots), client.close)


def make_executor(workers: int | None = None, scheduler: str | None = None):
    """An executor for :func:`run_grid`, or None (run in this process) for one worker.

    ``scheduler``: the address of a Dask distributed cluster (``tcp://host:port``); Dask is
    imported only then. Else ``workers`` local processes (default: the number of cores).
    Each task's BLAS threads are limited so that workers × threads ≤ cores.
    """
    if scheduler is not None:
        return _dask_executor(str(scheduler))
    n = cores() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"workers (--workers) must be an integer >= 1, got {workers!r}")
    if n == 1:
        return None
    import multiprocessing

    pool = cf.ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_setup,
        initargs=(os.getpid(),),
    )
    return BlasLimitedExecutor(pool, threads_per_worker(n))


#: How often (seconds) a local worker checks that the process that started it still lives.
PARENT_POLL = 0.2


def _worker_setup(parent: int) -> None:
    """Start of every local worker: it dies with its driver, and leaves Ctrl-C to it.

    A terminal's Ctrl-C reaches the whole process group; the driver alone reports it (and
    :meth:`BlasLimitedExecutor.abandon` ends the workers), so a worker ignores SIGINT rather
    than print a ``KeyboardInterrupt`` traceback. A driver killed outright (SIGKILL) runs no
    clean-up, so each worker watches it: once the worker's parent is no longer ``parent`` (it
    was re-parented), it exits, and the resource tracker, whose pipe the workers held, follows.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL)
    os._exit(1)


# ------------------------------------------------------------------ a worker's task
#: A task goes on to a next epoch while its epochs took less than this many times the
#: time to build the run (load the data, make the net): loading MNIST is not repeated for
#: every short epoch, and an epoch that costs more than that is a task of its own.
BUILD_RATIO = 10.0


@dataclass
class EpochResult:
    """What a worker sends back: the run's settings and the worker's environment; ``before``,
    the records of the checkpoint it resumed from (None: it started afresh); the new records
    and the state after them, as a checkpoint while the run goes on (``snap``) or as the
    run's :class:`History` once it has ended (``history``, parameters as NumPy arrays)."""

    settings: dict
    env: dict
    before: list | None
    records: list
    snap: Snapshot | None = None
    history: History | None = None
    discarded: str | None = None


def epoch_task(cfg: RunConfig, snap: Snapshot | None) -> EpochResult:
    """The next epochs of ``cfg`` from ``snap`` (None, or a checkpoint of other settings: a
    fresh run from epoch 0), through the one driver :func:`~.loop.epochs`: one epoch, or
    more while they cost less than :data:`BUILD_RATIO` times building the run."""
    t0 = time.perf_counter()
    job = build_job(cfg)
    budget, t1 = BUILD_RATIO * (time.perf_counter() - t0), time.perf_counter()
    new, before, discarded, settings = [], None, None, job.settings
    for i, rs in enumerate(epochs(job, snap)):
        if i == 0:
            discarded = rs.discarded
        if i == 0 and rs.resumed:
            before = rs.records
        else:
            new.append(rs.records[-1])
        if i > 0 and rs.status == "running" and time.perf_counter() - t1 >= budget:
            break
    env = environment(B.namespace(job.data.X))
    res = EpochResult(settings, env, before, new, discarded=discarded)
    if rs.status != "diverged":
        res.snap = snapshot(rs, settings)
    if rs.status != "running":
        res.history = history(rs, settings, host=True)
    return res


# ------------------------------------------------------------------ the driver
@dataclass
class _Active:
    """A run this process drives: its place in the results, its config and its files."""

    index: int
    cfg: RunConfig
    files: RunFiles
    begun: bool = False


def _take(act: _Active, res: EpochResult) -> History | None:
    """Write what a worker sent; the run's history when it has ended."""
    if not act.begun:
        if res.discarded:
            act.files.discard_checkpoint(res.discarded)
        act.files.begin(res.settings, res.env, res.before or [])
        act.begun = True
    h = res.history
    write_records(act.files, res.records, res.snap, None if h is None else h.end)
    if h is not None:
        act.files.close()
    return h


def _note_skipped(exc: RunLocked, depth: int) -> None:
    """Note a run left to the process that holds it, at the caller of :func:`run_grid`
    (``depth`` frames up from here)."""
    warnings.warn(f"{exc}; skipped here", RunNote, stacklevel=depth)


class _How(NamedTuple):
    """How a grid runs its configs: :func:`run_grid`'s keywords, passed on as one value."""

    resume: bool
    progress: bool | None
    on_skip: Callable[[RunConfig, Exception], Any] | None
    keep: bool
    skip_locked: bool


def _skip(how: _How, cfg: RunConfig, exc: CannotTrain) -> None:
    """Tell ``on_skip`` of a run whose method refused its net; without one, raise."""
    if how.on_skip is None:
        raise exc
    how.on_skip(cfg, exc)


def _submit_all(todo, executor, how: _How) -> dict:
    running = {}
    for i, cfg, path in todo:
        files = RunFiles(path, keep_checkpoint=how.keep)
        try:
            files.open()
        except Exception as exc:
            if how.skip_locked and isinstance(exc, RunLocked):
                _note_skipped(exc, depth=5)
                continue
            for act in running.values():
                act.files.close()
            raise
        snap = files.checkpoint() if how.resume else None
        running[executor.submit(epoch_task, cfg, snap)] = _Active(i, cfg, files)
    return running


def _run_parallel(todo, executor, results, how: _How) -> None:
    bar = GridProgress(how.progress, len(todo), sum(cfg.epochs for _, cfg, _ in todo))
    running, epochs_done, ended = _submit_all(todo, executor, how), 0, 0
    try:
        while running:
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                act = running.pop(fut)
                try:
                    res = fut.result()
                except BaseException as exc:
                    act.files.close()  # nothing was written: the worker failed at the start
                    if not isinstance(exc, CannotTrain):
                        raise
                    _skip(how, act.cfg, exc)
                    ended += 1
                    continue
                h = _take(act, res)
                epochs_done += sum(r["epoch"] > 0 for r in res.records)
                if h is None:
                    running[executor.submit(epoch_task, act.cfg, res.snap)] = act
                else:
                    results[act.index], ended = (act.cfg, h), ended + 1
            bar.update(ended, len(running), epochs_done, force=not running)
    except KeyboardInterrupt:
        if running and hasattr(executor, "abandon"):
            executor.abandon()
        raise
    finally:
        for fut, act in running.items():
            fut.cancel()
            act.files.close()
        bar.close()


def run_grid(
    configs: Iterable[RunConfig],
    out_dir: str | os.PathLike,
    *,
    resume: bool = True,
    progress=None,
    on_skip: Callable[[RunConfig, Exception], Any] | None = None,
    executor: cf.Executor | None = None,
    keep_checkpoints: bool = False,
    skip_locked: bool = False,
) -> list[tuple[RunConfig, History | None]]:
    """Run every config, logging each to ``out_dir/<key>.jsonl`` (:func:`~.config.log_path`);
    results in input order.

    With ``resume``, a config whose log ends with a finished or diverged record is read
    back instead of run again, and one that was interrupted goes on from its checkpoint.
    A config whose method refuses its net when the run starts (:class:`~.loop.CannotTrain`:
    BCD on a convolutional net) is skipped when ``on_skip`` is given (it is told, the
    history is None, no log is written) rather than stopping the grid; without ``on_skip``
    it raises. A config that another live process is writing raises :class:`RunLocked`, or
    with ``skip_locked`` is skipped with a :class:`RunNote` (its history is None), so that
    several processes can share one grid. ``executor``: run the epochs there (see the
    module's docstring); None runs them here, one config after another.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    configs = list(configs)
    results: list = [(cfg, None) for cfg in configs]
    how = _How(resume, progress, on_skip, keep_checkpoints, skip_locked)
    todo = []
    for i, cfg in enumerate(configs):
        path = log_path(out, cfg)
        h = RunFiles(path).ended() if resume else None
        if h is not None:
            results[i] = (cfg, h)
        else:
            todo.append((i, cfg, path))
    if executor is not None and todo:
        _run_parallel(todo, executor, results, how)
    else:
        _run_serial(todo, results, how)
    return results


def _run_serial(todo, results, how: _How) -> None:
    cache: dict = {}
    for i, cfg, path in todo:
        h = RunFiles(path).ended() if how.resume else None  # another process may have ended it
        if h is not None:
            results[i] = (cfg, h)
            continue
        try:
            h = run_config(cfg, log=path, progress=how.progress, cache=cache,
                           resume=how.resume, keep_checkpoint=how.keep)  # fmt: skip
        except RunLocked as exc:
            if not how.skip_locked:
                raise
            _note_skipped(exc, depth=4)
        except CannotTrain as exc:
            _skip(how, cfg, exc)
        results[i] = (cfg, h)
