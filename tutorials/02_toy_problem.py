"""SIBP against SGD on the gradient-vanishing toy problem: Figure 3 of the paper (§5.1).

The problem (:mod:`sibp_ref.toy`) is the deep scalar linear network

.. math:: F(w) = \\sum_{i=1}^{10} (w_7 w_6 ⋯ w_1 x_i − y_i)^2,
          \\qquad w_j \\sim N(0.15, 0.01),

with ``x_i ~ N(0, 1)`` and ``y_i = x_i`` (so ``F = Σx_i² · (w_7⋯w_1 − 1)²``, Figure 2's
function up to a constant; see tutorial 01) and 0.01 read as a standard deviation (the
toy module's docstring gives the reasons and shows that the variance reading behaves
alike). Every ``w_j ≈ 0.15`` starts deep in the flat region: ``∂F/∂w_j ~ 0.15^6 ≈ 1e-5``.

The paper's claim (C5): "When using stochastic gradient, the loss function decreases
rapidly after 10 steps using SIBP, while it shows an obvious drop only after 1000 steps
using SGD. A similar performance can be observed using full batch gradient."

What this script runs, from the same start (for the curves: seed ``CURVE_SEED = 3``, the
seed on which SGD escapes fastest, so that its drop shows within 10⁴ iterations):

- SGD at its best stable learning rate (the largest of a grid that blows up on no seed),
  stochastic (batch 1, drawn with replacement) and full batch;
- SIBP at the settings the SIBP author of this project found, ``η = 2e-4, λ = 5e5``
  (``2λη = 200``), stochastic and full batch;
- SIBP at "natural" settings ``η = 0.1, λ = 0.5`` (``2λη = 0.1``), to show that the claim
  depends on the settings: there SIBP blows up on some seeds and is no faster than SGD.

and counts the iterations until the loss is halved (as :func:`sibp_ref.toy.iterations_to_halve`,
but a run must also stay bounded for a while after halving to count as stable)
over several seeds.

**Why those settings work: a per-layer step size that adapts.** With the identity
activation every subproblem (4.1) is a ridge regression in one scalar ``w_i``:
``min_w Σ(w F_i − T)² + (w − w_i^k)²/(2λ)`` with target ``T = F_{i+1}^k − η δ_{i+1}``
and ``δ`` from (4.2). Its solution is

.. math:: w_i^{k+1} − w_i^k = −\\frac{η\\, ⟨δ_{i+1}, F_i⟩}{\\|F_i\\|^2 + 1/(2λ)}
          = −\\underbrace{\\frac{2λη}{1 + 2λ\\|F_i\\|^2}}_{\\text{effective step } α_i}
            \\, ⟨δ_{i+1}, F_i⟩ ,

and ``⟨δ_{i+1}, F_i⟩`` is ``∂F/∂w_i`` (with SIBP's δ, which uses the new weights above).
In the vanishing region the neurons are tiny, ``F_i ≈ 0.15^{i−1} x``, so for the upper
layers the fit term is negligible (``2λ||F_i||² ≪ 1``) and the step is a gradient step of
size ``α_i ≈ 2λη = 200``, about 10⁴ times SGD's stable rate (0.01–0.03). The lower layers,
whose inputs are ``O(1)``, take small steps (the first step of ``w_1`` is 2.5e-7 of
``−2λη ∂F/∂w_1``): the escape is driven by the upper weights. Once the weights leave the
flat region, ``||F_i||²`` grows to ``O(Σx²) ≈ 10`` and ``α_i`` falls to about
``η/||F_i||² ≈ 2e-5``: the implicit step turns itself into a small, Gauss–Newton-like step
and stays stable, where an explicit step of 200 would explode (``|f'|`` grows like
``|w|^13``, tutorial 01).
The script checks this formula against the actual SIBP step to round-off, compares SIBP's
first step with ``−2λη ∇F``, and plots ``α_i`` along the run. With the natural settings
``2λη = 0.1``: a step no larger than an SGD step of 0.1, which is unstable here, so no
reason to escape sooner, and a risk of blowing up.

Run: ``python tutorials/02_toy_problem.py`` (minutes on a CPU; ``--quick`` for the test).
Writes ``figures/02_toy_problem.png`` and ``tutorials/results/02_toy_problem.json``.
"""

