"""Plumbing shared by the tutorial scripts (not part of the package).

Every tutorial:

- runs in **full** mode by default (the settings recorded in ``figures/README.md``) and in
  **quick** mode with ``--quick`` or ``SIBP_REF_QUICK=1`` (small enough for the test suite);
- takes ``--backend numpy|cupy`` (or ``SIBP_REF_BACKEND``) and ``--data-dir``
  (or ``SIBP_REF_DATA``) for MNIST / Fashion-MNIST;
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

ROOT = Path(__file__).resolve().parent.parent


def options(description: str = "", argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the options every tutorial takes (plus environment defaults)."""
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
    args, _ = p.parse_known_args(argv)  # tolerate e.g. Jupyter's own arguments
    return args


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

    import sibp_ref

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
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"meta": meta, **results}, indent=1, default=float))
    tmp.replace(path)
    return path


def savefig(fig, args: argparse.Namespace, filename: str) -> Path:
    path = figure_dir(args) / filename
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path
