"""Behaviour pinned across refactors: three steps of every method and inner solver give the
iterates recorded from the code before the package was reorganised (float64, relative 1e-12).

The cases and the problem are in ``golden_cases.py``; the recorded iterates in
``data/golden_iterates.npz``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from golden_cases import CASES, STEPS, iterates

from sibp_ref import MLP, make_method

GOLDEN = np.load(Path(__file__).parent / "data" / "golden_iterates.npz")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_refactor_keeps_every_methods_iterates(case):
    got = iterates(make_method, MLP, case)
    for s in range(STEPS):
        ref = GOLDEN[f"{case[0]}/{s}"]
        err = np.linalg.norm(got[s] - ref) / np.linalg.norm(ref)
        assert err <= 1e-12, f"{case[0]}, step {s + 1}: relative difference {err:.3e}"
