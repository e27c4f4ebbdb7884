"""One step, four ways: what BP, ProxBP, BCD and SIBP each do to the weights and the neurons.

A tiny network, ``2 → 3 → 2 → 2`` with tanh and the square loss (mean over ``n = 6``
samples), one starting point ``Θ^k``, and **one step** of each method of the paper's
Table 1. The script prints, with the paper's equation numbers,

- ``ΔW`` and ``Δb`` of each layer for each method, and the angle between each method's
  whole step and ``−∇J`` (the direction BP takes);
- the **targets** each method fits, i.e. where it wants the neurons to go:
  BP none (it only moves ``W`` along ``−∂J/∂W``, (3.2));
  ProxBP the pre-activations ``T_i = G_{i+1}^k − η ∂J/∂G_{i+1}^k`` (§3.2, all from the old
  weights, Jacobi);
  BCD its auxiliary blocks ``U_i`` (pre-activations) and ``V_i`` (activations), §3.3;
  SIBP the activations ``F_i^{k+½} = F_i^k − η δ_i`` with ``δ_i`` from (4.2);
- the difference between SIBP's error (4.2), ``δ_i = (W_i^{k+1})ᵀ(σ'(G_{i+1}^k) ⊙ δ_{i+1})``
  with the **new** weights, and BP's (3.1), the same with the **old** ones;
- the loss ``J`` before and after, and a check of (4.1)'s optimality condition
  ``W^{k+1} = W^k − λ∇f(W^{k+1})`` (the implicit, proximal step; claim C2).

**Matching the step sizes.** Every method gets one "step size" ``h``:

- BP: plain SGD with learning rate ``h``;
- ProxBP and SIBP: ``η = 1`` and ``λ = h/2``, so ``2λη = h``. For small ``λ`` the proximal
  term dominates and both reduce to a gradient step of size ``2λη = h`` (ProxBP exactly
  to first order in λ, see :mod:`sibp_ref.methods.proxbp`; SIBP because ``argmin f(W) +
  ||W − W^k||²/(2λ) ≈ W^k − λ∇f(W^k)`` and ``∇f = 2η ∂J/∂W`` at ``W^k``,
  ``docs/conventions.md §2``);
  SIBP is solved exactly (``solver="exact"``) so that we see the method, not NCG;
- BCD has no step size that maps onto BP's: it minimises its own penalty function.
  We take ``γ = ρ = 1`` and ``α = ρ/(2λ) = 1/h``, which gives its ``(W, b)`` block the same
  proximal weight ``1/(2λ)`` as ProxBP's and SIBP's ridge problems.

Three step sizes are run: ``h = 0.01`` (all but BCD agree: angles near 0°, the
matching works), ``h = 1`` (the figure: the implicit methods start to differ from BP)
and ``h = 20`` (BP overshoots and ``J`` goes up; the implicit steps stay bounded).

Run: ``python tutorials/03_one_step_four_ways.py`` (a few seconds). Writes
``figures/03_one_step_four_ways.png`` and ``tutorials/results/03_one_step_four_ways.json``.
"""

# %%
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import common
import numpy as np

from sibp_ref import BCD, BP, MLP, SIBP, ProxBP
from sibp_ref import backend as B

SIZES = [2, 3, 2, 2]  # the 2-unit hidden layer F[2] (the paper's F_3) is drawn in the plane
N = 6
STEPS = [0.01, 1.0, 20.0]  # h; the figure uses FIG_H
FIG_H = 1.0
ETA = 1.0
to = B.to_numpy


def problem(backend) -> SimpleNamespace:
    """The network, Θ^k and the data ``(X, Y)`` every method steps from."""
    net = MLP(SIZES, "tanh", "square", bias=True)
    params0 = net.init(seed=2, std=0.5, xp=backend)  # tanh not saturated: F_3 spread out
    rng = np.random.default_rng(0)
    X = B.asarray(rng.normal(size=(2, N)), backend)
    Y = B.asarray(np.tanh(np.array([[1.5, -1.0], [1.0, 1.5]]) @ B.to_numpy(X)), backend)
    return SimpleNamespace(net=net, params0=params0, X=X, Y=Y, L=net.num_layers, backend=backend)


