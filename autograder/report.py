"""`rnn-grade report ASSIGNMENT`: the class report, one self-contained HTML page and its data as CSV.

What the class got wrong (scores, points lost per task, the share of the class failing each check, how many made
each typical mistake the hints know), who needs attention and why, how long each submission took, which pairs of
answers look copied (`similarity.py`), and, when several assignments were graded, each student's path through the
course. Hidden checks are named only as far as the grading run's `--hidden-feedback` lets feedback name them.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import nbformat  # noqa: E402
import yaml  # noqa: E402

from autograder import nbgrader_bridge, scoring, similarity, students  # noqa: E402
from autograder.intake import answer_cells  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
HINT = "\nHint: "
# Okabe and Ito's palette, distinguishable with every common colour-vision deficiency; each series also differs
# by hatch or marker, so nothing is told by colour alone.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]
# independent answers and planted copies of them (rnn), on which the similarity threshold's error rates are measured
SIMILARITY_CASES = ROOT / "tests" / "fixtures" / "similarity"


@dataclass
class Check:
    test_id: str
    name: str       # what the report calls it: the case's label, or "hidden check k" when it may not be named
    prefix: str     # how a failure message of this case starts
    hidden: bool
    failed: int


@dataclass
class Mistake:
    test_id: str
    hint: str
    students: list[str]
    example: str    # a failure message that carried the hint, first line (a visible check's when possible)


def load_results(work: Path, assignment: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((work / "results" / assignment).glob("*.json"))]


def _cases(assignment: str, test_id: str):
    visible_mod, hidden_mod = scoring.case_modules(assignment)
    return visible_mod.visible_cases(test_id), hidden_mod.hidden_cases(test_id)


def checks(assignment: str, results: list[dict], hidden_feedback: str) -> list[Check]:
    """Every check of every test cell, visible and hidden, with how many students failed it."""
    out = []
    test_ids = list(results[0]["tests"]) if results else []
    for test_id in test_ids:
        visible, hidden = _cases(assignment, test_id)
        for k, (case, is_hidden) in enumerate([(c, False) for c in visible] + [(c, True) for c in hidden]):
            prefix = (scoring.HIDDEN if is_hidden else scoring.VISIBLE) + case.describe() + ":"
            named = not is_hidden or hidden_feedback == "full"
            name = case.describe() if named else f"hidden check {k - len(visible) + 1} of {len(hidden)}"
            failed = sum(any(m.startswith(prefix) for m in r["tests"][test_id]["messages"]) for r in results)
            out.append(Check(test_id, name, prefix, is_hidden, failed))
    return out


def mistakes(assignment: str, results: list[dict], hidden_feedback: str) -> list[Mistake]:
    """Every typical mistake the cases' hints know, with the students who made it. A student counts once per task,
    for the hint that most of their failed checks of that task carried: a wrong answer can match another mistake's
    pattern on a degenerate case (with T=1, a time-major output has the batch-first shape)."""
    out = []
    test_ids = list(results[0]["tests"]) if results else []
    for test_id in test_ids:
        hints = []
        for case in [c for group in _cases(assignment, test_id) for c in group]:
            hints += [text for text, _ in case.hints] + ([case.nonfinite_hint] if case.nonfinite_hint else [])
        hints = list(dict.fromkeys(hints))
        made = {h: Mistake(test_id, h, [], "") for h in hints}
        for r in results:
            messages = r["tests"][test_id]["messages"]
            carried = Counter({h: sum(m.endswith(h) for m in messages) for h in hints})
            hint, times = max(carried.items(), key=lambda kv: kv[1], default=("", 0))  # first of the most carried
            if not times:
                continue
            made[hint].students.append(r["student"])
            shown = [m for m in messages if m.endswith(hint)
                     and (m.startswith(scoring.VISIBLE) or hidden_feedback == "full")]
            made[hint].example = made[hint].example or (shown[0].split("\n")[0] if shown else "")
        out += made.values()
    return out


def course_order(assignments: list[str]) -> list[str]:
    """Assignments in the book's order (_toc.yml's chapters/<name>), any others after them by name."""
    toc = (ROOT / "_toc.yml").read_text()
    chapters = [e["file"].split("/")[-1] for part in yaml.safe_load(toc).get("parts", [])
                for e in part.get("chapters", [])]
    return [c for c in chapters if c in assignments] + sorted(set(assignments) - set(chapters))


def answers(course: nbgrader_bridge.Course, student_ids: list[str]) -> dict[str, str]:
    """The code of each student's answer cells, from the normalized notebook the grader ran."""
    out = {}
    for sid in student_ids:
        path = course.student_folder("submitted", sid) / f"{course.assignment}.ipynb"
        if path.is_file():
            out[sid] = "\n\n".join(c.source for c in answer_cells(nbformat.read(path, as_version=4)))
    return out


