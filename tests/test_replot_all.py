"""Every committed figure has exactly one command that makes it (``tutorials/replot_all.py``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _replot_all():
    path = ROOT / "tutorials" / "replot_all.py"
    spec = importlib.util.spec_from_file_location("replot_all", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_every_committed_figure_has_exactly_one_recipe_and_every_recipe_a_figure():
    gaps = _replot_all().coverage()
    assert gaps == {"missing": [], "twice": [], "absent": []}, (
        "figures/ and tutorials/replot_all.py disagree: add a recipe for a new figure, or "
        f"remove a stale one: {gaps}"
    )


def test_coverage_sees_a_figure_without_a_recipe_and_one_made_twice(tmp_path):
    ra = _replot_all()
    (tmp_path / "a.png").write_bytes(b"")
    (tmp_path / "orphan.png").write_bytes(b"")
    recipes = (
        ra.Recipe("x", "rerun", ("python", "x.py"), ("a.png",), 1),
        ra.Recipe("y", "replot", ("python", "y.py"), ("a.png", "gone.png"), 1),
    )
    assert ra.coverage(recipes, tmp_path) == {
        "missing": ["orphan.png"],
        "twice": ["a.png"],
        "absent": ["gone.png"],
    }


def test_every_recipe_names_a_script_that_exists_and_a_known_kind():
    ra = _replot_all()
    for r in ra.RECIPES:
        assert r.kind in ("replot", "rerun"), r
        if r.argv[0] == "python":
            assert (ROOT / r.argv[1]).is_file(), f"{r.name}: no {r.argv[1]}"
