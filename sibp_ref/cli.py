"""Moved to :mod:`sibp_ref.run.cli`; this module re-exports its names for old imports."""

from .run.cli import DEFAULT_COMPARE, MAIN_JOB_HYPER, build_parser, format_table, main

__all__ = ["DEFAULT_COMPARE", "MAIN_JOB_HYPER", "build_parser", "format_table", "main"]
