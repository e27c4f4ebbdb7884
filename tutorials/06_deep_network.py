"""Does SIBP train a deep ReLU net from a vanishing-gradient start? (§5.2, Figs. 4–7, C7)

**The question.** The paper trains a ``784 × 600¹⁰ × 10`` ReLU network (ten hidden layers of
600) on all 60 000 MNIST samples from three small initialisations, weights and biases drawn
from N(0, σ²) with σ = 0.01, 0.025, 0.03, with SGD, ProxBP, BCD and SIBP. Fig. 4 (σ = 0.01):
"SGD and ProxBP can barely optimize this deep network while BCD and SIBP show an advantage";
Fig. 5 (0.025): SGD still fails, SIBP "takes the effect quicker" than ProxBP and BCD; Fig. 6
(0.03): SGD trains, SIBP much earlier; Fig. 7: SIBP's ‖∂J/∂W₁‖ "decreases and becomes stable
more quickly" than SGD's.

Why these starts are hard: a ReLU layer of fan-in ``w`` with weights of std ``σ`` multiplies
the variance of the forward signal and of the backward error ``δ`` by about ``wσ²/2`` (0.03,
0.19, 0.27 at the three σ), so ten layers shrink ``δ`` by ``(wσ²/2)^5`` ≈ 2·10⁻⁸, 2·10⁻⁴,
1·10⁻³: the gradient of ``W_1`` vanishes. SIBP's backward pass (4.2) sends the error through
the *new* weights, each the solution of a proximal problem (4.1), not the tiny initial ones.

**The answer** (``--paper``: the paper's net, all 60 000 samples, 15 epochs, one seed; every
number in ``figures/06_deep_network.md``, rewritten from the committed logs by ``--replot``).
SIBP trains at all three inits and is the first to 80 % training accuracy at each: after one
epoch at σ = 0.025 and 0.03, and at σ = 0.01, where it alone leaves chance, in epoch 11 (final
0.982, test 0.964). SGD (lr 0.1) and ProxBP stay at chance at σ = 0.01; BCD too, against the
paper's "advantage". At σ = 0.025 SGD fails for 9 epochs, then trains (0.977). SIBP's
‖∂J/∂W₁‖ jumps when it leaves the plateau and then settles, as in Fig. 7. Verdict (C7): partly.

Settings
--------
- ``--paper`` (``--backend cupy`` on a GPU): the paper's net, 20 epochs, SGD lr 0.1, 0.01, 1;
  BCD on the first 10 000 samples (full batch). Logs go to the committed folder
  ``tutorials/results/06_deep_network_paper_runs/`` (``--runs DIR`` elsewhere); the same
  command again reads ended runs back and resumes the others. The committed grid is
  ``--paper --epochs 15 --sgd-lrs 0.1`` (2.3 core-hours on this CPU).
- default (~8 minutes on 2 cores): a *reduced* net, width 100, depth 10, 4 000 samples, 15
  epochs, σ scaled by ``√(600/100)`` to keep each layer's gain ``wσ²/2`` (``--raw-init``
  keeps the paper's σ); named ``06_deep_network_reduced``. ``--suffix _long`` renames the
  outputs (the committed ``_long`` grid: ``--inits 0.01,0.03 --epochs 40 --sgd-lrs 0.1``).
- ``--width``, ``--depth``, ``--n-train``, ``--epochs``, ``--bcd-n``, ``--sgd-lrs``, ``--inits``
  (the paper's σ to run, before the scaling) and ``--seed`` set each alone.
- ``--replot`` alone redraws every committed figure of this tutorial and rewrites the numbers
  of its notes, running nothing: the paper's net from its logs, the reduced grids (whose logs
  were not kept) from ``tutorials/results/06_deep_network_reduced*.json``. With other settings
  (``--quick``, ``--runs DIR``) it redraws that grid's figure from its ended logs.
- ``--quick`` (tests): 784-32³-10, 300 samples, 2 epochs; synthetic data without MNIST.

Methods (registry defaults, ``sibp_ref.methods``): SGD (the paper gives no rate), ProxBP
(η = 1, λ = 0.5, exact solve), BCD (γ = ρ = α = 1, square loss, one sweep per epoch), SIBP
(η = 10, λ = 0.5, five NCG steps). Batch 100, shuffled, float32. ‖∂J/∂W₁‖ is the Frobenius
norm of the gradient of the mean loss on the whole training set after each epoch. The
machinery (configurations, summaries, verdict, numbers, figure) is in ``tutorials/_lib/deep.py``.
"""

# %%
from __future__ import annotations

import argparse
import sys
import time

