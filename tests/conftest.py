"""Shared helpers: run the course's real commands (nbgrader, the grader) in throw-away folders."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FIXTURE_CLASS = ROOT / "tests" / "fixtures" / "class_rnn"


def env() -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "PYTHONPATH": str(ROOT)}


def grade(folder: Path, work: Path, *extra: str, assignment: str = "rnn") -> subprocess.CompletedProcess:
    """The instructor's command, as `make grade` runs it, into its own work folder."""
    return subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(folder),
                           "--workdir", str(work), *extra], cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=900)


def results(work: Path, assignment: str = "rnn") -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (work / "results" / assignment).glob("*.json")}


def nbgrader(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=600)


def answer_sources(nb) -> dict[str, str]:
    """Answer-cell code of the solution notebook, without the nbgrader solution markers."""
    out = {}
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            lines = [l for l in c.source.splitlines() if "### BEGIN SOLUTION" not in l and "### END SOLUTION" not in l]
            out[c.metadata["nbgrader"]["grade_id"]] = "\n".join(lines)
    return out


@pytest.fixture(scope="session")
def solution_nb():
    return nbformat.read(ROOT / "solutions" / "rnn" / "rnn.ipynb", as_version=4)


@pytest.fixture(scope="session")
def release_nb():
    return nbformat.read(ROOT / "exercises" / "rnn" / "rnn.ipynb", as_version=4)
