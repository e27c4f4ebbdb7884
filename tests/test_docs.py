"""The documentation site builds with no warnings, and every tutorial page shows its figures.

One Sphinx build (``-W``: any warning fails it) into a temporary folder, with every
tutorial executed afresh in quick mode; then, on the built HTML:

- each ``tutorials/NN_*.py`` has a page with a title, holding the figure its code drew
  during this build and, when ``figures/NN_*.md`` exists, the committed full-run figures;
- every algorithm page shows the code of its method's ``step``;
- MathJax is served from the site (no network needed to read the math);
- no link between the site's pages points to a missing file.

Marked ``docs`` (not in the default run: about two minutes on 2 cores); skipped with the
reason when the ``[docs]`` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from html import unescape
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
    """The site, built once for this module."""
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


def test_no_link_between_pages_is_broken(site) -> None:
    broken = []
    for page in site.rglob("*.html"):
        for href in re.findall(r'<a[^>]*\shref="([^"]+)"', page.read_text()):
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or not parts.path:
                continue
            if not (page.parent / unquote(parts.path)).exists():
                broken.append(f"{page.relative_to(site)} -> {href}")
    assert not broken, "\n".join(broken[:20])
