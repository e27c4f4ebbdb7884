"""BLAS threads: how many each worker of a grid may use, running a call under a limit, and
the one limit every run takes (SciPy's solver pool at one thread, :func:`one_thread_for_solves`).

Workers × threads ≤ cores: a grid of ``w`` local workers on ``c`` cores gives each
``max(1, c // w)`` BLAS threads, so parallel runs do not oversubscribe the machine
(threadpoolctl sets the limit inside the worker, for every BLAS and OpenMP pool it finds).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["cores", "threads_per_worker", "call_with_blas_threads", "one_thread_for_solves"]


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_worker(workers: int, available: int | None = None) -> int:
    """BLAS threads for each of ``workers`` parallel workers: ``max(1, cores // workers)``."""
    return max(1, (available or cores()) // max(workers, 1))


def call_with_blas_threads(threads: int | None, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with the BLAS thread pools limited to ``threads``
    (no limit for None, or when threadpoolctl is not installed)."""
    if threads is None:
        return fn(*args, **kwargs)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return fn(*args, **kwargs)
    with threadpool_limits(limits=threads):
        return fn(*args, **kwargs)


def _solver_blas(controller: Any) -> list:
    """SciPy's own BLAS when it is a library apart from NumPy's (as in the pip wheels)."""
    blas = [lc for lc in controller.lib_controllers if lc.user_api == "blas"]
    paths = {os.path.realpath(lc.filepath) for lc in blas}
    if len(paths) < 2:
        return []  # one BLAS for both (conda, a system OpenBLAS): no second pool to fight
    return [lc.filepath for lc in blas if "scipy" in os.path.dirname(lc.filepath)]


@contextmanager
def one_thread_for_solves() -> Iterator[None]:
    """Run the block with SciPy's separate OpenBLAS pool at one thread, NumPy's untouched.

    ``backend.solve_spd`` factors the small SPD matrices of ProxBP and SIBP (batch × batch
    or layer × layer) with SciPy, whose wheel brings its own OpenBLAS beside NumPy's. With
    both pools at several threads, their idle threads spin against each other between a
    product and a solve, and a step took many times longer than with one thread
    (BENCHMARKS.md, "BLAS threads"); one thread is also the fastest for solves this small.
    NumPy's pool, which does the products, keeps its threads. A no-op without threadpoolctl.
    """
    try:
        import scipy.linalg  # noqa: F401 - loads SciPy's BLAS so that it can be found
        from threadpoolctl import ThreadpoolController
    except ImportError:
        yield
        return
    controller = ThreadpoolController()
    paths = _solver_blas(controller)
    if not paths:
        yield
        return
    with controller.select(filepath=paths).limit(limits=1):
        yield
