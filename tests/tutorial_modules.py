"""Loading the tutorials and their ``tutorials/_lib`` in tests, as a user's run sees them.

A tutorial imports ``common`` and ``_lib`` from the folder it sits in, so both loaders put
``tutorials/`` first on ``sys.path`` (undone after the test, through ``monkeypatch``). A loaded
tutorial reads its options free of the environment's quick mode, backend and output folder
(the variables the quick-mode test sets), and draws with the non-interactive backend.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
ENVIRONMENT = ("SIBP_REF_QUICK", "SIBP_REF_BACKEND", "SIBP_REF_OUT")


def tutorials_lib(monkeypatch, *names: str) -> ModuleType:
    """The package ``tutorials/_lib`` with its modules ``names`` imported, as the tutorials
    import them (``from _lib import toy``): ``tutorials_lib(mp, "toy").toy``."""
    monkeypatch.syspath_prepend(str(TUTORIALS))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for name in names:
        importlib.import_module(f"_lib.{name}")
    return importlib.import_module("_lib")


def load_tutorial(name: str, monkeypatch) -> ModuleType:
    """``tutorials/<name>.py`` as a fresh module, its ``main`` not yet called."""
    for var in ENVIRONMENT:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.syspath_prepend(str(TUTORIALS))
    spec = importlib.util.spec_from_file_location(name, TUTORIALS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
