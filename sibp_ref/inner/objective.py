"""The generic form of SIBP's layer subproblem (4.1), shared by every inner solver.

Every solver in :mod:`sibp_ref.inner` minimises, over a matrix unknown ``Z`` of shape
``(m, d)``,

.. math:: φ(Z) = \\|σ(Z A + C) − T\\|^2 + \\frac{1}{2λ}\\|Z − Z^0\\|^2 \\;[+\\; γ\\|Z\\|_1]

with data ``A`` of shape ``(d, n)`` (samples as columns), a fixed offset ``C`` (``(m, n)``
or broadcastable, e.g. a bias column) and target ``T`` of shape ``(m, n)``. Both halves
of (4.1) have this form:

- the W-subproblem: ``Z = W``, ``A = F_i^k`` (the lifted input ``A(F_i^k)`` of a layer
  ``G = W·A(F) + b``), ``C = b_i^k``, ``T = F_{i+1}^{k+1/2}``;
- the b-subproblem: ``Z = b`` (shape ``(m, 1)``), ``A = 1ᵀ`` (:func:`ones_row`),
  ``C = W_i^{k+1} A(F_i^k)``.

The fit term is a plain Frobenius sum and the proximal term ``1/(2λ)``, as (4.1) writes
them (docs/conventions.md §2). The gradient of the smooth part is

.. math:: ∇φ(Z) = 2\\,(σ'(G) ⊙ R)\\,Aᵀ + (Z − Z^0)/λ,\\qquad G = ZA + C,\\; R = σ(G) − T,

and its zero is the proximal-point relation ``Z = Z^0 − λ ∇f(Z)`` (f the fit term).
"""

from __future__ import annotations

from typing import Any

from ..activations import get_activation
from ..backend import device_of, namespace

__all__ = ["prox_objective", "start_G", "ones_row"]


def start_G(A: Any, C: Any, Z0: Any, G0: Any) -> Any:
    """``G = Z^0 A + C``, or the given ``G0`` (e.g. the forward pass's ``G``)."""
    if G0 is not None:
        return G0
    G = Z0 @ A
    return G if C is None else G + C


def prox_objective(
    Z: Any,
    A: Any,
    T: Any,
    Z0: Any,
    lam: float,
    sigma: Any = "identity",
    *,
    C: Any = None,
    gamma: float = 0.0,
) -> Any:
    """``φ(Z) = ||σ(ZA + C) − T||² + ||Z − Z^0||²/(2λ) + γ||Z||_1`` as a 0-d array."""
    xp = namespace(Z, A, T)
    sig = get_activation(sigma)
    R = sig.f(start_G(A, C, Z, None)) - T
    E = Z - Z0
    val = xp.sum(R * R) + xp.sum(E * E) / (2.0 * lam)
    return val + gamma * xp.sum(xp.abs(Z)) if gamma else val


def ones_row(F: Any) -> Any:
    """The ``(1, n)`` row of ones that turns the b-subproblem into the generic form."""
    xp = namespace(F)
    return xp.ones((1, F.shape[1]), dtype=F.dtype, device=device_of(F))
