"""Old path of :mod:`sibp_ref.methods.schedules` (a re-export shim)."""

from .methods.schedules import *  # noqa: F403
from .methods.schedules import __all__  # noqa: F401
