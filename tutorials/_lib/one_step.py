"""The machinery of tutorial 03 (one step, four ways): what one step did (its length, its angle
to ``−∇J``, ``J`` after it), the printed tables, the check of (4.1)'s optimality, the numbers of
the results file and the figure.

Nothing here takes a step or re-derives a method: the tutorial takes the steps, and SIBP's
errors δ (4.2) and targets ``F^{k+½}`` come from the step itself (``SIBP.step(..., trace=[])``).
The problem ``P`` is the tutorial's :class:`~types.SimpleNamespace`: ``net``, ``params0``
(``Θ^k``), ``X``, ``Y``, ``L`` (weight layers), ``sizes``, ``n``, the forward pass ``G, F``
(2.1), BP's ``grads`` (3.2) and ``delta_bp`` (3.1), and ``J0 = J(Θ^k)``.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import common
import numpy as np

from sibp_ref import backend as B

to = B.to_numpy
RULE = "=" * 96
COLORS = {"BP": "#7f7f7f", "ProxBP": "#2ca02c", "BCD": "#9467bd", "SIBP": "#d62728"}
PINK = "#ff9896"  # SIBP's target with BP's δ (3.1)
RESULT_KEYS = (
    "J_after",
    "angle_to_minus_grad_deg",
    "angle_per_layer_deg",
    "step_norm",
    "step_over_h_grad_norm",
)


# %% what a step did
def flat(params) -> np.ndarray:
    """Θ as one vector: ``W_1, b_1, W_2, b_2, …`` (row-major)."""
    return np.concatenate([np.concatenate([to(W).ravel(), to(b).ravel()]) for W, b in params])


def angle(u: np.ndarray, v: np.ndarray) -> float:
    """The angle between ``u`` and ``v`` in degrees (0 to 180)."""
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


def layer_change(new, old, i: int) -> np.ndarray:
    """``[ΔW_i, Δb_i]`` of layer ``i`` as one vector (the entries the figure's bars show)."""
    return np.concatenate(
        [(to(new[i][0]) - to(old[i][0])).ravel(), (to(new[i][1]) - to(old[i][1])).ravel()]
    )


def measure(P: SimpleNamespace, new, state, h: float) -> dict:
    """The step ``Θ^k → new`` at step size ``h``: its length, its angle to ``−∇J`` (whole and
    per layer), ``J`` after it and ``‖ΔΘ‖ / (h‖∇J‖)`` (1 for BP)."""
    minus_grad = -flat(P.grads)
    d = flat(new) - flat(P.params0)
    per_layer = [
        angle(layer_change(new, P.params0, i), -np.concatenate([to(g).ravel() for g in P.grads[i]]))
        for i in range(P.L)
    ]
    return {
        "params": new,
        "state": state,
        "step_norm": float(np.linalg.norm(d)),
        "angle_to_minus_grad_deg": angle(d, minus_grad),
        "angle_per_layer_deg": per_layer,
        "J_after": B.to_float(P.net.loss(new, P.X, P.Y)),
        "step_over_h_grad_norm": float(np.linalg.norm(d) / (h * np.linalg.norm(minus_grad))),
    }


def per_h_results(runs: dict) -> dict:
    """The results file's ``per_h``: each method's numbers (not its arrays) per step size."""
    return {
        str(h): {name: {k: v[k] for k in RESULT_KEYS} for name, v in r.items()}
        for h, r in runs.items()
    }


# %% the printed tables
def print_start(P: SimpleNamespace) -> None:
    print(f"network {P.sizes}, tanh, square loss (mean over n = {P.n}); J(Θ^k) = {P.J0:.5f}")
    print("layers in the paper's numbering: W_1 (3×2), W_2 (2×3), W_3 (2×2); F_1 = X\n")


def print_summary(P: SimpleNamespace, runs: dict) -> None:
    """J after one step, the angle to ``−∇J`` and the step's relative length, per ``h``;
    then how to read them (three step sizes, small to large)."""
    J0 = P.J0
    print(RULE)
    print("Summary: J after one step, the angle between the whole step and -∇J, and")
    print("||ΔΘ|| / (h ||∇J||)  (1 for BP; near 1 for ProxBP/SIBP when h is small)")
    print(RULE)
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

    h0, h1, h2 = runs
    hi = runs[h2]
    ang = {m: {h: r[m]["angle_to_minus_grad_deg"] for h, r in runs.items()} for m in runs[h1]}
    ratio = {m: {h: r[m]["step_over_h_grad_norm"] for h, r in runs.items()} for m in runs[h1]}
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


def print_side_by_side(P: SimpleNamespace, R: dict, h: float, eta: float) -> None:
    """``[ΔW | Δb]`` of every layer for every method at ``h``, with BP's ``−h ∂J/∂W``."""
    print(RULE)
    print(
        f"Side by side at h = {h:g} (BP lr {h:g}; ProxBP/SIBP η = {eta:g}, λ = {h / (2 * eta):g}; "
        f"BCD γ = ρ = 1, α = {1 / h:g})"
    )
    print(RULE)
    for i in range(P.L):
        dW, db = P.grads[i]
        print(f"\nLayer W_{i + 1} (paper's numbering), ΔW | Δb:")
        print(f"  -h ∂J/∂W (BP, (3.2)):\n{np.hstack([-h * to(dW), -h * to(db)])}")
        for name, v in R.items():
            (Wn, bn), (W0, b0) = v["params"][i], P.params0[i]
            print(
                f"  {name:6s} (angle to -∇J of this layer "
                f"{v['angle_per_layer_deg'][i]:5.1f}°):\n"
                f"{np.hstack([to(Wn) - to(W0), to(bn) - to(b0)])}"
            )


def print_targets(P: SimpleNamespace, T: SimpleNamespace) -> None:
    """Where each method wants the neurons to go (the first 3 samples): SIBP's ``F^{k+½}``,
    BCD's ``V`` and ``U``, ProxBP's ``T``, beside ``F^k`` and ``G^k``."""
    print("\n" + RULE)
    print("Targets: where each method wants the neurons to go (first 3 samples shown)")
    print(RULE)
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
    for i in range(1, P.L + 1):
        print(f"\n  neurons F[{i}] (paper's F_{i + 1}); F^k =\n{to(P.F[i])[:, :3]}")
        print(f"    SIBP target F^(k+1/2) = F - η δ (4.2):\n{T.F_half[i][:, :3]}")
        print(f"    BCD V:\n{to(T.bcd_state.V[i])[:, :3]}")
        print(f"    pre-activations G^k =\n{to(P.G[i])[:, :3]}")
        print(f"    ProxBP target T = G - η ∂J/∂G (old W, Jacobi):\n{T.prox_T[i - 1][:, :3]}")
        print(f"    BCD U:\n{to(T.bcd_state.U[i])[:, :3]}")


def delta_vs_bp(P: SimpleNamespace, delta_sibp: dict) -> dict:
    """SIBP's δ (4.2, new W) against BP's (3.1, old W) at each hidden layer: relative
    difference and angle, printed and returned as the results file keeps them."""
    print("\n" + RULE)
    print("SIBP's δ (4.2, new W) against BP's δ (3.1, old W), hidden layers")
    print(RULE)
    out = {}
    for i in range(P.L - 1, 0, -1):
        db = to(P.delta_bp[i])
        rel = float(np.linalg.norm(delta_sibp[i] - db) / np.linalg.norm(db))
        out[f"F_{i + 1}"] = {"rel_diff": rel, "angle_deg": angle(delta_sibp[i].ravel(), db.ravel())}
        print(
            f"  δ at F_{i + 1}: ||δ_SIBP - δ_BP|| / ||δ_BP|| = {rel:.3f}, "
            f"angle {out[f'F_{i + 1}']['angle_deg']:.1f}°"
        )
    print("""  The top layer's δ_N = ∂J/∂F_N is the same for both; below it SIBP already uses the
  updated W above (Gauss–Seidel). So the targets F^(k+1/2) = F − ηδ differ by η(δ_SIBP − δ_BP):
  SIBP asks a lower layer to fix what is still wrong AFTER the layers above have moved
  (middle panel of the figure: red arrows against pink ones).""")
    return out


# %% (4.1)'s optimality: W^{k+1} = W^k − λ ∇f(W^{k+1}) (claim C2)
def optimality(P: SimpleNamespace, new, F_half: dict, lam: float) -> list[float]:
    """``‖W^{k+1} − (W^k − λ∇f(W^{k+1}))‖ / ‖ΔW‖`` per layer, with ``f(W) = ‖σ(W F_i^k +
    b_i^k) − F_{i+1}^{k+½}‖²`` written out here (the W-half of (4.1), ``b^k`` fixed)."""
    kkt = []
    for i in range(P.L):
        sig = P.net.activation_of(i)
        Wn, W0, b0 = to(new[i][0]), to(P.params0[i][0]), to(P.params0[i][1])
        Gn = B.asarray(Wn @ to(P.F[i]) + b0, P.backend)
        grad_f = 2 * ((to(sig.f(Gn)) - F_half[i + 1]) * to(sig.df(Gn))) @ to(P.F[i]).T
        kkt.append(float(np.linalg.norm(Wn - (W0 - lam * grad_f)) / np.linalg.norm(Wn - W0)))
    print(
        f"\n(4.1) optimality, ||W^(k+1) - (W^k - λ∇f(W^(k+1)))|| / ||ΔW|| per layer: "
        f"{[f'{r:.1e}' for r in kkt]}"
    )
    assert max(kkt) < 1e-5, kkt
    return kkt


# %% the figure
def _arrows(ax, start, end, color, label, zorder=2):
    ax.quiver(*start, *(end - start), angles="xy", scale_units="xy", scale=1, color=color,
              width=0.006, label=label, zorder=zorder)  # fmt: skip


def _bars(ax, P: SimpleNamespace, R: dict, i: int, h: float) -> None:
    """Layer ``i``'s ``ΔW, Δb`` entry by entry: ProxBP, BCD, SIBP as bars, BP's ``−h∇J`` as
    black ticks (▲▼ with its value where it is off the others' scale)."""
    W0 = to(P.params0[i][0])
    rows, cols = W0.shape
    names = [f"$W_{{{r + 1}{c + 1}}}$" for r in range(rows) for c in range(cols)]
    names += [f"$b_{{{r + 1}}}$" for r in range(rows)]
    x, width, top = np.arange(len(names)), 0.26, 0.0
    for j, name in enumerate(n for n in R if n != "BP"):
        d = layer_change(R[name]["params"], P.params0, i)
        top = max(top, np.abs(d).max())
        ax.bar(x + (j - 1) * width, d, width, color=COLORS[name], label=name)
    g = -h * np.concatenate([to(a).ravel() for a in P.grads[i]])
    lim = 1.45 * top
    ax.set_ylim(-lim, lim)
    inside = np.abs(g) <= 0.9 * lim  # a tick at the frame would be cut: a ▲▼ there too
    ax.plot(x[inside], g[inside], "k_", ms=20, mew=2.5, label=r"BP: $-h\nabla J$")
    for xo, gv in zip(x[~inside], g[~inside], strict=True):
        up = gv > 0
        ax.plot(xo, np.sign(gv) * 0.95 * lim, "k^" if up else "kv", ms=8)
        ax.annotate(f"BP {gv:+.2f}", (xo, np.sign(gv) * 0.95 * lim), xytext=(0, -10 if up else 10),
                    textcoords="offset points", ha="center", va="top" if up else "bottom",
                    fontsize=8)  # fmt: skip
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(x, names)
    angles = ", ".join(f"{n} {R[n]['angle_per_layer_deg'][i]:.0f}°" for n in R if n != "BP")
    ax.set_title(
        f"layer $W_{i + 1}$ ({rows}×{cols}): $\\Delta W$, $\\Delta b$ per entry\n"
        f"angle to $-\\nabla_{{W_{i + 1}, b_{i + 1}}} J$: {angles}",
        fontsize=10,
    )
    ax.set_ylabel("change in one step")


def plot(args, P: SimpleNamespace, R: dict, T: SimpleNamespace, h: float, eta: float) -> Path:
    """Top: ``ΔW, Δb`` of each layer. Bottom, the 2-unit hidden layer ``F_3`` (``F[2]``): the
    targets in ``G_3`` (ProxBP, BCD's ``U``) and in ``F_3`` (SIBP's ``F^{k+½}`` with δ by (4.2)
    and by (3.1), BCD's ``V``), and where each method's new weights move the neurons."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(17, 11), layout="constrained")
    for i in range(P.L):
        _bars(axes[0, i], P, R, i, h)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    axes[0, 1].legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 1.16), ncol=4,
                      fontsize=9, frameon=False)  # fmt: skip

    k = 2  # F[2], G[2]: the paper's F_3, G_3 (two units, drawn in the plane)
    Fk, Gk = to(P.F[k]), to(P.G[k])
    F_new = {n: to(P.net.forward(v["params"], P.X)[1][k]) for n, v in R.items()}
    G_prox = to(P.net.forward(R["ProxBP"]["params"], P.X)[0][k])
    F_bp_delta = Fk - eta * to(P.delta_bp[k])
    J = {n: f"$J$ {P.J0:.3f} → {v['J_after']:.3f}" for n, v in R.items()}

    ax = axes[1, 0]
    ax.scatter(*Gk, c="k", s=25, zorder=3, label=r"$G_3^k$ (6 samples)")
    _arrows(ax, Gk, T.prox_T[k - 1], COLORS["ProxBP"],
            r"ProxBP's target $G_3^k - \eta\,\partial J/\partial G_3$")  # fmt: skip
    _arrows(ax, Gk, to(T.bcd_state.U[k]), COLORS["BCD"], r"BCD's $U_3$ (too short to see)")
    ax.scatter(*G_prox, marker="x", color=COLORS["ProxBP"], s=40,
               label=r"$G_3^{k+1}$ after ProxBP (its ridge fit of the target)")  # fmt: skip
    ax.set_title("pre-activations $G_3$: ProxBP's and BCD's targets", fontsize=10)
    _frame(ax, [Gk, T.prox_T[k - 1], G_prox], "G_3")

    ax = axes[1, 1]
    ax.scatter(*Fk, c="k", s=25, zorder=3, label=r"$F_3^k = \tanh(G_3^k)$")
    sibp = r"SIBP's target $F_3^{k+1/2} = F_3^k - \eta\,\delta_3$, $\delta_3$ by (4.2): new $W_3$"
    _arrows(ax, Fk, T.F_half[k], COLORS["SIBP"], sibp)
    _arrows(ax, Fk, F_bp_delta, PINK, r"the same with BP's $\delta_3$ (3.1): old $W_3$")
    _arrows(ax, Fk, to(T.bcd_state.V[k]), COLORS["BCD"], r"BCD's $V_3$ (too short to see)")
    ax.set_title(r"activations $F_3$: SIBP's target $F_3^{k+1/2}$, (4.2) against (3.1)",
                 fontsize=10)  # fmt: skip
    pts = [Fk, T.F_half[k], F_bp_delta, *F_new.values()]
    _frame(ax, pts, "F_3")

    ax = axes[1, 2]
    ax.scatter(*Fk, c="k", s=25, zorder=3, label=r"$F_3^k$")
    for name, z in zip(R, (2, 4, 5, 3), strict=True):  # the shorter arrows on top
        _arrows(ax, Fk, F_new[name], COLORS[name], f"{name}: $F_3^{{k+1}}$, {J[name]}", z)
    ax.set_title("activations $F_3$: where each method's new weights put them", fontsize=10)
    _frame(ax, pts, "F_3")
    fig.suptitle(
        f"One step, four ways: MLP {'-'.join(map(str, P.sizes))}, tanh, square loss, "
        f"$n = {P.n}$, matched step $h = {h:g}$\n"
        f"BP: lr $h$;  ProxBP and SIBP: $\\eta = {eta:g}$, $\\lambda = h/2$ "
        "($2\\lambda\\eta = h$), solved exactly;  BCD: $\\gamma = \\rho = 1$, $\\alpha = 1/h$",
        fontsize=12,
    )
    path = common.savefig(fig, args, "03_one_step_four_ways.png")
    plt.close(fig)
    return path


def _frame(ax, points: list, name: str, pad: float = 0.12) -> None:
    """Limits around every point and arrow head of the panel; legend below it; grid."""
    pts = np.hstack(points)
    ax.set_xlim(pts[0].min() - pad, pts[0].max() + pad)
    ax.set_ylim(pts[1].min() - pad, pts[1].max() + pad)
    ax.set_xlabel(f"unit 1 of ${name}$")
    ax.set_ylabel(f"unit 2 of ${name}$")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)
