"""What an inner solver returns, and why it stopped (as scipy's ``OptimizeResult``)."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["InnerResult", "CONVERGED", "ITERATION_LIMIT", "LINE_SEARCH_FAILED", "STATUSES"]

CONVERGED = "converged"
ITERATION_LIMIT = "iteration_limit"
LINE_SEARCH_FAILED = "line_search_failed"
STATUSES = (CONVERGED, ITERATION_LIMIT, LINE_SEARCH_FAILED)


class InnerResult(NamedTuple):
    """The result of one inner solve of (4.1).

    Attributes
    ----------
    x : the last iterate (the approximate minimiser ``Z``).
    G : ``x A + C`` at it: the layer's new pre-activation, reused by the caller.
    n_iter : the number of iterations taken (steps applied or attempted).
    status : why the solver stopped:

        - ``"converged"``: the stopping test held (``tol > 0``), or the gradient is zero;
        - ``"iteration_limit"``: the fixed ``iters`` (or ``max_iters``) were used up;
        - ``"line_search_failed"``: no trial step passed the line search; ``x`` is the
          last accepted iterate (the objective never increases).
    """

    x: Any
    G: Any
    n_iter: int
    status: str
