"""`python -m autograder grade ASSIGNMENT FOLDER`: grade a class folder through the hardened path.

1. intake: each student's notebook is normalized against the release (`intake.py`);
2. run: every submission runs in its own sandbox (`task.py`, `sandbox.py`, `runner.py`), in parallel on this
   machine or as one task each on a Dask cluster (`engine.py`); a task returns data, never a score;
3. judge: this trusted process scores the returned arrays (`scoring.py`) as they arrive; results are cached
   per (submission hash, test-code hash), written atomically, so a killed run resumes exactly;
4. nbgrader records each student in the gradebook as their result arrives (this process is the gradebook's only
   writer), then writes feedback and exports the CSV (`nbgrader_bridge.py`); a leak check greps everything
   returned to students for hidden tests.
"""
from __future__ import annotations

import contextlib
import copy
import csv
import glob
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from queue import Queue

import nbformat
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from autograder import engine, nbgrader_bridge, sandbox, scoring, students
from autograder import intake as intake_mod
from autograder import report as class_report
from autograder.limits import Limits
from autograder.task import Settings

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORK = ROOT / "autograder"
console = Console(stderr=True)
LOG = logging.getLogger("autograder")


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        f.write(text)
    os.replace(f.name, path)


def _points(source_nb) -> dict[str, float]:
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
            for c in intake_mod.test_cells(source_nb)}


class Grader:
    """Grades one assignment; holds the trusted test specs and the limits for the whole batch."""

    def __init__(self, assignment: str, work: Path, limits: Limits, hidden_feedback: str, allow_weak: bool):
        self.assignment, self.work = assignment, work
        self.settings = Settings(limits, allow_weak)
        self.course = nbgrader_bridge.Course(ROOT, work, assignment, hidden_feedback)
        self.release = nbformat.read(self.course.release, as_version=4)
        self.source = nbformat.read(self.course.source, as_version=4)
        self.specs = scoring.load_specs(assignment, _points(self.source))
        self.calls = scoring.calls(self.specs)  # the inputs of every case: built once, sent once per worker
        self.fingerprint = scoring.spec_fingerprint(assignment, [self.course.source, self.course.release])
        self.results = work / "results" / assignment

    def cells(self, got: intake_mod.Intake) -> list[dict]:
        """Every code cell of the normalized submission but the tests: the instructor's setup cells and the
        student's answers, as {"id", "source"}."""
        tests = {id(c) for c in intake_mod.test_cells(got.notebook)}
        return [{"id": c.metadata.get("nbgrader", {}).get("grade_id", f"cell-{i}"), "source": c.source}
                for i, c in enumerate(got.notebook.cells) if c.cell_type == "code" and id(c) not in tests]

    def result_path(self, student: str) -> Path:
        return self.results / f"{student}.json"

    def cached(self, student: str, sha: str) -> bool:
        path = self.result_path(student)
        if not path.exists():
            return False
        old = json.loads(path.read_text())
        return old.get("submission_sha256") == sha and old.get("tests_sha256") == self.fingerprint

    def task_key(self, got: intake_mod.Intake) -> str:
        """The same submission under the same tests is the same task: a re-run or a retry never counts twice."""
        return f"grade-{self.assignment}-{got.student}-{got.sha256[:16]}-{self.fingerprint[:16]}"

    def judge(self, got: intake_mod.Intake, ran: dict) -> dict:
        """The report of one submission from what its sandbox returned (`task.run_submission`)."""
        killed = ran["refused"] or ran["killed"]
        tests = scoring.score_returned(self.specs, ran["results"], killed)
        return self.report(got, tests, ran["cells"], killed, ran["seconds"], ran["worker"], ran["sandbox"])

    def failed(self, got: intake_mod.Intake, why: str) -> dict:
        """The report of a submission the grading machinery itself could not run: zero, and a reason to look."""
        return self.report(got, scoring.score_returned(self.specs, None, "grader error"), {}, why, 0.0, "", "")

    def report(self, got, tests, cells, killed, seconds, worker, sandbox_kind) -> dict:
        reasons = list(got.notes)
        reasons += [f"cell '{cid}' failed when run: {status}" for cid, status in cells.items() if status != "ok"]
        if killed:
            reasons.append(f"stopped by the grader: {killed}")
        reasons += [f"{t.test_id}: a call ran past the time limit" for t in tests
                    if any("timed out" in m for m in t.messages)]
        score = round(sum(t.score for t in tests), 2)
        max_score = sum(t.points for t in tests)
        status = ("ungradable" if got.ungradable else "needs attention" if reasons
                  else "graded" if score == max_score else "graded (partial)" if score else "graded (zero)")
        return {"student": got.student, "folder": got.folder or got.student, "assignment": self.assignment,
                "status": status, "reasons": reasons,
                "score": score, "max_score": max_score, "cells": cells,
                "tests": {t.test_id: t.as_dict() for t in tests},
                "submission_sha256": got.sha256, "tests_sha256": self.fingerprint,
                "sandbox": sandbox_kind, "worker": worker, "seconds": round(seconds, 3)}


