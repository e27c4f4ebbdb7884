"""Re-exports of :mod:`sibp_ref.inner.ridge` under the former module path (a shim)."""

from .inner.ridge import (
    cg_coefficients,
    dual_coefficients,
    prox_ridge,
    prox_ridge_affine,
    prox_ridge_cg,
    prox_ridge_objective,
    split_bias,
    with_ones,
)

__all__ = [
    "prox_ridge",
    "prox_ridge_cg",
    "prox_ridge_affine",
    "cg_coefficients",
    "dual_coefficients",
    "prox_ridge_objective",
    "with_ones",
    "split_bias",
]