# %%
from __future__ import annotations

import math
import time
from pathlib import Path
from types import SimpleNamespace

import common
import numpy as np

from sibp_ref import BP, SIBP, toy_problem
from sibp_ref import backend as B

SGD_RATES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)  # tried from the largest down
SIBP_PAPER = dict(eta=2e-4, lam=5e5)  # 2λη = 200
SIBP_NATURAL = dict(eta=0.1, lam=0.5)  # 2λη = 0.1
CURVE_SEED = 3  # SGD's fastest seed (full mode: 5320 iterations to halve, full batch)
BLOWUP = 1e3  # a run counts as blown up above 1e3 × its starting loss (as iterations_to_halve)


def settings(argv: list[str] | None = None) -> SimpleNamespace:
    """The lengths of the runs (quick or full) and the backend, with the options."""
    args = common.options(__doc__, argv)
    QUICK = args.quick
    return SimpleNamespace(
        args=args,
        QUICK=QUICK,
        ITERS=300 if QUICK else 10_000,  # length of the plotted curves
        SEEDS=list(range(2)) if QUICK else list(range(10)),  # for iterations-to-halve
        CAP={"sibp": 300 if QUICK else 2_000, "natural": 300 if QUICK else 5_000},
        AFTER=50 if QUICK else 2_000,  # iterations run on after halving, to catch a late blow-up
        CAP_SGD=500 if QUICK else 20_000,
        xp=args.backend,
        t_start=time.time(),
    )


def problem(C: SimpleNamespace, seed: int):
    return toy_problem(seed=seed, xp=C.xp)


def weights(params) -> np.ndarray:
    """``[w_1, …, w_7]`` as a NumPy vector."""
    return np.array([B.to_float(W[0, 0]) for W, _ in params])


# %% [1. the mechanism: SIBP's first step, against −2λη∇F and the closed form]
def first_step_check(C: SimpleNamespace, hyper: dict, seed: int = 0) -> dict:
    """SIBP's first step per layer, against ``−2λη ∂F/∂w_i`` (BP's gradient at ``w^k``) and
    against the ridge closed form ``−α_i ⟨δ_{i+1}, F_i⟩`` with SIBP's δ (4.2)."""
    net, params, X, Y = problem(C, seed)
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


# %% [2. one run: the loss, |Δw_1|, and SIBP's effective steps]
def run(
    C: SimpleNamespace, method, seed: int, batch, iters: int, *, after_halved: int | None = None
) -> dict:
    """Loss ``F(w^k)`` (all ten points), ``|w_j^{k+1} − w_j^k|`` and SIBP's ``α_i^k``.

    Stops at a blow-up (non-finite, or ``BLOWUP`` × the starting loss), or
    ``after_halved`` iterations after the loss first fell to half its starting value (a
    run that escapes the flat region and then explodes counts as unstable). ``halved``
    is the first ``k`` with ``F(w^k) ≤ F(w^0)/2`` (``inf`` if none), ``blew_up`` a flag.
    """
    net, params, X, Y = problem(C, seed)
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


# %% [3. SGD's best stable learning rate, full batch and batch 1]
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
    for batch, tag in ((1, "stochastic"), (None, "full")):
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


# %% [4. iterations to halve the loss, over seeds]
def sibp_halving(C: SimpleNamespace, halve: dict) -> None:
    """SIBP's iterations to halve, at both settings and both batch modes (into ``halve``)."""
    for batch, tag in ((1, "stochastic"), (None, "full")):
        for key, hyper, cap in (
            ("SIBP η=2e-4 λ=5e5", SIBP_PAPER, C.CAP["sibp"]),
            ("SIBP η=0.1 λ=0.5", SIBP_NATURAL, C.CAP["natural"]),
        ):
            halve[f"{key}, {tag}"] = halve_counts(C, lambda h=hyper: SIBP(**h), batch, cap)
            print(f"{key}, {tag}: iterations to halve {halve[f'{key}, {tag}']}")