def boilerplate(course: nbgrader_bridge.Course) -> list[str]:
    """What every answer may share: the release's starter code and the reference solution."""
    return ["\n\n".join(c.source for c in answer_cells(nbformat.read(p, as_version=4)))
            for p in (course.release, course.source)]


# --- plots --------------------------------------------------------------------------------------------------
def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _figure(fig, alt: str) -> str:
    return f'<figure><img src="data:image/png;base64,{_png(fig)}" alt="{html.escape(alt)}"></figure>'


def _histogram(results: list[dict]) -> str:
    scores = [r["score"] for r in results]
    top = max((r["max_score"] for r in results), default=1)
    fig, ax = plt.subplots(figsize=(6, 2.8))
    edges = [x / 2 - 0.25 for x in range(int(2 * top) + 2)]   # half-point bins, centred on 0, 0.5, 1, ...
    ax.hist(scores, bins=edges, color=PALETTE[0], edgecolor="black", hatch="//")
    ax.set(xlabel=f"score (out of {top:g}, in half points)", ylabel="students", title="Score distribution")
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _figure(fig, f"Histogram of the scores of {len(scores)} students, out of {top:g} points; "
                        "the table of students below gives every score.")


def _points_lost(lost: dict[str, float], n: int) -> str:
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.45 * len(lost)))
    ax.barh(list(lost), [v / max(n, 1) for v in lost.values()], color=PALETTE[3], edgecolor="black", hatch="..")
    ax.invert_yaxis()
    ax.set(xlabel="points lost per student, on average", title="Points lost per task")
    return _figure(fig, "Bar chart of the average points lost per student on each graded task; "
                        "the table beside it gives the numbers.")


def _times(results: list[dict]) -> str:
    ordered = sorted(results, key=lambda r: r["seconds"])
    fig, ax = plt.subplots(figsize=(6, 0.5 + 0.3 * len(ordered)))
    ax.barh([r["student"] for r in ordered], [r["seconds"] for r in ordered], color=PALETTE[2], edgecolor="black")
    ax.set(xlabel="seconds in the sandbox", title="Time each submission took")
    return _figure(fig, "Bar chart of the seconds each submission ran in the sandbox, shortest first; "
                        "the table of students gives every time.")


def _course_path(order: list[str], submitted: list[int], passed: list[int]) -> str:
    fig, ax = plt.subplots(figsize=(6, 2.8))
    ax.plot(order, submitted, marker="o", linestyle="-", color=PALETTE[0], label="handed in")
    ax.plot(order, passed, marker="s", linestyle="--", color=PALETTE[1], label="half the points or more")
    ax.set(ylabel="students", title="The class through the course", ylim=(0, max(submitted, default=1) + 1))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    return _figure(fig, "Line chart, one point per assignment in course order: students who handed in (circles, "
                        "solid line) and students with half the points or more (squares, dashed line); the table "
                        "below gives the numbers.")


