"""One step, four ways: what BP, ProxBP, BCD and SIBP each do to the weights and the neurons.

**The question.** From one starting point ``Θ^k`` of a tiny network (``2 → 3 → 2 → 2``, tanh,
square loss, mean over ``n = 6`` samples), how does **one step** of each method of the paper's
Table 1 differ: in the weights (``ΔW, Δb`` and the angle to ``−∇J``, the direction BP takes),
in the neurons each method aims at (its **targets**), and in ``J``? And how far is SIBP's error
(4.2), ``δ_i = (W_i^{k+1})ᵀ(σ'(G_{i+1}^k) ⊙ δ_{i+1})`` with the **new** weights, from BP's (3.1),
the same with the **old** ones?

**Matching the step sizes.** Every method gets one step size ``h``: BP is SGD with lr ``h``;
ProxBP and SIBP take ``η = 1, λ = h/2``, so ``2λη = h`` and both are a gradient step of size
``h`` for small λ (``docs/conventions.md §2``), SIBP solved exactly (``solver="exact"``) so that
we see the method, not NCG; BCD minimises its own penalty function, with no step that maps onto
BP's: ``γ = ρ = 1, α = 1/h`` gives its ``(W, b)`` block the same proximal weight ``1/(2λ)``.

**The answer** (every number in ``figures/03_one_step_four_ways.md``):

- ``h = 0.01``: ProxBP and SIBP are BP to about 1° and 2–3 % in length (the matching works);
  BCD hardly moves (its first sweep starts where every penalty is zero).
- ``h = 1`` (the figure): the implicit steps are shorter than BP's (0.35 and 0.38 of
  ``h‖∇J‖``) and turn 21° and 27° away from ``−∇J``; BP lowers ``J`` most (0.970 → 0.535,
  SIBP 0.644). SIBP's δ differs from BP's by 102 % (at ``F_3``) and 133 % (at ``F_2``): the
  Gauss–Seidel sweep asks a lower layer to fix what is still wrong after the layers above moved.
- ``h = 20``: BP overshoots (``J`` → 604); ProxBP, BCD and SIBP stay bounded and lower ``J``
  (SIBP most, to 0.433): the "unconditionally stable" remark after (4.1).
- (4.1)'s optimality ``W^{k+1} = W^k − λ∇f(W^{k+1})`` (claim C2) holds to ~1e-13.

SIBP's δ and targets ``F^{k+½} = F^k − ηδ`` are read from its own step
(``SIBP.step(..., trace=[])``), not re-derived. The printed tables, the (4.1) check and the
figure are in ``tutorials/_lib/one_step.py``.

Run: ``python tutorials/03_one_step_four_ways.py`` (a few seconds; ``--quick`` is the same run).
Writes ``figures/03_one_step_four_ways.png`` and ``tutorials/results/03_one_step_four_ways.json``;
the figure is redrawn by rerunning the script.
"""

# %%
from __future__ import annotations

from types import SimpleNamespace

import common
import numpy as np
from _lib import one_step

from sibp_ref import BCD, BP, MLP, SIBP, ProxBP
from sibp_ref import backend as B

SIZES = [2, 3, 2, 2]  # the 2-unit hidden layer F[2] (the paper's F_3) is drawn in the plane
N = 6
STEPS = [0.01, 1.0, 20.0]  # h; the figure uses FIG_H
FIG_H = 1.0
ETA = 1.0


# %% the starting point Θ^k, the forward pass (2.1), and BP's gradient (3.2) and δ (3.1)
def problem(backend: str) -> SimpleNamespace:
    """The network, ``Θ^k``, the data ``(X, Y)`` every method steps from, and BP at ``Θ^k``."""
    net = MLP(SIZES, "tanh", "square", bias=True)
    params0 = net.init(seed=2, std=0.5, xp=backend)  # tanh not saturated: F_3 spread out
    rng = np.random.default_rng(0)
    X = B.asarray(rng.normal(size=(2, N)), backend)
    Y = B.asarray(np.tanh(np.array([[1.5, -1.0], [1.0, 1.5]]) @ B.to_numpy(X)), backend)
    P = SimpleNamespace(net=net, params0=params0, X=X, Y=Y, L=net.num_layers, sizes=SIZES, n=N,
                        backend=backend)  # fmt: skip
    P.G, P.F = net.forward(params0, X)  # (2.1) at Θ^k
    P.grads, P.delta_bp = net.backward(params0, P.G, P.F, Y)  # (3.2), and (3.1) with the old W
    P.J0 = B.to_float(net.loss(params0, X, Y))
    return P


