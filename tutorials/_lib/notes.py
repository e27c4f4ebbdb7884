"""The numbers a tutorial writes into its notes (``figures/<NN>_*.md``): a Markdown block between
two markers, so that the numbers a reader sees are the ones the logs give, rewritten by every
``--replot``."""

from __future__ import annotations

from pathlib import Path

import common


def write_block(folder: Path, notes: str, name: str, text: str, kind: str = "numbers") -> Path:
    """Put ``text`` between ``<!-- <name> <kind> -->`` and ``<!-- end <name> <kind> -->`` of
    ``folder/<notes>`` when that file has both markers; else write it alone as
    ``folder/<name>_<kind>.md`` (a quick run's output folder has no notes)."""
    path = Path(folder) / notes
    begin, end = f"<!-- {name} {kind} -->", f"<!-- end {name} {kind} -->"
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        _, tail = rest.split(end, 1)
        common.write_atomic(path, f"{head}{begin}\n{text}{end}{tail}")
        return path
    alone = Path(folder) / f"{name}_{kind}.md"
    common.write_atomic(alone, text)
    return alone


def read_block(path: Path, name: str, kind: str = "numbers") -> str:
    """The text between the markers of ``name`` in ``path`` (what :func:`write_block` put)."""
    text = Path(path).read_text(encoding="utf-8")
    begin, end = f"<!-- {name} {kind} -->\n", f"<!-- end {name} {kind} -->"
    if begin not in text or end not in text:
        raise ValueError(f"{path} has no block {begin.strip()} ... {end}")
    return text.split(begin, 1)[1].split(end, 1)[0]
