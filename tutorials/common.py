"""Plumbing shared by the tutorial scripts (not part of the package).

Every tutorial:

- imports ``sibp_ref`` as an installed package (``pip install -e .``) or from
  ``PYTHONPATH``; this module says how when it is not importable;
- has a ``main(argv=None)`` and runs it under ``if __name__ == "__main__"``;
- runs in **full** mode by default (the settings recorded in ``figures/*.md``) and in
  **quick** mode with ``--quick`` or ``SIBP_REF_QUICK=1`` (small enough for the test suite);
- takes ``--backend numpy|cupy`` (or ``SIBP_REF_BACKEND``) and ``--data-dir``
  (or ``SIBP_REF_DATA``) for MNIST / Fashion-MNIST;
- when it runs a grid of runs, takes ``--workers N`` (default: the number of cores) and
  ``--scheduler ADDRESS`` (a Dask scheduler), see :func:`run_grid`;
- writes its figures to ``figures/`` and its numbers to ``tutorials/results/<name>.json``
  (``SIBP_REF_OUT`` redirects both, which the tests use so quick runs never overwrite the
  committed figures).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

try:
    import sibp_ref
except ImportError as exc:  # pragma: no cover - the message is the point
    raise SystemExit(
        "the tutorials need the sibp_ref package: run `pip install -e .` in the repository "
        "root, or set PYTHONPATH to it"
    ) from exc

from sibp_ref.data import DataError, locate

ROOT = Path(__file__).resolve().parent.parent


def options(
    description: str = "", argv: list[str] | None = None, *, grid: bool = False
) -> argparse.Namespace:
    """Parse the options every tutorial takes (plus environment defaults).

    ``grid=True`` adds ``--workers`` and ``--scheduler`` for the tutorials that run grids.
    Unknown options are left to the tutorial's own parser (and tolerated, e.g. Jupyter's).
    """
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--quick",
        action="store_true",
        default=os.environ.get("SIBP_REF_QUICK", "") not in ("", "0"),
        help="tiny settings, for the tests",
    )
    p.add_argument("--backend", default=os.environ.get("SIBP_REF_BACKEND", "numpy"))
    p.add_argument("--data-dir", default=os.environ.get("SIBP_REF_DATA"))
    p.add_argument(
        "--out",
        default=os.environ.get("SIBP_REF_OUT"),
        help="folder for figures and results (default: figures/ and tutorials/results/)",
    )
    if grid:
        p.add_argument(
            "--workers",
            type=_positive_int,
            default=os.cpu_count() or 1,
            help="runs of the grid at once (default: the number of cores)",
        )
        p.add_argument("--scheduler", default=None, help="address of a Dask scheduler")
    args, _ = p.parse_known_args(argv)
    return args


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def run_grid(configs: list, out_dir: Path, args: argparse.Namespace, **kwargs: Any) -> list:
    """:func:`sibp_ref.run_grid` on ``args.workers`` processes (or ``args.scheduler``).

    A run that another process is writing is skipped (``skip_locked``): the same command
    started in two shells shares the grid, each finishing its own runs one by one.

    The parallel executors come with :mod:`sibp_ref.run.grid`; where this version of the
    package lacks it, the grid runs serially, as every run's log is the same either way.
    """
    try:
        from sibp_ref.run.grid import make_executor
    except ImportError:
        if args.scheduler:
            raise SystemExit(
                "--scheduler needs sibp_ref.run.grid (parallel grids), which this version "
                "of sibp_ref lacks; leave it out to run the grid serially"
            ) from None
        return sibp_ref.run_grid(configs, out_dir, **kwargs)
    executor = make_executor(args.workers, args.scheduler)
    return sibp_ref.run_grid(configs, out_dir, executor=executor, skip_locked=True, **kwargs)


def dataset_or_synthetic(args: argparse.Namespace, name: str = "mnist") -> str:
    """``name`` when its files are found; in quick mode the synthetic set otherwise.

    Outside quick mode a missing data set ends the script with the loader's message
    (where it looked, and how to provide the files).
    """
    try:
        locate(name, args.data_dir)
    except DataError as exc:
        if not args.quick:
            raise SystemExit(str(exc)) from None
        print(f"{name} not found: quick mode runs on the synthetic set")
        return "synthetic"
    return name


def figure_dir(args: argparse.Namespace) -> Path:
    d = Path(args.out) / "figures" if args.out else ROOT / "figures"
    d.mkdir(parents=True, exist_ok=True)
    return d


def results_path(args: argparse.Namespace, name: str) -> Path:
    d = Path(args.out) / "results" if args.out else ROOT / "tutorials" / "results"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}.json"


def save_results(args: argparse.Namespace, name: str, results: dict[str, Any]) -> Path:
    """Write ``results`` with the settings and the machine, atomically."""
    import numpy

    meta = {
        "tutorial": name,
        "quick": bool(args.quick),
        "backend": args.backend,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "sibp_ref": sibp_ref.__version__,
    }
    path = results_path(args, name)
    write_atomic(path, json.dumps({"meta": meta, **results}, indent=1, default=float))
    return path


def authors_to_ours(eta_c: float, lam_c: float, batch: int) -> tuple[float, float]:
    """The authors' code values (η_c on the summed loss, λ_c on ``‖W − W^k‖²``) in our
    symbols: ``η = n·η_c``, ``λ = 1/(2λ_c)`` for batches of ``n`` (``docs/conventions.md §4``)."""
    return batch * eta_c, 1.0 / (2.0 * lam_c)


def shown_path(path: Path | str) -> str:
    """``path`` as a results file records it: from the repository root when it lies inside,
    else its last part (a results file must not carry the path of the machine it was made on)."""
    p = Path(path).resolve()
    try:
        return p.relative_to(ROOT).as_posix()
    except ValueError:
        return p.name


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file beside it, so that an interrupted
    write leaves the old file whole."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def savefig(fig, args: argparse.Namespace, filename: str) -> Path:
    path = figure_dir(args) / filename
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
