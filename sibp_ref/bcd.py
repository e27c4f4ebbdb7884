"""Old path of :mod:`sibp_ref.methods.bcd` (a re-export shim)."""

from .methods.bcd import *  # noqa: F403
from .methods.bcd import __all__  # noqa: F401
