"""The documentation site builds with no warnings, and every tutorial page shows its figures.

One Sphinx build (``-W``: any warning fails it) into a temporary folder, with every
tutorial executed afresh in quick mode; then, on the built HTML:

- each ``tutorials/NN_*.py`` has a page with a title, holding the figure its code drew
  during this build and, when ``figures/NN_*.md`` exists, the committed full-run figures;
- every algorithm page shows the code of its method's ``step``;
- MathJax is served from the site (no network needed to read the math);
- no link between the site's pages points to a missing file or a missing anchor;

and, read as a reader would read it:

- every table row has as many cells as its header (a stray ``|`` once split a ledger row);
- every image a page shows exists, and every committed figure of ``figures/`` is shown (or
  named, where its notes describe it in words);
- the gallery has one card per tutorial, titled as its page, none cut mid-sentence, and its
  header states no wrong count;
- the home page leads with a figure and the claims table (a row and a page per claim);
- no page holds an absolute path of the build machine.

Marked ``docs`` (not in the default run: several minutes on 2 cores); skipped with the
reason when the ``[docs]`` extra is not installed. ``SIBP_REF_DOCS_SITE=docs/_build/html``
checks a site already built instead of building one.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))
NEEDED = ("sphinx", "sphinx_gallery", "myst_parser", "numpydoc", "pydata_sphinx_theme")
MISSING = [m for m in NEEDED if importlib.util.find_spec(m) is None]
if importlib.util.find_spec("sphinx-mathjax-offline") is None:
    MISSING.append("sphinx-mathjax-offline")

pytestmark = [
    pytest.mark.docs,
    pytest.mark.skipif(
        bool(MISSING),
        reason=f"docs extra not installed ({', '.join(MISSING)}): pip install -e '.[docs]'",
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The site, built once for this module (or the one ``SIBP_REF_DOCS_SITE`` names)."""
    if os.environ.get("SIBP_REF_DOCS_SITE"):
        built = Path(os.environ["SIBP_REF_DOCS_SITE"]).resolve()
        assert (built / "index.html").is_file(), f"SIBP_REF_DOCS_SITE={built}: no index.html"
        return built
    out = tmp_path_factory.mktemp("docs")
    html = out / "html"
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    cmd = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
        "-d", str(out / "doctrees"),
        "-D", "sphinx_gallery_conf.run_stale_examples=True",
        str(ROOT / "docs"), str(html),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return html


def _imgs(page: Path) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', page.read_text())


@pytest.mark.parametrize("script", TUTORIALS, ids=[p.stem for p in TUTORIALS])
def test_every_tutorial_page_shows_its_quick_figure_and_the_full_run(site, script) -> None:
    page = site / "tutorials" / f"{script.stem}.html"
    assert page.is_file(), f"no page for {script.name}"
    text = page.read_text()
    assert re.search(r"<h1>.+</h1>", text), f"{page.name} has no title"
    srcs = _imgs(page)
    drawn = [s for s in srcs if f"sphx_glr_{script.stem}_0" in s]
    assert drawn, f"{page.name} shows no figure drawn by its code: {srcs}"
    for s in drawn:
        assert (page.parent / s).is_file(), f"{page.name}: {s} missing"
    notes = ROOT / "figures" / f"{script.stem}.md"
    if notes.is_file():
        committed = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", notes.read_text())
        assert "The full run" in text
        for name in committed:
            shown = [s for s in srcs if s.endswith("/" + Path(name).name)]
            assert shown, f"{page.name} does not show the committed {name}"
            assert (page.parent / shown[0]).is_file()


@pytest.mark.parametrize("method", ["bp", "proxbp", "bcd", "sibp"])
def test_every_algorithm_page_shows_the_code_of_its_step(site, method) -> None:
    html = (site / "algorithms" / f"{method}.html").read_text()
    code = re.sub(
        r"<[^>]+>", "", "".join(re.findall(r'<div class="highlight">.*?</pre>', html, re.S))
    )
    assert re.search(r"def step\(self, net\b", unescape(code)), method


def test_math_is_served_by_the_site_itself(site) -> None:
    text = (site / "algorithms" / "sibp.html").read_text()
    scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', text, flags=re.I)
    assert scripts, "no MathJax script on the SIBP page"
    for src in scripts:
        assert not urlsplit(src).scheme, f"MathJax loaded from the network: {src}"
        assert (site / "algorithms" / urlsplit(src).path).is_file(), src
    assert r"\arg\min" in text  # the update (4.1) is on the page, for MathJax to render


