"""The machinery of tutorial 02 (SIBP against SGD on the §5.1 toy problem, Figure 3): one
run with its loss, weight moves and SIBP's effective steps; the iterations to halve the loss
over seeds; SGD's best stable rate; the check of SIBP's first step against its closed form;
the figure and the results file.

The problem (:func:`sibp_ref.toy_problem`) is the deep scalar linear network
``F(w) = Σ_{i=1}^{10} (w_7 ⋯ w_1 x_i − y_i)²``. With the identity activation each
subproblem (4.1) is a scalar ridge regression whose solution is

.. math:: w_i^{k+1} − w_i^k = −α_i ⟨δ_{i+1}, F_i⟩, \\qquad
          α_i = \\frac{2λη}{1 + 2λ\\|F_i\\|^2},

with δ from (4.2) (:func:`first_step_check` checks it against SIBP's own step).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace

import common
import numpy as np

from sibp_ref import BP, SIBP, toy_problem
from sibp_ref import backend as B

NAME = "02_toy_problem"
SGD_RATES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)  # tried from the largest down
SIBP_PAPER = dict(eta=2e-4, lam=5e5)  # 2λη = 200
SIBP_NATURAL = dict(eta=0.1, lam=0.5)  # 2λη = 0.1
CURVE_SEED = 3  # SGD's fastest seed (full mode: 5320 iterations to halve, full batch)
BLOWUP = 1e3  # a run counts as blown up above 1e3 × its starting loss (as iterations_to_halve)
MODES = ((1, "stochastic"), (None, "full"))  # batch 1 drawn with replacement; all 10 points
TUNED, NATURAL = "SIBP η=2e-4 λ=5e5", "SIBP η=0.1 λ=0.5"  # the keys of the halving counts
FONT = 10  # the smallest text of the figure


def settings(args) -> SimpleNamespace:
    """The lengths of the runs (quick or full) and the backend, with the options."""
    quick = args.quick
    return SimpleNamespace(
        args=args,
        QUICK=quick,
        ITERS=300 if quick else 10_000,  # length of the plotted curves
        SEEDS=list(range(2)) if quick else list(range(10)),  # for iterations-to-halve
        CAP={"sibp": 300 if quick else 2_000, "natural": 300 if quick else 5_000},
        AFTER=50 if quick else 2_000,  # iterations run on after halving, to catch a late blow-up
        CAP_SGD=500 if quick else 20_000,
        xp=args.backend,
        t_start=time.time(),
    )


def weights(params) -> np.ndarray:
    """``[w_1, …, w_7]`` as a NumPy vector."""
    return np.array([B.to_float(W[0, 0]) for W, _ in params])


# %% 1. the mechanism: SIBP's first step, against −2λη∇F and the closed form
def first_step_check(C: SimpleNamespace, hyper: dict, seed: int = 0) -> dict:
    """SIBP's first step per layer, against ``−2λη ∂F/∂w_i`` (BP's gradient at ``w^k``) and
    against the ridge closed form ``−α_i ⟨δ_{i+1}, F_i⟩`` with SIBP's δ (4.2)."""
    net, params, X, Y = toy_problem(seed=seed, xp=C.xp)
    eta, lam = hyper["eta"], hyper["lam"]
    m = SIBP(**hyper)
    new, _ = m.step(net, params, m.init(net, params), X, Y)
    w0, w1 = weights(params), weights(new)
    grad = np.array([B.to_float(dW[0, 0]) for dW, _ in net.gradient(params, X, Y)])
    G, F = net.forward(params, X)
    Fn = [B.to_numpy(Fi)[0] for Fi in F]  # F[i] is the input of w_{i+1}
    L = len(w0)
    # SIBP's δ: δ_N = ∂F/∂F_N, then (4.2) with the NEW weights (σ' = 1 here)
    delta = [None] * (L + 1)
    delta[L] = B.to_numpy(net.loss_fn.grad(F[L], Y))[0]
    for i in range(L - 1, 0, -1):
        delta[i] = w1[i] * delta[i + 1]
    energy = np.array([np.sum(Fn[i] ** 2) for i in range(L)])  # ||F_i||²
    alpha = 2 * lam * eta / (1 + 2 * lam * energy)
    closed = np.array([-alpha[i] * np.sum(delta[i + 1] * Fn[i]) for i in range(L)])
    return {
        "settings": hyper,
        "two_lam_eta": 2 * lam * eta,
        "w_k": w0.tolist(),
        "dw_sibp": (w1 - w0).tolist(),
        "dw_minus_2lam_eta_grad": (-2 * lam * eta * grad).tolist(),
        "ratio_sibp_to_2lam_eta_grad": ((w1 - w0) / (-2 * lam * eta * grad)).tolist(),
        "input_energy_||F_i||^2": energy.tolist(),
        "alpha_i": alpha.tolist(),
        "closed_form_max_rel_err": float(np.max(np.abs(closed - (w1 - w0)) / np.abs(w1 - w0))),
    }