def methods(h: float) -> dict:
    """The four methods at the matched step size ``h`` (module docstring)."""
    lam = h / (2 * ETA)
    return {
        "BP": BP(lr=h),
        "ProxBP": ProxBP(eta=ETA, lam=lam, solver="exact"),
        "BCD": BCD(gamma=1.0, rho=1.0, alpha=1.0 / h),
        "SIBP": SIBP(eta=ETA, lam=lam, solver="exact", tol=1e-13, max_iters=5000),
    }


def flat(p) -> np.ndarray:
    return np.concatenate([np.concatenate([to(W).ravel(), to(b).ravel()]) for W, b in p])


def angle(u: np.ndarray, v: np.ndarray) -> float:
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


# %% [the starting point: forward pass (2.1) and BP's δ (3.1)]
def starting_point(P: SimpleNamespace) -> None:
    """G, F (2.1), BP's gradients and δ (3.1) at Θ^k, and J(Θ^k), kept on ``P``."""
    net, params0, X, Y = P.net, P.params0, P.X, P.Y
    P.G, P.F = G, F = net.forward(params0, X)
    P.grads, P.delta_bp = grads, delta_bp = net.backward(params0, G, F, Y)
    P.J0 = J0 = B.to_float(net.loss(params0, X, Y))
    P.minus_grad = -flat(grads)
    print(f"network {SIZES}, tanh, square loss (mean over n = {N}); J(Θ^k) = {J0:.5f}")
    print("layers in the paper's numbering: W_1 (3×2), W_2 (2×3), W_3 (2×2); F_1 = X\n")


# %% [one step of each method]
def one_step(P: SimpleNamespace, h: float) -> dict:
    """One step of each method from Θ^k at the matched step size ``h``."""
    net, params0, X, Y, L, grads, minus_grad = (
        P.net,
        P.params0,
        P.X,
        P.Y,
        P.L,
        P.grads,
        P.minus_grad,
    )
    out = {}
    for name, m in methods(h).items():
        new, state = m.step(net, params0, m.init(net, params0), X, Y)
        d = flat(new) - flat(params0)
        per_layer = []
        for i in range(L):
            dWi = np.concatenate(
                [
                    (to(new[i][0]) - to(params0[i][0])).ravel(),
                    (to(new[i][1]) - to(params0[i][1])).ravel(),
                ]
            )
            gi = -np.concatenate([to(grads[i][0]).ravel(), to(grads[i][1]).ravel()])
            per_layer.append(angle(dWi, gi))
        out[name] = {
            "params": new,
            "state": state,
            "step_norm": float(np.linalg.norm(d)),
            "angle_to_minus_grad_deg": angle(d, minus_grad),
            "angle_per_layer_deg": per_layer,
            "J_after": B.to_float(net.loss(new, X, Y)),
            "step_over_h_grad_norm": float(np.linalg.norm(d) / (h * np.linalg.norm(minus_grad))),
        }
    return out


