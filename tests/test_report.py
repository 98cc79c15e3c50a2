"""The class report, graded for real on one class of known composition: the sample class (tests/fixtures/class_rnn),
students made of the typical mistakes (as tests/test_exercises.py makes them), folders with odd names, a symlink, a
stray file, and a planted copy. The report must name each mistake with the right count, every folder with a status,
the copied pair and no other, and nothing of the hidden checks beyond what --hidden-feedback allows."""
import ast
import csv
import html
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser

import nbformat
import pytest

from autograder import report
from autograder.solutions import answer_sources, with_answers
from helpers import BROWSER, FIXTURE_CLASS, ROOT, ensure_node_deps, grade, results

SIMILAR = ROOT / "tests" / "fixtures" / "similarity"
HINTS = {  # the words of each hint (rnncourse/cases/rnn.py)
    "step_tanh": "your output equals x W_x + h W_h + b: the tanh is missing.",
    "states_tanh": "your states equal x_t W_x + h_{t-1} W_h + b: the tanh is missing.",
    "h0": "every step used h0 instead of the previous hidden state",
    "time_major": "your output is time-major (T, B, H)",
    "loss_sum": "your loss is the sum over all B*T positions",
    "loss_batch": "your loss is averaged over the batch only",
    "overflow": "Large logits overflow np.exp",
}
# who makes which mistake: the sample class's README says dave, frank and ivan; the students below add the rest
MUTANTS = {  # folder -> (answer cell, text of the solution, replacement)
    "no_tanh": ("rnn_step_forward", "np.tanh(x @ Wx + h_prev @ Wh + b)", "x @ Wx + h_prev @ Wh + b"),
    "not_carried": ("rnn_forward", "rnn_step_forward(x[:, t], h_t,", "rnn_step_forward(x[:, t], h0,"),
    ".late": ("rnn_forward", "rnn_step_forward(x[:, t], h_t,", "rnn_step_forward(x[:, t], h0,"),
    "a b;touch x": ("softmax_cross_entropy", "axis=-1).mean()", "axis=-1).sum()"),
    "ünïcødé-名前": ("rnn_forward", "    return h", "    return h.transpose(1, 0, 2)"),
}
EXPECTED = {"step_tanh": {"dave", "no_tanh"}, "states_tanh": {"dave", "no_tanh"},
            "h0": {"ivan", "not_carried", ".late"}, "time_major": {"frank", "ünïcødé-名前"},
            "loss_sum": {"a b;touch x"}, "loss_batch": set(), "overflow": set()}
COPIES = {"copy_original": "independent/loops.py", "copy_renamed": "copies/loops__renamed.py"}
NOT_GRADED = {"README.md": "a file", "notes.txt": "a file", "link": "a symbolic link"}


def _cells(code: str, release) -> dict[str, str]:
    """A whole answer file split into the release's answer cells, one function each."""
    ids = [c.metadata["nbgrader"]["grade_id"] for c in release.cells if c.metadata.get("nbgrader", {}).get("solution")]
    out = {gid: "" for gid in ids}
    for node in ast.parse(code).body:
        gid = node.name if getattr(node, "name", None) in out else ids[0]
        out[gid] += ast.get_source_segment(code, node) + "\n\n"
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    folder = base / "class"
    shutil.copytree(FIXTURE_CLASS, folder)
    release = nbformat.read(ROOT / "exercises" / "rnn" / "rnn.ipynb", as_version=4)
    answers = answer_sources(nbformat.read(ROOT / "solutions" / "rnn" / "rnn.ipynb", as_version=4))
    submissions = {"--help": answers}
    for name, (gid, old, new) in MUTANTS.items():
        assert old in answers[gid], f"the mistake of {name!r} no longer applies to the solution"
        submissions[name] = {**answers, gid: answers[gid].replace(old, new)}
    for name, path in COPIES.items():
        submissions[name] = _cells((SIMILAR / path).read_text(), release)
    for name, code in submissions.items():
        (folder / name).mkdir()
        nbformat.write(with_answers(release, code), folder / name / "rnn.ipynb")
    (folder / "notes.txt").write_text("not a submission")
    os.symlink(folder / "alice", folder / "link")
    work = base / "work"
    run = grade(folder, work, "--seconds-per-call", "2")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return folder, work, run, results(work)


def _folders(work) -> dict[str, str]:
    """folder name -> student id, from the grader's roster."""
    entries, _ = report.students.read_roster(work, "rnn")
    return {e.folder: e.student for e in entries}


