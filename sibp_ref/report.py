"""Moved to :mod:`sibp_ref.run.report`; this module re-exports its names for old imports."""

from .run.report import COLORS, method_label, plot_compare

__all__ = ["COLORS", "method_label", "plot_compare"]
