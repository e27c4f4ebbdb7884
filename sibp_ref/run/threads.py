"""BLAS threads: how many each worker of a grid may use, and running a call under a limit.

Workers × threads ≤ cores: a grid of ``w`` local workers on ``c`` cores gives each
``max(1, c // w)`` BLAS threads, so parallel runs do not oversubscribe the machine
(threadpoolctl sets the limit inside the worker, for every BLAS and OpenMP pool it finds).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["cores", "threads_per_worker", "call_with_blas_threads"]


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