def summary(counts):
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
    halve_summary = {k: summary(v) for k, v in halve.items()}
    ratios = {}
    for tag in ("stochastic", "full"):
        a = halve_summary[f"SGD lr={sgd_lr[tag]:g}, {tag}"]["median_over_runs_not_blown_up"]
        b = halve_summary[f"SIBP η=2e-4 λ=5e5, {tag}"]["median_over_runs_not_blown_up"]
        ratios[tag] = a / b if a and b else None
    return halve_summary, ratios


# %% [5. the curves of Figure 3, plus SIBP's effective step per layer]
def figure_curves(C: SimpleNamespace, sgd_lr: dict) -> dict:
    curves = {}
    for batch, tag in ((1, "stochastic"), (None, "full")):
        curves[tag] = {
            f"SGD (lr={sgd_lr[tag]:g})": run(C, BP(lr=sgd_lr[tag]), CURVE_SEED, batch, C.ITERS),
            "SIBP (η=2e-4, λ=5e5; 2λη=200)": run(C, SIBP(**SIBP_PAPER), CURVE_SEED, batch, C.ITERS),
            "SIBP (η=0.1, λ=0.5; 2λη=0.1)": run(
                C, SIBP(**SIBP_NATURAL), CURVE_SEED, batch, C.ITERS
            ),
        }
    return curves


def plot(C: SimpleNamespace, curves: dict, sgd_lr: dict, halve_summary: dict) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    COLORS = ["#7f7f7f", "#d62728", "#ff9896"]
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    for row, tag in enumerate(("stochastic", "full")):
        a_loss, a_dw, a_al = axes[row]
        for (label, c), col in zip(curves[tag].items(), COLORS, strict=True):
            k = np.arange(len(c["loss"]))
            lab = label + ("  [blew up]" if c["blew_up"] else "")
            a_loss.loglog(k[1:], c["loss"][1:], color=col, label=lab)
            kk = np.arange(1, len(c["dw"]) + 1)
            a_dw.loglog(kk, np.maximum(c["dw"][:, 0], 1e-300), color=col, label=lab + ": w_1")
            a_dw.loglog(kk, np.maximum(c["dw"][:, 6], 1e-300), ":", color=col, lw=1, label="w_7")
            if c["blew_up"]:
                a_loss.plot(k[-2], c["loss"][-2], "x", ms=10, mew=2, color=col)
        a_loss.axhline(
            curves[tag][next(iter(curves[tag]))]["loss"][0] / 2,
            ls=":",
            color="k",
            lw=1,
            label="half the starting loss",
        )
        a_loss.set_ylabel("loss F(w^k), all 10 points (clipped at 1e-12)")
        a_loss.set_ylim(1e-12, None)
        a_dw.set_ylabel("|w_j^{k+1} − w_j^k|: j = 1 solid, j = 7 dotted")
        a_dw.legend(fontsize=7, loc="lower left", ncol=2)
        a_loss.set_title(
            f"{tag}"
            + (" (batch 1, with replacement)" if tag == "stochastic" else " batch (all 10 points)")
            + ": loss"
        )
        a_dw.set_title(f"{tag}: how far the first weight moves")
        a_dw.set_ylim(1e-12, 10)
        sib = curves[tag]["SIBP (η=2e-4, λ=5e5; 2λη=200)"]["alpha"]
        cmap = plt.get_cmap("viridis")
        for i in range(sib.shape[1]):
            a_al.loglog(
                np.arange(1, len(sib) + 1), sib[:, i], color=cmap(i / 6), label=f"α_{i + 1}"
            )
        a_al.axhline(sgd_lr[tag], color="#7f7f7f", ls="--", label=f"SGD's lr {sgd_lr[tag]:g}")
        a_al.axhline(200, color="#d62728", ls=":", label="2λη = 200")
        a_al.set_title(
            f"{tag}: SIBP (η=2e-4, λ=5e5) effective step\nα_i = 2λη / (1 + 2λ‖F_i^k‖²) of layer i"
        )
        a_al.set_ylabel("effective step size α_i")
        a_al.legend(fontsize=7, ncol=2, loc="lower left")
        a_loss.legend(fontsize=8, loc="lower left")
        for ax in axes[row]:
            ax.set_xlabel("iteration k")
            ax.set_xlim(1, C.ITERS)
            ax.grid(alpha=0.3, which="both", lw=0.5)

    def med(key: str) -> str:
        m = halve_summary[key]["median_over_runs_not_blown_up"]
        if m is None:
            return "— (all blew up)"
        if math.isinf(m):
            cap = C.CAP_SGD if key.startswith("SGD") else C.CAP["sibp"]
            return f"> {cap} ({halve_summary[key]['halved']}/{len(C.SEEDS)} halved)"
        return f"{m:g}"

    sgd_s, sgd_f = (
        f"SGD lr={sgd_lr['stochastic']:g}, stochastic",
        f"SGD lr={sgd_lr['full']:g}, full",
    )
    fig.suptitle(
        "Figure 3 (§5.1): F(w) = Σ(w₇⋯w₁xᵢ − yᵢ)², 10 points, yᵢ = xᵢ ~ N(0,1), "
        f"w_j ~ N(0.15, std 0.01); curves: seed {CURVE_SEED}{'  [QUICK MODE]' if C.QUICK else ''}\n"
        f"iterations to halve the loss, median over {len(C.SEEDS)} seeds — stochastic: SIBP "
        f"{med('SIBP η=2e-4 λ=5e5, stochastic')} vs SGD {med(sgd_s)}; "
        f"full: SIBP {med('SIBP η=2e-4 λ=5e5, full')} vs SGD {med(sgd_f)} "
        "(paper: about 10 vs 1000)",
        fontsize=11,
    )
    fig.tight_layout()
    path = common.savefig(fig, C.args, "02_toy_problem.png")
    plt.close(fig)
    return path


