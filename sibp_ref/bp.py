"""Old path of :mod:`sibp_ref.methods.bp` (a re-export shim)."""

from .methods.bp import *  # noqa: F403
from .methods.bp import __all__  # noqa: F401
