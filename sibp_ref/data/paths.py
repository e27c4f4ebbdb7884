"""Where the files of a data set are looked for, and the message when they are not there.

The folders, in order: an explicit ``data_dir``; the environment variable
``SIBP_REF_DATA``; the per-user cache ``$XDG_CACHE_HOME/sibp_ref`` (default
``~/.cache/sibp_ref``); and, for Fashion-MNIST, Debian's
``/usr/share/datasets/fashion-mnist`` (package ``dataset-fashion-mnist``). In each, a data
set's files may sit directly or in a sub-folder named after it (``mnist/``,
``fashion-mnist/``, ``cifar-10-batches-bin/``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ENV_VAR", "DEBIAN_FASHION", "CIFAR_DIRNAME", "cache_dir", "search_dirs"]

ENV_VAR = "SIBP_REF_DATA"
DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")
CIFAR_DIRNAME = "cifar-10-batches-bin"
DOWNLOADABLE = ("mnist", "fashion-mnist")


def cache_dir() -> Path:
    """The per-user cache: ``$XDG_CACHE_HOME/sibp_ref`` or ``~/.cache/sibp_ref``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sibp_ref"


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data set ``name``, in order (see the module docstring)."""
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir))
    if os.environ.get(ENV_VAR):
        roots.append(Path(os.environ[ENV_VAR]))
    roots.append(cache_dir())
    sub = CIFAR_DIRNAME if name == "cifar10" else name
    dirs: list[Path] = []
    for r in roots:
        dirs += [r, r / sub]
        if name == "cifar10":
            dirs.append(r / "cifar10" / CIFAR_DIRNAME)
    if name == "fashion-mnist":
        dirs.append(DEBIAN_FASHION)
    return dirs


def find_file(d: Path, stem: str) -> Path | None:
    """``d/stem`` or ``d/stem.gz``, whichever is a file (raw first), else None."""
    for cand in (d / stem, d / (stem + ".gz")):
        if cand.is_file():
            return cand
    return None


def find_in(dirs: Sequence[Path], stems: Sequence[str]) -> dict[str, Path] | None:
    """The first folder of ``dirs`` that holds every one of ``stems``: stem → path."""
    for d in dirs:
        files = {stem: find_file(d, stem) for stem in stems}
        if all(files.values()):
            return files  # type: ignore[return-value]
    return None


def missing_message(name: str, dirs: Sequence[Path], need: str) -> str:
    """Where ``name`` was looked for and every way to provide it."""
    where = ", ".join(str(d) for d in dirs)
    how = (
        f"pass --data-dir DIR (data_dir=...), set {ENV_VAR}=DIR, or copy the files into "
        f"{cache_dir() / name}"
    )
    if name in DOWNLOADABLE:
        how += f", or download them with `sibp-ref fetch {name}` (fetch(...) / download=True)"
    if name == "fashion-mnist":
        how += ", or apt install dataset-fashion-mnist"
    if name == "cifar10":
        how += (
            " (the binary version, cifar-10-binary.tar.gz from "
            "https://www.cs.toronto.edu/~kriz/cifar.html, unpacked)"
        )
    return f"data set {name!r} not found: looked for {need} in {where}; {how}"
