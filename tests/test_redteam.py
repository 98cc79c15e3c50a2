"""Red team: a class of hostile and broken submissions, graded once through the real command.

Corpus: tests/redteam/attacks.py (one student per attack, each built on the honest wrong answer that
scores 2/7, plus alice 7/7, dave 2/7 and bob 0/7). The class is graded ONCE per session (shared between
xdist workers through a file lock) with tight limits; every test below only reads the outcome.

The last section holds regression tests for attacks this corpus found to succeed against an earlier
grader (symlinked or FIFO notebooks, lone surrogates, npz bombs, HTML in reasons, false leak alarms).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import ROOT, env, grade, results
from redteam import attacks as A

pytestmark = pytest.mark.redteam

LIMITS = ("--seconds-per-call", "2", "--seconds-per-notebook", "10", "--memory-mb", "768", "--processes", "16")
SECONDS_PER_NOTEBOOK = 10
STUDENTS = [a.label for a in A.ALL] + list(A.REFERENCES)
BY_LABEL = {a.label: a for a in A.ALL}
CANARY = "c4n4ry-rnn-9f2e71"  # autograder/hidden/rnn.py (checked below to still be there)
SLEEPERS = "sleep 100[012]"


def course_snapshot() -> dict:
    """Hash of every tracked file of the course, plus `git status --porcelain` (nothing excluded)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    hashes = {}
    for name in files.decode().split("\0"):
        if name:
            path = ROOT / name
            hashes[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "<missing>"
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    return {"files": hashes, "status": status}


def sandbox_processes() -> list[str]:
    """Processes of the sandbox uids older than any submission may live (other gradings may be running)."""
    out = subprocess.run(["ps", "-eo", "uid=,etimes=,pid=,args="], capture_output=True, text=True).stdout
    rows = [line.split(None, 3) for line in out.splitlines()]
    return [" ".join(r) for r in rows if len(r) >= 3 and 61000 <= int(r[0]) < 61100 and int(r[1]) > 120]


def _grade_class(base: Path) -> dict:
    class_dir, work, decoy = base / "class", base / "work", base / "decoy.txt"
    decoy.write_text("decoy: no submission may change or delete this file\n")
    ctx = A.Context(class_dir, work, decoy)
    A.build_class(class_dir, ctx)
    before = course_snapshot()
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", "rnn", str(class_dir), "--workdir", str(work),
                          *LIMITS], cwd=ROOT, env={**env(), A.SECRET_ENV: A.SECRET_VALUE},
                         capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - start
    after = course_snapshot()
    time.sleep(0.5)  # let the kernel finish tearing down PID namespaces before looking for leftovers
    outcome = {"returncode": run.returncode, "stdout": run.stdout[-20000:], "stderr": run.stderr[-20000:],
               "seconds": seconds, "class_dir": str(class_dir), "work": str(work), "decoy": str(decoy),
               "course_changed": sorted(k for k in set(before["files"]) | set(after["files"])
                                        if before["files"].get(k) != after["files"].get(k)),
               "status_before": before["status"], "status_after": after["status"],
               "sleepers": subprocess.run(["pgrep", "-af", SLEEPERS], capture_output=True, text=True).stdout,
               "sandbox_processes": sandbox_processes()}
    (base / "outcome.json").write_text(json.dumps(outcome))
    return outcome


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the red-team class once, even when xdist runs this module on several workers."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed: the red-team corpus targets the strong sandbox; "
                    "weak mode is documented as not resisting it (SECURITY.md)")
    if "PYTEST_XDIST_WORKER" not in os.environ:
        base = tmp_path_factory.mktemp("redteam")
        outcome = _grade_class(base)
    else:
        from filelock import FileLock
        base = tmp_path_factory.getbasetemp().parent / "redteam-shared"
        base.mkdir(exist_ok=True)
        with FileLock(str(base) + ".lock"):
            done = base / "outcome.json"
            outcome = json.loads(done.read_text()) if done.exists() else _grade_class(base)
    work = Path(outcome["work"])
    reports = {p.stem: json.loads(p.read_text()) for p in (work / "results" / "rnn").glob("*.json")}
    return outcome, work, reports


# ----------------------------------------------------------------------------- the batch as a whole
def test_batch_completed(graded):
    outcome, work, reports = graded
    assert outcome["returncode"] == 0, outcome["stdout"][-3000:] + outcome["stderr"][-5000:]
    assert sorted(reports) == sorted(STUDENTS)