def summary_table(P: SimpleNamespace, runs: dict) -> None:
    J0 = P.J0
    print("=" * 96)
    print("Summary: J after one step, the angle between the whole step and -∇J, and")
    print("||ΔΘ|| / (h ||∇J||)  (1 for BP; near 1 for ProxBP/SIBP when h is small)")
    print("=" * 96)
    print(
        f"{'h':>6} {'method':>7} {'J before':>10} {'J after':>10} {'angle':>8} "
        f"{'|step|/(h|∇J|)':>15}"
    )
    for h, r in runs.items():
        for name, v in r.items():
            print(
                f"{h:6g} {name:>7} {J0:10.5f} {v['J_after']:10.5f} "
                f"{v['angle_to_minus_grad_deg']:7.1f}° {v['step_over_h_grad_norm']:15.3f}"
            )
        print()

    lo, mid, hi = (runs[x] for x in STEPS)
    ang = {name: {x: runs[x][name]["angle_to_minus_grad_deg"] for x in STEPS} for name in runs[1.0]}
    ratio = {name: {x: runs[x][name]["step_over_h_grad_norm"] for x in STEPS} for name in runs[1.0]}
    h0, h1, h2 = STEPS
    print(f"""Reading the table:
- h = {h0:g}: ProxBP and SIBP are BP up to {max(ang["ProxBP"][h0], ang["SIBP"][h0]):.1f}° with step
  length ratios {ratio["ProxBP"][h0]:.2f} and {ratio["SIBP"][h0]:.2f}: for small λ the proximal term
  dominates and both are a gradient step of size 2λη = h (§3.2, (4.1)). BCD hardly moves:
  α = 1/h is a heavy proximal weight, and its first sweep starts where every penalty is
  zero (U = G, V = F).
- h = {h1:g}: λ = h/2 is no longer small against ||F||², so the implicit steps are shorter
  than BP's ({ratio["ProxBP"][h1]:.2f} and {ratio["SIBP"][h1]:.2f} of h||∇J||) and turn \
{ang["ProxBP"][h1]:.0f}° and {ang["SIBP"][h1]:.0f}° away from −∇J.
- h = {h2:g}: BP's explicit step overshoots (J {J0:.3f} → {hi["BP"]["J_after"]:.1f}); ProxBP, BCD
  and SIBP minimise a problem that contains the proximal term, so their steps stay bounded
  whatever λ (J → {hi["ProxBP"]["J_after"]:.3f}, {hi["BCD"]["J_after"]:.3f}, \
{hi["SIBP"]["J_after"]:.3f}): the "unconditionally stable" remark after (4.1).
""")


# %% [side by side at h = FIG_H: ΔW per layer]
def side_by_side(P: SimpleNamespace, R: dict, h: float) -> None:
    params0, L, grads = P.params0, P.L, P.grads
    lam = h / (2 * ETA)
    print("=" * 96)
    print(
        f"Side by side at h = {h:g} (BP lr {h:g}; ProxBP/SIBP η = {ETA:g}, λ = {lam:g}; "
        f"BCD γ = ρ = 1, α = {1 / h:g})"
    )
    print("=" * 96)
    for i in range(L):
        print(f"\nLayer W_{i + 1} (paper's numbering), ΔW | Δb:")
        print(f"  -h ∂J/∂W (BP, (3.2)):\n{np.hstack([-h * to(grads[i][0]), -h * to(grads[i][1])])}")
        for name, v in R.items():
            Wn, bn = v["params"][i]
            dW = np.hstack([to(Wn) - to(params0[i][0]), to(bn) - to(params0[i][1])])
            print(
                f"  {name:6s} (angle to -∇J of this layer "
                f"{v['angle_per_layer_deg'][i]:5.1f}°):\n{dW}"
            )