@pytest.mark.integration
def test_every_entry_of_the_class_folder_has_a_status(graded):
    folder, work, run, reports = graded
    ids = _folders(work)
    assert set(ids) == set(os.listdir(folder))
    graded_ids = {ids[n] for n in os.listdir(folder) if n not in NOT_GRADED}
    assert graded_ids == set(reports), "every folder, odd names included, is graded"
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", sid) for sid in graded_ids)
    assert reports[ids["--help"]]["score"] == 7 and reports[ids["--help"]]["folder"] == "--help"
    assert ids["ünïcødé-名前"].startswith("unic") and reports[ids["ünïcødé-名前"]]["score"] == 4.3
    with open(work / "reports" / "rnn.csv", newline="") as f:
        rows = {r["folder"]: r for r in csv.DictReader(f)}
    assert set(rows) == set(os.listdir(folder))
    for name, why in NOT_GRADED.items():
        assert rows[name]["status"].startswith(f"not graded: {why}"), rows[name]
    summary = " ".join(run.stdout.split())
    assert f"Not graded: {len(NOT_GRADED)}" in summary and "'a b;touch x'" in summary
    assert not (folder / "x").exists() and not (ROOT / "x").exists(), "a folder name ran as a shell command"


@pytest.mark.integration
def test_report_names_each_mistake_with_its_count(graded):
    _, work, _, _ = graded
    ids = _folders(work)
    known = report.mistakes("rnn", report.load_results(work, "rnn"), "full")
    for key, who in EXPECTED.items():
        found = [m for m in known if m.hint.startswith(HINTS[key])]
        assert len(found) == 1, (key, [m.hint for m in known])
        assert sorted(found[0].students) == sorted(ids[s] for s in who), key
    with open(work / "reports" / "rnn-report.csv", newline="") as f:
        counts = {r["item"]: int(r["value"]) for r in csv.DictReader(f) if r["section"] == "mistake"}
    assert {k: counts[next(h for h in counts if h.startswith(HINTS[k]))] for k in EXPECTED} == \
           {k: len(v) for k, v in EXPECTED.items()}


@pytest.mark.integration
def test_report_counts_who_failed_each_check(graded):
    _, work, _, reports = graded
    found = {(c.test_id, c.hidden, c.name): c.failed for c in report.checks("rnn", list(reports.values()), "full")}
    # rnn_step_forward's visible check fails for: bob (blank), carol (unreadable), heidi (cell fails), dave and
    # no_tanh (no tanh); every other answer computes it right
    visible_step = [v for (t, hidden, _), v in found.items() if t == "test_rnn_step_forward" and not hidden]
    assert visible_step == [5]
    assert len([k for k in found if k[1]]) == sum(t["hidden_total"] for t in reports["alice"]["tests"].values())


@pytest.mark.integration
def test_report_lists_the_planted_copy_and_no_other_pair(graded):
    _, work, _, _ = graded
    page = (work / "reports" / "rnn.html").read_text()
    pairs = re.findall(r"<h3>(\S+) and (\S+): (\d+)%</h3>", page)
    assert [(a, b) for a, b, _ in pairs] == [("copy_original", "copy_renamed")], pairs
    assert "<mark>" in page


@pytest.mark.parametrize("setting", ["counts", "none"])
@pytest.mark.integration
def test_report_names_no_hidden_check_beyond_the_feedback_setting(graded, setting):
    """Hidden labels (autograder/hidden/rnn.py) and expected values appear only with --hidden-feedback full."""
    _, work, _, _ = graded
    assert "[B=3, D=7, H=5]" in (work / "reports" / "rnn.html").read_text()   # a hidden label, as feedback showed it
    try:
        page = html.unescape(report.build(work, "rnn", setting)[0].read_text())
    finally:
        report.build(work, "rnn")
    assert "[B=3, D=7, H=5]" not in page and "[hidden check]" not in page
    assert "hidden check 1 of" in page and "the tanh is missing" in page


@pytest.mark.integration
def test_report_follows_the_class_through_the_course(graded, tmp_path):
    """With a second assignment graded (here: the results of five students copied as if they had done bptt), the
    report gives each student's path and says where the class drops off."""
    _, work, _, reports = graded
    copy = tmp_path / "work"
    shutil.copytree(work, copy, symlinks=True)
    (copy / "results" / "bptt").mkdir()
    stayed = sorted(reports)[:5]
    for sid in stayed:
        shutil.copy(copy / "results" / "rnn" / f"{sid}.json", copy / "results" / "bptt" / f"{sid}.json")
    page = html.unescape(report.build(copy, "rnn")[0].read_text())
    handed = sum(bool(r["submission_sha256"]) for r in reports.values())
    kept = sum(bool(reports[s]["submission_sha256"]) for s in stayed)
    assert f"The most students stopped handing in at bptt ({handed - kept} fewer than the assignment before)" in page
    path = page[page.index("Each student's path"):]
    assert path.count("not handed in") == len(reports) - len(stayed)
    assert path.index("<th scope=\"col\">rnn</th>") < path.index("<th scope=\"col\">bptt</th>"), "course order"