def test_every_student_has_a_gradebook_row_and_a_report_row(graded):
    _, work, reports = graded
    with open(work / "grades" / "grades.csv") as f:
        grades = {r["student_id"]: r for r in csv.DictReader(f)}
    with open(work / "reports" / "rnn.csv") as f:
        summary = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(grades) == sorted(STUDENTS) == sorted(summary)
    for student, row in grades.items():
        assert float(row["score"]) == reports[student]["score"], student
        assert float(row["max_score"]) == 7.0, student


@pytest.mark.parametrize("student, score", [(s, v[1]) for s, v in A.REFERENCES.items()])
def test_honest_students_are_unaffected(graded, student, score):
    report = graded[2][student]
    assert report["score"] == score and report["status"].startswith("graded"), report


def test_course_directory_unchanged(graded):
    outcome = graded[0]
    # (someone editing or committing in the repository during the run also shows up here)
    assert outcome["course_changed"] == [], outcome["course_changed"]
    assert outcome["status_before"] == outcome["status_after"]


def test_decoy_on_the_host_untouched(graded):
    assert Path(graded[0]["decoy"]).read_text().startswith("decoy: no submission")
    assert (Path(graded[0]["class_dir"]) / "alice" / "rnn.ipynb").stat().st_size > 1000


def test_no_background_process_outlives_grading(graded):
    outcome = graded[0]
    assert outcome["sleepers"] == "", outcome["sleepers"]
    assert outcome["sandbox_processes"] == [], outcome["sandbox_processes"]
    assert subprocess.run(["pgrep", "-f", SLEEPERS], capture_output=True).returncode == 1


def test_canary_is_still_in_the_hidden_tests():
    assert CANARY in (ROOT / "autograder" / "hidden" / "rnn.py").read_text()


def _returned_files(work: Path) -> list[Path]:
    """Everything the instructor hands back or shares: feedback, autograded notebooks, reports, grades."""
    tops = ["feedback", "autograded", "reports", "grades", "results"]
    return [p for t in tops for p in (work / t).rglob("*") if p.is_file() and not p.name.endswith("-grading.log")]


