"""Every committed figure, redrawn by one command: ``python tutorials/replot_all.py``.

Each figure under ``figures/`` is made by one command, listed once in :data:`RECIPES`:

- a **replot** draws it from committed run logs or results alone and runs nothing (the
  figures of the long experiments: Table 2, the deep network, the small-sample runs, …);
- a **rerun** repeats the computation, because it is short and deterministic (a toy problem,
  one step on a tiny net, the main job's 20 epochs on generated data).

``python tutorials/replot_all.py`` runs every recipe (a few minutes on 2 CPU cores) and
says, per recipe, how long it took and whether each of its figures was rewritten;
``--list`` prints the table without running anything; ``--only 05 06`` runs the recipes
whose name starts with one of those prefixes; ``--replots-only`` skips the reruns. A test
(``tests/test_replot_all.py``) checks that every committed PNG has exactly one recipe, so
a new figure cannot be committed without the command that makes it.

MNIST-backed reruns read the data from ``--data-dir DIR`` (or ``SIBP_REF_DATA``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ROOT / "figures"


class Recipe(NamedTuple):
    """One command and the figures it writes."""

    name: str  # a short name, led by the tutorial's number
    kind: str  # "replot" (from committed logs, runs nothing) or "rerun" (recomputes)
    argv: tuple[str, ...]  # the command, from the repository root; "python" is this Python
    figures: tuple[str, ...]  # PNG names under figures/
    minutes: float  # about how long it takes on 2 CPU cores (for --list)


def _py(script: str, *args: str) -> tuple[str, ...]:
    return ("python", f"tutorials/{script}", *args)


#: Every committed figure and the one command that makes it.
RECIPES: tuple[Recipe, ...] = (
    Recipe("00 main job", "rerun", ("sibp-ref", "compare"), ("00_main_job.png",), 2),
    Recipe("01 vanishing gradient", "rerun", _py("01_vanishing_gradient.py"),
           ("01_vanishing_gradient.png",), 0.5),
    Recipe("02 toy problem", "rerun", _py("02_toy_problem.py"), ("02_toy_problem.png",), 5),
    Recipe("03 one step", "rerun", _py("03_one_step_four_ways.py"),
           ("03_one_step_four_ways.png",), 0.2),
    Recipe("04 stability", "replot", _py("04_stability.py", "--replot"),
           ("04_stability_grid.png", "04_stability_effective_step.png",
            "04_stability_monotone.png"), 0.2),
    Recipe("05 Table 2", "replot", _py("05_table2.py", "--paper", "--replot"),
           ("05_table2_paper.png",), 0.5),
    Recipe("05 Table 2, published codes", "replot",
           _py("05_table2.py", "--paper", "--replot", "--authors-solver", "--proxprop-cg"),
           ("05_table2_paper_published.png",), 0.5),
    Recipe("06 deep network", "replot", _py("06_deep_network.py", "--replot"),
           ("06_deep_network_paper.png", "06_deep_network_reduced.png",
            "06_deep_network_reduced_long.png"), 0.5),
    Recipe("07 small samples", "replot", _py("07_small_samples.py", "--replot"),
           ("07_small_samples.png",), 0.3),
    Recipe("08 L1 pruning", "rerun", _py("08_l1_pruning.py"),
           ("08_l1_pruning.png", "08_l1_pruning_lenet.png"), 3),
    Recipe("09 inner iterations", "replot", _py("09_inner_iterations.py", "--replot"),
           ("09_inner_iterations.png",), 0.2),
    Recipe("10 authors' solver", "replot", _py("10_authors_solver.py", "--replot"),
           ("10_authors_solver.png",), 0.2),
    Recipe("11 inner step length", "replot", _py("11_inner_step_length.py", "--replot"),
           ("11_inner_step_length.png",), 0.2),
    Recipe("12 published codes", "replot", _py("12_published_codes.py", "--replot"),
           ("12_published_codes.png",), 0.2),
)  # fmt: skip


def by_figure(recipes=RECIPES) -> dict[str, list[str]]:
    """Figure name → the names of the recipes that write it."""
    out: dict[str, list[str]] = {}
    for r in recipes:
        for f in r.figures:
            out.setdefault(f, []).append(r.name)
    return out


def coverage(recipes=RECIPES, folder: Path = FIGURES) -> dict[str, list[str]]:
    """What is wrong with the table against ``folder``: committed figures without a recipe
    (``"missing"``), figures with more than one (``"twice"``), recipes' figures that do not
    exist (``"absent"``). Empty lists when every figure has exactly one recipe."""
    on_disk = {p.name for p in folder.glob("*.png")}
    made = by_figure(recipes)
    return {
        "missing": sorted(on_disk - made.keys()),
        "twice": sorted(f for f, names in made.items() if len(names) > 1),
        "absent": sorted(made.keys() - on_disk),
    }


def _command(r: Recipe) -> list[str]:
    if r.argv[0] == "python":
        return [sys.executable, *r.argv[1:]]
    if r.argv[0] == "sibp-ref":
        return [sys.executable, "-m", "sibp_ref", *r.argv[1:]]
    return list(r.argv)


def _run_main_job(r: Recipe, env: dict) -> None:
    """The main job writes ``compare.png`` in its own folder: run it in a temporary one and
    copy the figure in."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*_command(r), "--out", tmp], cwd=ROOT, env=env, check=True)
        shutil.copyfile(Path(tmp) / "compare.png", FIGURES / r.figures[0])


