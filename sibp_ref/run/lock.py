"""One writer per run: a lock file beside the log holds the writing process's id.

A second process that starts the same run while the first is alive is refused, with the
other process named; a lock left by a process that no longer runs is taken over.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

__all__ = ["RunLocked", "RunLock"]


class RunLocked(RuntimeError):
    """Another live process is writing this run."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True


def _holder(path: Path) -> tuple[int | None, str]:
    try:
        pid, _, host = path.read_text(encoding="utf-8").strip().partition(" ")
        return int(pid), host
    except (OSError, ValueError, UnicodeDecodeError):
        return None, ""


class RunLock:
    """``with RunLock(path):`` holds ``path`` (``<log>.lock``) for this process."""

    def __init__(self, path: str | os.PathLike, what: str = "") -> None:
        self.path, self.what, self.held = Path(path), what or str(path), False

    def acquire(self) -> RunLock:
        me = f"{os.getpid()} {socket.gethostname()}\n"
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._refuse_or_take_over()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(me)
            self.held = True
            return self
        raise RunLocked(f"could not take the lock {self.path}; delete it if no run is writing")

    def _refuse_or_take_over(self) -> None:
        pid, host = _holder(self.path)
        here = host in ("", socket.gethostname())
        if pid is not None and (not here or _alive(pid)):
            raise RunLocked(
                f"{self.what} is being written by process {pid}"
                + ("" if here else f" on {host}")
                + f" (lock {self.path}); wait for it to end or stop it; if it no longer "
                "runs, delete the lock file"
            )
        try:  # a stale lock (or one cut short as it was written): take it over
            self.path.unlink()
        except FileNotFoundError:
            pass

    def release(self) -> None:
        if self.held:
            self.held = False
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