def mechanism(C: SimpleNamespace) -> dict:
    """:func:`first_step_check` at both settings, printed layer by layer."""
    mech = {
        "paper": first_step_check(C, SIBP_PAPER),
        "natural": first_step_check(C, SIBP_NATURAL),
    }
    print("SIBP's first step per layer (seed 0), w_i^{k+1} - w_i^k:")
    for key, r in mech.items():
        print(f"  {key} settings {r['settings']} (2*lam*eta = {r['two_lam_eta']:g}):")
        print("    layer  ||F_i||^2   alpha_i    dw SIBP     -2*lam*eta*grad  ratio")
        for i in range(7):
            print(
                f"    {i + 1}     {r['input_energy_||F_i||^2'][i]:9.2e}  {r['alpha_i'][i]:9.3g}"
                f"  {r['dw_sibp'][i]:+10.3e}  {r['dw_minus_2lam_eta_grad'][i]:+10.3e}"
                f"      {r['ratio_sibp_to_2lam_eta_grad'][i]:.3f}"
            )
        print(
            f"    closed form -alpha_i <delta_(i+1), F_i> vs the step: max rel. error "
            f"{r['closed_form_max_rel_err']:.1e}"
        )
        assert r["closed_form_max_rel_err"] < 1e-8
    return mech


# %% 2. one run: the loss, |Δw_j|, and SIBP's effective steps
def run(
    C: SimpleNamespace, method, seed: int, batch, iters: int, *, after_halved: int | None = None
) -> dict:
    """Loss ``F(w^k)`` (all ten points), ``|w_j^{k+1} − w_j^k|`` and SIBP's ``α_i^k``.

    Stops at a blow-up (non-finite, or ``BLOWUP`` × the starting loss), or
    ``after_halved`` iterations after the loss first fell to half its starting value (a
    run that escapes the flat region and then explodes counts as unstable). ``halved``
    is the first ``k`` with ``F(w^k) ≤ F(w^0)/2`` (``inf`` if none), ``blew_up`` a flag.
    """
    net, params, X, Y = toy_problem(seed=seed, xp=C.xp)
    rng = np.random.default_rng(seed)  # batch-1 draws, with replacement
    state = method.init(net, params)
    loss, dw, alpha = [B.to_float(net.loss(params, X, Y))], [], []
    halved, blew_up = math.inf, False
    xpn = B.namespace(X)
    for k in range(1, iters + 1):
        if batch is None:
            Xb, Yb = X, Y
        else:
            idx = B.asarray(rng.integers(0, X.shape[1], size=batch), xpn)
            Xb, Yb = xpn.take(X, idx, axis=1), xpn.take(Y, idx, axis=1)
        if isinstance(method, SIBP) and after_halved is None:
            _, F = net.forward(params, Xb)
            e = np.array([B.to_float(xpn.sum(Fi * Fi)) for Fi in F[:-1]])
            alpha.append(2 * method.lam * method.eta / (1 + 2 * method.lam * e))
        w_old = weights(params)
        params, state = method.step(net, params, state, Xb, Yb)
        J = B.to_float(net.loss(params, X, Y))
        loss.append(J)
        if not math.isfinite(J) or J > BLOWUP * loss[0]:
            blew_up = True
            break
        dw.append(np.abs(weights(params) - w_old))
        if J <= 0.5 * loss[0] and math.isinf(halved):
            halved = k
        if after_halved is not None and k >= halved + after_halved:
            break
    return {
        "loss": np.array(loss),
        "dw": np.array(dw).reshape(-1, 7),
        "alpha": np.array(alpha),
        "halved": halved,
        "blew_up": blew_up,
    }


