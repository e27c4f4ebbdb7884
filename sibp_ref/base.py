"""Old path of :mod:`sibp_ref.methods.base` and the number checks (a re-export shim).

``check_int`` here defaults to ``minimum=1``; ``per_layer`` is
:func:`sibp_ref.validation.check_per_layer`.
"""

from __future__ import annotations

from typing import Any

from .validation import check_int as _check_int
from .validation import check_nonnegative, check_positive
from .validation import check_per_layer as per_layer


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """:func:`sibp_ref.validation.check_int` with ``minimum=1`` by default."""
    return _check_int(name, value, minimum)


# last: importing sibp_ref.methods imports modules that import this one
from .methods.base import Method  # noqa: E402

__all__ = ["Method", "check_positive", "check_nonnegative", "check_int", "per_layer"]
