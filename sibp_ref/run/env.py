"""The versions and backend recorded in every log header, so a result can be traced."""

from __future__ import annotations

import platform
import sys
from typing import Any

import numpy as np

from .. import backend as B

__all__ = ["environment"]


def environment(xp: Any) -> dict:
    """Versions of Python, NumPy, this package and the backend in use, and the platform."""
    from .. import __version__

    name = B.backend_name(xp)
    env = {
        "sibp_ref": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "backend": name,
        "platform": platform.platform(),
    }
    lib = {"cupy": "cupy", "torch": "torch", "array_api_strict": "array_api_strict"}.get(name)
    if lib and lib in sys.modules:
        env[lib] = getattr(sys.modules[lib], "__version__", "?")
    return env