def halve_counts(C: SimpleNamespace, method_factory, batch, cap: int) -> list:
    """Iterations to halve the loss per seed: ``-1`` = blew up (also within ``AFTER``
    iterations after halving), ``inf`` = not halved within ``cap``."""
    out = []
    for s in C.SEEDS:
        r = run(C, method_factory(), s, batch, cap, after_halved=C.AFTER)
        out.append(-1 if r["blew_up"] else r["halved"])
    return out


# %% 3. SGD's best stable learning rate, full batch and batch 1
def best_stable_sgd(C: SimpleNamespace, batch, rejected: dict):
    """The largest rate of SGD_RATES at which SGD blows up on none of the seeds; each
    rejected rate is recorded with the seed and iteration of its blow-up and whether the
    loss had been halved before (a rate that escapes the flat region and then explodes
    near the minimum is not stable)."""
    for lr in SGD_RATES:
        counts = []
        for s in C.SEEDS:
            r = run(C, BP(lr=lr), s, batch, C.CAP_SGD, after_halved=C.AFTER)
            if r["blew_up"]:
                rejected[f"{lr:g}"] = {
                    "seed": s,
                    "blew_up_at_iteration": len(r["loss"]) - 1,
                    "halved_before_at": r["halved"],
                }
                break
            counts.append(r["halved"])
        else:
            return lr, counts
    raise RuntimeError("no stable SGD rate on the grid")


def sgd_rates(C: SimpleNamespace) -> tuple[dict, dict, dict]:
    """SGD's best stable rate per batch mode, its iterations to halve, the rejected rates."""
    sgd_lr, halve, sgd_rejected = {}, {}, {}
    for batch, tag in MODES:
        sgd_rejected[tag] = {}
        if C.QUICK:  # too short to tell stable from not: take the full-mode answers (results JSON)
            lr = {"stochastic": 0.03, "full": 0.01}[tag]
            counts = halve_counts(C, lambda lr=lr: BP(lr=lr), batch, C.CAP_SGD)
        else:
            lr, counts = best_stable_sgd(C, batch, sgd_rejected[tag])
        sgd_lr[tag] = lr
        halve[f"SGD lr={lr:g}, {tag}"] = counts
        print(
            f"SGD {tag}: best stable lr {lr:g} (rejected: {sgd_rejected[tag]}); "
            f"iterations to halve {counts}"
        )
    return sgd_lr, halve, sgd_rejected


# %% 4. iterations to halve the loss, over seeds
def sibp_halving(C: SimpleNamespace, halve: dict) -> None:
    """SIBP's iterations to halve, at both settings and both batch modes (into ``halve``)."""
    for batch, tag in MODES:
        for key, hyper, cap in (
            (TUNED, SIBP_PAPER, C.CAP["sibp"]),
            (NATURAL, SIBP_NATURAL, C.CAP["natural"]),
        ):
            halve[f"{key}, {tag}"] = halve_counts(C, lambda h=hyper: SIBP(**h), batch, cap)
            print(f"{key}, {tag}: iterations to halve {halve[f'{key}, {tag}']}")


def summary(counts: list) -> dict:
    """Counts per seed (``-1`` blew up, ``inf`` not halved) and their median over the runs
    that did not blow up (``inf`` when most did not halve within the cap)."""
    c = np.array(counts, dtype=float)
    ok = c > 0
    return {
        "counts": [
            ("blew up" if k < 0 else ("not halved" if math.isinf(k) else int(k))) for k in counts
        ],
        "median_over_runs_not_blown_up": float(np.median(c[ok])) if ok.any() else None,
        "halved": int(np.sum(ok & np.isfinite(c))),
        "blew_up": int(np.sum(~ok)),
        "seeds": len(counts),
    }


def medians(halve: dict, sgd_lr: dict) -> tuple[dict, dict]:
    """The summary of every count, and the ratio of SGD's median to tuned SIBP's per mode."""
    halve_summary = {k: summary(v) for k, v in halve.items()}
    ratios = {}
    for tag in ("stochastic", "full"):
        a = halve_summary[f"SGD lr={sgd_lr[tag]:g}, {tag}"]["median_over_runs_not_blown_up"]
        b = halve_summary[f"{TUNED}, {tag}"]["median_over_runs_not_blown_up"]
        ratios[tag] = a / b if a and b else None
    return halve_summary, ratios