# %% [the targets each method fits]
def targets(P: SimpleNamespace, R: dict) -> SimpleNamespace:
    """SIBP's δ (4.2) and targets F^(k+½), ProxBP's T, BCD's U and V at the figure's h."""
    net, Y, L = P.net, P.Y, P.L
    G, F, delta_bp = P.G, P.F, P.delta_bp
    sibp_new = R["SIBP"]["params"]
    # SIBP's δ by (4.2): NEW weights, OLD pre-activations; BP's by (3.1): OLD weights
    delta_si = [None] * (L + 1)
    delta_si[L] = to(net.loss_fn.grad(F[L], Y))
    F_half = {L: to(F[L]) - ETA * delta_si[L]}
    for i in range(L - 1, 0, -1):
        sp = to(net.activation_of(i).df(G[i + 1]))
        delta_si[i] = to(sibp_new[i][0]).T @ (sp * delta_si[i + 1])
        F_half[i] = to(F[i]) - ETA * delta_si[i]
    prox_T = {
        i: to(G[i + 1]) - ETA * to(net.activation_of(i).df(G[i + 1])) * to(delta_bp[i + 1])
        for i in range(L)
    }
    bcd_state = R["BCD"]["state"]

    print("\n" + "=" * 96)
    print("Targets: where each method wants the neurons to go (first 3 samples shown)")
    print("=" * 96)
    print("BP     : no neuron target; W moves along -∂J/∂W = -(σ'(G) ⊙ δ) Fᵀ   (3.1)-(3.2)")
    print(
        "ProxBP : fits pre-activations T_i = G_{i+1} - η ∂J/∂G_{i+1}, linear in θ = [W, b], "
        "σ outside"
    )
    print(
        "BCD    : auxiliary U_i (pre-activation), V_i (activation); minimises its penalty function"
    )
    print(
        "SIBP   : fits activations F_{i+1}^{k+½} = F_{i+1} - η δ_{i+1} through σ: (4.1), δ by (4.2)"
    )
    for i in range(1, L + 1):
        print(f"\n  neurons F[{i}] (paper's F_{i + 1}); F^k =\n{to(F[i])[:, :3]}")
        print(f"    SIBP target F^(k+1/2) = F - η δ (4.2):\n{F_half[i][:, :3]}")
        print(f"    BCD V:\n{to(bcd_state.V[i])[:, :3]}")
        print(f"    pre-activations G^k =\n{to(G[i])[:, :3]}")
        print(f"    ProxBP target T = G - η ∂J/∂G (old W, Jacobi):\n{prox_T[i - 1][:, :3]}")
        print(f"    BCD U:\n{to(bcd_state.U[i])[:, :3]}")

    print("\n" + "=" * 96)
    print("SIBP's δ (4.2, new W) against BP's δ (3.1, old W), hidden layers")
    print("=" * 96)
    delta_diff = {}
    for i in range(L - 1, 0, -1):
        db = to(delta_bp[i])
        rel = float(np.linalg.norm(delta_si[i] - db) / np.linalg.norm(db))
        delta_diff[f"F_{i + 1}"] = {
            "rel_diff": rel,
            "angle_deg": angle(delta_si[i].ravel(), db.ravel()),
        }
        print(
            f"  δ at F_{i + 1}: ||δ_SIBP - δ_BP|| / ||δ_BP|| = {rel:.3f}, "
            f"angle {delta_diff[f'F_{i + 1}']['angle_deg']:.1f}°"
        )
    print("""  The top layer's δ_N = ∂J/∂F_N is the same for both; below it SIBP already uses the
  updated W above (Gauss–Seidel). So the targets F^(k+1/2) = F − ηδ differ by η(δ_SIBP − δ_BP):
  SIBP asks a lower layer to fix what is still wrong AFTER the layers above have moved
  (middle panel of the figure: red arrows against pink ones).""")
    return SimpleNamespace(
        sibp_new=sibp_new,
        delta_si=delta_si,
        F_half=F_half,
        prox_T=prox_T,
        bcd_state=bcd_state,
        delta_diff=delta_diff,
    )


# %% [check (4.1)'s optimality: W^{k+1} = W^k − λ ∇f(W^{k+1}), claim C2]
def optimality(P: SimpleNamespace, T: SimpleNamespace, lam: float) -> list[float]:
    """The residual of the fixed-point form of (4.1) for SIBP's new W, per layer."""
    net, params0, L, F = P.net, P.params0, P.L, P.F
    sibp_new, F_half = T.sibp_new, T.F_half
    kkt = []
    for i in range(L):
        sig = net.activation_of(i)
        Wn = to(sibp_new[i][0])
        b0 = to(params0[i][1])
        Gn = Wn @ to(F[i]) + b0  # (4.1) solves W with b^k fixed
        grad_f = (
            2
            * (
                (to(sig.f(B.asarray(Gn, P.backend))) - F_half[i + 1])
                * to(sig.df(B.asarray(Gn, P.backend)))
            )
            @ to(F[i]).T
        )
        res = np.linalg.norm(Wn - (to(params0[i][0]) - lam * grad_f)) / np.linalg.norm(
            Wn - to(params0[i][0])
        )
        kkt.append(float(res))
    print(
        f"\n(4.1) optimality, ||W^(k+1) - (W^k - λ∇f(W^(k+1)))|| / ||ΔW|| per layer: "
        f"{[f'{r:.1e}' for r in kkt]}"
    )
    assert max(kkt) < 1e-5, kkt
    return kkt


