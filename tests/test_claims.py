"""The claims have one source (``docs/claims/*.md``) and ``REPRODUCTION.md`` is made from it.

- ``REPRODUCTION.md`` is exactly what ``docs/make_claims.py`` writes from the claim files
  (so the ledger and the site cannot drift apart);
- every claim the paper makes (C1–C12) and the comparison A1 has a file with every field,
  a verdict from the fixed list, and a figure and notes that exist;
- a generated table row has as many cells as its header whatever the text holds
  (``|Δw₁|`` once split a row of the ledger).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_claims", ROOT / "docs" / "make_claims.py")
make_claims = sys.modules.setdefault("make_claims", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(make_claims)

CLAIMS = make_claims.load_claims()
IDS = [c.id for c in CLAIMS]


def test_reproduction_md_is_what_the_claim_files_make() -> None:
    want = make_claims.reproduction_md(CLAIMS)
    assert (ROOT / "REPRODUCTION.md").read_text(encoding="utf-8") == want, (
        "REPRODUCTION.md differs from docs/claims/*.md: run python docs/make_claims.py"
    )


def test_every_claim_of_the_paper_and_the_first_comparison_has_a_file() -> None:
    assert {f"C{i}" for i in range(1, 13)} | {"A1"} <= set(IDS)
    assert IDS[:12] == [f"C{i}" for i in range(1, 13)], "paper's claims first, in order"


@pytest.mark.parametrize("claim", CLAIMS, ids=IDS)
def test_each_claim_names_its_verdict_place_and_an_existing_figure(claim) -> None:
    assert claim.verdict in make_claims.VERDICTS
    # A paper's claim gets a verdict, a comparison with a published code (A-rows) is a
    # comparison — or running, or not run yet, like any measurement.
    if claim.id.startswith("A"):
        assert claim.verdict in ("comparison", "running", "not run"), claim.id
    else:
        assert claim.verdict != "comparison", claim.id
    assert re.search(r"§|Theorem|Table|Fig", claim.where), claim.where
    for field in ("figure", "notes"):
        if getattr(claim, field):
            assert (ROOT / getattr(claim, field)).is_file(), f"{claim.id}: {field} missing"
    assert len(claim.body) > len(claim.summary), f"{claim.id}: no long text"


def test_a_claim_file_with_an_unknown_field_or_verdict_is_refused(tmp_path) -> None:
    good = (ROOT / "docs" / "claims" / "C1.md").read_text(encoding="utf-8")
    bad = tmp_path / "C1.md"
    bad.write_text(good.replace("verdict: confirmed", "verdict: mostly"), encoding="utf-8")
    with pytest.raises(ValueError, match="verdict must be one of"):
        make_claims.read_claim(bad)
    bad.write_text(good.replace("where:", "place:"), encoding="utf-8")
    with pytest.raises(ValueError, match="expected 'key: value'"):
        make_claims.read_claim(bad)


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells, split as GFM does: a backslash escapes the next
    character, any other ``|`` ends a cell."""
    cells, cur, chars = [], "", iter(row.strip())
    for ch in chars:
        if ch == "\\":
            cur += ch + next(chars, "")
        elif ch == "|":
            cells.append(cur)
            cur = ""
        else:
            cur += ch
    return cells[1:]  # the text before the first | is empty


@given(st.lists(st.lists(st.text(), min_size=3, max_size=3), min_size=1, max_size=4))
def test_a_generated_table_row_has_as_many_cells_as_its_header_whatever_its_text(rows) -> None:
    lines = make_claims.table(["a", "b", "c"], rows).splitlines()
    assert all(len(_cells(line)) == 3 for line in lines), lines
