"""Step-size schedules ``k ↦ η_k`` for every method with a step size (BP, ProxBP, SIBP).

Theorem 4.2 (convergence of mini-batch SIBP) asks for step sizes with

.. math:: 0 < η_{k+1} ≤ η_k ≤ η_0 < \\tilde η,\\qquad \\sum_k η_k = ∞,\\qquad
          \\sum_k η_k^2 < ∞ .

:func:`inverse_power` ``η_k = η_0/(1 + k)^p`` satisfies all three exactly when
``1/2 < p ≤ 1``: it is decreasing, ``Σ (1+k)^{−p}`` diverges for ``p ≤ 1`` and
``Σ (1+k)^{−2p}`` converges for ``2p > 1`` (p-series). ``η_0`` must still be below the
theorem's unknown bound ``\\tilde η``, which depends on the problem.

:func:`constant` is the full-batch setting of Theorem 4.1 (a fixed η below
``\\bar η``); it does **not** satisfy Theorem 4.2 (``Σ η² = ∞``), and mini-batch SIBP
with it keeps moving by an amount set by the gradient noise.

A schedule is a plain callable ``eta_k = schedule(k)`` for ``k = 0, 1, 2, …`` (the
step count ``k`` every method keeps in its state); :func:`eta_at` reads it, with the
constant ``η`` when a method has no schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..validation import check_nonnegative, check_positive, describe

__all__ = [
    "constant",
    "inverse_power",
    "Constant",
    "InversePower",
    "check_schedule",
    "eta_at",
]


@dataclass(frozen=True)
class Constant:
    """``η_k = η_0`` for every k."""

    eta0: float
    satisfies_theorem_4_2 = False

    def __call__(self, k: int) -> float:
        return self.eta0


@dataclass(frozen=True)
class InversePower:
    """``η_k = η_0 / (1 + k)^p`` with ``1/2 < p ≤ 1`` (Theorem 4.2's conditions)."""

    eta0: float
    p: float
    satisfies_theorem_4_2 = True

    def __call__(self, k: int) -> float:
        return self.eta0 / (1.0 + k) ** self.p


def constant(eta0: float) -> Constant:
    """The constant schedule ``η_k = η_0`` (``η_0 > 0``)."""
    return Constant(check_positive("eta0", eta0))


def inverse_power(eta0: float, p: float = 0.75) -> InversePower:
    """``η_k = η_0/(1 + k)^p``; raises ValueError unless ``η_0 > 0`` and ``1/2 < p ≤ 1``.

    Non-increasing, ``Σ η_k = ∞`` (``p ≤ 1``) and ``Σ η_k² < ∞`` (``p > 1/2``): the step
    sizes of Theorem 4.2.
    """
    eta0 = check_positive("eta0", eta0)
    p = check_nonnegative("p", p)
    if not 0.5 < p <= 1.0:
        raise ValueError(
            f"p must satisfy 1/2 < p <= 1 so that sum eta_k = inf and sum eta_k^2 < inf "
            f"(Theorem 4.2), got {p!r}"
        )
    return InversePower(eta0, p)


def check_schedule(schedule: Any) -> Callable[[int], float] | None:
    """``schedule`` itself when it is ``None`` or a callable ``k ↦ η_k``; else a TypeError."""
    if schedule is not None and not callable(schedule):
        raise TypeError(
            f"schedule must be None or a callable k -> eta_k (e.g. "
            f"sibp_ref.inverse_power(1.0)), got {describe(schedule)}"
        )
    return schedule


def eta_at(eta: float, schedule: Callable[[int], float] | None, k: int) -> float:
    """``η_k``: ``schedule(k)`` (checked to be a finite number > 0), or ``eta`` without one."""
    if schedule is None:
        return eta
    return check_positive(f"schedule({k})", schedule(k))