# %% [the figure]
def arrows(ax, start, end, color, label):
    ax.quiver(
        start[0],
        start[1],
        end[0] - start[0],
        end[1] - start[1],
        angles="xy",
        scale_units="xy",
        scale=1,
        color=color,
        width=0.006,
        label=label,
    )


def plot(args, P: SimpleNamespace, R: dict, T: SimpleNamespace, h: float) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    net, params0, X, L = P.net, P.params0, P.X, P.L
    G, F, grads, delta_bp, J0 = P.G, P.F, P.grads, P.delta_bp, P.J0
    F_half, prox_T, bcd_state = T.F_half, T.prox_T, T.bcd_state
    COLORS = {"BP": "#7f7f7f", "ProxBP": "#2ca02c", "BCD": "#9467bd", "SIBP": "#d62728"}
    fig, axes = plt.subplots(2, 3, figsize=(17, 10))
    for i in range(L):
        ax = axes[0, i]
        W0 = to(params0[i][0])
        names = [f"W{r + 1}{c + 1}" for r in range(W0.shape[0]) for c in range(W0.shape[1])]
        names += [f"b{r + 1}" for r in range(W0.shape[0])]
        x = np.arange(len(names))
        width = 0.26
        others = [n for n in R if n != "BP"]
        top = 0.0
        for j, name in enumerate(others):
            v = R[name]
            Wn, bn = v["params"][i]
            d = np.concatenate([(to(Wn) - W0).ravel(), (to(bn) - to(params0[i][1])).ravel()])
            top = max(top, np.abs(d).max())
            ax.bar(
                x + (j - 1) * width,
                d,
                width,
                color=COLORS[name],
                label=f"{name} ({v['angle_per_layer_deg'][i]:.0f}°)",
            )
        # BP's step is −h∇J exactly: drawn as tick marks, clipped to the others' scale
        gi = -h * np.concatenate([to(grads[i][0]).ravel(), to(grads[i][1]).ravel()])
        lim = 1.35 * top
        ax.set_ylim(-lim, lim)
        inside = np.abs(gi) <= lim
        ax.plot(x[inside], gi[inside], "k_", ms=22, mew=2.5, label="BP = −h∇J (0°)")
        for xo, g in zip(x[~inside], gi[~inside], strict=True):
            ax.plot(xo, np.sign(g) * 0.97 * lim, "k^" if g > 0 else "kv", ms=8)
            ax.annotate(
                f"BP {g:+.2f}",
                (xo, np.sign(g) * 0.88 * lim),
                ha="center",
                fontsize=7,
                va="top" if g > 0 else "bottom",
            )
        ax.axhline(0, color="k", lw=0.5)
        ax.set_xticks(x, names, fontsize=8)
        ax.set_title(
            f"layer W_{i + 1} ({W0.shape[0]}×{W0.shape[1]}): ΔW, Δb per entry\n"
            "legend: angle to −∇J of this layer"
        )
        ax.set_ylabel("change in one step")
        ax.legend(fontsize=8)

    # neurons of the 2-D hidden layer: F[2] is the paper's F_3 (input of W_3), G[2] its G_3
    k2 = 2
    Fk, Gk = to(F[k2]), to(G[k2])

    ax = axes[1, 0]
    ax.scatter(*Gk, c="k", s=25, zorder=3, label="G_3^k (6 samples)")
    arrows(ax, Gk, prox_T[k2 - 1], COLORS["ProxBP"], "ProxBP target G − η∂J/∂G")
    arrows(ax, Gk, to(bcd_state.U[k2]), COLORS["BCD"], "BCD's U_3")
    Gn, _ = net.forward(R["ProxBP"]["params"], X)
    ax.scatter(
        *to(Gn[k2]),
        marker="x",
        color=COLORS["ProxBP"],
        s=40,
        label="G_3^(k+1) after ProxBP (its fit of the target)",
    )
    ax.set_title("pre-activation space G_3 (2-D hidden layer)\nProxBP's and BCD's targets")
    ax.set_xlabel("unit 1")
    ax.set_ylabel("unit 2")
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    ax.scatter(*Fk, c="k", s=25, zorder=3, label="F_3^k = tanh(G_3^k)")
    arrows(ax, Fk, F_half[k2], COLORS["SIBP"], "SIBP target F − ηδ, δ by (4.2), new W_3")
    arrows(ax, Fk, Fk - ETA * to(delta_bp[k2]), "#ff9896", "same with δ by (3.1), old W_3")
    arrows(ax, Fk, to(bcd_state.V[k2]), COLORS["BCD"], "BCD's V_3")
    ax.set_title("activation space F_3: SIBP's target F^(k+½) (4.2)\nvs BP's δ (3.1) and BCD's V")
    ax.set_xlabel("unit 1")
    ax.set_ylabel("unit 2")
    ax.legend(fontsize=8, loc="lower left")

    ax = axes[1, 2]
    ax.scatter(*Fk, c="k", s=25, zorder=3, label="F_3^k")
    for name, v in R.items():
        _, Fn = net.forward(v["params"], X)
        arrows(
            ax, Fk, to(Fn[k2]), COLORS[name], f"{name}: F_3^(k+1), J {J0:.3f} → {v['J_after']:.3f}"
        )
    ax.set_title(
        "activation space F_3: where the neurons actually go\n(forward pass with each "
        "method's new weights)"
    )
    ax.set_xlabel("unit 1")
    ax.set_ylabel("unit 2")
    ax.legend(fontsize=8, loc="lower left")
    pts = [Fk] + [to(net.forward(R[n]["params"], X)[1][k2]) for n in ("ProxBP", "BCD", "SIBP")]
    pts = np.hstack(pts + [F_half[k2]])
    pad = 0.15
    for ax in axes[1, 1:]:
        ax.set_xlim(pts[0].min() - pad, pts[0].max() + pad)
        ax.set_ylim(pts[1].min() - pad, pts[1].max() + pad)
    for ax in axes[1]:
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"One step, four ways: MLP {SIZES}, tanh, square loss, n = {N}; matched step h = {h:g}: "
        f"BP lr = h; ProxBP & SIBP η = {ETA:g}, λ = h/2 (2λη = h), SIBP exact; "
        f"BCD γ = ρ = 1, α = 1/h",
        fontsize=12,
    )
    fig.tight_layout()
    path = common.savefig(fig, args, "03_one_step_four_ways.png")
    plt.close(fig)
    return path


