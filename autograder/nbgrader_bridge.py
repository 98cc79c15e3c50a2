"""Hand the sandbox's verdicts to nbgrader, which keeps the gradebook, feedback and CSV export.

`SandboxScores` replaces nbgrader's `Execute` preprocessor in `nbgrader autograde`: instead of
running the notebook, it writes each test cell's outputs from the grader's results (full marks,
a partial-credit number, or an error with the reasons) and strips the hidden tests' code, so that
neither the autograded notebook nor the feedback generated from it shows them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS.*?(### END HIDDEN TESTS|\Z)", re.S)
HIDDEN_NOTE = "# (the grader also ran hidden checks here; their code is not shown)"


def strip_hidden(source: str) -> str:
    return HIDDEN_BLOCK.sub(HIDDEN_NOTE, source)


def test_outputs(result: dict) -> list:
    """Outputs that make nbgrader record `result['score']` for this cell."""
    head = f"{result['passed']} of {result['total']} checks passed: {result['score']:g} / {result['points']:g} points."
    if result["passed"] == result["total"]:
        return [new_output("stream", name="stdout", text=head + "\n")]
    if result["score"] > 0:
        return [new_output("stream", name="stdout", text=head + "\n\n" + "\n\n".join(result["messages"]) + "\n"),
                new_output("execute_result", data={"text/plain": repr(result["score"])}, execution_count=None)]
    return [new_output("error", ename="TestsFailed", evalue=head, traceback=[head, *result["messages"]])]


class SandboxScores(NbGraderPreprocessor):
    """Fill test cells from the results file the hardened grader wrote for this student."""

    results_dir = Unicode("", help="Folder holding <assignment>/<student>.json").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        path = Path(self.results_dir) / info["assignment"] / f"{info['student']}.json"
        report = json.loads(path.read_text())
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code":
                continue
            if meta.get("grade") and not meta.get("solution"):
                cell.source = strip_hidden(cell.source)
                cell.outputs = test_outputs(report["tests"][meta["grade_id"]])
            elif report["cells"].get(meta.get("grade_id", ""), "ok") != "ok":
                text = f"When the grader ran this cell: {report['cells'][meta['grade_id']]}\n"
                cell.outputs = [new_output("stream", name="stdout", text=text)]
        nb.cells.insert(0, new_markdown_cell(summary_markdown(report)))
        return nb, resources


def summary_markdown(report: dict) -> str:
    lines = [f"**Grading report** — {report['score']:g} / {report['max_score']:g} points; status: {report['status']}."]
    lines += [f"- {reason}" for reason in report["reasons"]]
    return "\n".join(lines)


AUTOGRADE_PREPROCESSORS = [
    "autograder.nbgrader_bridge.SandboxScores",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]


class Course:
    """nbgrader commands on the course in `root`, with the grader's state kept under `work`."""

    def __init__(self, root: Path, work: Path):
        self.root, self.work = root, work
        self.overrides = [f"--CourseDirectory.{name}_directory={work / name}"
                          for name in ("submitted", "autograded", "feedback")]
        self.overrides.append(f"--CourseDirectory.db_url=sqlite:///{work / 'gradebook.db'}")
        bin_dir = str(Path(sys.executable).parent)  # nbgrader calls `alembic` from PATH
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")

    def run(self, command: str, *args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(self.root)}
        exe = str(Path(sys.executable).parent / "nbgrader")
        return subprocess.run([exe, command, *args, *self.overrides], cwd=self.root, env=env,
                              capture_output=True, text=True)

    def ensure_assignment(self, assignment: str) -> list[subprocess.CompletedProcess]:
        """Register the assignment (cells, points) in this gradebook if it is not there yet."""
        with Gradebook(f"sqlite:///{self.work / 'gradebook.db'}", "rnn-course") as gb:
            if any(a.name == assignment for a in gb.assignments):
                return []
        release = self.work / "release"
        return [self.run("generate_assignment", assignment, "--force",
                         f"--CourseDirectory.release_directory={release}")]

    def autograde(self, assignment: str, results_dir: Path) -> subprocess.CompletedProcess:
        preprocessors = "[" + ",".join(f"'{p}'" for p in AUTOGRADE_PREPROCESSORS) + "]"
        return self.run("autograde", assignment, "--force",
                        f"--Autograde.autograde_preprocessors={preprocessors}",
                        f"--SandboxScores.results_dir={results_dir}")
