"""`make grade` on the sample class: every student gets a recorded grade and a clear reason."""
import csv
import html
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from helpers import FIXTURE_CLASS, ROOT, env, grade, results

pytestmark = pytest.mark.integration

LIMITS = ("--seconds-per-call", "2")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    run = grade(FIXTURE_CLASS, work, *LIMITS)
    assert run.returncode == 0, run.stdout + run.stderr
    return work, run, results(work)


def test_every_student_has_a_grade_row(graded):
    work, _, _ = graded
    with open(work / "grades" / "grades.csv") as f:
        rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert set(rows) == {p.name for p in FIXTURE_CLASS.iterdir() if p.is_dir()}
    assert rows["alice"] == 7 and rows["bob"] == 0 and rows["carol"] == 0
    assert 0 < rows["dave"] < 7 and 0 < rows["ivan"] < 7


@pytest.mark.parametrize("student, status, score, reason", [
    ("alice", "graded", 7, None),
    ("bob", "graded (zero)", 0, None),
    ("carol", "ungradable", 0, "not a readable notebook"),
    ("dave", "graded (partial)", 2, None),
    ("erin", "graded (partial)", 5, None),
    ("frank", "graded (partial)", 4.3, None),
    ("grace", "needs attention", 4, "ran past the time limit"),
    ("heidi", "needs attention", 2, "ModuleNotFoundError"),
    ("ivan", "needs attention", 4.6, "rnn (1).ipynb"),
])
def test_status_score_and_reason(graded, student, status, score, reason):
    report = graded[2][student]
    assert (report["status"], report["score"]) == (status, score), report["reasons"]
    if reason:
        assert any(reason in r for r in report["reasons"]), report["reasons"]


@pytest.mark.parametrize("student, test_id, words", [
    ("dave", "test_rnn_step_forward", "the tanh is missing"),
    ("erin", "test_softmax_cross_entropy", "softmax_cross_entropy is not defined"),
    ("frank", "test_rnn_forward", "has shape (5, 2, 4), expected (2, 5, 4)"),
    ("ivan", "test_rnn_forward", "carry h from step t-1 to step t"),
])
def test_feedback_says_what_is_wrong(graded, student, test_id, words):
    work, _, reports = graded
    assert any(words in m for m in reports[student]["tests"][test_id]["messages"])
    html = (work / "feedback" / student / "rnn" / "rnn.html").read_text()
    assert test_id in html and words.replace("(", "").split()[0] in html


def test_summary_lists_who_needs_attention(graded):
    out = graded[1].stdout
    assert "Need attention: 3 (carol, heidi, ivan)" in " ".join(out.split()) or "Need attention: 4" in out


def test_rerun_uses_cache_and_gives_identical_scores(graded, tmp_path):
    work, _, before = graded
    again = grade(FIXTURE_CLASS, work, *LIMITS)
    assert again.returncode == 0 and "Grading 0 of 9" in " ".join(again.stderr.split())
    assert {s: r["score"] for s, r in results(work).items()} == {s: r["score"] for s, r in before.items()}


def test_kill_halfway_then_rerun_grades_everything_once(graded, tmp_path):
    _, _, full = graded
    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "autograder", "grade", "rnn", str(FIXTURE_CLASS), "--workdir", str(work), *LIMITS]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list((work / "results" / "rnn").glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(results(work)) < len(full), "the grader finished before it could be killed"
    rerun = grade(FIXTURE_CLASS, work, *LIMITS)
    assert rerun.returncode == 0, rerun.stderr
    after = results(work)
    assert {s: (r["score"], r["status"]) for s, r in after.items()} == \
           {s: (r["score"], r["status"]) for s, r in full.items()}
    with open(work / "grades" / "grades.csv") as f:
        ids = [r["student_id"] for r in csv.DictReader(f)]
    assert sorted(ids) == sorted(full)


def test_cache_fingerprint_covers_what_judging_depends_on_and_nothing_else(tmp_path):
    from autograder import scoring
    files = {p.relative_to(ROOT).as_posix() for p in scoring._import_closure(["rnncourse.cases.peephole",
                                                                              "autograder.hidden.peephole"])}
    assert {"rnncourse/checking.py", "rnncourse/oracles.py", "rnncourse/gradcheck.py", "rnncourse/cases/lstm.py",
            "rnncourse/cases/peephole.py", "autograder/hidden/peephole.py"} <= files
    assert not files & {"rnncourse/plotting.py", "rnncourse/training.py", "autograder/hidden/lstm.py"}
    notebook = tmp_path / "peephole.ipynb"
    notebook.write_text("{}")
    before = scoring.spec_fingerprint("peephole", [notebook])
    notebook.write_text('{"cells": []}')
    assert scoring.spec_fingerprint("peephole", [notebook]) != before


# ------------------------------------------------------------------ what feedback says about hidden checks
HIDDEN_LABEL = "[B=3, D=7, H=5]"   # a hidden case of test_rnn_step_forward (autograder/hidden/rnn.py)
VISIBLE_LABEL = "[B=2, D=3, H=4]"  # its visible case (rnncourse/cases/rnn.py)


@pytest.fixture(scope="module")
def feedback_by_setting(tmp_path_factory):
    """dave (the tanh is missing: every check of rnn_step_forward fails) graded with each --hidden-feedback, into
    one work folder: the sandbox runs once, later settings rewrite the feedback from the cached results."""
    base = tmp_path_factory.mktemp("hidden-feedback")
    shutil.copytree(FIXTURE_CLASS / "dave", base / "class" / "dave")
    out = {}
    for setting in ("full", "counts", "none"):
        run = grade(base / "class", base / "work", "--hidden-feedback", setting)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        feedback = html.unescape((base / "work" / "feedback" / "dave" / "rnn" / "rnn.html").read_text())
        out[setting] = run, feedback, results(base / "work")["dave"]
    return out, base / "work"


@pytest.mark.parametrize("setting, shown, not_shown", [
    ("full", ["0 of 5 checks passed: 0 / 2 points", "[hidden check]", HIDDEN_LABEL, VISIBLE_LABEL], []),
    ("counts", ["0 of 1 visible checks passed, 0 of 4 hidden checks passed: 0 / 2 points", VISIBLE_LABEL],
     ["[hidden check]", HIDDEN_LABEL]),
    ("none", ["0 of 1 visible checks passed: 0 / 2 points", VISIBLE_LABEL],
     ["[hidden check]", HIDDEN_LABEL, "hidden checks passed"]),
])
def test_hidden_feedback_setting(feedback_by_setting, setting, shown, not_shown):
    _, feedback, report = feedback_by_setting[0][setting]
    assert [s for s in shown if s not in feedback] == []
    assert [s for s in not_shown if s in feedback] == []
    assert report["score"] == 2 and any(HIDDEN_LABEL in m for m in report["tests"]["test_rnn_step_forward"]["messages"])


def test_library_warnings_go_to_the_grading_log_not_the_terminal(feedback_by_setting):
    """nbgrader's SQLAlchemy warnings (`SAWarning: Object of type <SubmittedAssignment> not in session`)."""
    runs, work = feedback_by_setting
    first = runs["full"][0]
    assert "Warning" not in first.stdout + first.stderr, first.stderr
    assert "Graded: 1. Need attention: 0." in " ".join(first.stdout.split())
    assert "SAWarning" in (work / "reports" / "rnn-grading.log").read_text()
