"""What a run recorded, and its JSON-lines log: read back strictly, written append-only.

A log is one JSON object per line, each with an ``event``:

- ``start``: the settings (and versions, see :mod:`sibp_ref.run.env`) of a run begun afresh;
- ``resume``: the run goes on from its checkpoint; the ``epoch`` records that follow replace
  those before it;
- ``epoch``: the measurements after one epoch (epoch 0 is before training);
- ``end``: ``finished`` or ``diverged``, with the reason.

Reading is strict: a line that is not JSON, not UTF-8, or not one of these records is an
error that names the file and the line (:class:`LogError`). Only a torn **last** line, what a
kill mid-write leaves, is dropped, with a :class:`RunNote`.
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

__all__ = ["History", "LogError", "RunNote", "RunLog", "read_log", "jsonable", "move_aside"]

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
    """

    settings: dict
    records: list = field(default_factory=list)
    status: str = "running"
    params: Any = None
    reason: str | None = None
    params_epoch: int | None = None
    end: dict | None = None

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
    path = Path(path)
    hist = History(settings={})
    for i, line in enumerate(_lines(path), start=1):
        ev = _event(path, i, line)
        if ev is None:
            continue
        kind = ev.pop("event")
        if kind in ("start", "resume"):
            if kind == "start":
                hist.settings = ev.get("settings", {})
            hist.records, hist.status, hist.reason, hist.end = [], "running", None, None
        elif kind == "epoch":
            hist.records.append(ev)
        else:
            hist.status = ev.get("status", "finished")
            hist.reason, hist.end = ev.get("reason"), ev
    return hist


def move_aside(path: Path) -> Path:
    """Rename a damaged log to ``<name>.damaged[-N]`` (never over another) and say so."""
    n, dest = 0, path.with_name(path.name + ".damaged")
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.name}.damaged-{n}")
    os.replace(path, dest)
    return dest


class RunLog:
    """Append-only JSON lines, flushed per record (``path=None`` writes nothing).

    Opening repairs only what a kill leaves: a torn last line is cut off (with a note), so
    the next record starts on a line of its own.
    """

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.f = None
        if path is not None:
            p = Path(path)
            p.parent.mkdir(parents=True, exist_ok=True)
            _cut_torn_tail(p)  # read_log, which the caller ran first, noted it
            self.f = open(p, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, event: str, **fields: Any) -> None:
        if self.f is not None:
            self.f.write(json.dumps(jsonable({"event": event, **fields})) + "\n")
            self.f.flush()

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


def _cut_torn_tail(p: Path) -> None:
    if not p.is_file() or p.stat().st_size == 0:
        return
    with open(p, "rb+") as f:
        data = f.read()
        if data.endswith(b"\n"):
            return
        keep = data.rfind(b"\n") + 1
        try:
            json.loads(data[keep:])
            f.write(b"\n")  # a whole record, only its newline is missing
            return
        except ValueError:
            f.truncate(keep)
