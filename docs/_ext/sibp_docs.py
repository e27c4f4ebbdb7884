"""Sphinx glue for the sibp_ref site (not part of the package).

- :func:`written_figures_scraper`: sphinx-gallery image scraper that takes the PNGs a
  tutorial cell *wrote* (``$SIBP_REF_OUT/figures``), so the page shows the figure the
  script saves, whether or not it leaves the matplotlib figure open;
- :func:`quick_argv`: every tutorial runs with ``--quick`` at build time, with its
  ``__file__`` and ``__doc__``;
- :func:`close_figures`: closes matplotlib figures between tutorials;
- the repository's Markdown files (``REPRODUCTION.md``, ``figures/*.md``, ...) are
  shown as they are, copied at build time into ``_generated/`` with their links to other
  repository files turned into links to the pages that show them and their image paths
  made relative to the page that includes them (``conf.py``'s ``sibp_repo_pages``);
- each tutorial page gets its committed full-mode notes (``figures/NN_*.md``, with their
  figures) appended, labelled as the full run;
- the claims (``docs/claims/*.md``, read by ``docs/make_claims.py``): one page per claim in
  ``claim/`` and the home page's table, written at build time; the ``verdict`` role shows
  a verdict as a badge;
- the ``method-step`` directive: the source of one method's ``step`` (paths in
  ``conf.py``'s ``sibp_method_steps``), with a link to its API entry.
"""

from __future__ import annotations

import ast
import html
import importlib
import inspect
import os
import posixpath
import re
import shutil
import sys
import textwrap
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))
import make_claims  # noqa: E402

FIGURES = ROOT / "figures"
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")


# ----------------------------------------------------------------- gallery
def gallery_out() -> Path:
    """Where the tutorials write at build time (``SIBP_REF_OUT``, set in ``conf.py``)."""
    return Path(os.environ["SIBP_REF_OUT"])


def written_figures_scraper(block, block_vars, gallery_conf):
    """Move the PNGs this cell wrote into the gallery's image folder and show them."""
    from sphinx_gallery.scrapers import figure_rst

    written = sorted((gallery_out() / "figures").glob("*.png"), key=lambda p: p.stat().st_mtime)
    paths = []
    for png, dest in zip(written, block_vars["image_path_iterator"], strict=False):
        shutil.move(str(png), dest)
        paths.append(dest)
    return figure_rst(paths, gallery_conf["src_dir"])


def quick_argv(gallery_conf, script_vars):
    """The tutorial's command line at build time (``--quick``), and the two module globals a
    plain ``python tutorials/NN_name.py`` gives it that sphinx-gallery leaves out on
    purpose: ``__file__`` and the module docstring ``__doc__`` (which a script may use
    for its ``--help`` text or to find its folder)."""
    src = Path(script_vars["src_file"])
    module = ast.parse(src.read_text())
    script_vars["example_globals"].update(
        __file__=str(src), __doc__=ast.get_docstring(module, clean=False) or ""
    )
    return ["--quick"]


def close_figures(gallery_conf, fname):
    """Close the figures the last tutorial left open."""
    import matplotlib.pyplot as plt

    plt.close("all")


def set_tutorial_environment(app) -> None:
    """Quick mode, the Agg backend, and outputs inside the build folder, never ``figures/``."""
    out = Path(app.outdir).parent / "tutorial-output"
    shutil.rmtree(out, ignore_errors=True)
    (out / "figures").mkdir(parents=True)
    os.environ["SIBP_REF_OUT"] = str(out)
    os.environ["SIBP_REF_QUICK"] = "1"
    os.environ["MPLBACKEND"] = "Agg"