def _leaks(outcome: dict, work: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(file, needle) for every needle found in a returned file, unless the file belongs to a student whose
    own submission contains that very text (their code is, rightly, in their own feedback; the class report may
    quote any student's code)."""
    class_dir, found = Path(outcome["class_dir"]), []
    for path in _returned_files(work):
        rel = path.relative_to(work).parts
        owner = rel[1] if rel[0] in ("feedback", "autograded") else Path(rel[-1]).stem if rel[0] == "results" else ""
        if rel[0] == "reports" and path.name == "rnn.html":
            owner = "."  # the class report puts answers that look copied side by side: any student's own code
        own = "".join(p.read_text(errors="replace") for p in (class_dir / owner).rglob("*.ipynb")
                      if p.stat().st_size < 2**22) if owner and (class_dir / owner).is_dir() else ""
        text = path.read_text(errors="replace")
        found += [(str(path), n) for n in needles if n in text and n not in own]
    return found


def test_nothing_returned_contains_hidden_tests(graded):
    outcome, work, _ = graded
    assert len(_returned_files(work)) > 3 * len(STUDENTS)
    assert _leaks(outcome, work, [CANARY, "BEGIN HIDDEN TESTS", "hidden_cases(", "grader-only cases"]) == []


def test_nothing_returned_contains_host_secrets(graded):
    """What the symlink and probe attacks aimed at: hidden tests, solution code, /etc/shadow, the env secret."""
    outcome, work, _ = graded
    needles = ["### BEGIN SOLUTION", "return np.tanh(x @ Wx + h_prev @ Wh + b)", "root:", A.SECRET_VALUE,
               "from autograder.hidden", "def hidden_cases"]
    assert _leaks(outcome, work, needles) == []


def test_returned_files_stay_small(graded):
    _, work, _ = graded
    big = [(str(p), p.stat().st_size) for p in _returned_files(work) if p.stat().st_size > 5 * 2**20]
    assert big == []


# ----------------------------------------------------------------------------- attack by attack
@pytest.mark.parametrize("label", [a.label for a in A.ALL])
def test_attack_gains_nothing(graded, label):
    attack, report = BY_LABEL[label], graded[2][label]
    tests = {k: v["score"] for k, v in report["tests"].items()}
    assert report["max_score"] == 7.0, "points must come from the instructor's notebook"
    assert report["score"] <= attack.max_score, (tests, report["reasons"])
    assert report["score"] <= graded[2]["dave"]["score"]  # never above the honest wrong answer
    for test_id in attack.zero_tests:
        assert tests[test_id] == 0, (test_id, report["tests"][test_id]["messages"][:3])
    if attack.exact_score is not None:
        assert report["score"] == attack.exact_score, (tests, report["reasons"])


@pytest.mark.parametrize("label", [a.label for a in A.ALL])
def test_attack_outcome_is_explained(graded, label):
    attack, report = BY_LABEL[label], graded[2][label]
    if attack.statuses:
        assert report["status"] in attack.statuses, report["reasons"]
    if attack.reason:
        texts = report["reasons"] + [m for t in report["tests"].values() for m in t["messages"]]
        assert any(r.lower() in t.lower() for r in attack.reason.split("|") for t in texts), texts[:6]
    assert report["seconds"] <= SECONDS_PER_NOTEBOOK + 5


@pytest.mark.parametrize("label", [a.label for a in A.ALL if a.probe or a.label == "m_tmpfs"])
def test_probe_found_nothing(graded, label):
    """The probe's softmax raises LEAK_MARK if any read/write/connection worked: 2/2 proves none did."""
    report = graded[2][label]
    messages = [m for t in report["tests"].values() for m in t["messages"]]
    assert not any(A.LEAK_MARK in m for m in messages), [m for m in messages if A.LEAK_MARK in m][:2]
    loss = report["tests"]["test_softmax_cross_entropy"]
    assert loss["passed"] == loss["total"] and loss["score"] == 2


def test_probes_do_find_things_outside_the_sandbox(tmp_path):
    """Positive control: run the file-reading probe unsandboxed; it must report a leak."""
    import nbformat
    ctx = A.Context(tmp_path, tmp_path, tmp_path / "decoy")
    nb = A.attacked_notebook(BY_LABEL["f_read_secrets"], ctx)
    source = A.answer_cell(nb, A.LOSS).source
    namespace = {}
    exec(compile(source, "<probe>", "exec"), namespace)
    import numpy as np
    with pytest.raises(RuntimeError, match=A.LEAK_MARK):
        namespace["softmax_cross_entropy"](np.zeros((1, 1, 2)), np.zeros((1, 1), dtype=int))
    assert nbformat  # the notebook really was built from the release


# ----------------------------------------------------- one submission's processes together (either sandbox)
def test_forked_children_are_stopped_together_and_the_class_is_unaffected(tmp_path):
    """Issue 15's submission, scaled down: 8 children of 100 MB each under a 300 MB bound. Each child stays under
    RLIMIT_AS, so without a bound on the sandbox as a whole this submission scores the honest wrong answer's 2/7."""
    class_dir, work = tmp_path / "class", tmp_path / "work"
    for student in ("alice", "dave"):
        A.write_nb(A.notebook_with(A.base_answers(A.REFERENCES[student][0])), class_dir / student / A.NAME)
    hog = A.notebook_with(A.wrong_answers())
    A.answer_cell(hog, A.STEP).source += "\n\n" + A.fork_hog(children=8, mb=100)
    A.write_nb(hog, class_dir / "hog" / A.NAME)
    run = grade(class_dir, work, "--memory-mb", "300")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "Memory bound: " in run.stderr
    reports = results(work)
    assert {s: reports[s]["score"] for s in ("alice", "dave")} == {"alice": 7, "dave": 2}
    assert (reports["hog"]["status"], reports["hog"]["score"]) == ("needs attention", 0), reports["hog"]["reasons"]
    assert any("used more than 300 MB" in r for r in reports["hog"]["reasons"]), reports["hog"]["reasons"]
    with open(work / "grades" / "grades.csv") as f:
        assert {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)} == {"alice": 7, "dave": 2, "hog": 0}


def test_the_watchdog_stops_them_where_no_cgroup_can_be_used():
    """The fallback bound, chosen by hand: the same children, judged by the sum of their resident memory."""
    from autograder import memory_bound, sandbox
    from autograder.jobfolder import Job
    from autograder.limits import Limits
    limits = Limits(memory_mb=300)
    job = Job.create("watchdog-test-", [{"id": "hog", "source": A.fork_hog(children=8, mb=100)}], [], 10)
    try:
        outcome = sandbox.run_job(job, limits, strong=False, slot=0, bound=memory_bound.WatchdogBound(limits))
    finally:
        shutil.rmtree(job.folder)
    assert outcome.killed == "it used more than 300 MB of memory (all its processes together)"


# ------------------------------------------- found by this corpus, fixed: regression tests (see SECURITY.md)
def _solution_notebook_text() -> str:
    return (ROOT / "solutions" / "rnn" / "rnn.ipynb").read_text()


def test_regression_symlinked_notebook_is_not_followed(tmp_path):
    from autograder import intake
    folder = tmp_path / "mallory"
    folder.mkdir()
    os.symlink(ROOT / "solutions" / "rnn" / "rnn.ipynb", folder / "rnn.ipynb")
    path, _ = intake.find_notebook(folder, "rnn.ipynb")
    got = intake.normalize("mallory", path, A.release_nb())
    sources = "\n".join(c.source for c in intake.answer_cells(got.notebook))
    assert "np.tanh" not in sources


def test_regression_fifo_notebook_does_not_hang(tmp_path):
    folder = tmp_path / "mallory"
    folder.mkdir()
    os.mkfifo(folder / "rnn.ipynb")
    code = ("import sys; from autograder import intake; import nbformat; from pathlib import Path\n"
            "f = Path(sys.argv[1]); p, _ = intake.find_notebook(f, 'rnn.ipynb')\n"
            "intake.normalize('mallory', p, nbformat.read('exercises/rnn/rnn.ipynb', as_version=4))")
    try:
        # a hang, not a slow start: importing nbgrader alone takes seconds on a busy machine
        subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT, env=env(), timeout=30, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail("intake blocked on a FIFO")


def test_regression_lone_surrogate_does_not_break_the_batch(tmp_path):
    import nbformat

    from autograder import grade as grade_mod
    from autograder import intake
    nb = A.notebook_with(A.wrong_answers())
    A.answer_cell(nb, A.STEP).source += "\n# \ud800"
    path = tmp_path / "rnn.ipynb"
    path.write_text(json.dumps(nb))  # ASCII JSON: the surrogate is a valid \\ud800 escape
    got = intake.normalize("mallory", path, A.release_nb())
    grade_mod._atomic_write(tmp_path / "out" / "rnn.ipynb", nbformat.writes(got.notebook))


def test_regression_npz_bomb_is_refused_before_loading(tmp_path):
    import io
    import zipfile

    import numpy as np

    from autograder import jobfolder
    n = 16 * 2**20  # 128 MiB of float64 zeros, declared and really stored (deflated to ~130 KB)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    path = tmp_path / "out" / "0.npz"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("arr_0.npy", "w", force_zip64=True) as f:
        f.write(header.getvalue())
        for _ in range(n * 8 // 2**20):
            f.write(bytes(2**20))
    assert path.stat().st_size < jobfolder.MAX_RESULT_BYTES
    assert isinstance(jobfolder.Job(tmp_path).result(0), str), "a 128 MiB array was loaded from a tiny file"


def test_regression_reasons_are_not_rendered_as_html():
    from autograder import nbgrader_bridge
    text = nbgrader_bridge.summary_markdown({"score": 0, "max_score": 7, "status": "needs attention",
                                             "reasons": ["cell 'x' failed when run: Exception: "
                                                         "<img src=x onerror=alert(1)><script>alert(2)</script>"]})
    assert "<script>" not in text and "<img" not in text


def test_regression_student_text_does_not_trip_the_leak_check(tmp_path):
    from autograder import grade as grade_mod
    from autograder import nbgrader_bridge
    feedback = tmp_path / "feedback" / "mallory" / "rnn" / "rnn.html"
    feedback.parent.mkdir(parents=True)
    comment = "# ### BEGIN HIDDEN TESTS (the student's own comment)"
    feedback.write_text(f"<pre>def rnn_step_forward(...):  {comment}</pre>")
    submitted = tmp_path / "submitted" / "mallory" / "rnn" / "rnn.ipynb"
    submitted.parent.mkdir(parents=True)
    submitted.write_text(json.dumps({"cells": [{"source": comment}]}))
    assert grade_mod.leaked_hidden_tests(nbgrader_bridge.Course(ROOT, tmp_path, "rnn")) == []


def test_results_of_a_run_past_the_memory_bound_are_not_scored(tmp_path):
    """Children forked by a graded call fill memory while later calls go on: the results written before the bound
    was passed must not score either (under load, the kernel's kill can come after some calls have returned)."""
    nb = A.notebook_with(A.solution_answers())
    A.answer_cell(nb, A.STEP).source += "\n\n" + textwrap.dedent("""
        import os, time
        _real_step, _forked = rnn_step_forward, []
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            if not _forked:  # the first call returns at once; its children fill memory half a second later
                _forked.append(1)
                for _ in range(8):
                    if os.fork() == 0:
                        try:
                            time.sleep(0.5)
                            _held = b"x" * (120 * 2**20)
                            time.sleep(5)
                        finally:
                            os._exit(0)
            else:
                time.sleep(0.3)
            return _real_step(x, h_prev, Wx, Wh, b)
        """)
    A.write_nb(nb, tmp_path / "class" / "racer" / A.NAME)
    run = grade(tmp_path / "class", tmp_path / "work", "--memory-mb", "300", "--seconds-per-call", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    report = results(tmp_path / "work")["racer"]
    assert (report["status"], report["score"]) == ("needs attention", 0), report["reasons"]
    assert any("used more than 300 MB" in r for r in report["reasons"]), report["reasons"]
