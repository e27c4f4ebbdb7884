"""Moved to :mod:`sibp_ref.run`; this module re-exports its names for old imports."""

from .run.config import RunConfig, run_config
from .run.grid import run_grid
from .run.loop import SAMPLING, DivergedError, evaluate, train
from .run.records import History, read_log

__all__ = [
    "SAMPLING",
    "History",
    "DivergedError",
    "train",
    "evaluate",
    "RunConfig",
    "run_config",
    "run_grid",
    "read_log",
]
