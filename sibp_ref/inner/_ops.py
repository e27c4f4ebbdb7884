"""Small array operations shared by the inner solvers (no state, no caches)."""

from __future__ import annotations

from typing import Any

__all__ = ["vdot", "safe_ratio"]


def vdot(xp: Any, a: Any, b: Any) -> Any:
    """Frobenius inner product ``⟨a, b⟩`` of two arrays of one shape, as a 0-d array, in
    one pass (a BLAS dot on NumPy, where ``tensordot`` has more Python overhead). ``xp``
    is the arrays' namespace, passed in because the solvers call this in their loops."""
    return xp.vecdot(xp.reshape(a, (-1,)), xp.reshape(b, (-1,)))


def safe_ratio(xp: Any, num: Any, den: Any) -> Any:
    """``num / den`` for 0-d arrays, and 0 where ``den`` is 0 (no division by zero and no
    host synchronisation)."""
    ok = den > 0
    return xp.where(ok, num / xp.where(ok, den, xp.ones_like(den)), xp.zeros_like(num))


def times_data(D: Any, A: Any) -> Any:
    """``D A``. When ``A`` is one row (the b-subproblem's ``1ᵀ``) it is an outer product,
    computed by broadcasting: the same numbers, where a GEMM with inner dimension 1 costs
    as much as many elementwise passes."""
    return D * A if A.shape[0] == 1 else D @ A
