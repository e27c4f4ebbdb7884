"""The files of one run in a folder: its log, its checkpoint and its lock.

``<key>.jsonl`` is the log (:mod:`sibp_ref.run.records`), ``<key>.ckpt.npz`` the checkpoint
of the last epoch (:mod:`sibp_ref.run.checkpoint`), ``<key>.lock`` the lock
(:mod:`sibp_ref.run.lock`). After each epoch the checkpoint is replaced first, then the
record appended: a resumed run rewrites its records from the checkpoint after a ``resume``
event, so a record written after the last checkpoint cannot be counted twice.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from .checkpoint import Snapshot, load_checkpoint, save_checkpoint
from .lock import RunLock
from .records import LogError, RunLog, RunNote, move_aside, read_log

__all__ = ["RunFiles"]


class RunFiles:
    """Lock, log and checkpoint of the run logged at ``log``; only the driving process
    writes them. ``keep_checkpoint`` keeps the checkpoint of a run that ended."""

    def __init__(self, log: str | os.PathLike, *, keep_checkpoint: bool = False) -> None:
        self.log = Path(log)
        self.ckpt = self.log.with_name(self.log.stem + ".ckpt.npz")
        self.lock = RunLock(self.log.with_name(self.log.stem + ".lock"), what=str(self.log))
        self.keep = keep_checkpoint
        self.writer: RunLog | None = None

    def open(self) -> RunFiles:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        return self

    def checkpoint(self) -> Snapshot | None:
        """The last checkpoint; an unreadable one is dropped with a note (runs from 0)."""
        try:
            return load_checkpoint(self.ckpt)
        except ValueError as exc:
            warnings.warn(f"{exc}; running from the start", RunNote, stacklevel=2)
            return None

    def begin(self, settings: dict, env: dict, records: list) -> None:
        """Start the log (``records`` empty) or mark a resume and rewrite ``records``.

        A damaged log is moved aside with a note; the run's records are in its checkpoint.
        """
        if self.log.exists():
            try:
                read_log(self.log)
            except LogError as exc:
                dest = move_aside(self.log)
                warnings.warn(f"{exc}. Moved it to {dest}", RunNote, stacklevel=2)
        self.writer = RunLog(self.log)
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        if records and self.log.stat().st_size > 0:
            self.writer.write("resume", epoch=records[-1]["epoch"], env=env, resumed=now)
        else:
            self.writer.write("start", settings=settings, env=env, started=now)
        for rec in records:
            self.writer.write("epoch", **rec)

    def epoch(self, rec: dict, snap: Snapshot | None) -> None:
        """Replace the checkpoint by ``snap`` (None: a run that ends here), then log ``rec``."""
        if snap is not None:
            save_checkpoint(self.ckpt, snap)
        self.writer.write("epoch", **rec)

    def end(self, **fields) -> None:
        self.writer.write("end", **fields)
        if not self.keep:
            self.ckpt.unlink(missing_ok=True)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.lock.release()
