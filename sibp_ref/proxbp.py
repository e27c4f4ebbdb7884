"""Old path of :mod:`sibp_ref.methods.proxbp` (a re-export shim)."""

from .methods.proxbp import *  # noqa: F403
from .methods.proxbp import __all__  # noqa: F401
