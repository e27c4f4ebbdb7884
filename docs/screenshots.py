"""Screenshots of the built site in headless Chromium, at desktop and phone widths.

Serves ``docs/_build/html`` (or ``--site``) on 127.0.0.1 and saves, for the home page, the
claims table, one claim page, the Table 2 tutorial, the SIBP page and an API page, one PNG
per width (1400 and 390 px) into ``docs/screenshots/``
(kept out of git), then loads every page that has math and reports any formula MathJax
could not typeset (exit status 1 if one fails). Needs Debian's ``chromium``
(``apt-get install chromium``).

    python -m sphinx -W -b html docs docs/_build/html
    python docs/screenshots.py                 # then look at docs/screenshots/*.png
"""

from __future__ import annotations

import argparse
import functools
import http.server
import re
import shutil
import subprocess
import threading
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGES = {
    "home": "index.html",
    "claims": "reproduction.html",
    "claim": "claim/C6.html",
    "table2": "tutorials/05_table2.html",
    "sibp": "algorithms/sibp.html",
    "api": "generated/sibp_ref.methods.sibp.html",
}
WIDTHS = {"desktop": (1400, 2200), "phone": (390, 2400)}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no line per request
        pass


def serve(site: Path) -> http.server.ThreadingHTTPServer:
    """A static server for ``site`` on a free port of 127.0.0.1, in a daemon thread."""
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def shoot(browser: str, url: str, png: Path, size: tuple[int, int]) -> None:
    """One screenshot; the time budget lets MathJax typeset before the capture."""
    cmd = [
        browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--no-first-run", "--disable-extensions", f"--window-size={size[0]},{size[1]}",
        "--virtual-time-budget=8000", f"--screenshot={png}", url,
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def math_errors(browser: str, base: str, site: Path) -> dict[str, int]:
    """Pages with formulas MathJax could not typeset, with their count, read from the DOM
    after the page's scripts ran."""
    bad = {}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if rel.startswith("_") or 'class="math' not in page.read_text():
            continue
        cmd = [
            browser, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--virtual-time-budget=8000", "--dump-dom", f"{base}/{rel}",
        ]  # fmt: skip
        dom = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120).stdout
        # an error box, or a formula left as raw TeX (unbalanced braces are never typeset)
        n = len(re.findall(r"<mjx-merror", dom))
        n += len(re.findall(r'<(?:span|div) class="math[^"]*">\s*\\[(\[]', dom))
        if n:
            bad[rel] = n
    return bad


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--site", type=Path, default=DOCS / "_build" / "html")
    p.add_argument("--out", type=Path, default=DOCS / "screenshots")
    p.add_argument("--browser", default=shutil.which("chromium") or "chromium")
    args = p.parse_args(argv)
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"no built site at {args.site}: build it first (see this file's doc)")
    if shutil.which(args.browser) is None:
        raise SystemExit(f"browser {args.browser!r} not found: apt-get install chromium")
    args.out.mkdir(parents=True, exist_ok=True)
    server = serve(args.site)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for name, page in PAGES.items():
            for width, size in WIDTHS.items():
                png = args.out / f"{name}-{width}.png"
                shoot(args.browser, f"{base}/{page}", png, size)
                print(png)
        bad = math_errors(args.browser, base, args.site)
    finally:
        server.shutdown()
    for page, n in bad.items():
        print(f"{page}: {n} formula(s) MathJax could not typeset")
    if bad:
        raise SystemExit(1)
    print("math: every formula typeset")


if __name__ == "__main__":
    main()