# %% [numbers]
def no_inf(x):
    """JSON has no infinity: write ``inf`` (not halved within the cap) as the string "inf"."""
    if isinstance(x, dict):
        return {k: no_inf(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [no_inf(v) for v in x]
    if isinstance(x, float) and math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def main(argv: list[str] | None = None) -> dict:
    C = settings(argv)
    mech = mechanism(C)
    sgd_lr, halve, sgd_rejected = sgd_rates(C)
    sibp_halving(C, halve)
    halve_summary, ratios = medians(halve, sgd_lr)
    curves = figure_curves(C, sgd_lr)
    path = plot(C, curves, sgd_lr, halve_summary)
    print("wrote", path)
    print("\niterations to halve the loss (median over seeds that did not blow up):")
    for k, v in halve_summary.items():
        print(
            f"  {k:36s} median {v['median_over_runs_not_blown_up']}, halved {v['halved']}/"
            f"{v['seeds']}, blew up {v['blew_up']}"
        )
    print(f"ratio SGD/SIBP (medians): {ratios}   (paper: about 1000/10 = 100)")
    common.save_results(
        C.args,
        "02_toy_problem",
        no_inf(
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
                    tag: {k: float(c["loss"][-1]) for k, c in cs.items()}
                    for tag, cs in curves.items()
                },
                "curves_iterations_to_halve_seed_" + str(CURVE_SEED): {
                    tag: {k: c["halved"] for k, c in cs.items()} for tag, cs in curves.items()
                },
                "seconds": time.time() - C.t_start,
            }
        ),
    )
    print(f"done in {time.time() - C.t_start:.0f} s")
    return {"iterations_to_halve": halve_summary, "ratios": ratios}


if __name__ == "__main__":
    main()
