"""Stability over the step sizes: SIBP and ProxBP over (η, λ), SGD and Adam over lr (§5.2, Table 2;
Theorem 4.1).

**The question.** Table 2 of the paper claims that SIBP "is stable with different choice of
parameter" while SGD fails for large learning rates (claim C6). Mind the scale: in our
convention (``docs/conventions.md §2``: ``J`` a mean over the batch, prox term
``1/(2λ)‖W − W^k‖²``) a small SIBP step moves ``W`` by about ``−2λη ∇J``, and ProxBP as
λ → 0 is SGD with learning rate ``2λη``. So a grid over (η, λ) is, to first order, a grid over
one *effective step* ``2λη``, and SIBP at "η = 10" is not SGD at "lr = 10". The question that
matters: *are SIBP and ProxBP still stable at effective steps 2λη at which SGD diverges?* And
Theorem 4.1 (claim C1): with full batches and a smooth activation, does ``J(W^k)`` fall at
every step for η below some ``η̄(λ, W^0)``?

**The answer** (full run; every number in ``figures/04_stability.md``).

- Panel 1 (mini-batch, 200 steps, one seed): SIBP and ProxBP keep training (final loss
  0.23–0.38) at 2λη = 20–2 000, where SGD at lr 10 is stuck at chance (loss 2.34, 9.5 % test)
  and at lr 100 blows up (45.3). Best test accuracy: SIBP 89.35 %, ProxBP 89.35 % (both at
  η = 100, λ = 0.1), SGD 36.25 %, Adam 55.65 %. But 2λη is the step only while
  ``2λ‖F_{i−1}‖² ≪ 1``; beyond, the prox term caps the step at a Gauss–Newton-like move set by
  η alone, so "stable for λ up to 100" is the saturation of a proximal step, and the
  instability moves to η (at η = 100 SIBP degrades from 0.235 at λ = 0.1 to 1.10 at λ = 100).
  SIBP and ProxBP are nearly indistinguishable over the grid. **Verdict (C6) on this problem:
  partly confirmed.**
- Panel 2 (Theorem 4.1, full batch, tanh, float64, 40 steps): SIBP decreases ``J`` at every
  step in 19 of 20 (η, λ) cells (not at η = λ = 100), ProxBP in 18 of 20; full-batch GD for
  lr ≤ 1 only. The bound η̄ shrinks as λ grows, as ``η̄(λ, W^0)`` allows. **Verdict (C1):
  confirmed** (for η ≤ 1 the loss barely moves in 40 steps: much of that region is trivial).

Settings
--------
- Panel 1: the synthetic set (:func:`sibp_ref.data.make_synthetic`: 4 000 training and 2 000
  test samples, 32 features, 10 overlapping classes), 32-64-10 ReLU, softmax cross-entropy,
  batch 100 (shuffled), init N(0, 0.05), 5 epochs, float32, seed 0; η ∈ {0.1, 1, 10, 100},
  λ ∈ {0.01, 0.1, 1, 10, 100} for SIBP (5 NCG steps) and ProxBP (exact); lr ∈ {0.01, …, 100}
  for SGD and {10⁻⁴, …, 1} for Adam. Every run goes through :func:`sibp_ref.run_grid` (logs
  under ``runs/04_stability/``, resumable; ``--runs DIR`` another folder). ``--mnist``: the
  first 5 000 MNIST samples, 784-100-10, 3 epochs (about 10× the time). Table 2 itself is
  tutorial 05.
- Panel 2: synthetic 300 × 32, 32-32-10 tanh (C², σ' > 0: Assumption 4.2), full batch, float64,
  exact inner solves for SIBP, 40 steps; "monotone" = ``J(W^{k+1}) ≤ J(W^k)(1 + 1e-10) + 1e-12``.
- The full run takes about 10 minutes on 2 busy cores. ``--replot`` redraws the three figures
  from ``tutorials/results/04_stability.json`` alone, running nothing.
- ``--quick`` (tests): 500 synthetic samples, a 32-16-10 net, 1 epoch, a 2 × 2 corner of each
  grid, 5 full-batch steps.

The machinery (the run configurations, the monotonicity test, the summary, the figures) is in
``tutorials/_lib/stability.py``.
"""

# %%
from __future__ import annotations

import argparse
from pathlib import Path

import common
from _lib import stability


# %% the settings: the full grids, --mnist, or the tests' quick corner
def settings(argv: list[str] | None = None) -> argparse.Namespace:
    """The options, and the grids and problem sizes they select (as attributes)."""
    args = common.options(__doc__.splitlines()[0], argv, grid=True)
    p = argparse.ArgumentParser()
    p.add_argument(
        "--runs", default=None, help="folder of the run logs (default runs/04_stability)"
    )
    p.add_argument("--mnist", action="store_true", help="panel 1 on 5 000 MNIST samples")
    p.add_argument("--replot", action="store_true", help="the figures from the results file")
    extra = p.parse_known_args(argv)[0]
    args.runs, args.mnist, args.replot = extra.runs, extra.mnist, extra.replot
    if args.replot:
        return args
    if args.quick or not args.mnist:
        args.dataset = "synthetic"
    else:
        args.dataset = common.dataset_or_synthetic(args, "mnist")
    if args.quick:
        args.etas, args.lams = [0.1, 100.0], [0.01, 100.0]
        args.lrs_sgd, args.lrs_adam = [0.1, 100.0], [1e-3, 1.0]
        args.n_train, args.hidden, args.epochs, args.fb_steps = 500, (16,), 1, 5
    else:
        args.etas, args.lams = stability.ETAS, stability.LAMS
        args.lrs_sgd, args.lrs_adam = stability.LRS_SGD, stability.LRS_ADAM
        args.n_train, args.hidden, args.epochs, args.fb_steps = 4000, (64,), 5, 40
        if args.dataset == "mnist":
            args.n_train, args.hidden, args.epochs = 5000, (100,), 3
    args.runs_dir = Path(args.runs) if args.runs else common.ROOT / "runs" / stability.NAME
    if args.out and not args.runs:
        args.runs_dir = Path(args.out) / "runs" / stability.NAME
    return args


# %% run both panels (or read the results back), then the numbers and the figures
def main(argv: list[str] | None = None) -> dict:
    args = settings(argv)
    if args.replot:
        res = stability.read_back(args)  # runs nothing, rewrites no numbers
        out = common.results_path(args, stability.NAME)
    else:
        panel1, wall1 = stability.panel_1(args)  # mini-batch training over the step sizes
        panel2, wall2 = stability.panel_2(args)  # Theorem 4.1: full batch, monotone or not
        res = stability.results(args, panel1, panel2, (wall1, wall2))
        out = common.save_results(args, stability.NAME, res)
    stability.print_summary(res)
    for png in stability.plot_all(args, res):
        print(f"figure: {png}")
    print(f"results: {out}")
    return {**res, "results": out}


if __name__ == "__main__":
    main()
