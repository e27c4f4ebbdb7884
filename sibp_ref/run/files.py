"""The files of one run in a folder: its log, its checkpoint and its lock.

``<key>.jsonl`` is the log (:mod:`sibp_ref.run.records`), ``<key>.ckpt.npz`` the checkpoint
of the last epoch (:mod:`sibp_ref.run.checkpoint`), ``<key>.lock`` the lock
(:mod:`sibp_ref.run.lock`). After each epoch the checkpoint is replaced first, then the
record appended; a resumed run rewrites its log from the checkpoint (one line per epoch, see
:mod:`sibp_ref.run.records`), so a record written after the last checkpoint is never counted
twice and one the kill kept from the log is written from the checkpoint.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from .checkpoint import Snapshot, load_checkpoint, save_checkpoint
from .lock import RunLock
from .records import (
    History,
    LogError,
    RunLog,
    RunNote,
    move_aside,
    read_events,
    read_log,
    rewrite_log,
)

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

    @classmethod
    def at(cls, log: str | os.PathLike | None, keep_checkpoint: bool = False) -> RunFiles | None:
        """The files of the run logged at ``log``; None (nothing written) for no log."""
        return None if log is None else cls(log, keep_checkpoint=keep_checkpoint)

    def open(self) -> RunFiles:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.lock.acquire()
        return self

    def ended(self) -> History | None:
        """The log's history when it says the run ended (nothing is left to run); a damaged
        log is moved aside with a note, and the run goes on as without one."""
        if not self.log.is_file():
            return None
        try:
            h = read_log(self.log)
        except LogError as exc:
            dest = move_aside(self.log)
            warnings.warn(f"{exc}. Moved it to {dest}; running it again", RunNote, stacklevel=3)
            return None
        if not h.done:
            return None
        h.read_back = True
        return h

    def checkpoint(self) -> Snapshot | None:
        """The last checkpoint; an unreadable one is moved aside with a note (runs from 0)."""
        try:
            return load_checkpoint(self.ckpt)
        except ValueError:
            self.discard_checkpoint("it cannot be read as a checkpoint")
            return None

    def discard_checkpoint(self, why: str) -> None:
        """Move a checkpoint that cannot be this run's to ``<name>.damaged`` (kept for a look,
        never deleted) with a one-line note naming it: the run starts over."""
        if not self.ckpt.is_file():
            return
        dest = move_aside(self.ckpt)
        warnings.warn(f"checkpoint {self.ckpt} set aside as {dest.name}: {why}; running "
                      "from the start", RunNote, stacklevel=3)  # fmt: skip

    def begin(self, settings: dict, env: dict, records: list) -> None:
        """Open the log: a new one with its start line (``records`` empty), or, resuming from
        a checkpoint that holds ``records``, the log rewritten to its start line, one line per
        epoch of ``records``, its earlier resume notes and a new one.

        A damaged log is moved aside with a note (the run's records are in its checkpoint), and
        so is the log of an ended run started over (``resume=False``): no result is lost.
        """
        now = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        events = [{"event": "start", "settings": settings, "env": env, "started": now}]
        if not records and any(ev["event"] == "end" for ev in self._events()):
            dest = move_aside(self.log, "previous")
            warnings.warn(f"{self.log} ran again from the start; its log is now {dest}", RunNote,
                          stacklevel=2)  # fmt: skip
        if records:
            old = self._events()
            starts = [i for i, ev in enumerate(old) if ev["event"] == "start"]
            if starts:
                events, old = [old[starts[-1]]], old[starts[-1] + 1 :]
            notes = [ev for ev in old if ev["event"] == "resume"]
            for rec in records:
                events.append({"event": "epoch", **rec})
                events += [ev for ev in notes if ev.get("epoch") == rec["epoch"]]
            events.append({"event": "resume", "epoch": records[-1]["epoch"], "env": env,
                           "resumed": now})  # fmt: skip
        rewrite_log(self.log, events)
        self.writer = RunLog(self.log)

    def _events(self) -> list[dict]:
        """The log's records so far; none when there is no log or it is damaged (moved
        aside, with a note)."""
        if not self.log.is_file():
            return []
        try:
            return read_events(self.log)
        except LogError as exc:
            dest = move_aside(self.log)
            warnings.warn(f"{exc}. Moved it to {dest}", RunNote, stacklevel=3)
            return []

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