import common
from _lib import deep, notes


# %% the settings: the paper's net, the reduced CPU net, or the tests' quick net
def settings(argv: list[str] | None = None) -> tuple[argparse.Namespace, dict]:
    args = common.options(__doc__.splitlines()[0], argv, grid=True)
    p = argparse.ArgumentParser()
    p.add_argument("--paper", action="store_true")
    for k in ("width", "depth", "n-train", "epochs", "bcd-n"):
        p.add_argument(f"--{k}", type=int)
    floats = lambda v: [float(x) for x in v.split(",")]  # noqa: E731
    p.add_argument("--sgd-lrs", type=floats)
    p.add_argument("--inits", type=floats, default=deep.PAPER_STDS, help="the paper's stds")
    p.add_argument("--raw-init", action="store_true", help="the paper's stds at any width")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--suffix", default="", help="appended to the output names, e.g. _long")
    p.add_argument("--runs", default=None, help="folder of the run logs")
    p.add_argument("--replot", action="store_true", help="figures and numbers from the logs")
    x, _ = p.parse_known_args(argv)
    mode = "paper" if x.paper else ("quick" if args.quick else "default")
    s = {
        "paper": dict(width=600, depth=10, n_train=60000, epochs=20, bcd_n=10000),
        "quick": dict(width=32, depth=3, n_train=300, epochs=2, bcd_n=300, sgd_lrs=[0.1]),
        "default": dict(width=100, depth=10, n_train=4000, epochs=15, bcd_n=4000),
    }[mode]
    s.setdefault("sgd_lrs", [0.1, 0.01, 1.0])
    custom = {k: v for k in list(s) if (v := getattr(x, k, None)) is not None}
    s.update(custom)
    s["init_scale"] = deep.gain_scale(s["width"], x.raw_init)
    s["paper_inits"] = x.inits
    s["inits"] = [round(v * s["init_scale"], 6) for v in x.inits]
    name = {"paper": "_paper", "quick": "", "default": "_reduced"}[mode]
    s.update(mode=mode, seed=x.seed, runs=x.runs, replot=x.replot, batch_size=100)
    s["name"] = deep.NAME + name + x.suffix
    custom = custom or x.suffix or x.raw_init or x.inits != deep.PAPER_STDS or x.runs
    s["replot_committed"] = bool(x.replot and mode == "default" and not custom)
    if x.replot and not args.quick:  # the logs say which data set: no files needed
        s["dataset"] = deep.logged_dataset(deep.runs_dir(args, s)) or "mnist"
    else:
        s["dataset"] = common.dataset_or_synthetic(args, "mnist")
    if s["dataset"] == "synthetic":
        s["n_train"] = min(s["n_train"], 4000)
    return args, s


# %% run the grid (or read its ended logs back), then the numbers, the verdict, the figure
def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args, s = settings(argv)
    if s.pop("replot_committed"):  # every committed figure, from the committed records alone
        for name in deep.COMMITTED_SUMMARIES:
            png, text = deep.redraw_summary(name, common.figure_dir(args))
            print("figure:", png, "numbers:", notes.write_block(png.parent, f"{deep.NAME}.md",
                                                                 name, text))  # fmt: skip
        return main([*argv, *deep.COMMITTED_PAPER, "--runs", str(deep.PAPER_RUNS)])
    print("settings:", s)
    runs, t0 = deep.runs_dir(args, s), time.perf_counter()
    cfgs = deep.configs(args, s)  # one RunConfig per init, method and SGD rate: one log each
    results = deep.read_back(cfgs, runs) if s["replot"] else common.run_grid(cfgs, runs, args)
    results = [(c, h) for c, h in results if h is not None]
    if not results:
        raise SystemExit(f"--replot: no ended run of these settings in {runs}")
    rows = deep.summarise(results)  # curves and final numbers of every run
    v = deep.verdict(rows, s)  # who trains at which init, and C7 as the paper states it
    text = deep.numbers_markdown(rows, s, v)
    print(text)
    png = deep.plot(rows, s, common.figure_dir(args) / f"{s['name']}.png", deep.title(s))
    md = notes.write_block(png.parent, f"{deep.NAME}.md", s["name"], text)
    s["runs"] = common.shown_path(runs)
    saved = common.save_results(args, s["name"], {"settings": s, "verdict": v, "runs": rows,
                                                  "wall_s": time.perf_counter() - t0})  # fmt: skip
    print("figure:", png, "numbers:", md, "results:", saved)
    return {"figure": png, "results": saved, "verdict": v, "numbers": md}


if __name__ == "__main__":
    main()
