"""Sphinx configuration of the sibp_ref site.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (from the repository root,
after ``pip install -e '.[docs]'``). No network is used at build time; MathJax is served
from the site itself (``sphinx-mathjax-offline``).

The two lists that follow the package's layout are kept in one place each:
``sibp_method_steps`` below (the ``step`` shown on each algorithm page) and the module
list in ``api.rst``.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path[:0] = [str(DOCS / "_ext"), str(ROOT), str(ROOT / "tutorials")]

import sibp_ref  # noqa: E402

project = "sibp_ref"
author = "the sibp_ref authors"
copyright = "2026, the sibp_ref authors"  # noqa: A001
release = version = sibp_ref.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx-mathjax-offline",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sibp_docs",
]

# The `step` of each method, shown on its algorithm page (``.. method-step:: KEY``).
sibp_method_steps = {
    "bp": "sibp_ref.methods.bp.BP.step",
    "proxbp": "sibp_ref.methods.proxbp.ProxBP.step",
    "bcd": "sibp_ref.methods.bcd.BCD.step",
    "sibp": "sibp_ref.methods.sibp.SIBP.step",
}

# Repository Markdown files shown as pages: docname -> path from the repository root.
# Links between them (and to figures/NN_*.md, shown on the tutorial pages) become links
# between pages.
sibp_repo_pages = {
    "reproduction": "REPRODUCTION.md",
    "benchmarks": "BENCHMARKS.md",
    "benchmarks-how": "benchmarks/README.md",
    "main-job": "figures/00_main_job.md",
}

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = [
    "_build",
    "_generated",
    "claims",
    "screenshots",
    "Thumbs.db",
    ".DS_Store",
    "**/*.ipynb",
]
templates_path = ["_templates"]

# ------------------------------------------------------------------ autodoc
autosummary_generate = True
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# ------------------------------------------------------------------ MyST
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# ------------------------------------------------------------------ gallery
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "tutorials"),
    "gallery_dirs": "tutorials",
    "filename_pattern": r"/\d\d_",  # execute every NN_*.py
    "ignore_pattern": r"common\.py|__init__\.py|replot_all\.py",
    "within_subsection_order": "FileNameSortKey",
    "reset_argv": "sibp_docs.quick_argv",
    "image_scrapers": ("sibp_docs.written_figures_scraper",),
    "reset_modules": ("matplotlib", "sibp_docs.close_figures"),
    "abort_on_example_error": True,
    "backreferences_dir": None,
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 0,
    "show_signature": False,
}

# ------------------------------------------------------------------ HTML
html_theme = "pydata_sphinx_theme"
html_title = "sibp_ref"
html_static_path = ["_static"]
html_css_files = ["sibp.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 7,
    "show_toc_level": 2,
    # the tutorials need the width for their code; their only section is "The full run"
    "secondary_sidebar_items": {
        "**": ["page-toc"],
        **{f"tutorials/{p.stem}": [] for p in (ROOT / "tutorials").glob("[0-9][0-9]_*.py")},
        "index": [],  # the home page: the figure and the claims table get the width
    },
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}
# Pages without children get no (empty) left sidebar: the ledger's wide table needs the room.
html_sidebars = {
    page: []
    for page in ("index", "main-job", "reproduction", "benchmarks", "conventions", "claim/*")
}
