"""Hand the sandbox's verdicts to nbgrader, which keeps the gradebook, feedback and CSV export.

`SandboxScores` replaces nbgrader's `Execute` preprocessor in `nbgrader autograde`: instead of
running the notebook, it writes each test cell's outputs from the grader's results (full marks,
a partial-credit number, or an error with the reasons) and strips the hidden tests' code, so that
neither the autograded notebook nor the feedback generated from it shows them.
"""
from __future__ import annotations

import copy
import glob
import html
import io
import json
import logging
import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import nbgrader.api
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins.export import CsvExportPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from traitlets import Enum, Unicode
from traitlets.config.loader import PyFileConfigLoader

from autograder import scoring
from autograder.intake import is_test_cell

_ENGINES: dict[tuple[str, int], Engine] = {}


def _one_engine_per_gradebook(url, **options) -> Engine:
    """nbgrader opens a new SQLAlchemy engine for every `Gradebook` it makes, about nine per student graded, and so
    compiles every query again each time; one engine per database file keeps SQLAlchemy's compiled queries and
    halved the gradebook's and the feedback's time per student. (A file removed and made again is a new database:
    its inode is part of the key.)"""
    path = make_url(url).database
    key = (str(url), os.stat(path).st_ino if path and os.path.exists(path) else 0)
    if key not in _ENGINES:
        _ENGINES[key] = create_engine(url, **options)
    return _ENGINES[key]


nbgrader.api.create_engine = _one_engine_per_gradebook


@event.listens_for(Engine, "connect")
def _no_fsync_per_commit(connection, _record) -> None:
    """nbgrader commits once per graded cell, and SQLite waits for the disk at every commit: most of the gradebook's
    time per student. Without that wait a commit survives the grader being killed, not the machine losing power;
    the gradebook is backed up before each run, and the cached results rebuild it (`record_missing`)."""
    if isinstance(connection, sqlite3.Connection):
        connection.execute("PRAGMA synchronous=OFF")


HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS.*?(### END HIDDEN TESTS|\Z)", re.S)
HIDDEN_NOTE = "# (the grader also ran hidden checks here; their code is not shown)"


def strip_hidden(source: str) -> str:
    return HIDDEN_BLOCK.sub(HIDDEN_NOTE, source)


def test_outputs(result: dict, hidden_feedback: str = "full") -> list:
    """Outputs that make nbgrader record `result['score']` for this cell, saying about its hidden checks what
    `hidden_feedback` (a key of scoring.HIDDEN_FEEDBACK) allows."""
    points = f"{result['score']:g} / {result['points']:g} points."
    messages = result["messages"]
    if hidden_feedback == "full":
        head = f"{result['passed']} of {result['total']} checks passed: {points}"
    else:
        messages = [m for m in messages if m.startswith(scoring.VISIBLE)]
        visible_passed = result["passed"] - result["hidden_passed"]
        head = f"{visible_passed} of {result['total'] - result['hidden_total']} visible checks passed"
        if hidden_feedback == "counts":
            head += f", {result['hidden_passed']} of {result['hidden_total']} hidden checks passed"
        head += f": {points}"
    if result["passed"] == result["total"]:
        return [new_output("stream", name="stdout", text=head + "\n")]
    if result["score"] > 0:
        return [new_output("stream", name="stdout", text="\n\n".join([head, *messages]) + "\n"),
                new_output("execute_result", data={"text/plain": repr(result["score"])}, execution_count=None)]
    return [new_output("error", ename="TestsFailed", evalue=head, traceback=[head, *messages])]


class SandboxScores(NbGraderPreprocessor):
    """Fill test cells from the results file the hardened grader wrote for this student."""

    results_dir = Unicode("", help="Folder holding <assignment>/<student>.json").tag(config=True)
    hidden_feedback = Enum(list(scoring.HIDDEN_FEEDBACK), default_value="full",
                           help="What feedback says about hidden checks").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = Path(self.results_dir) / info["assignment"] / f"{info['student']}.json"
        report = json.loads(path.read_text())
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                cell.source = strip_hidden(cell.source)
                cell.outputs = test_outputs(report["tests"][meta["grade_id"]], self.hidden_feedback)
            elif report["cells"].get(meta.get("grade_id", ""), "ok") != "ok":
                text = f"When the grader ran this cell: {report['cells'][meta['grade_id']]}\n"
                cell.outputs = [new_output("stream", name="stdout", text=text)]
        nb.cells.insert(0, new_markdown_cell(summary_markdown(report)))
        return nb, resources


def summary_markdown(report: dict) -> str:
    """The report as a markdown cell; the reasons quote submission text, so they are escaped."""
    lines = [f"**Grading report** — {report['score']:g} / {report['max_score']:g} points; status: {report['status']}."]
    lines += [f"- {html.escape(reason)}" for reason in report["reasons"]]
    return "\n".join(lines)


# Every submitted notebook is rebuilt from the release by intake.normalize, so its nbgrader metadata is the
# instructor's: validating it against nbgrader's JSON schema (CheckCellMetadata, in both of Autograde's passes) took
# a fifth of the gradebook's time per student, and is left out of both.
AUTOGRADE_PREPROCESSORS = [
    "autograder.nbgrader_bridge.SandboxScores",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
]
SANITIZE_PREPROCESSORS = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
]


