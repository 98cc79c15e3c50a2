"""The published book, checked in a real browser (headless Chromium) as a reader meets it.

Every page of _build/html is served on a loopback port and visited once by tests/browser/visit.mjs
(playwright-core driving Debian's Chromium, every request to another host refused: the book must read offline).
The tests below judge what it saw: no JavaScript errors, no broken internal links or images, equations typeset by
the book's own MathJax, every figure made by executed code loaded and described (alt text), on every chapter a
notebook download and the launch buttons of _config.yml, and search that finds a chapter by what it teaches.
Every page is also read at three widths (a phone, 390 px; a laptop, 1280 px; a monitor, 1600 px) for what must be
scrolled sideways, and checked by axe-core for accessibility. Full-page screenshots of each chapter at 390 and
1280 px land in _build/screenshots/, and the whole report in _build/browser_report.json.
"""
from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from helpers import BROWSER, ROOT, ensure_node_deps

SHOTS = ROOT / "_build" / "screenshots"
REPORT = ROOT / "_build" / "browser_report.json"
SHOT_WIDTHS = (390, 1280)
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
NOT_PAGES = {"genindex.html", "search.html", "py-modindex.html"}   # Sphinx's generated pages; search is typed into


def _toc_docs() -> list[str]:
    """The book's pages in _toc.yml order, those whose source exists (chapters being written are left out)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                docs.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return [d for d in docs if any((ROOT / d).with_suffix(s).exists() for s in (".md", ".ipynb", ".rst"))]


def _is_notebook(doc: str) -> bool:
    """A page with code: a .ipynb, or a MyST notebook (.md with a kernelspec in its front matter)."""
    md = (ROOT / doc).with_suffix(".md")
    if not md.exists():
        return (ROOT / doc).with_suffix(".ipynb").exists()
    head = md.read_text().split("\n---", 1)[0] if md.read_text().startswith("---") else ""
    return "kernelspec:" in head


DOCS = _toc_docs()
PAGES = ["index.html"] + [f"{d}.html" for d in DOCS]
CHAPTERS = [d for d in DOCS if d.startswith("chapters/")]
NOTEBOOK_CHAPTERS = [d for d in CHAPTERS if _is_notebook(d)]   # prose-only pages (closing) have no notebook to offer
# A reader types the term into the search box and finds the chapter (of those written so far).
SEARCHES = {term: doc for term, doc in {"forget gate": "chapters/lstm", "Elman": "chapters/rnn"}.items() if doc in DOCS}
NO_MATH: set[str] = set()   # chapters allowed to have no equation at all (none so far)


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome-stable",
                      "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


CHROMIUM = _chromium()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian/Ubuntu: apt-get install chromium; `make system-deps` "
                             "does it as root; or set CHROMIUM=/path/to/chrome)")]


def built_pages(html: Path) -> list[str]:
    """Every HTML page a reader can reach: all .html except Sphinx's index/search pages, the asset folders
    (_static, _sources, _downloads, _images), jupyter-book's execution reports and hidden folders."""
    pages = [p.relative_to(html) for p in html.rglob("*.html")]
    return sorted(p.as_posix() for p in pages
                  if p.parts[0][0] not in "_." and p.parts[0] != "reports" and p.as_posix() not in NOT_PAGES)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _shot(doc: str, width: int) -> Path:
    return SHOTS / f"{doc.replace('/', '-')}-{width}.png"