# --------------------------------------------- repository Markdown as pages
def _page_of(repo_path: str, app) -> str | None:
    """The docname that shows a repository file, or None."""
    for page, path in app.config.sibp_repo_pages.items():
        if path == repo_path:
            return page
    m = re.fullmatch(r"docs/([\w/-]+)\.(md|rst)", repo_path)
    if m and not repo_path.startswith("docs/claims/") and (ROOT / repo_path).is_file():
        return m.group(1)  # a page of the site itself
    m = re.fullmatch(r"docs/claims/([A-Z]+\d+)\.md", repo_path)
    if m:
        return f"{CLAIM_PAGES}/{m.group(1)}"
    m = re.fullmatch(r"figures/(\d\d_[A-Za-z0-9_]+)\.md", repo_path)
    if m and (ROOT / "tutorials" / f"{m.group(1)}.py").is_file():
        return f"{_gallery_dir(app)}/{m.group(1)}"
    return None


def rewrite_markdown(text: str, file_dir: str, parent_doc: str, app) -> str:
    """Links to repository files become links to their pages (or plain text when no page
    shows them); image paths become relative to the page that includes the file.

    ``file_dir``: the Markdown file's folder, relative to the repository root.
    """
    doc_dir = posixpath.dirname(parent_doc)
    src_rel = Path(app.srcdir).resolve().relative_to(ROOT).as_posix()

    def fix(m: re.Match) -> str:
        bang, label, target = m.groups()
        if re.match(r"[a-z]+:|#|/", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(file_dir, path))
        if bang:
            rel = posixpath.relpath(repo_path, posixpath.join(src_rel, doc_dir))
            return f"![{label}]({rel})"
        page = _page_of(repo_path, app)
        if page is None:
            return f"{label or repo_path} (`{repo_path}` in the repository)"
        rel = posixpath.relpath(page, doc_dir or ".")
        rst = (
            page.startswith(_gallery_dir(app) + "/") or (Path(app.srcdir) / f"{page}.rst").is_file()
        )
        suffix = ".rst" if rst else ".md"  # the gallery's pages are rST
        return f"[{label or page}]({rel}{suffix}{'#' + anchor if anchor else ''})"

    return LINK.sub(fix, text)


def _as_full_run(text: str) -> str:
    """The notes' title becomes a section that says what they are."""
    head, _, rest = text.partition("\n")
    title = head.lstrip("#").strip()
    intro = (
        "```{admonition} Full mode, committed\n:class: note\n"
        "The answer first: the figures and notes of this section are the ones committed in "
        "`figures/`, this tutorial run in **full mode** with the settings the notes give. The "
        "figures after the code, at the end of the page, come from this build's **quick** run "
        "(`--quick`): same code, smaller settings, other numbers.\n```\n\n"
        f"**{title}**\n"
    )
    return "# The full run\n\n" + intro + rest


def _gallery_dir(app) -> str:
    return app.config.sphinx_gallery_conf["gallery_dirs"]


def write_included_markdown(app) -> None:
    """``_generated/<page>.md``: each repository Markdown file a page includes, rewritten
    for that page; ``_generated/full_run/NN_*.md``: the tutorials' full-mode notes."""
    out = Path(app.srcdir) / "_generated"
    shutil.rmtree(out, ignore_errors=True)
    (out / "full_run").mkdir(parents=True)
    for page, repo_path in app.config.sibp_repo_pages.items():
        src = ROOT / repo_path
        text = rewrite_markdown(src.read_text(), posixpath.dirname(repo_path), page, app)
        (out / f"{page}.md").write_text(text)
    for py in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")):
        notes = FIGURES / f"{py.stem}.md"
        if notes.is_file():
            page = f"{_gallery_dir(app)}/{py.stem}"
            text = rewrite_markdown(notes.read_text(), "figures", page, app)
            (out / "full_run" / notes.name).write_text(_as_full_run(text))


def short_title(sentence: str) -> str:
    """A page title from a docstring's opening sentence: the part before its first colon or
    question mark, without a trailing parenthesis or full stop."""
    head = re.split(r"(?<=\?)\s|:\s", sentence, maxsplit=1)[0]
    head = re.sub(r"\s*\([^()]*\)\s*$", "", head.strip())
    return head.rstrip(".")


