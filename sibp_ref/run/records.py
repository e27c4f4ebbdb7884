"""What a run recorded, and its JSON-lines log: read back strictly, written append-only.

A log is one JSON object per line, each with an ``event``:

- ``start``: the settings (and versions, see :mod:`sibp_ref.run.env`) of a run begun afresh;
- ``resume``: the run went on from its checkpoint after epoch ``epoch`` (a note: where, when,
  on which machine);
- ``epoch``: the measurements after one epoch (epoch 0 is before training);
- ``end``: ``finished`` or ``diverged``, with the reason.

**One line per epoch.** A run appends as it goes (a kill loses at most the line being
written), and a resumed run first rewrites its log, once, through a temporary file renamed
over it (:func:`rewrite_log`): the start line, one epoch line per epoch its checkpoint holds,
the resume notes, and nothing of what followed the checkpoint. So a log read with ``jq`` or
pandas has each epoch once, however often the run was interrupted, and a kill during the
rewrite leaves the old log or the new one, never a mix. (The alternative, a resume marker
that voids the lines after it, keeps the file append-only but leaves every reader to apply
the voiding; the rename is atomic, so appending buys no safety the rewrite lacks.)

Reading is strict: a line that is not JSON, not UTF-8, or not one of these records is an
error that names the file and the line (:class:`LogError`). Only a torn **last** line, what a
kill mid-write leaves, is dropped, with a :class:`RunNote`. An epoch line replaces the lines
of that epoch and any later one before it, which reads the logs written before the rewrite
(each resume restated every earlier epoch) with the same values.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "History",
    "LogError",
    "RunNote",
    "RunLog",
    "read_log",
    "read_events",
    "rewrite_log",
    "jsonable",
    "move_aside",
]

EVENTS = ("start", "resume", "epoch", "end")


class LogError(ValueError):
    """A log that cannot be read as one; the message names the file and what to do."""


class RunNote(UserWarning):
    """Something worth one line to the user that needs no action (a torn last line, ...)."""


@dataclass
class History:
    """What a run recorded: one dict per epoch (epoch 0 is before training).

    Keys of a record: ``epoch``, ``step`` (steps so far), ``time`` (seconds spent in
    steps so far), ``train_loss``, ``train_acc``, ``test_loss``, ``test_acc``,
    ``grad_norm_W1`` and, when tracked, ``dw`` (``||W_1^{new} − W_1^{old}||`` per step or per
    epoch). ``status`` is ``finished``, ``diverged`` or ``running``. ``params`` are the final
    parameters, or for a diverged run the last finite ones, measured after epoch
    ``params_epoch`` (not written to the log). ``end`` is the log's end record.
    ``read_back``: the run had ended before and its history was read from its log.
    """

    settings: dict
    records: list = field(default_factory=list)
    status: str = "running"
    params: Any = None
    reason: str | None = None
    params_epoch: int | None = None
    end: dict | None = None
    read_back: bool = False

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def done(self) -> bool:
        """Finished or diverged: nothing is left to run."""
        return self.status in ("finished", "diverged")

    @property
    def final(self) -> dict:
        return self.records[-1] if self.records else {}

    def column(self, key: str) -> np.ndarray:
        """One metric over the epochs, NaN where a record lacks it."""
        return np.array(
            [r.get(key, np.nan) if r.get(key) is not None else np.nan for r in self.records],
            dtype=float,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        return read_log(path)


def jsonable(x: Any) -> Any:
    """``x`` with NaN as null, ±inf as ``"inf"``/``"-inf"``, NumPy scalars as Python ones."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if isinstance(x, np.generic):
        return jsonable(x.item())
    return repr(x)


def _damaged(path: Path, where: str, what: str) -> LogError:
    return LogError(
        f"{path}: {where} {what}; the log is damaged: move it aside (or delete it) to run "
        "this config again"
    )


def _lines(path: Path) -> list[str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _damaged(path, f"line {line}", f"is not UTF-8 (byte {exc.start})") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the file ends with a newline, as it should
    elif lines:
        try:
            json.loads(lines[-1])
        except json.JSONDecodeError:
            warnings.warn(
                f"{path}: dropped a torn last line (an interrupted write)", RunNote, stacklevel=3
            )
            lines.pop()
    return lines


def _event(path: Path, i: int, line: str) -> dict | None:
    if not line.strip():
        return None
    try:
        ev = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _damaged(path, f"line {i}", f"is not JSON ({exc.msg})") from None
    if not isinstance(ev, dict) or ev.get("event") not in EVENTS:
        raise _damaged(path, f"line {i}", f"is not a log record (got {line[:40]!r})")
    return ev


def read_log(path: str | os.PathLike) -> History:
    """A :class:`History` from a JSON-lines log (a torn last line is dropped with a note).

    Raises :class:`LogError` naming the file and line for anything else that is not a record.
    """
    hist = History(settings={})
    for ev in read_events(path):
        kind = ev.pop("event")
        if kind in ("start", "resume"):
            if kind == "start":
                hist.settings, hist.records = ev.get("settings", {}), []
            hist.status, hist.reason, hist.end = "running", None, None
        elif kind == "epoch":  # it replaces that epoch and any later one (module docstring)
            hist.records = [r for r in hist.records if r.get("epoch", -1) < ev.get("epoch", 0)]
            hist.records.append(ev)
        else:
            hist.status = ev.get("status", "finished")
            hist.reason, hist.end = ev.get("reason"), ev
    return hist


def read_events(path: str | os.PathLike) -> list[dict]:
    """The records of a log in order, each a dict with its ``event`` (:class:`LogError`
    for a line that is not one; a torn last line is dropped with a note)."""
    path = Path(path)
    events = (_event(path, i, line) for i, line in enumerate(_lines(path), start=1))
    return [ev for ev in events if ev is not None]


def rewrite_log(path: str | os.PathLike, events: list[dict]) -> None:
    """Replace the log at ``path`` by ``events`` (dicts with their ``event``), atomically:
    written to a temporary file in the same folder, synced, and renamed over it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for ev in events:
                f.write(json.dumps(jsonable(ev)) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def move_aside(path: Path, why: str = "damaged") -> Path:
    """Rename a log to ``<name>.<why>[-N]`` (never over another file); the new path."""
    n, dest = 0, path.with_name(f"{path.name}.{why}")
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.{why}-{n}")
    os.replace(path, dest)
    return dest


class RunLog:
    """Append-only JSON lines, flushed per record (``path=None`` writes nothing). It appends
    to a log that :func:`rewrite_log` has just written whole, so no torn line precedes it."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.f = None
        if path is not None:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            self.f = open(p, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **fields: Any) -> None:
        if self.f is not None:
            self.f.write(json.dumps(jsonable({"event": event, **fields})) + "\n")
            self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None