class _Outline(HTMLParser):
    """Headings, landmarks, table header cells and images of a page."""

    def __init__(self):
        super().__init__()
        self.headings, self.tags, self.images = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "img":
            self.images.append(dict(attrs))


def _contrast(fg: str, bg: str) -> float:
    def luminance(colour):
        c = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.integration
def test_report_page_is_accessible_and_self_contained(graded):
    _, work, _, _ = graded
    page = (work / "reports" / "rnn.html").read_text()
    outline = _Outline()
    outline.feed(page)
    assert outline.headings[0] == 1 and all(b - a <= 1 for a, b in zip(outline.headings, outline.headings[1:]))
    assert {"header", "nav", "main", "footer", "caption", "th"} <= set(outline.tags)
    assert outline.images and all(i["src"].startswith("data:image/png;base64,") and len(i["alt"]) > 40
                                  for i in outline.images)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page), "the page must read offline"
    # WCAG AA (4.5:1) for the text colours of the page's style sheet
    for fg, bg in [("#1a1a1a", "#ffffff"), ("#0b5394", "#ffffff"), ("#000000", "#ffd166"), ("#1a1a1a", "#e8e8e8"),
                   ("#1a1a1a", "#f6f6f6")]:
        assert _contrast(fg, bg) >= 4.5, (fg, bg)
    assert all(c in page for c in ("#0b5394", "#ffd166", "#e8e8e8", "#f6f6f6"))


@pytest.mark.integration
def test_exports_cover_every_graded_folder(graded, tmp_path):
    folder, work, _, reports = graded
    ids = _folders(work)
    from autograder import lms
    text = lms.export(work, "plain")
    rows = list(csv.DictReader(text.splitlines()))
    assert {r["folder"] for r in rows} == {n for n in os.listdir(folder) if n not in NOT_GRADED}
    assert {r["student_id"]: float(r["rnn"]) for r in rows} == {s: r["score"] for s, r in reports.items()}
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,login,sis_id\nünïcødé-名前,u.nicode,S-0042\n")
    canvas = list(csv.reader(lms.export(work, "canvas", roster).splitlines()))
    row = next(r for r in canvas if r[3] == "u.nicode")
    assert row[2] == "S-0042" and float(row[5]) == reports[ids["ünïcødé-名前"]]["score"]


@pytest.mark.browser
@pytest.mark.skipif(not shutil.which("chromium") and not os.environ.get("CHROMIUM"), reason="Chromium is not installed")
def test_report_page_in_a_browser(graded, tmp_path):
    """The page in headless Chromium (tests/browser/visit.mjs): no errors, every figure loaded and described,
    nothing fetched from another host, every in-page link lands; a screenshot for a person to look at."""
    _, work, _, _ = graded
    import functools
    import http.server
    import threading

    ensure_node_deps()
    shot = ROOT / "_build" / "screenshots" / "report-rnn.png"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(work / "reports")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {"base": f"http://127.0.0.1:{server.server_address[1]}/",
              "chromium": os.environ.get("CHROMIUM") or shutil.which("chromium"),
              "pages": ["rnn.html"], "screenshots": {"rnn.html": {"1280": str(shot)}}}
    (tmp_path / "config.json").write_text(json.dumps(config))
    try:
        run = subprocess.run(["node", str(BROWSER / "visit.mjs"), str(tmp_path / "config.json"),
                              str(tmp_path / "out.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads((tmp_path / "out.json").read_text())
    page = out["pages"][0]
    assert page["status"] == 200 and not page.get("error"), page
    assert not (page["consoleErrors"] + page["pageErrors"] + page["failedRequests"] + out["external"])
    assert page["images"] and all(i["complete"] and i["naturalWidth"] > 0 and i["alt"] for i in page["images"])
    assert not out["brokenLinks"], out["brokenLinks"]
    assert not [v for v in page["axe"] if v["impact"] in ("serious", "critical")], page["axe"]
    assert shot.stat().st_size > 10_000