def methods(h: float) -> dict:
    """The four methods at the matched step size ``h`` (module docstring)."""
    lam = h / (2 * ETA)
    return {
        "BP": BP(lr=h),
        "ProxBP": ProxBP(eta=ETA, lam=lam, solver="exact"),
        "BCD": BCD(gamma=1.0, rho=1.0, alpha=1.0 / h),
        "SIBP": SIBP(eta=ETA, lam=lam, solver="exact", tol=1e-13, max_iters=5000),
    }


# %% one step of each method from Θ^k; SIBP keeps its intermediates (δ, F^{k+½}) in a trace
def step_each(P: SimpleNamespace, h: float) -> dict:
    out = {}
    for name, m in methods(h).items():
        traced = {"trace": []} if name == "SIBP" else {}
        new, state = m.step(P.net, P.params0, m.init(P.net, P.params0), P.X, P.Y, **traced)
        out[name] = one_step.measure(P, new, state, h) | traced
    return out


# %% the targets at h = FIG_H: SIBP's from its trace, ProxBP's from BP's ∂J/∂G, BCD's U and V
def targets(P: SimpleNamespace, R: dict) -> SimpleNamespace:
    """``delta_si[l]``, ``F_half[l]``: SIBP's δ (4.2) and ``F^{k+½} = F^k − ηδ`` at ``F[l]``,
    as its step computed them; ``prox_T[l]``: ProxBP's ``T = G^k − η ∂J/∂G^k`` at ``G[l+1]``
    (all from the old weights, Jacobi); ``bcd_state``: BCD's ``U``, ``V``."""
    trace = R["SIBP"]["trace"]  # one entry per layer, the paper's i = N−1, …, 1
    dJdG, _ = P.net.backward_G(P.params0, P.G, P.F, P.Y)  # ∂J/∂G_{i+1}^k, what ProxBP steps on
    return SimpleNamespace(
        delta_si={e.layer + 1: B.to_numpy(e.delta) for e in trace},
        F_half={e.layer + 1: B.to_numpy(e.target) for e in trace},
        prox_T={i: B.to_numpy(P.G[i + 1] - ETA * dJdG[i]) for i in range(P.L)},
        bcd_state=R["BCD"]["state"],
    )


# %% the numbers, the figure and the results file
def main(argv: list[str] | None = None) -> dict:
    args = common.options(__doc__.splitlines()[0], argv)
    np.set_printoptions(precision=4, suppress=True, linewidth=120)
    P = problem(args.backend)
    one_step.print_start(P)
    runs = {h: step_each(P, h) for h in STEPS}
    one_step.print_summary(P, runs)  # J after, angle to −∇J, step length, per h

    R = runs[FIG_H]
    one_step.print_side_by_side(P, R, FIG_H, ETA)  # ΔW | Δb of every layer
    T = targets(P, R)
    one_step.print_targets(P, T)
    delta_diff = one_step.delta_vs_bp(P, T.delta_si)  # (4.2) against (3.1)
    kkt = one_step.optimality(P, R["SIBP"]["params"], T.F_half, FIG_H / (2 * ETA))
    print("wrote", one_step.plot(args, P, R, T, FIG_H, ETA))

    settings = {
        "net": SIZES,
        "activation": "tanh",
        "loss": "square, mean over columns",
        "n": N,
        "init": "seed 2, N(0, 0.5) weights and biases",
        "data": "X ~ N(0,1) (seed 0), Y = tanh(A X), A = [[1.5, -1], [1, 1.5]]",
        "matching": "BP lr h; ProxBP/SIBP eta=1, lam=h/2 (2*lam*eta = h), exact solvers; "
        "BCD gamma=rho=1, alpha=1/h",
        "steps_h": STEPS,
        "figure_h": FIG_H,
    }
    common.save_results(args, "03_one_step_four_ways", {
        "settings": settings,
        "J_before": P.J0,
        "per_h": one_step.per_h_results(runs),
        "delta_sibp_vs_bp_at_figure_h": delta_diff,
        "sibp_41_optimality_rel_residual": kkt,
    })  # fmt: skip
    return runs


if __name__ == "__main__":
    main()