def add_title(rst: str, stem: str) -> str:
    """A tutorial whose docstring opens with a sentence rather than an rST title gets a page
    title, ``NN — <short form of that sentence>``, above the sentence itself (left as the
    first paragraph); sphinx-gallery would leave the page untitled."""
    m = re.search(r"^\.\. _sphx_glr_\S+:\n\n((?:\S.*\n)+)\n", rst, flags=re.M)
    if not m:
        return rst
    lines = m.group(1).splitlines()
    if len(lines) >= 2 and re.fullmatch(r"([=\-~^\"'#*+])\1+", lines[1].strip()):
        return rst  # already an rST title
    title = f"{stem[:2]} — {short_title(' '.join(line.strip() for line in lines))}"
    return rst[: m.start(1)] + f"{title}\n{'=' * len(title)}\n\n" + rst[m.start(1) :]


def after_question(rst: str) -> int:
    """Where the paragraph that follows a tutorial page's title ends (the question)."""
    m = re.search(r"^\.\. _sphx_glr_\S+:\n\n.+\n[=]+\n\n(?:\S.*\n)+", rst, flags=re.M)
    return m.end() if m else len(rst)


def tutorial_title(script: Path) -> str:
    """A tutorial's page title, as :func:`add_title` makes it (or its own rST title)."""
    doc = (ast.get_docstring(ast.parse(script.read_text()), clean=True) or "").strip()
    lines = doc.split("\n\n", 1)[0].splitlines()
    if len(lines) >= 2 and re.fullmatch(r"([=\-~^\"'#*+])\1+", lines[1].strip()):
        return lines[0].strip()
    return f"{script.stem[:2]} — {short_title(' '.join(line.strip() for line in lines))}"


def fix_gallery_cards(rst: str) -> str:
    """Each card of the gallery's index shows its tutorial's page title; sphinx-gallery
    shows the docstring's first line, which ends mid-sentence when the sentence wraps."""

    def title(m: re.Match) -> str:
        script = ROOT / "tutorials" / f"{m.group(2)}.py"
        text = html.escape(tutorial_title(script), quote=False) if script.is_file() else m.group(4)
        return m.group(1) + text + m.group(5)

    pattern = r"(:doc:`/[\w/]*?(\d\d_\w+)`(.|\n)*?thumbnail-title\">)([^<]*)(</div>)"
    return re.sub(pattern, title, rst)


def on_source_read(app, docname, source) -> None:
    """Each tutorial page: a title, then the question, then the committed full-mode notes
    (the answer), then the rest of the docstring and the code; the gallery's cards get
    the pages' titles."""
    prefix = _gallery_dir(app) + "/"
    stem = docname[len(prefix) :]
    if docname == prefix + "index":
        source[0] = fix_gallery_cards(source[0])
    if not docname.startswith(prefix) or not re.fullmatch(r"\d\d_\w+", stem):
        return
    rst = add_title(source[0], stem)
    # the printed output names where the build wrote: say so, not this machine's folders
    rst = rst.replace(str(gallery_out()), "$SIBP_REF_OUT").replace(f"{ROOT}/", "")
    if (FIGURES / f"{stem}.md").is_file():
        at = after_question(rst)
        include = (
            f"\n.. include:: /_generated/full_run/{stem}.md\n   :parser: myst_parser.sphinx_\n\n"
        )
        rst = rst[:at] + include + rst[at:]
    source[0] = rst


# ------------------------------------------------------------------ claims
CLAIM_PAGES = "claim"  # docs/claim/<ID>.md, written at build time (git-ignored)


