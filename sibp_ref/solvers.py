"""Re-exports of :mod:`sibp_ref.inner` under the former module path (a shim)."""

from .inner.ncg import exact, ncg
from .inner.objective import ones_row, prox_objective
from .inner.prox_grad import prox_grad, soft_threshold, spectral_norm_sq
from .inner.result import InnerResult
from .inner.ridge import prox_ridge_bias

__all__ = [
    "InnerResult",
    "prox_objective",
    "ncg",
    "exact",
    "prox_grad",
    "spectral_norm_sq",
    "soft_threshold",
    "prox_ridge_bias",
    "ones_row",
]
