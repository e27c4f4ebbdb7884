"""Shim: SIBP lives in :mod:`sibp_ref.methods.sibp`."""

from .methods.sibp import SIBP, SIBPState  # noqa: F401