# --- the page -----------------------------------------------------------------------------------------------
def _table(caption: str, head: list[str], rows: list[list], row_header: bool = True) -> str:
    e = html.escape
    out = [f"<table><caption>{e(caption)}</caption><thead><tr>"
           + "".join(f'<th scope="col">{e(h)}</th>' for h in head) + "</tr></thead><tbody>"]
    for row in rows:
        cells = [f'<th scope="row">{e(str(row[0]))}</th>' if row_header else f"<td>{e(str(row[0]))}</td>"]
        cells += [f"<td>{e(str(c))}</td>" for c in row[1:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    return "".join(out) + "</tbody></table>"


STYLE = """
body{font-family:system-ui,sans-serif;color:#1a1a1a;background:#fff;max-width:72rem;margin:0 auto;padding:1rem;
line-height:1.45}
a{color:#0b5394}nav ul{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;padding:0;list-style:none}
table{border-collapse:collapse;margin:.6rem 0 1.4rem}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{border:1px solid #767676;padding:.25rem .5rem;text-align:left;vertical-align:top}thead th{background:#e8e8e8}
img{max-width:100%;height:auto}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:.8rem}
pre{background:#f6f6f6;border:1px solid #767676;padding:.5rem;overflow-x:auto;font-size:.85rem}
mark{background:#ffd166;color:#000;text-decoration:underline}
"""


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "0/0"


@dataclass
class Section:
    key: str          # its anchor
    title: str
    body: str         # HTML
    rows: list[list]  # its lines of the CSV: section, item, value, detail


@dataclass
class Run:
    """What one grading run of an assignment left in the work folder."""

    work: Path
    assignment: str
    results: list[dict]
    folder: dict[str, str]          # student id -> the class folder's name
    skipped: list[students.Entry]   # entries of the class folder that were not graded
    hidden_feedback: str


def _scores(run: Run) -> Section:
    n = len(run.results)
    lost = {tid: sum(r["tests"][tid]["points"] - r["tests"][tid]["score"] for r in run.results)
            for tid in (run.results[0]["tests"] if run.results else [])}
    body = (_histogram(run.results) if run.results else "") + _points_lost(lost, n) + _table(
        "Points lost per task, summed over the class", ["task", "points lost", "per student"],
        [[t, f"{v:g}", f"{v / n:.2f}"] for t, v in lost.items()])
    return Section("scores", "Scores", body, [["points lost", t, f"{v:g}", f"{n} students"] for t, v in lost.items()])


def _checks(run: Run) -> Section:
    n, found = len(run.results), checks(run.assignment, run.results, run.hidden_feedback)
    body = "<p>Every check of every graded task, visible and hidden: the share of the class whose answer failed " \
           "it.</p>" + _table("Share of the class failing each check", ["check", "task", "kind", "failed"],
                               [[c.name, c.test_id, "hidden" if c.hidden else "visible", _pct(c.failed, n)]
                                for c in sorted(found, key=lambda c: -c.failed)])
    return Section("checks", "Checks the class failed", body, [
        ["check", f"{c.test_id}: {c.name}", c.failed, f"of {n}; {'hidden' if c.hidden else 'visible'}"]
        for c in found])


def _mistakes(run: Run) -> Section:
    known = mistakes(run.assignment, run.results, run.hidden_feedback)
    body = "<p>Each mistake the checks' hints recognise, and who made it: what the next lecture may repeat.</p>" \
           + _table("Typical mistakes (from the hints)", ["mistake (the hint)", "task", "students", "who", "example"],
                    [[m.hint, m.test_id, len(m.students), ", ".join(m.students), m.example]
                     for m in sorted(known, key=lambda m: -len(m.students))])
    return Section("mistakes", "Typical mistakes", body, [
        ["mistake", m.hint, len(m.students), f"{m.test_id}: {' '.join(m.students)}"] for m in known])


def _students(run: Run) -> Section:
    body = (_times(run.results) if run.results else "") + _table(
        "Every entry of the class folder", ["student id", "folder", "score", "status", "seconds", "reasons"],
        [[r["student"], run.folder.get(r["student"], r["student"]), f"{r['score']:g}/{r['max_score']:g}",
          r["status"], r["seconds"], "; ".join(r["reasons"])] for r in run.results]
        + [["(none)", s.folder, "", s.status, "", ""] for s in run.skipped])
    rows = [["student", r["student"], r["score"], f"{r['status']}; folder {run.folder.get(r['student'], r['student'])}"
             f"; {r['seconds']} s; " + " | ".join(r["reasons"])] for r in run.results]
    return Section("students", "Students", body, rows + [["not graded", s.folder, "", s.status] for s in run.skipped])


def _attention(run: Run) -> Section:
    attention = [r for r in run.results if not r["status"].startswith("graded")]
    body = (f"<p>{len(attention)} graded submissions need a look, and {len(run.skipped)} entries of the class folder "
            "were not graded.</p>") + _table(
        "Who needs attention, and why", ["student id", "folder", "status", "reasons"],
        [[r["student"], run.folder.get(r["student"], r["student"]), r["status"], "; ".join(r["reasons"])]
         for r in attention] + [["(none)", s.folder, s.status, ""] for s in run.skipped])
    return Section("attention", "Students who need attention", body, [])


def _similar(run: Run) -> Section:
    e = html.escape
    course = nbgrader_bridge.Course(ROOT, run.work, run.assignment)
    pairs = similarity.compare(answers(course, [r["student"] for r in run.results]), boilerplate(course))
    text = ("<p>Answer code of every pair of submissions, compared by winnowed fingerprints (copydetect, as MOSS "
            "does) with names, comments and order ignored and the starter code and the reference solution removed. "
            f"Listed: pairs where one answer has at least {similarity.THRESHOLD:.0%} of its code in common with the "
            "other, for you to judge; no score is changed.")
    if SIMILARITY_CASES.is_dir():
        rates = similarity.measure(SIMILARITY_CASES, boilerplate(nbgrader_bridge.Course(ROOT, run.work, "rnn")))
        text += (f" On the course's test answers, this threshold flagged {rates['false_positives']} of "
                 f"{rates['independent_pairs']} pairs of independent answers (false positives) and missed "
                 f"{rates['false_negatives']} of {rates['copied_pairs']} planted copies (false negatives).")
    text += "</p>" + (f"<p>{len(pairs)} pair(s) above the threshold.</p>" if pairs else
                      "<p>No pair above the threshold.</p>")
    for p in pairs:
        text += (f"<h3>{e(p.a)} and {e(p.b)}: {p.similarity:.0%}</h3><p>{p.shares[0]:.0%} of {e(p.a)}'s code is "
                 f"in {e(p.b)}'s, {p.shares[1]:.0%} of {e(p.b)}'s in {e(p.a)}'s; the common code is "
                 "highlighted (and underlined).</p><div class=\"pair\">"
                 + "".join(f'<pre aria-label="answer of {e(s)}">{code}</pre>' for s, code in zip((p.a, p.b), p.marked))
                 + "</div>")
    return Section("similarity", "Answers that look copied", text, [
        ["similar pair", f"{p.a} {p.b}", p.similarity, f"shares {p.shares[0]} {p.shares[1]}"] for p in pairs])


def _course(run: Run) -> Section | None:
    """Each student's path through the assignments graded in this work folder, when there are several."""
    graded = sorted({p.parent.name for p in (run.work / "results").glob("*/*.json")})
    if len(graded) < 2:
        return None
    order = course_order(graded)
    every = {a: {r["student"]: r for r in load_results(run.work, a)} for a in order}
    handed = [sum(bool(r["submission_sha256"]) for r in every[a].values()) for a in order]
    half = [sum(r["score"] >= r["max_score"] / 2 for r in every[a].values()) for a in order]
    drop, where = max((handed[i - 1] - handed[i], order[i]) for i in range(1, len(order)))
    sentence = (f"The most students stopped handing in at {where} ({drop} fewer than the assignment before)."
                if drop > 0 else "No assignment was handed in by fewer students than the one before.")
    paths = [[s] + [f"{every[a][s]['score']:g}/{every[a][s]['max_score']:g}" if s in every[a] else "not handed in"
                    for a in order] for s in sorted(set().union(*every.values()))]
    body = (f"<p>{html.escape(sentence)}</p>" + _course_path(order, handed, half)
            + _table("Students per assignment", ["assignment", "handed in", "half the points or more"],
                     [[a, h, p] for a, h, p in zip(order, handed, half)])
            + _table("Each student's path (score per assignment)", ["student id", *order], paths))
    return Section("course", "The class through the course", body, [
        ["course", a, h, f"{p} with half the points or more"] for a, h, p in zip(order, handed, half)])


def build(work: Path, assignment: str, hidden_feedback: str | None = None) -> tuple[Path, Path]:
    """Write reports/<assignment>.html and reports/<assignment>-report.csv from the last grading run in `work`,
    saying about hidden checks what `hidden_feedback` allows (default: the grading run's setting)."""
    entries, graded_with = students.read_roster(work, assignment)
    run = Run(work, assignment, load_results(work, assignment), {e.student: e.folder for e in entries if e.student},
              [e for e in entries if not e.student], hidden_feedback or graded_with)
    parts = [s for s in (_scores(run), _checks(run), _mistakes(run), _students(run), _attention(run), _similar(run),
                         _course(run)) if s]
    e = html.escape
    page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Class report: {e(assignment)}</title><style>{STYLE}</style></head><body>"
            f"<header><h1>Class report: {e(assignment)}</h1><p>{len(run.results)} graded submissions, "
            f"{len(run.skipped)} entries not graded; hidden checks named as feedback names them "
            f"(<code>--hidden-feedback {e(run.hidden_feedback)}</code>).</p></header>"
            '<nav aria-label="Sections of the report"><ul>'
            + "".join(f'<li><a href="#{p.key}">{e(p.title)}</a></li>' for p in parts) + "</ul></nav><main>"
            + "".join(f'<section id="{p.key}" aria-labelledby="{p.key}-h"><h2 id="{p.key}-h">{e(p.title)}</h2>'
                      f"{p.body}</section>" for p in parts)
            + f"</main><footer><p>Data: {e(assignment)}-report.csv beside this page.</p></footer></body></html>")
    out = work / "reports" / f"{assignment}.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    data = out.with_name(f"{assignment}-report.csv")
    with open(data, "w", newline="") as f:
        csv.writer(f).writerows([["section", "item", "value", "detail"], *[r for p in parts for r in p.rows]])
    return out, data