def collect(grader: Grader, folder: Path) -> list[intake_mod.Intake]:
    """Normalize every student's submission and place it where nbgrader looks for it. Every entry of the class
    folder is kept in the roster (`students.scan`): folders under their safe ids, the rest with the reason."""
    name = f"{grader.assignment}.ipynb"
    entries = students.scan(folder)
    students.write_roster(grader.work, grader.assignment, entries, grader.course.hidden_feedback)
    intakes = []
    for student in (e for e in entries if e.student):
        entry = folder / student.folder
        path, notes = intake_mod.find_notebook(entry, name)
        try:
            got = intake_mod.normalize(student.student, path, grader.release)
        except Exception as exc:  # noqa: BLE001 - one unreadable submission must not stop the class
            got = intake_mod.Intake(student.student, copy.deepcopy(grader.release), "",
                                    [f"the grader could not read the submission ({type(exc).__name__})"],
                                    ungradable=True)
        got.folder = student.folder
        got.notes[:0] = notes
        dest = grader.course.student_folder("submitted", student.student) / name
        _atomic_write(dest, nbformat.writes(got.notebook))
        if path is not None:
            received = grader.work / "received" / grader.assignment / f"{student.student}.ipynb"
            received.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, received)
        intakes.append(got)
    return intakes


@contextlib.contextmanager
def grading_log(path: Path):
    """Send library warnings (nbgrader's SQLAlchemy SAWarnings, deprecations) and nbgrader's own log to `path`:
    the terminal keeps the grader's progress, its summary and real problems."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path)  # appended to: one log of every grading run of this assignment
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    loggers = [logging.getLogger("py.warnings"), logging.getLogger("distributed"), LOG]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    LOG.setLevel(logging.INFO)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()


def grade(assignment: str, folder: Path, *, work: Path = DEFAULT_WORK, limits: Limits, jobs: int,
          require_sandbox: bool, force: bool, hidden_feedback: str = "full", cluster: str | None = None,
          scheduler_file: Path | None = None, allow_weak_sandbox: bool = False,
          connect_timeout: float = engine.CONNECT_SECONDS) -> int:
    """Grade every submission in `folder`: here with `jobs` sandboxes at once, or on the Dask cluster whose scheduler
    is at `cluster` (or described by `scheduler_file`). Returns the exit status."""
    remote = cluster or scheduler_file
    if not remote:
        if not sandbox.strong_sandbox_available():
            console.print("[bold red]WARNING: bubblewrap (bwrap) is not installed. Student code will run with "
                          "resource limits only: it can read files this user can read and use the network.[/]")
            if require_sandbox:
                console.print("[red]--require-sandbox was given: stopping.[/red]")
                return 2
        allow_weak_sandbox = not require_sandbox  # here the grader has already said it, loudly
    try:  # before anything is written: an unreachable scheduler leaves the work folder as it was
        pool = engine.connect(cluster, scheduler_file, jobs, limits, connect_timeout)
    except engine.Unreachable as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        return 2
    work = work.resolve()
    log = work / "reports" / f"{assignment}-grading.log"
    with pool, grading_log(log):
        code = _grade(assignment, folder, work, limits, pool, force, hidden_feedback, allow_weak_sandbox)
    console.print(f"Library warnings and nbgrader's log: {log}")
    return code


class Phases(dict):
    """Seconds spent in each phase of one grading run, written to reports/<A>-timing.json (the benchmark's profile)."""

    @contextlib.contextmanager
    def __call__(self, name: str):
        begin = time.perf_counter()
        try:
            yield
        finally:
            self[name] = self.get(name, 0.0) + time.perf_counter() - begin


def _grade(assignment: str, folder: Path, work: Path, limits: Limits, pool: engine.Pool, force: bool,
           hidden_feedback: str, allow_weak: bool) -> int:
    start, phases = time.monotonic(), Phases()
    try:
        with phases("start (cases, references)"):
            grader = Grader(assignment, work, limits, hidden_feedback, allow_weak)
    except (ValueError, FileNotFoundError) as exc:  # no such assignment: its cases or notebooks are missing
        console.print(f"[red]{exc}[/red]")
        return 2
    db = grader.course.gradebook
    if db.exists():
        shutil.copyfile(db, db.with_suffix(".db.bak"))
    with phases("intake"):
        intakes = collect(grader, folder)
        grader.course.follow_setting()
    todo = [g for g in intakes if force or not grader.cached(g.student, g.sha256)]
    console.print(f"Grading {len(todo)} of {len(intakes)} submissions of '{assignment}' "
                  f"({len(intakes) - len(todo)} unchanged since the last run) on {pool.description}.")
    LOG.info("grading '%s' from %s: %d of %d submissions to run", assignment, folder, len(todo), len(intakes))
    recorder, sandboxes = Recorder(grader.course, sorted(g.student for g in intakes), phases), []
    with Progress(console=console, transient=True) as bar, recorder, phases("sandboxes (wall)"):
        task = bar.add_task("sandboxed runs", total=len(todo))
        for got, ran in pool.run(grader, todo):
            with phases("judge"):
                report = grader.judge(got, ran) if isinstance(ran, dict) else grader.failed(got, ran)
                grader.course.forget(got.student)  # first: killed here, the next run records the student again
                _atomic_write(grader.result_path(report["student"]), json.dumps(report, indent=1))
            recorder.queue.put(got.student)
            sandboxes.append(report["seconds"])
            bar.advance(task)
    code = record(grader, intakes, start, phases)
    _atomic_write(work / "reports" / f"{assignment}-timing.json", json.dumps(
        {"submissions": len(intakes), "run": len(todo), "wall_s": time.monotonic() - start, "phases_s": phases,
         "sandbox_s": sandboxes, "where": pool.description}, indent=1))
    return code


class Recorder(threading.Thread):
    """Records each student in nbgrader's gradebook as their result arrives, in one thread: SQLite has one writer,
    and the gradebook's bookkeeping overlaps the sandboxes still running."""

    def __init__(self, course: nbgrader_bridge.Course, ids: list[str], phases: Phases):
        super().__init__(name="gradebook", daemon=True)
        self.course, self.ids, self.phases, self.queue = course, ids, phases, Queue()

    def run(self) -> None:
        try:
            with self.phases("gradebook: assignment and class entered"):
                LOG.info("nbgrader:\n%s", self.course.register())
                self.course.add_students(self.ids)
            while (student := self.queue.get()) is not None:
                with self.phases("gradebook: each student (while the sandboxes run)"):
                    LOG.info("nbgrader:\n%s", self.course.record_student(student))
        except RuntimeError as exc:  # nbgrader failed: `record` records the rest again, and tells
            LOG.error("%s", exc)
            while self.queue.get() is not None:  # let the grading loop finish
                pass

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.queue.put(None)
        self.join()


def record(grader: Grader, intakes, start: float, phases: Phases) -> int:
    """nbgrader: students not recorded yet (a run interrupted earlier), feedback, CSV; then the leak check and the
    summary."""
    work = grader.work
    (work / "grades").mkdir(exist_ok=True)
    failed = False
    try:
        with phases("gradebook: students left (after)"):
            LOG.info("nbgrader:\n%s", grader.course.register() + grader.course.record_missing())
        with phases("feedback and CSV"):
            LOG.info("nbgrader:\n%s", grader.course.feedback())
            grader.course.export(work / "grades" / "grades.csv")
    except RuntimeError as exc:
        failed = True
        LOG.error("%s", exc)
        console.print(f"[red]{str(exc)[:2000]}[/red]")
    leaks = leaked_hidden_tests(grader.course)
    for path in leaks:
        console.print(f"[bold red]Hidden test code found in {path}: do not return it to students.[/]")
    reports = [json.loads(grader.result_path(g.student).read_text()) for g in intakes]
    skipped = [e for e in students.read_roster(work, grader.assignment)[0] if not e.student]
    write_summary(grader.assignment, reports, skipped, work)
    show_summary(reports, skipped, time.monotonic() - start, work)
    try:
        with phases("class report"):
            page, _ = class_report.build(work, grader.assignment)
        Console().print(f"Class report (mistakes, similar answers, who needs attention): {page}")
    except Exception as exc:  # noqa: BLE001 - the grades are recorded; the report can be written again
        failed = True
        LOG.exception("class report")
        console.print(f"[red]The class report failed ({type(exc).__name__}: {exc}); the grades are recorded. "
                      f"`rnn-grade report {grader.assignment}` writes it again.[/red]")
    return 1 if failed or leaks else 0


def leaked_hidden_tests(course: nbgrader_bridge.Course) -> list[Path]:
    """Files returned to students (feedback, autograded notebooks) that contain hidden-test text,
    ignoring text the student's own submission holds (a student may quote a marker in a comment)."""
    needles = ["BEGIN HIDDEN TESTS", "autograder.hidden", scoring.case_modules(course.assignment)[1].CANARY]
    out = []
    for step in ("feedback", "autograded"):
        for path in map(Path, glob.glob(str(course.student_folder(step, "*") / "*"))):
            own = course.student_folder("submitted", path.parts[-3]) / f"{course.assignment}.ipynb"
            own_text = own.read_text(errors="replace") if own.is_file() else ""
            text = path.read_text(errors="replace") if path.is_file() else ""
            if any(n in text and n not in own_text for n in needles):
                out.append(path)
    return out


def write_summary(assignment: str, reports: list[dict], skipped: list[students.Entry], work: Path) -> None:
    """reports/<assignment>.csv: a row for every entry of the class folder, graded or not."""
    path = work / "reports" / f"{assignment}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "score", "max_score", "status", "reasons", "submission_sha256", "folder"])
        for r in reports:
            w.writerow([r["student"], r["score"], r["max_score"], r["status"], " | ".join(r["reasons"]),
                        r["submission_sha256"], r.get("folder", r["student"])])
        for e in skipped:
            w.writerow(["", "", "", e.status, "", "", e.folder])


def show_summary(reports: list[dict], skipped: list[students.Entry], seconds: float, work: Path) -> None:
    table = Table(title=f"{len(reports) + len(skipped)} entries in the class folder, "
                        f"{len(reports)} submissions graded in {seconds:.1f} s")
    for col in ("student", "folder", "score", "status", "reasons"):
        table.add_column(col, overflow="fold")
    for r in reports:
        colour = "green" if r["status"].startswith("graded") else "yellow"
        folder = r.get("folder", r["student"])
        table.add_row(r["student"], "" if folder == r["student"] else escape(repr(folder)),
                      f"{r['score']:g}/{r['max_score']:g}", f"[{colour}]{r['status']}[/]",
                      "; ".join(x[:160] for x in r["reasons"]))
    for e in skipped:
        table.add_row("", escape(repr(e.folder)), "", f"[red]{escape(e.status)}[/]", "")  # names are not markup
    Console().print(table)
    attention = [r["student"] for r in reports if not r["status"].startswith("graded")]
    Console().print(f"Graded: {len(reports) - len(attention)}. Need attention: {len(attention)}"
                    + (f" ({', '.join(attention)})" if attention else "") + "."
                    + f" Not graded: {len(skipped)}" + (f" ({escape(', '.join(repr(e.folder) for e in skipped))})"
                                                        if skipped else "") + ".")
    Console().print(f"Gradebook CSV: {work / 'grades' / 'grades.csv'}; feedback: {work / 'feedback'}; "
                    f"per-student reasons, folder names and class report: {work / 'reports'}.")
