"""Every tutorial runs from start to finish in quick mode, with a non-interactive backend.

Outputs go to a temporary folder (``SIBP_REF_OUT``), so the committed figures are never
overwritten by a quick run; the test checks that each script wrote at least one PNG and
its results file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_tutorial_runs_in_quick_mode(script: Path, tmp_path: Path) -> None:
    env = dict(
        os.environ,
        SIBP_REF_QUICK="1",
        SIBP_REF_OUT=str(tmp_path),
        MPLBACKEND="Agg",
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    )
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    pngs = list((tmp_path / "figures").glob("*.png"))
    assert pngs, f"{script.name} wrote no figure"
    results = list((tmp_path / "results").glob("*.json"))
    assert results, f"{script.name} wrote no results file"
    for r in results:
        assert json.loads(r.read_text())["meta"]["quick"] is True
