"""Inner solvers of SIBP's layer subproblem (4.1) and of the proximal ridge problems.

- :mod:`~sibp_ref.inner.objective`: the generic subproblem ``φ(Z)`` every solver minimises;
- :mod:`~sibp_ref.inner.ridge`: closed forms, dual and coefficient-space solves, linear CG
  (ProxBP's layers and SIBP's linear layers);
- :mod:`~sibp_ref.inner.cg_proxprop`: the published ProxProp code's CG, quirks included;
- :mod:`~sibp_ref.inner.line_search`: Armijo backtracking on the directly computed change;
- :mod:`~sibp_ref.inner.ncg`: nonlinear CG, Fletcher–Reeves or Polak–Ribière+;
- :mod:`~sibp_ref.inner.ncg_authors`: the published code's inner solver, quirks included;
- :mod:`~sibp_ref.inner.prox_grad`: proximal gradient for the ℓ1 variant (Remark 4.1);
- :mod:`~sibp_ref.inner.layer`: :func:`solve_layer`, (4.1) for one layer;
- :mod:`~sibp_ref.inner.result`: :class:`InnerResult` and its status.

**Who checks what.** A public solver checks its scalar settings (λ, ``iters``, ``tol``, a
choice of form) with a message naming the argument, since anyone may call it; it trusts its
arrays, which its callers take from a checked forward pass (``SIBP.step`` and
``ProxBP.step`` with ``check=True``, the training loop once per run). The private helpers
(``dual_coefficients``, ``cg_coefficients``, ``_solve_W`` …) trust everything: their
public caller checked it. :func:`solve_layer` trusts its caller too: SIBP checked λ and λ_b
when it was made.
"""

from .cg_proxprop import CGProxPropResult, cg_proxprop, cg_proxprop_affine
from .layer import LAYER_SOLVERS, solve_layer
from .line_search import Armijo, armijo_backtracking
from .ncg import exact, ncg
from .ncg_authors import ncg_authors
from .objective import ones_row, prox_objective
from .prox_grad import prox_grad, soft_threshold, spectral_norm_sq
from .result import InnerResult
from .ridge import (
    cg_coefficients,
    dual_coefficients,
    prox_ridge,
    prox_ridge_affine,
    prox_ridge_bias,
    prox_ridge_cg,
    prox_ridge_objective,
    split_bias,
    with_ones,
)

__all__ = [
    "Armijo",
    "CGProxPropResult",
    "InnerResult",
    "LAYER_SOLVERS",
    "armijo_backtracking",
    "cg_coefficients",
    "cg_proxprop",
    "cg_proxprop_affine",
    "dual_coefficients",
    "exact",
    "ncg",
    "ncg_authors",
    "ones_row",
    "prox_grad",
    "prox_objective",
    "prox_ridge",
    "prox_ridge_affine",
    "prox_ridge_bias",
    "prox_ridge_cg",
    "prox_ridge_objective",
    "soft_threshold",
    "solve_layer",
    "spectral_norm_sq",
    "split_bias",
    "with_ones",
]