class Course:
    """The course in `root` as nbgrader's CourseDirectory sees it (its nbgrader_config.py): the instructor's
    `source` and `release` notebooks of `assignment`, and nbgrader's own converters run in this process with the
    grader's state (submissions, gradebook, feedback) under `work`."""

    WORK_STEPS = ("submitted", "autograded", "feedback", "release")  # release: where GenerateAssignment writes

    def __init__(self, root: Path, work: Path, assignment: str, hidden_feedback: str = "full"):
        bin_dir = str(Path(sys.executable).parent)  # nbgrader's database upgrade calls `alembic` from PATH
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        self.work, self.assignment, self.hidden_feedback = work, assignment, hidden_feedback
        config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
        course = CourseDirectory(config=config)
        self.source, self.release = (
            Path(course.format_path(getattr(course, f"{step}_directory"), ".", assignment)) / f"{assignment}.ipynb"
            for step in ("source", "release"))
        self.gradebook = work / "gradebook.db"
        self.db_url = f"sqlite:///{self.gradebook}"
        config = copy.deepcopy(config)
        for name in self.WORK_STEPS:
            setattr(config.CourseDirectory, f"{name}_directory", str(work / name))
        config.CourseDirectory.db_url = self.db_url
        config.CourseDirectory.assignment_id = assignment
        config.Autograde.autograde_preprocessors = AUTOGRADE_PREPROCESSORS
        config.Autograde.sanitize_preprocessors = SANITIZE_PREPROCESSORS
        config.SandboxScores.results_dir = str(work / "results")
        config.SandboxScores.hidden_feedback = hidden_feedback
        config.HTMLExporter.template_name = "feedback"
        self.config = config
        self.coursedir = CourseDirectory(config=config)

    def student_folder(self, step: str, student: str) -> Path:
        """Where nbgrader keeps `student`'s notebooks of this assignment at `step` (submitted, autograded, feedback)."""
        return Path(self.coursedir.format_path(getattr(self.coursedir, f"{step}_directory"), student, self.assignment))

    def _run(self, converter_class, **attrs) -> str:
        """Run one nbgrader converter; return its log, or raise with it."""
        stream = io.StringIO()
        app = converter_class(coursedir=self.coursedir, config=self.config)
        handler = logging.StreamHandler(stream)
        app.log.addHandler(handler)
        for key, value in attrs.items():
            setattr(app, key, value)
        try:
            app.start()
        except NbGraderException as exc:
            raise RuntimeError(f"nbgrader {converter_class.__name__} failed:\n{stream.getvalue()[-3000:]}") from exc
        finally:
            app.log.removeHandler(handler)
        return stream.getvalue()

    def register(self) -> str:
        """Add the assignment to the gradebook if it is not there yet; return nbgrader's log."""
        with Gradebook(self.db_url, self.coursedir.course_id) as gb:
            if any(a.name == self.assignment for a in gb.assignments):
                return ""
        return self._run(GenerateAssignment, force=True)

    def add_students(self, students: list[str]) -> None:
        """Enter the class in this order, before any result: nbgrader's CSV lists students in the order they
        entered its gradebook, and results arrive in any order."""
        with Gradebook(self.db_url, self.coursedir.course_id) as gb:
            known = {s.id for s in gb.students}
            for student in students:
                if student not in known:
                    gb.add_student(student)

    def record_student(self, student: str) -> str:
        """Record one student's scores in the gradebook (and their autograded notebook); return nbgrader's log."""
        self.coursedir.student_id = student
        try:
            return self._run(Autograde, force=True, create_student=True)
        finally:
            self.coursedir.student_id = "*"

    def forget(self, student: str) -> None:
        """Drop the student's autograded notebook, the mark of a recorded result: their result is changing."""
        shutil.rmtree(self.student_folder("autograded", student), ignore_errors=True)

    def follow_setting(self) -> None:
        """Recorded notebooks carry the hidden-feedback setting they were made with: under another setting, every
        student is recorded again (from the cached results; nothing runs again)."""
        marker = self.work / "autograded" / f".{self.assignment}-hidden-feedback"
        if marker.is_file() and marker.read_text() == self.hidden_feedback:
            return
        for folder in glob.glob(str(self.student_folder("autograded", "*"))):
            shutil.rmtree(folder, ignore_errors=True)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(self.hidden_feedback)

    def record_missing(self) -> str:
        """Record every student whose result is not in the gradebook yet (a run interrupted before it recorded
        them): nbgrader skips the students that have an autograded notebook."""
        return self._run(Autograde, force=False, create_student=True)

    def feedback(self) -> str:
        """Every student's feedback, written again: it follows the hidden-feedback setting of this run."""
        return self._run(GenerateFeedback, force=True)

    def export(self, csv_path: Path) -> None:
        """nbgrader's CSV export: every assignment graded in this gradebook, one row per student each."""
        exporter = CsvExportPlugin(config=self.config)
        exporter.to = str(csv_path)
        with Gradebook(self.db_url, self.coursedir.course_id) as gb:
            exporter.export(gb)