def _visit(html: Path, out: Path) -> dict:
    """Serve the book on loopback, run the Node visitor over every page, return its report."""
    node = shutil.which("node")
    assert node, "Node.js (>= 20) is needed for the browser test: it runs tests/browser/visit.mjs"
    ensure_node_deps()
    pages = built_pages(html)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    config = {
        "base": f"http://127.0.0.1:{server.server_address[1]}/",
        "chromium": CHROMIUM,
        "pages": pages,
        "screenshots": {f"{d}.html": {w: str(_shot(d, w)) for w in SHOT_WIDTHS} for d in CHAPTERS},
        "searches": sorted(SEARCHES),
        "searchFrom": "intro.html" if "intro.html" in pages else pages[0],
        "concurrency": 2,
    }
    (out / "config.json").write_text(json.dumps(config, indent=1))
    started = time.monotonic()
    try:
        run = subprocess.run([node, str(BROWSER / "visit.mjs"), str(out / "config.json"), str(out / "report.json")],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, f"the browser run failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    report = json.loads((out / "report.json").read_text())
    report["wall_seconds"] = round(time.monotonic() - started, 1)
    REPORT.write_text(json.dumps(report, indent=1))
    return report


@pytest.fixture(scope="module")
def report(built_book, tmp_path_factory) -> dict:
    """One browser run per session; under xdist the first worker runs it and the others read its report."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _visit(built_book, tmp_path_factory.mktemp("browser"))
    shared = tmp_path_factory.getbasetemp().parent
    with open(shared / "browser.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "browser_report.json"
        if not saved.exists():
            saved.write_text(json.dumps(_visit(built_book, tmp_path_factory.mktemp("browser"))))
        return json.loads(saved.read_text())


def _page(report: dict, page: str) -> dict:
    found = [p for p in report["pages"] if p["page"] == page]
    assert found, f"{page} was not built (pages in _build/html: {[p['page'] for p in report['pages']]})"
    record = found[0]
    assert "error" not in record, f"{page}: the browser could not finish the page: {record['error']}"
    return record


def test_every_page_of_the_book_is_visited(report):
    visited = [p["page"] for p in report["pages"]]
    print(f"\nvisited {len(visited)} pages in {report['seconds']:.1f} s (browser run {report['wall_seconds']} s, "
          f"{report['checkedTargets']} link targets checked): " + ", ".join(visited))
    for p in report["pages"]:
        if "error" not in p:
            axe = ", ".join(f"{v['id']} ({v['impact']}) x{v['nodes']}" for v in p["axe"]) or "none"
            scrolls = ", ".join(f"{w} px: {len(o['blocks'])}" for w, o in p["overflow"].items())
            print(f"  {p['page']}: axe violations {axe}; blocks that scroll sideways at {scrolls}")
    assert set(PAGES) <= set(visited), f"pages of _toc.yml missing from _build/html: {set(PAGES) - set(visited)}"
    index = _page(report, "index.html")
    assert index["finalPage"] == f"{DOCS[0]}.html", "index.html should take the reader to the book's first page"


def test_nothing_is_fetched_from_another_host(report):
    """Offline, behind a firewall, the book reads the same: no script, style, font or image from elsewhere."""
    assert not report["external"], "requests to other hosts: " + json.dumps(report["external"][:10], indent=1)


@pytest.mark.parametrize("page", PAGES)
def test_page_loads_without_javascript_errors(report, page):
    record = _page(report, page)
    assert record["status"] == 200
    problems = ([f"console error: {e}" for e in record["consoleErrors"]]
                + [f"uncaught exception: {e}" for e in record["pageErrors"]]
                + [f"failed request: {e}" for e in record["failedRequests"]])
    assert not problems, f"{page}:\n" + "\n".join(problems)


def test_pages_outside_the_toc_load_without_errors(report):
    """Anything else in _build/html (a page left over from a renamed chapter) is published too: it must work."""
    others = [p for p in report["pages"] if p["page"] not in PAGES]
    bad = {p["page"]: p.get("error") or p["consoleErrors"] + p["pageErrors"] + p["failedRequests"] for p in others
           if p.get("error") or p["consoleErrors"] or p["pageErrors"] or p["failedRequests"]}
    assert not bad, json.dumps(bad, indent=1)


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_resolve(report, page):
    _page(report, page)
    broken = [b for b in report["brokenLinks"] if b["from"] == page]
    assert not broken, f"{page}: broken links:\n" + "\n".join(
        f"  {b['href']} ({b['text']!r}): {b['problem']}" for b in broken)


def _too_wide(record: dict, width: int, kinds: set[str]) -> list[str]:
    """What a reader must scroll sideways at this width, of these kinds; and the page itself, if it is wider."""
    seen = record["overflow"][str(width)]
    lines = [f"  {b['kind']} {b['width']} px in {b['column']} px: {b['line']!r}" for b in seen["blocks"]
             if b["kind"] in kinds and (b["kind"] == "prose" or width > 390 or not b["scroller"])]
    if seen["pageWidth"] > seen["viewport"]:
        lines.append(f"  the page itself is {seen['pageWidth']} px wide in a {seen['viewport']} px window")
    return lines


@pytest.mark.parametrize("width", [1280, 1600])
@pytest.mark.parametrize("page", PAGES)
def test_nothing_scrolls_sideways_on_a_laptop_or_wider(report, page, width):
    """At 1280 px (a laptop) and wider, prose, display math, code cells, outputs and tables all fit the column."""
    wide = _too_wide(_page(report, page), width, {"prose", "math", "code", "output", "table"})
    assert not wide, f"{page}: blocks wider than their column at {width} px:\n" + "\n".join(wide)


@pytest.mark.parametrize("page", PAGES)
def test_prose_fits_a_phone(report, page):
    """At 390 px (a phone) the text reads without sideways scrolling; a code cell, an output, a table or an
    equation may scroll inside its own box, but none may widen the page."""
    wide = _too_wide(_page(report, page), 390, {"prose", "math", "code", "output", "table"})
    assert not wide, f"{page}: wider than a 390 px phone:\n" + "\n".join(wide)


@pytest.mark.parametrize("page", PAGES)
def test_no_serious_accessibility_violation(report, page):
    """axe-core's rules (WCAG 2.x A and AA, and best practices): nothing serious or critical on any page."""
    bad = [v for v in _page(report, page)["axe"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{page}: axe-core violations:\n" + "\n".join(
        f"  {v['impact']} {v['id']} ({v['help']}), {v['nodes']} elements, e.g. "
        + "; ".join(f"{t['target']}: {t['html']}" for t in v["targets"][:3]) for v in bad)


@pytest.mark.parametrize("page", PAGES)
def test_images_load_and_are_described(report, page):
    record = _page(report, page)
    unloaded = [i["src"] for i in record["images"] if not (i["complete"] and i["naturalWidth"] > 0)]
    assert not unloaded, f"{page}: images that did not load: {unloaded}"
    # Sphinx falls back to the file name as alt text: that describes nothing to a screen-reader user.
    undescribed = [i["src"] for i in record["images"] if i["inArticle"] and (
        not (i["alt"] or "").strip() or (i["alt"] or "").strip().lower().endswith((".png", ".svg", ".jpg", ".jpeg")))]
    assert not undescribed, f"{page}: images without alt text: {undescribed}"


@pytest.mark.parametrize("page", PAGES)
def test_math_is_typeset_by_the_books_own_mathjax(report, page):
    record = _page(report, page)
    math = record["math"]
    assert not record.get("mathjaxProblem"), f"{page}: {record['mathjaxProblem']}"
    assert not math["untypeset"], f"{page}: math left as raw TeX: {math['untypeset'][:5]}"
    assert not math["errors"], f"{page}: TeX errors shown to the reader: {math['errors'][:5]}"
    assert not math["rawTeX"], f"{page}: TeX delimiters visible in the text"
    if page.startswith("chapters/") and page[:-5] not in NO_MATH:
        assert math["containers"] > 0, f"{page}: no typeset equation (mjx-container) on a chapter page"
    if math["elements"]:
        assert math["mathjax"], f"{page}: MathJax did not start"
        assert "/_static/" in (math["mathjaxSrc"] or "") and math["mathjaxSrc"].startswith("http://127.0.0.1"), \
            f"{page}: MathJax is not served from the book: {math['mathjaxSrc']}"


def _image_outputs(doc: str) -> int:
    """How many figures the executed notebook of a page produced."""
    executed = ROOT / "_build" / "jupyter_execute" / f"{doc}.ipynb"
    if not executed.exists():
        return 0
    nb = nbformat.read(executed, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
               if any(m.startswith("image/") for m in out.get("data", {})))


@pytest.mark.parametrize("doc", CHAPTERS)
def test_every_figure_made_by_executed_code_is_there(report, doc):
    record = _page(report, f"{doc}.html")
    figures = [i for i in record["images"] if i["cellOutput"]]
    expected = _image_outputs(doc)
    assert len(figures) >= expected, f"{doc}: {expected} figures produced by the code, {len(figures)} shown"
    for img in figures:
        assert img["naturalWidth"] > 0, f"{doc}: figure did not load: {img['src']}"
        assert len((img["alt"] or "").strip()) >= 15 and not img["alt"].endswith(".png"), \
            f"{doc}: figure without a real alt text ({img['alt']!r}): set mystnb.image.alt on its cell"
    assert all(_shot(doc, w).stat().st_size > 0 for w in SHOT_WIDTHS)


@pytest.mark.parametrize("doc", NOTEBOOK_CHAPTERS)
def test_chapter_offers_its_notebook_and_launch_buttons(report, built_book, doc):
    record = _page(report, f"{doc}.html")
    notebooks = [d["href"] for d in record["downloads"] if d["href"].endswith(".ipynb")]
    assert notebooks, f"{doc}: no '.ipynb' in the download menu (launch_buttons in _config.yml adds it)"
    path = built_book / notebooks[0].split("/", 3)[3]
    nb = nbformat.read(path, as_version=4)   # a real notebook, with the executed outputs
    assert any(c.cell_type == "code" for c in nb.cells)

    launch = CONFIG["launch_buttons"]
    repo = CONFIG["repository"]["url"].rstrip("/").split("github.com/")[1]
    links = {d["text"]: d["href"] for d in record["launch"]}
    for name, key in (("Binder", "binderhub_url"), ("Colab", "colab_url"), ("JupyterHub", "jupyterhub_url")):
        assert launch.get(key), f"_config.yml: launch_buttons.{key} is not set"
        assert name in links, f"{doc}: no {name} launch button (have {sorted(links)})"
        assert links[name].startswith(launch[key].rstrip("/")) and doc in links[name], links[name]
    assert f"/{repo}/" in links["Binder"] and f"/{repo}/" in links["Colab"]
    assert links["Colab"].endswith(f"/blob/gh-pages/_sources/{doc}.ipynb"), \
        f"{doc}: Colab must open the generated .ipynb on the published branch, not the MyST source: {links['Colab']}"

    exercise = doc.split("/")[-1]
    if (ROOT / "exercises" / exercise).is_dir():
        assert any(h.endswith(f"/{exercise}.ipynb") for h in record["exerciseDownloads"]), \
            f"{doc}: the exercise notebook exercises/{exercise}/{exercise}.ipynb is not linked from its chapter"


@pytest.mark.parametrize("term", sorted(SEARCHES))
def test_search_finds_the_chapter(report, term):
    doc = SEARCHES[term]
    _page(report, f"{doc}.html")
    found = [s for s in report["searches"] if s["term"] == term][0]
    assert "error" not in found, f"searching {term!r}: {found['error']}"
    assert not found["pageErrors"] and not found["consoleErrors"], found
    assert f"{doc}.html" in found["results"], \
        f"typing {term!r} into the search box ({found['url']}) did not find {doc}: " \
        f"{found['summary']} {found['results']}"