def print_medians(halve_summary: dict, ratios: dict) -> None:
    print("\niterations to halve the loss (median over seeds that did not blow up):")
    for k, v in halve_summary.items():
        print(
            f"  {k:36s} median {v['median_over_runs_not_blown_up']}, halved {v['halved']}/"
            f"{v['seeds']}, blew up {v['blew_up']}"
        )
    print(f"ratio SGD/SIBP (medians): {ratios}   (paper: about 1000/10 = 100)")


# %% 5. the curves of Figure 3 (seed CURVE_SEED), plus SIBP's effective step per layer
def curve_label(method: str, sgd_lr: dict, tag: str) -> str:
    """The legend's name of a curve (also its key in the results file)."""
    return {
        "sgd": f"SGD (lr={sgd_lr[tag]:g})",
        "tuned": "SIBP (η=2e-4, λ=5e5; 2λη=200)",
        "natural": "SIBP (η=0.1, λ=0.5; 2λη=0.1)",
    }[method]


def figure_curves(C: SimpleNamespace, sgd_lr: dict) -> dict:
    """tag → curve label → :func:`run` of ``C.ITERS`` iterations on ``CURVE_SEED``."""
    curves = {}
    for batch, tag in MODES:
        methods = {"sgd": BP(lr=sgd_lr[tag]), "tuned": SIBP(**SIBP_PAPER)}
        methods["natural"] = SIBP(**SIBP_NATURAL)
        curves[tag] = {
            curve_label(m, sgd_lr, tag): run(C, method, CURVE_SEED, batch, C.ITERS)
            for m, method in methods.items()
        }
    return curves


# %% 6. the figure: loss with the seeds' halving counts, weight moves, effective steps
STYLE = {  # one colour and line style per method, the same in every panel
    "sgd": dict(color="k", ls="-", lw=1.6),
    "tuned": dict(color="#d62728", ls="-", lw=2.0),
    "natural": dict(color="#1f77b4", ls="--", lw=1.6),
}
LEGEND = {
    "sgd": "SGD at its best stable lr",
    "tuned": r"SIBP, $\eta$ = 2e-4, $\lambda$ = 5e5 ($2\lambda\eta$ = 200)",
    "natural": r"SIBP, $\eta$ = 0.1, $\lambda$ = 0.5 ($2\lambda\eta$ = 0.1)",
}
SHORT = {"sgd": "SGD", "tuned": r"SIBP $2\lambda\eta$=200", "natural": r"SIBP $2\lambda\eta$=0.1"}


def _strip(
    ax, C: SimpleNamespace, tag: str, sgd_lr: dict, halve_summary: dict, xmax: float
) -> None:
    """Iterations to halve the loss on every seed, a row per method: | one seed, ◆ the median,
    ▷ at the cap the seeds that did not halve, the blown-up seeds counted in the text."""
    keys = {"sgd": f"SGD lr={sgd_lr[tag]:g}, {tag}", "tuned": f"{TUNED}, {tag}"}
    keys["natural"] = f"{NATURAL}, {tag}"
    caps = {"sgd": C.CAP_SGD, "tuned": C.CAP["sibp"], "natural": C.CAP["natural"]}
    for y, (m, key) in enumerate(keys.items()):
        s, col = halve_summary[key], STYLE[m]["color"]
        done = [k for k in s["counts"] if isinstance(k, int)]
        ax.plot(done, [y] * len(done), "|", color=col, ms=14, mew=2)
        med = s["median_over_runs_not_blown_up"]
        if med is not None and math.isfinite(med):
            ax.plot(med, y, "D", color=col, ms=8, mec="w")
        missed = s["counts"].count("not halved")
        if missed:
            ax.plot(caps[m], y, ">", color=col, ms=9)
        note = f"{s['halved']}/{s['seeds']} halved"
        note += (f", {s['blew_up']} blew up" if s["blew_up"] else "") + (
            f" (cap {caps[m]})" if missed else ""
        )
        xs = done + ([caps[m]] if missed else [])
        right = bool(xs) and math.log(min(xs)) > 0.5 * math.log(xmax)  # markers in the right half
        x_text = min(xs) / 1.6 if right else (max(xs) * 1.6 if xs else 1.2)
        ax.text(
            x_text, y, note, fontsize=FONT, color=col, va="center", ha="right" if right else "left"
        )
    ax.set_yticks(range(3), [SHORT[m] for m in keys])
    ax.set_ylim(-0.6, 2.6)
    ax.set_xlabel(
        r"iteration $k$; strip: iterations to halve $F$ on each seed (◆ median, ▷ not by the cap)"
    )
    ax.grid(alpha=0.3, axis="x", which="major")