# %% [numbers]
def main(argv: list[str] | None = None) -> dict:
    args = common.options(__doc__, argv)
    np.set_printoptions(precision=4, suppress=True, linewidth=120)
    P = problem(args.backend)
    starting_point(P)
    runs = {h: one_step(P, h) for h in STEPS}
    summary_table(P, runs)
    h = FIG_H
    lam = h / (2 * ETA)
    R = runs[h]
    side_by_side(P, R, h)
    T = targets(P, R)
    kkt = optimality(P, T, lam)
    path = plot(args, P, R, T, h)
    print("wrote", path)
    J0, delta_diff = P.J0, T.delta_diff
    common.save_results(
        args,
        "03_one_step_four_ways",
        {
            "settings": {
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
            },
            "J_before": J0,
            "per_h": {
                str(hh): {
                    name: {
                        k: v[k]
                        for k in (
                            "J_after",
                            "angle_to_minus_grad_deg",
                            "angle_per_layer_deg",
                            "step_norm",
                            "step_over_h_grad_norm",
                        )
                    }
                    for name, v in r.items()
                }
                for hh, r in runs.items()
            },
            "delta_sibp_vs_bp_at_figure_h": delta_diff,
            "sibp_41_optimality_rel_residual": kkt,
        },
    )
    return runs


if __name__ == "__main__":
    main()
