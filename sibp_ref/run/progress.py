"""One line of progress on stderr: per run (epoch and batch) or per grid (runs and time left).

Written only when stderr is a terminal, unless asked for; the line is rewritten in place.
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "GridProgress"]


def _enabled(enabled: bool | None) -> bool:
    return sys.stderr.isatty() if enabled is None else bool(enabled)


def _write(text: str) -> None:
    sys.stderr.write("\r" + text[:100] + "\033[K")
    sys.stderr.flush()


def _clear() -> None:
    sys.stderr.write("\r\033[K")
    sys.stderr.flush()


class Progress:
    """``<method> epoch e/E [#####-----] loss ... acc ...`` for one run."""

    def __init__(self, enabled: bool | None, label: str, total: int) -> None:
        self.on = _enabled(enabled)
        self.label, self.total, self.last = label, total, 0.0

    def update(self, epoch: int, done: int, steps: int, note: str = "", force=False) -> None:
        now = time.monotonic()
        if not self.on or (not force and now - self.last < 0.1):
            return
        self.last = now
        frac = done / max(steps, 1)
        bar = "#" * int(20 * frac) + "-" * (20 - int(20 * frac))
        _write(f"{self.label:>10} epoch {epoch}/{self.total} [{bar}] {note}")

    def close(self) -> None:
        if self.on:
            _clear()


class GridProgress:
    """``grid: runs 3 done, 2 running, 4 left; epochs 40/90; about 2m10s left``.

    The time left extrapolates the wall time per epoch so far to the epochs left.
    """

    def __init__(self, enabled: bool | None, runs: int, epochs: int) -> None:
        self.on = _enabled(enabled)
        self.runs, self.epochs = runs, epochs
        self.t0, self.last = time.monotonic(), 0.0

    def update(self, done: int, running: int, epochs_done: int, force: bool = False) -> None:
        now = time.monotonic()
        if not self.on or (not force and now - self.last < 0.2):
            return
        self.last = now
        left = self.runs - done - running
        eta = "?"
        if epochs_done > 0:
            secs = (now - self.t0) / epochs_done * max(self.epochs - epochs_done, 0)
            eta = f"{int(secs // 60)}m{int(secs % 60):02d}s"
        _write(
            f"grid: runs {done} done, {running} running, {left} left; "
            f"epochs {epochs_done}/{self.epochs}; about {eta} left"
        )

    def close(self) -> None:
        if self.on:
            _clear()
