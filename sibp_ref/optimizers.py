"""Old path of :mod:`sibp_ref.methods.optimizers` (a re-export shim)."""

from .methods.optimizers import *  # noqa: F403
from .methods.optimizers import __all__  # noqa: F401
