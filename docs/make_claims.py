"""The paper's claims, from one source: ``docs/claims/*.md``, one file per claim.

Each claim file opens with a front-matter block, one ``key: value`` line per field (see
:data:`FIELDS`), followed by the long text: what we measured, in full. From these files

- ``REPRODUCTION.md`` is written (:func:`reproduction_md`): ``_head.md``, the claims table
  with short cells and a link to each claim's file, one line per claim, ``_tail.md``;
- the site's home-page table and one page per claim are written at build time
  (``docs/_ext/sibp_docs.py`` calls :func:`home_table` and :func:`claim_page`).

Adding a claim: add ``docs/claims/<ID>.md``, then ``python docs/make_claims.py``.
``python docs/make_claims.py --check`` exits 1 when ``REPRODUCTION.md`` is not what the
claim files make (``tests/test_claims.py`` checks the same).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
CLAIMS = DOCS / "claims"
LEDGER = ROOT / "REPRODUCTION.md"

#: The front-matter fields of a claim file, in order, and what each holds.
FIELDS = {
    "id": "C1 ... C12 for the paper's claims, A1, A2, ... for comparisons with published codes",
    "claim": "what the paper says, in a phrase",
    "where": "where in the paper (section, theorem, figure or table)",
    "statement": "the paper's statement, in full",
    "paper": "the paper's number",
    "ours": "our number (mean ± sd, seeds × epochs where there are seeds)",
    "verdict": "one of VERDICTS",
    "summary": "the verdict's reason, in one line",
    "verdict_note": "the verdict in full, with its qualifications",
    "history": "what the verdict was before (empty when it never changed)",
    "command": "the command(s) that reproduce it",
    "figure": "the figure, from the repository root (may be empty)",
    "notes": "the figure's notes, figures/NN_*.md (may be empty)",
}
OPTIONAL = {"history", "figure", "notes"}
VERDICTS = ("confirmed", "partly", "not confirmed", "running", "not run", "comparison")
#: The claims tables' columns; the verdict beside the claim, where a phone still shows it.
HEADER = ["#", "the paper says", "verdict", "paper", "ours"]


@dataclass(frozen=True)
class Claim:
    """One claim: its front-matter fields and its long text (``body``)."""

    fields: dict
    body: str
    path: Path

    def __getattr__(self, name: str) -> str:
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def repo_path(self) -> str:
        return self.path.relative_to(ROOT).as_posix()


def read_claim(path: Path) -> Claim:
    """Parse one claim file: ``---``, ``key: value`` lines, ``---``, the long text."""
    text = path.read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n", text, flags=re.S)
    if not m:
        raise ValueError(f"{path}: expected a front-matter block between '---' lines at the top")
    fields = {}
    for n, line in enumerate(m.group(1).splitlines(), start=2):
        key, sep, value = line.partition(":")
        if not sep or key not in FIELDS:
            raise ValueError(
                f"{path}:{n}: expected 'key: value' with key in {list(FIELDS)}, got {line!r}"
            )
        fields[key] = value.strip()
    missing = [k for k in FIELDS if k not in OPTIONAL and not fields.get(k)]
    if missing:
        raise ValueError(f"{path}: fields {missing} are missing or empty")
    for k in OPTIONAL:
        fields.setdefault(k, "")
    if fields["verdict"] not in VERDICTS:
        raise ValueError(f"{path}: verdict must be one of {VERDICTS}, got {fields['verdict']!r}")
    if fields["id"] != path.stem:
        raise ValueError(f"{path}: id {fields['id']!r} must match the file name {path.stem!r}")
    return Claim(fields, text[m.end() :].strip() + "\n", path)


def order(claim_id: str) -> tuple:
    """The paper's claims first (C1, C2, ..., C12), then the comparisons (A1, A2, ...)."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", claim_id)
    if not m:
        raise ValueError(f"claim id must be letters then a number (C7, A2), got {claim_id!r}")
    return (m.group(1) != "C", m.group(1), int(m.group(2)))


def load_claims(folder: Path = CLAIMS) -> list[Claim]:
    """Every claim file of ``folder`` (``_*.md`` are the ledger's other sections), in order."""
    claims = [read_claim(p) for p in folder.glob("*.md") if not p.name.startswith("_")]
    return sorted(claims, key=lambda c: order(c.id))


def cell(text: str) -> str:
    """Text safe inside one Markdown table cell: no line break, every ``|`` escaped (after
    an odd number of backslashes, which both GFM and MyST's parser read as escaped)."""
    text = " ".join(text.split())

    def escape(m: re.Match) -> str:
        slashes = m.group(1)
        return slashes + ("\\" if len(slashes) % 2 == 0 else "") + "|"

    return re.sub(r"(\\*)\|", escape, text) or "—"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; every cell goes through :func:`cell`."""
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def reproduction_md(claims: list[Claim], folder: Path = CLAIMS) -> str:
    """``REPRODUCTION.md``: the head, the short table, the claims in a line, the tail."""
    rows = [
        [f"[{c.id}]({c.repo_path})", f"{c.claim} ({c.where})", f"**{c.verdict}**", c.paper, c.ours]
        for c in claims
    ]
    lines = "\n".join(
        f"- **[{c.id}]({c.repo_path})**, {c.verdict}: {' '.join(c.summary.split())}" for c in claims
    )
    return (
        (folder / "_head.md").read_text(encoding="utf-8").rstrip("\n")
        + "\n\n"
        + table(HEADER, rows)
        + "\n## Each claim in a line\n\n"
        + lines
        + "\n\n"
        + (folder / "_tail.md").read_text(encoding="utf-8").lstrip("\n")
    )


def home_table(claims: list[Claim], page_dir: str = "claim") -> str:
    """The site's claims table: verdicts as badges (the ``verdict`` role), links to the pages."""
    rows = [
        [f"[{c.id}]({page_dir}/{c.id}.md)", c.claim, f"{{verdict}}`{c.verdict}`", c.paper, c.ours]
        for c in claims
    ]
    return table(HEADER, rows)


def claim_page(c: Claim) -> str:
    """One claim's page (MyST Markdown, links written from the claim file's folder)."""
    facts = (
        f"- **The paper** ({c.where}): {c.statement}\n"
        f"- **The paper's number:** {c.paper}\n"
        f"- **Ours:** {c.ours}\n"
        f"- **Verdict:** {c.verdict_note}\n"
    )
    parts = [f"# {c.id}: {c.claim}\n", f"{{verdict}}`{c.verdict}` {c.summary}\n", facts]
    if c.figure:
        parts.append(f"![{c.id}: the figure](../../{c.figure})\n")
    parts += ["## What we measured\n", c.body, "## Settings and command\n", c.command + "\n"]
    if c.notes:
        parts.append(f"The figure's notes, with every setting: [{c.notes}](../../{c.notes}).\n")
    parts += [
        "## The verdict's history\n",
        (c.history or "Unchanged since it was first measured.") + "\n",
    ]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if REPRODUCTION.md is stale")
    args = p.parse_args(argv)
    text = reproduction_md(load_claims())
    if args.check:
        stale = LEDGER.read_text(encoding="utf-8") != text
        print(
            f"{LEDGER.name} is {'stale: run python docs/make_claims.py' if stale else 'up to date'}"
        )
        return int(stale)
    LEDGER.write_text(text, encoding="utf-8")
    print(f"wrote {LEDGER.name} from {len(load_claims())} claims")
    return 0


if __name__ == "__main__":
    sys.exit(main())