def write_claim_pages(app) -> None:
    """``claim/<ID>.md`` for every claim file; the home page's table and the ledger's
    (hidden) toctree of the claim pages in ``_generated/``."""
    src = Path(app.srcdir)
    out = src / CLAIM_PAGES
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    claims = make_claims.load_claims()
    for c in claims:
        page = f"{CLAIM_PAGES}/{c.id}"
        text = rewrite_markdown(make_claims.claim_page(c), "docs/claims", page, app)
        (out / f"{c.id}.md").write_text(text)
    gen = src / "_generated"
    (gen / "claims_table.md").write_text(make_claims.home_table(claims, CLAIM_PAGES))
    toc = "\n".join(f"{CLAIM_PAGES}/{c.id}" for c in claims)
    (gen / "claims_toctree.md").write_text(f"```{{toctree}}\n:hidden:\n\n{toc}\n```\n")


def verdict_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{verdict}`partly``` : the verdict as a badge (``.verdict-partly`` in sibp.css)."""
    if text not in make_claims.VERDICTS:
        msg = inliner.reporter.error(f"verdict must be one of {make_claims.VERDICTS}, got {text!r}")
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    slug = text.replace(" ", "-")
    return [nodes.inline(rawtext, text, classes=["verdict", f"verdict-{slug}"])], []


# ------------------------------------------------------------- method-step
class MethodStep(SphinxDirective):
    """``.. method-step:: sibp``: the source of that method's ``step`` (the object path is in
    ``conf.py``'s ``sibp_method_steps``), captioned with its file and a link to its API entry.
    Built from nodes, so it reads the same from a Markdown or an rST page."""

    required_arguments = 1

    def run(self):
        key = self.arguments[0]
        steps = self.config.sibp_method_steps
        if key not in steps:
            raise self.error(f"method-step: {key!r} is not in sibp_method_steps ({list(steps)})")
        target = steps[key]
        modname, cls_name, meth_name = target.rsplit(".", 2)
        module = importlib.import_module(modname)
        method = getattr(getattr(module, cls_name), meth_name)
        lines, start = inspect.getsourcelines(method)
        source = Path(inspect.getsourcefile(method)).resolve()
        self.env.note_dependency(str(source))
        code = textwrap.dedent("".join(lines)).rstrip("\n")
        block = nodes.literal_block(code, code, language="python", linenos=True)
        block["highlight_args"] = {"linenostart": start}
        ref = addnodes.pending_xref(
            "", nodes.literal(target, f"{cls_name}.{meth_name}", classes=["xref", "py", "py-meth"]),
            refdomain="py", reftype="meth", reftarget=target, refexplicit=True, refwarn=True,
        )  # fmt: skip
        where = source.relative_to(ROOT).as_posix()
        caption = nodes.caption("", "", nodes.literal(where, where), nodes.Text(", "), ref)
        box = nodes.container("", caption, block, classes=["literal-block-wrapper"])
        box["literal_block"] = True
        return [box]


def follow_imported(app, modname: str, attribute: str) -> str:
    """viewcode: the module whose source holds ``attribute``. A class or function comes from
    its ``__module__``; anything else (``SOLVERS = (...)``, an alias ``Params = list``)
    belongs to the module that documents it, never to ``builtins``, which has no source
    page to link to."""
    obj = importlib.import_module(modname)
    for part in attribute.split("."):
        obj = getattr(obj, part, None)
    home = (
        getattr(obj, "__module__", None) if inspect.isclass(obj) or inspect.isroutine(obj) else None
    )
    return home if home and home != "builtins" else modname


def setup(app):
    app.add_config_value("sibp_method_steps", {}, "env")
    app.add_config_value("sibp_repo_pages", {}, "env")
    app.add_directive("method-step", MethodStep)
    app.add_role("verdict", verdict_role)
    app.connect("builder-inited", set_tutorial_environment, priority=100)
    app.connect("builder-inited", write_included_markdown, priority=100)
    app.connect("builder-inited", write_claim_pages, priority=101)
    app.connect("source-read", on_source_read)
    app.connect("viewcode-follow-imported", follow_imported)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
