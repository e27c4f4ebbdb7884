"""Where the gradient vanishes and where it explodes: Figure 2 of the paper (§5.1).

The toy problem of §5.1 is a deep *scalar* linear network, ``F(w) = (w_7 ⋯ w_1 − 1)²``.
With every weight equal, ``w_j = w``, it is

.. math:: f(w) = (w^7 − 1)^2, \\qquad f'(w) = 14\\, w^6 (w^7 − 1),

which the paper plots in Figure 2, with the sentence "gradient vanishing occurs when
``w ∈ [−0.8, 0.8]`` and gradient explosion occurs when ``w`` is outside of ``[−0.8, 1.2]``".

The factor ``w^6`` is the product of the *other six* weights: the chain rule multiplies
one factor per layer, so below ``|w| = 1`` the gradient shrinks like ``|w|^6`` (at the
§5.1 initialisation ``w ≈ 0.15``, ``|f'| ≈ 1.6e-4``) and above it grows like ``14|w|^13``.

"Vanishing" and "exploding" need thresholds; the paper gives none. This script

1. plots ``f`` and ``|f'|`` on ``w ∈ [−1.3, 1.3]`` (log scale for ``|f'|``), shading
   ``|f'| < τ_v`` (vanishing) and ``|f'| > τ_e`` (exploding) for stated ``τ_v, τ_e``;
2. evaluates ``|f'|`` at the paper's boundaries ``−0.8, 0.8, 1.2`` (and ``−1.2``);
3. for several thresholds, computes the exact sets ``{|f'| < τ}`` and ``{|f'| > τ}``
   (by bisection on a fine grid) so the reader can see which threshold, if any,
   reproduces the paper's intervals.

Run: ``python tutorials/01_vanishing_gradient.py`` (writes
``figures/01_vanishing_gradient.png`` and ``tutorials/results/01_vanishing_gradient.json``).
"""

# %%
from __future__ import annotations

from pathlib import Path

import common
import numpy as np

TAU_V = 1.0  # vanishing: |f'| < 1 (a step of lr·|f'| is below lr)
TAU_E = 10.0  # exploding: |f'| > 10
PAPER = {"vanishing": [-0.8, 0.8], "no_explosion": [-0.8, 1.2]}


def f(w):
    """Figure 2's function ``(w^7 − 1)²``."""
    return (w**7 - 1.0) ** 2


def df(w):
    """Its derivative ``14 w^6 (w^7 − 1)``: one factor ``w`` per other layer."""
    return 14.0 * w**6 * (w**7 - 1.0)


# %% [the check: f' against a central finite difference, as an independent oracle]
def finite_difference_check() -> float:
    """The largest relative error of ``df`` against a central difference of ``f``."""
    w_check = np.linspace(-1.3, 1.3, 27)
    h = 1e-6
    fd = (f(w_check + h) - f(w_check - h)) / (2 * h)
    fd_err = float(np.max(np.abs(fd - df(w_check)) / np.maximum(1.0, np.abs(df(w_check)))))
    assert fd_err < 1e-6, fd_err
    return fd_err


# %% [the sets {|f'| < τ} and {|f'| > τ} as intervals]
def level_sets(tau: float, lo: float = -1.3, hi: float = 1.3, n: int = 200_001):
    """Intervals of ``[lo, hi]`` where ``|f'| < tau`` and where ``|f'| > tau``.

    A fine grid finds the sign changes of ``|f'| − tau``; each crossing is then refined
    by bisection to 1e-12.
    """
    w = np.linspace(lo, hi, n)
    g = np.abs(df(w)) - tau
    edges = []
    for k in np.flatnonzero(np.sign(g[:-1]) != np.sign(g[1:])):
        a, b = w[k], w[k + 1]
        for _ in range(60):
            m = 0.5 * (a + b)
            if np.sign(abs(df(m)) - tau) == np.sign(abs(df(a)) - tau):
                a = m
            else:
                b = m
        edges.append(0.5 * (a + b))
    cuts = [lo, *edges, hi]
    below, above = [], []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        (below if abs(df(0.5 * (a + b))) < tau else above).append(
            [round(float(a), 4), round(float(b), 4)]
        )
    return below, above