def plot(C: SimpleNamespace, curves: dict, sgd_lr: dict, halve_summary: dict) -> Path:
    """Figure 3 as two rows (batch 1, full batch): the loss on seed ``CURVE_SEED`` with every
    seed's iterations to halve below it, ``|w_j^{k+1} − w_j^k|``, and tuned SIBP's ``α_i``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    plt.rcParams.update({"font.size": FONT + 1, "axes.titlesize": FONT + 2})
    xmax = 2.5 * max(C.ITERS, C.CAP_SGD if not C.QUICK else C.ITERS)
    fig = plt.figure(figsize=(19, 13))
    gs = fig.add_gridspec(2, 3, hspace=0.28, wspace=0.3, top=0.86, bottom=0.05)
    for r, (_, tag) in enumerate(MODES):
        left = gs[r, 0].subgridspec(2, 1, height_ratios=[3, 1.2], hspace=0.35)
        a_loss = fig.add_subplot(left[0])
        a_strip = fig.add_subplot(left[1], sharex=a_loss)
        a_dw = fig.add_subplot(gs[r, 1])
        a_al = fig.add_subplot(gs[r, 2])
        what = (
            "batch 1, drawn with replacement"
            if tag == "stochastic"
            else "full batch, all 10 points"
        )
        for m, c in zip(STYLE, curves[tag].values(), strict=True):
            k = np.arange(len(c["loss"]))
            a_loss.loglog(k[1:], c["loss"][1:], **STYLE[m])
            if c["blew_up"]:
                a_loss.plot(k[-2], c["loss"][-2], "X", ms=12, color=STYLE[m]["color"], mec="w")
            kk = np.arange(1, len(c["dw"]) + 1)
            a_dw.loglog(kk, np.maximum(c["dw"][:, 0], 1e-300), **STYLE[m])
            if m == "tuned":
                a_dw.loglog(
                    kk, np.maximum(c["dw"][:, 6], 1e-300), color=STYLE[m]["color"], ls=":", lw=1.6
                )
        a_loss.axhline(
            next(iter(curves[tag].values()))["loss"][0] / 2, ls=":", color="0.45", lw=1.5
        )
        a_loss.set_ylim(1e-12, None)
        a_loss.set_ylabel(r"loss $F(w^k)$")
        a_loss.set_title(f"{tag} ({what}): loss on seed {CURVE_SEED}")
        a_loss.tick_params(labelbottom=False)
        _strip(a_strip, C, tag, sgd_lr, halve_summary, xmax)
        a_dw.set_ylim(1e-12, 10)
        a_dw.set_ylabel(r"$|w_j^{k+1} - w_j^k|$")
        a_dw.set_title(f"{tag}: how far $w_1$ moves (and $w_7$, dotted)")
        sib = curves[tag][curve_label("tuned", sgd_lr, tag)]["alpha"]
        cmap = plt.get_cmap("viridis")
        for i in range(sib.shape[1]):
            a_al.loglog(
                np.arange(1, len(sib) + 1),
                sib[:, i],
                color=cmap(i / 6),
                lw=1.2,
                label=f"$\\alpha_{i + 1}$",
            )
        a_al.axhline(sgd_lr[tag], color="k", ls="--", lw=1.2, label=f"SGD's lr {sgd_lr[tag]:g}")
        a_al.axhline(200, color="#d62728", ls=":", lw=1.5, label=r"$2\lambda\eta$ = 200")
        a_al.set_title(f"{tag}: SIBP ($2\\lambda\\eta$=200) effective step of layer $i$")
        a_al.set_ylabel(r"$\alpha_i = 2\lambda\eta\,/\,(1 + 2\lambda\|F_i^k\|^2)$")
        a_al.legend(fontsize=FONT, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        for ax in (a_loss, a_strip, a_dw, a_al):
            ax.set_xlim(1, xmax if ax in (a_loss, a_strip) else C.ITERS)
            ax.grid(alpha=0.3, which="major", lw=0.6)
        for ax in (a_dw, a_al):
            ax.set_xlabel(r"iteration $k$")
    handles = [Line2D([], [], **STYLE[m], label=LEGEND[m]) for m in STYLE]
    handles += [
        Line2D([], [], color="#d62728", ls=":", lw=1.6, label=r"SIBP $2\lambda\eta$=200: $w_7$"),
        Line2D([], [], color="0.45", ls=":", lw=1.5, label=r"half the starting loss, $F(w^0)/2$"),
        Line2D([], [], color="0.3", marker="X", ls="", ms=10, label="blew up"),
    ]
    fig.legend(
        handles=handles,
        loc="upper center",
        ncol=3,
        bbox_to_anchor=(0.5, 0.95),
        frameon=False,
        fontsize=FONT + 1,
    )

    def med(key: str) -> str:
        m = halve_summary[key]["median_over_runs_not_blown_up"]
        if m is None:
            return "— (all blew up)"
        if math.isinf(m):
            cap = C.CAP_SGD if key.startswith("SGD") else C.CAP["sibp"]
            return f"> {cap} ({halve_summary[key]['halved']}/{len(C.SEEDS)} halved)"
        return f"{m:g}"

    sgd_s, sgd_f = (f"SGD lr={sgd_lr[t]:g}, {t}" for t in ("stochastic", "full"))
    fig.suptitle(
        r"Figure 3 (§5.1): $F(w) = \sum_i (w_7 \cdots w_1 x_i - y_i)^2$, 10 points, "
        r"$y_i = x_i \sim N(0, 1)$, $w_j \sim N(0.15, 0.01^2)$"
        + ("  [QUICK MODE]" if C.QUICK else "")
        + f"\niterations to halve the loss, median over {len(C.SEEDS)} seeds: batch 1, SIBP "
        f"{med(f'{TUNED}, stochastic')} against SGD {med(sgd_s)}; full batch, SIBP "
        f"{med(f'{TUNED}, full')} against SGD {med(sgd_f)} (paper: about 10 against 1000)",
        fontsize=FONT + 3,
        y=0.995,
    )
    path = common.savefig(fig, C.args, f"{NAME}.png")
    plt.close(fig)
    return path


# %% the results file
def no_inf(x):
    """JSON has no infinity: write ``inf`` (not halved within the cap) as the string "inf"."""
    if isinstance(x, dict):
        return {k: no_inf(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [no_inf(v) for v in x]
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def results(C, mech, sgd_lr, sgd_rejected, halve_summary, ratios, curves) -> dict:
    """The results file's content (JSON-safe: ``inf`` as a string)."""
    return no_inf(
        {
            "settings": {
                "problem": "toy_problem(seed, init_std=0.01, data='normal', y=x)",
                "sibp_paper_settings": SIBP_PAPER,
                "sibp_natural_settings": SIBP_NATURAL,
                "sgd_rate_grid": SGD_RATES,
                "sgd_best_stable_lr": sgd_lr,
                "sgd_rates_rejected": sgd_rejected,
                "seeds": C.SEEDS,
                "halve_caps": {**C.CAP, "sgd": C.CAP_SGD, "run_on_after_halving": C.AFTER},
                "curve_iterations": C.ITERS,
                "median_note": "runs not halved within the cap enter the median as +inf, so a "
                "median is a lower bound when some runs did not halve; blown-up runs are "
                "left out",
                "blowup": f"non-finite or > {BLOWUP:g} x the starting loss",
                "stochastic": "batch 1 drawn with replacement (rng seeded by the problem seed)",
            },
            "first_step_mechanism": mech,
            "iterations_to_halve": halve_summary,
            "ratio_sgd_over_sibp_median": ratios,
            "paper": "SIBP: loss drops after about 10 steps, SGD after about 1000 (stochastic; "
            "full batch similar)",
            "final_loss_of_curves": {
                tag: {k: float(c["loss"][-1]) for k, c in cs.items()} for tag, cs in curves.items()
            },
            "curves_iterations_to_halve_seed_" + str(CURVE_SEED): {
                tag: {k: c["halved"] for k, c in cs.items()} for tag, cs in curves.items()
            },
            "seconds": time.time() - C.t_start,
        }
    )
