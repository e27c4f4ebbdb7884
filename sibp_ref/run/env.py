"""The versions and backend recorded in every log header, so a result can be traced."""

from __future__ import annotations

import platform
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .. import backend as B

__all__ = ["environment"]


def environment(xp: Any) -> dict:
    """Versions of Python, NumPy, this package and the backend in use, and the platform;
    ``sibp_ref_commit`` too where the package runs from a git checkout (:func:`source_commit`),
    so that a log says which code wrote it, e.g. before or after a solver was fixed."""
    name = B.backend_name(xp)
    env = {
        "sibp_ref": package_version(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "backend": name,
        "platform": platform.platform(),
    }
    commit = source_commit()
    if commit:
        env["sibp_ref_commit"] = commit
    lib = {"cupy": "cupy", "torch": "torch", "array_api_strict": "array_api_strict"}.get(name)
    if lib and lib in sys.modules:
        env[lib] = getattr(sys.modules[lib], "__version__", "?")
    return env


@lru_cache(maxsize=1)
def package_version() -> str:
    """This package's version as installed (``pip install``), read from its metadata, not
    from the package's top (which imports everything); ``"unknown"`` when not installed."""
    try:
        return metadata.version("sibp_ref")
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def source_commit() -> str | None:
    """The git commit of the checkout this package is imported from, with ``+dirty`` when
    ``sibp_ref/`` differs from it; None outside a git checkout or without git."""
    here = Path(__file__).resolve().parents[1]  # the sibp_ref package folder
    if not (here.parent / ".git").exists():  # installed, not a checkout (a venv may sit
        return None  # inside some other repository: its HEAD would say nothing about us)

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, timeout=10, check=False
        )

    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return None
        dirty = git("diff", "--quiet", "HEAD", "--", ".").returncode != 0
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+dirty" if dirty else "")