def gradient_facts() -> dict:
    """|f'| at the paper's boundaries and where it is below / above each threshold."""
    thresholds = [0.1, 1.0, 3.0, 4.44, 10.0, 108.0]
    sets = {}
    for tau in thresholds:
        below, above = level_sets(tau)
        sets[str(tau)] = {"abs_grad_below": below, "abs_grad_above": above}

    at = {str(w): float(df(w)) for w in (-1.2, -0.8, 0.15, 0.5, 0.8, 0.9, 1.0, 1.1, 1.2)}
    max_01 = float(np.max(np.abs(df(np.linspace(0.8, 1.0, 20001)))))

    print("f'(w) = 14 w^6 (w^7 - 1) at the paper's boundaries:")
    for w in (-1.2, -0.8, 0.8, 1.2):
        print(f"  |f'({w:+.1f})| = {abs(df(w)):8.3f}")
    print(f"  |f'(0.15)| = {abs(df(0.15)):.2e}  (the §5.1 initialisation)")
    print(f"  max |f'| on [0.8, 1] = {max_01:.3f}  (the gradient falls to 0 at the minimum w = 1)")
    print("\nwhere |f'| < tau (vanishing) and > tau (exploding), w in [-1.3, 1.3]:")
    for tau in thresholds:
        s = sets[str(tau)]
        print(f"  tau = {tau:6g}: below {s['abs_grad_below']}\n{'':16}above {s['abs_grad_above']}")

    verdict = (
        "partly confirmed: qualitatively right (|f'| ~ 14|w|^6 is tiny for |w| well below 1, "
        "~14|w|^13 huge above 1), but no single threshold gives the stated boundaries. "
        f"|f'(0.8)| = {abs(df(0.8)):.2f} and |f'(-0.8)| = {abs(df(-0.8)):.2f} are not small "
        f"(|f'| < 1 only on about [{sets['1.0']['abs_grad_below'][0][0]}, "
        f"{sets['1.0']['abs_grad_below'][0][1]}]); 'explosion outside [-0.8, 1.2]' needs "
        f"tau_e ~ {abs(df(-0.8)):.1f} on the left but ~ {abs(df(1.2)):.0f} on the right "
        "(f' is not symmetric: |f'(-1.2)| = 192)."
    )
    print("\nverdict:", verdict)
    return {
        "grad_at": at,
        "max_abs_grad_on_0.8_to_1": max_01,
        "level_sets": sets,
        "verdict": verdict,
    }


# %% [Figure 2, with the thresholds drawn]
def plot(args) -> Path:
    """Figure 2 with the sets {|f'| < τ_v} and {|f'| > τ_e} shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 11})
    w = np.linspace(-1.3, 1.3, 4001)
    g = np.abs(df(w))
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 9), sharex=True)
    a1.semilogy(w, f(w), color="k", lw=1.8)
    a1.set_ylabel(r"$f(w) = (w^7 - 1)^2$")
    a1.set_title(
        r"Figure 2 (§5.1): $f(w) = (w^7 - 1)^2$, the 7-layer scalar net with every $w_j = w$"
    )
    a2.semilogy(w, np.maximum(g, 1e-12), color="k", lw=1.8, label=r"$|f'(w)| = |14 w^6 (w^7 - 1)|$")
    for ax in (a1, a2):
        for where, col in ((g < TAU_V, "tab:blue"), (g > TAU_E, "tab:red")):
            ax.fill_between(
                w,
                0,
                1,
                where=where,
                color=col,
                alpha=0.15,
                transform=ax.get_xaxis_transform(),
                lw=0,
            )
        for x in (-0.8, 0.8, 1.2):
            ax.axvline(x, ls="--", color="tab:purple", lw=1.2)
        ax.axvline(0.15, ls=":", color="tab:green", lw=2)
        ax.grid(alpha=0.3)
    a2.axhline(TAU_V, color="tab:blue", lw=1.2, ls="-.", label=rf"$\tau_v$ = {TAU_V:g}")
    a2.axhline(
        TAU_E, color="tab:red", lw=1.2, ls=(0, (5, 2, 1, 2, 1, 2)), label=rf"$\tau_e$ = {TAU_E:g}"
    )
    for x in (-0.8, 0.8, 1.2):
        a2.plot(x, abs(df(x)), "o", color="tab:purple", ms=7)
        a2.annotate(
            f"$|f'({x:g})|$ = {abs(df(x)):.3g}",
            (x, abs(df(x))),
            textcoords="offset points",
            xytext={-0.8: (8, 14), 0.8: (-60, 16), 1.2: (-135, 16)}[x],
            fontsize=11,
            color="tab:purple",
        )
    a2.fill_between([], [], color="tab:blue", alpha=0.15, label=r"vanishing: $|f'| < \tau_v$")
    a2.fill_between([], [], color="tab:red", alpha=0.15, label=r"exploding: $|f'| > \tau_e$")
    a2.plot([], [], "--", color="tab:purple", label="paper's boundaries −0.8, 0.8, 1.2")
    a2.plot([], [], ":", color="tab:green", lw=2, label=r"§5.1 initialisation $w \approx 0.15$")
    a2.set_ylim(1e-8, 1e4)
    a2.set_xlabel(r"$w$ (every one of the seven weights)")
    a2.set_ylabel(r"$|f'(w)|$")
    fig.tight_layout()
    fig.legend(loc="lower center", ncol=2, bbox_to_anchor=(0.5, -0.1), frameon=False)
    path = common.savefig(fig, args, "01_vanishing_gradient.png")
    plt.close(fig)
    return path


# %% [numbers]
def main(argv: list[str] | None = None) -> dict:
    args = common.options(__doc__, argv)
    fd_err = finite_difference_check()
    facts = gradient_facts()
    path = plot(args)
    print("wrote", path)
    results = {
        "settings": {"w_range": [-1.3, 1.3], "tau_vanish": TAU_V, "tau_explode": TAU_E},
        "paper": PAPER,
        **{k: facts[k] for k in ("grad_at", "max_abs_grad_on_0.8_to_1", "level_sets")},
        "finite_difference_check_max_rel_err": fd_err,
        "verdict": facts["verdict"],
    }
    common.save_results(args, "01_vanishing_gradient", results)
    return results


if __name__ == "__main__":
    main()