def run(r: Recipe, env: dict) -> tuple[float, list[str]]:
    """Run ``r``; return its seconds and the figures it did not rewrite."""
    before = {f: (FIGURES / f).stat().st_mtime_ns if (FIGURES / f).exists() else 0
              for f in r.figures}  # fmt: skip
    t = time.perf_counter()
    if r.name.startswith("00"):
        _run_main_job(r, env)
    else:
        subprocess.run(_command(r), cwd=ROOT, env=env, check=True)
    stale = [f for f in r.figures if (FIGURES / f).stat().st_mtime_ns == before[f]]
    return time.perf_counter() - t, stale


def table(recipes=RECIPES) -> str:
    rows = [f"{'recipe':26s} {'kind':7s} {'min':>4s}  command → figures"]
    for r in recipes:
        rows.append(f"{r.name:26s} {r.kind:7s} {r.minutes:4.1f}  {' '.join(r.argv)}"
                    f" → {', '.join(r.figures)}")  # fmt: skip
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--list", action="store_true", help="print the recipes, run nothing")
    p.add_argument("--only", nargs="+", default=None, help="recipe name prefixes, e.g. 05 06")
    p.add_argument("--replots-only", action="store_true", help="skip the reruns")
    p.add_argument("--data-dir", default=os.environ.get("SIBP_REF_DATA"))
    args = p.parse_args(argv)
    gaps = coverage()
    if any(gaps.values()):
        print(f"the recipes do not match figures/: {gaps}", file=sys.stderr)
    if args.list:
        print(table())
        return 0
    chosen = [r for r in RECIPES
              if (args.only is None or any(r.name.startswith(o) for o in args.only))
              and not (args.replots_only and r.kind == "rerun")]  # fmt: skip
    if not chosen:
        raise SystemExit(f"--only {args.only}: no recipe; names: {[r.name for r in RECIPES]}")
    env = dict(os.environ, MPLBACKEND="Agg")
    env.pop("SIBP_REF_OUT", None)  # the committed figures are the point
    env.pop("SIBP_REF_QUICK", None)
    if args.data_dir:
        env["SIBP_REF_DATA"] = args.data_dir
    failed = []
    for r in chosen:
        print(f"== {r.name}: {' '.join(r.argv)}", flush=True)
        try:
            seconds, stale = run(r, env)
        except subprocess.CalledProcessError as exc:
            failed.append(r.name)
            print(f"   FAILED (exit {exc.returncode})", flush=True)
            continue
        note = f"; not rewritten: {stale}" if stale else ""
        print(f"   {seconds:.0f} s, {len(r.figures) - len(stale)}/{len(r.figures)} figures{note}")
        failed += [r.name] if stale else []
    print(f"{len(chosen) - len(failed)} of {len(chosen)} recipes redrew their figures"
          + (f"; failed: {failed}" if failed else ""))  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