def _pages(site: Path) -> list[Path]:
    """The site's own pages (not the copied sources and static files under ``_*``)."""
    return [p for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")]


def _ids(page: Path, cache: dict) -> set[str]:
    if page not in cache:
        cache[page] = set(re.findall(r'\sid="([^"]+)"', page.read_text()))
    return cache[page]


def test_no_link_between_pages_is_broken(site) -> None:
    broken, ids = [], {}
    for page in site.rglob("*.html"):
        for a, href in re.findall(r'(<a[^>]*\shref="([^"]+)")', page.read_text()):
            parts = urlsplit(unescape(href))
            if parts.scheme or parts.netloc:
                continue
            target = (page.parent / unquote(parts.path)) if parts.path else page
            # viewcode's "[docs]" link of a re-exported name names the anchor by the module
            # that defines it, on the page of the module that exports it (a Sphinx quirk)
            back = "viewcode-back" in a
            if not target.exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
            elif parts.fragment and target.suffix == ".html" and not back:
                if unquote(parts.fragment) not in _ids(target, ids):
                    broken.append(f"{page.relative_to(site)} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken[:20])


class _Tables(HTMLParser):
    """The cell count (colspans added) of every row of every table, table by table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[int]] = []
        self.depth = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "table":
            self.tables.append([])
            self.depth += 1
        elif tag == "tr" and self.depth:
            self.tables[-1].append(0)
        elif tag in ("td", "th") and self.depth and self.tables[-1]:
            self.tables[-1][-1] += int(dict(attrs).get("colspan") or 1)

    def handle_endtag(self, tag) -> None:
        if tag == "table":
            self.depth -= 1


def test_every_table_row_has_as_many_cells_as_its_header(site) -> None:
    bad = []
    for page in _pages(site):
        parser = _Tables()
        parser.feed(page.read_text())
        for n, rows in enumerate(parser.tables):
            if rows and any(r != rows[0] for r in rows):
                bad.append(f"{page.relative_to(site)} table {n}: cells per row {rows}")
    assert not bad, "\n".join(bad[:20])


def test_every_image_exists_and_every_committed_figure_is_shown_or_named(site) -> None:
    missing, shown, text = [], set(), []
    for page in _pages(site):
        text.append(page.read_text())
        for src in _imgs(page):
            parts = urlsplit(unescape(src))
            if parts.scheme or parts.netloc:
                continue
            if not (page.parent / unquote(parts.path)).is_file():
                missing.append(f"{page.relative_to(site)}: {src}")
            shown.add(Path(unquote(parts.path)).name)
    assert not missing, "\n".join(missing[:20])
    words = "\n".join(text)
    figures = sorted((ROOT / "figures").glob("*.png"))
    unused = [p.name for p in figures if p.name not in shown and p.name not in words]
    assert not unused, f"committed figures no page shows or names (link or delete them): {unused}"


def _tutorial_titles(site: Path) -> dict[str, str]:
    titles = {}
    for script in TUTORIALS:
        text = (site / "tutorials" / f"{script.stem}.html").read_text()
        h1 = re.search(r"<h1>(.*?)(<a class=\"headerlink\"|</h1>)", text, flags=re.S)
        titles[script.stem] = unescape(re.sub(r"<[^>]+>", "", h1.group(1))).strip()
    return titles


NUMBER_WORDS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"


def test_the_gallery_shows_every_tutorial_once_under_its_page_title(site) -> None:
    text = (site / "tutorials" / "index.html").read_text()
    cards = re.findall(
        r'<div class="sphx-glr-thumbcontainer".*?href="(\d\d_\w+)\.html.*?'
        r'sphx-glr-thumbnail-title">(.*?)</div>',
        text,
        flags=re.S,
    )
    assert [stem for stem, _ in cards] == [p.stem for p in TUTORIALS]
    titles = _tutorial_titles(site)
    for stem, card in cards:
        card = unescape(card).strip()
        same = card.replace("'", "’") == titles[stem].replace("'", "’")  # Sphinx's quotes
        assert same, f"card {stem}: {card!r} is not its page's title {titles[stem]!r}"
        assert card.count("(") == card.count(")") and not card.endswith((",", ";", ":")), card
    header = unescape(re.sub(r"<[^>]+>", " ", text.split('class="sphx-glr-thumbnails', 1)[0]))
    words = NUMBER_WORDS.split()
    for m in re.finditer(rf"\b({'|'.join(words)}|\d+)\s+(?:plain\s+)?scripts\b", header, re.I):
        said = m.group(1).lower()
        n = int(said) if said.isdigit() else words.index(said) + 1
        assert n == len(TUTORIALS), f"the gallery says {m.group(0)!r}; there are {len(TUTORIALS)}"


def test_the_home_page_leads_with_a_figure_and_the_claims_table(site) -> None:
    text = (site / "index.html").read_text()
    body = text.split('<article class="bd-article"', 1)[-1]
    assert body.find("<img") < body.find("<table"), "the figure comes first"
    claims = sorted((ROOT / "docs" / "claims").glob("[A-Z]*.md"))
    assert len(claims) >= 13
    table = body[body.find("<table") : body.find("</table>")]
    for claim in claims:
        assert f'href="claim/{claim.stem}.html"' in table, f"no row links {claim.stem}"
        assert (site / "claim" / f"{claim.stem}.html").is_file()
    assert len(re.findall(r'class="verdict verdict-', table)) == len(claims)


def test_no_page_holds_an_absolute_path_of_the_build_machine(site) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_no_machine_paths import machine_paths

    found = []
    for page in _pages(site):
        text = unescape(re.sub(r"<[^>]+>", "", page.read_text()))
        found += [f"{page.relative_to(site)}: {hit}" for hit in machine_paths(text)]
        if len(str(ROOT)) > 4 and str(ROOT) in text:  # the checkout, wherever it lies
            found.append(f"{page.relative_to(site)}: {ROOT}")
    assert not found, "\n".join(found[:20])
