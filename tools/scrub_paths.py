"""Replace the absolute paths of the machine a run was made on in committed logs and results.

A run's log (``tutorials/results/**/*.jsonl``) records where its data set was found
(``dataset_info.source``), a benchmark's JSON where its data folder and its output were;
none of that belongs in the repository. This rewrites, in place and only where they hold
an absolute path under a machine's own folders (``work``, ``tmp``, ``root``, ``home``,
``Users``, ``mnt`` at the root, or a drive letter):

- ``"source"`` (a data set's folder): the data set's name, the folder's last part
  (``mnist``, ``fashion-mnist``); ``verified_sha256`` and every other field stay;
- ``"data_dir"``: ``DIR``, as the docs write ``--data-dir DIR``;
- any other JSON string, and a path in a text file: the part from the first folder of this
  repository (``tutorials/results/...``, ``figures/...``, ``runs/...``), or from
  ``site-packages/``, else the file's name.

Nothing else in a file changes (the JSON is edited as text, so its layout stays), so a
second pass changes nothing. A log with a ``.lock`` beside it is being written by a run
and is left alone (the run appends to the open file; rewriting it would lose records).
Nothing that reads the logs back uses these fields: a run's key and the resume check
leave ``data_dir`` out (``sibp_ref/run/config.py``), and the data set is checked by its
SHA-256, not by where it lies.

    python tools/scrub_paths.py                      # tutorials/results, benchmarks/results
    python tools/scrub_paths.py --check              # exit 1 if a file would change
    python tools/scrub_paths.py path/to/log.jsonl    # given files or folders
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ("tutorials/results", "benchmarks/results")
SUFFIXES = {".json", ".jsonl", ".txt", ".md"}
REPO_FOLDERS = ("tutorials", "benchmarks", "figures", "runs", "results", "sibp_ref", "tests")

_HOMES = "|".join(("work", "tmp", "root", "home", "Users", "mnt"))
#: An absolute path of a machine: under one of its own folders, or after a drive letter.
MACHINE_PATH = re.compile(
    rf"(?<![\w.:/~$-])(?:/(?:{_HOMES})/[\w.+-][^\s\"'`<>|,;)\]]*"
    r"|[A-Za-z]:(?:\\\\|\\)[\w .+-]+(?:(?:\\\\|\\)[^\s\"'`<>|,;)\]]*)+)"
)
JSON_FIELD = re.compile(r'"(?P<key>[^"\\]+)"(?P<sep>\s*:\s*)"(?P<value>[^"]*)"')


def relative(path: str, key: str | None = None) -> str:
    """What ``path`` becomes: see the module's docstring."""
    p = posixpath.normpath(path.replace("\\\\", "/").replace("\\", "/"))
    parts = [s for s in p.split("/") if s]
    if key == "source":
        return parts[-1]
    if key == "data_dir":
        return "DIR"
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    for i, part in enumerate(parts[1:], start=1):  # parts[0] is the machine's own folder
        if part in REPO_FOLDERS:
            return "/".join(parts[i:])
    return parts[-1]


def scrub_text(text: str, *, json_lines: bool) -> str:
    """``text`` with each machine path replaced (in JSON, only whole string values)."""
    if not json_lines:
        return MACHINE_PATH.sub(lambda m: relative(m.group(0)), text)

    def field(m: re.Match) -> str:
        value = m.group("value")
        if not MACHINE_PATH.fullmatch(value):
            return m.group(0)
        return f'"{m.group("key")}"{m.group("sep")}"{relative(value, m.group("key"))}"'

    return JSON_FIELD.sub(field, text)


def files_under(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        out += sorted(f for f in p.rglob("*") if f.suffix in SUFFIXES) if p.is_dir() else [p]
    return out


def scrub_file(path: Path, *, write: bool) -> bool:
    """Whether ``path`` holds a machine path; with ``write``, rewrite it in place."""
    if path.with_name(path.stem + ".lock").exists():
        print(f"skipped (a run holds its lock): {path}", file=sys.stderr)
        return False
    text = path.read_text(encoding="utf-8")
    new = scrub_text(text, json_lines=path.suffix in (".json", ".jsonl"))
    if new == text:
        return False
    if write:
        tmp = path.with_name(path.name + ".scrub-tmp")
        tmp.write_text(new, encoding="utf-8")
        os.replace(tmp, path)
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="*", type=Path, help=f"files or folders (default: {DEFAULT})")
    p.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would")
    args = p.parse_args(argv)
    paths = args.paths or [ROOT / d for d in DEFAULT]
    changed = [f for f in files_under(paths) if scrub_file(f, write=not args.check)]
    for f in changed:
        print(("would scrub " if args.check else "scrubbed ") + str(f))
    return int(bool(changed) and args.check)


if __name__ == "__main__":
    sys.exit(main())
