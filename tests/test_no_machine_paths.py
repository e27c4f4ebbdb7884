"""No tracked text file holds an absolute path of the machine it was written on.

A path under a machine's own folders (``/work``, ``/tmp``, ``/root``, ``/home``, ``/Users``,
``/mnt`` followed by a name) or after a drive letter (two folders deep, so that ``"V:\\n"``
in a format string is not one) says where someone's files were, not how a reader gets
theirs: commands say ``--data-dir DIR``, logs name the data set (``tools/scrub_paths.py``
rewrites committed logs). Not machine paths: URLs (``https://host/home/x``: preceded by a
host name), relative paths (``tests/tmp/x``), system paths a reader has too
(``/dev/null``, ``/usr/share/...``), and a folder named alone (``/tmp`` with an ellipsis, in prose).

The file list is ``git ls-files``; the test is skipped outside a git checkout. The same
check on the built site's pages is in ``tests/test_docs.py``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_HOMES = "|".join(("work", "tmp", "root", "home", "Users", "mnt"))
MACHINE_PATH = re.compile(
    rf"(?<![\w.:/~$-])/(?:{_HOMES})/[\w.+-]"
    r"|(?<![\w])[A-Za-z]:(?:\\\\|\\)[\w .+-]+(?:\\\\|\\)[\w .+-]"
)


def machine_paths(text: str) -> list[str]:
    """The machine paths in ``text``, each with the rest of its line (for the message)."""
    return [text[m.start() : m.start() + 80].splitlines()[0] for m in MACHINE_PATH.finditer(text)]


def _abs(*parts: str, sep: str = "/") -> str:
    """An absolute path written in pieces, so that this file holds none."""
    return sep.join(("", *parts)) if sep == "/" else "C:" + sep + sep.join(parts)


@pytest.mark.parametrize(
    "text",
    [
        f"SIBP_REF_DATA={_abs('work', 'shared', 'data')} python x.py",
        f'"source": "{_abs("tmp", "t5full", "runs")}"',
        f"logs in {_abs('root', 'out', 'bench.json')}",
        f"see {_abs('home', 'user', 'x')}",
        f'"out": "{_abs("Users", "me", "run.json", sep=chr(92) * 2)}"',
        _abs("Users", "me", "run.json", sep=chr(92)),
    ],
)
def test_a_machine_path_is_found(text) -> None:
    assert machine_paths(text), text


@pytest.mark.parametrize(
    "text",
    [
        "https://example.org/home/index.html",
        "file stays in tests/tmp/x and runs/tmp/y",
        "python x.py > /dev/null; data in /usr/share/datasets/fashion-mnist",
        "absolute paths such as " + "/tmp" + "/… or " + "/work" + "/… are refused",
        'print(f"    BCD V:\\n{to(V)}")',
        "~/.cache/sibp_ref and $HOME/work/x",
        "--data-dir DIR",
    ],
)
def test_a_url_relative_or_system_path_is_not_a_machine_path(text) -> None:
    assert not machine_paths(text), text


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not in a git checkout: no list of tracked files")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [ROOT / p for p in out.decode().split("\0") if p]


def test_no_tracked_text_file_holds_an_absolute_path_of_a_machine() -> None:
    found = []
    for path in tracked_files():
        if not path.is_file():  # deleted in the working tree, not yet committed
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        for hit in machine_paths(data.decode("utf-8", errors="replace")):
            found.append(f"{path.relative_to(ROOT)}: {hit}")
    assert not found, (
        f"{len(found)} absolute machine path(s); write DIR or a relative path "
        "(logs: python tools/scrub_paths.py):\n" + "\n".join(found[:30])
    )
