"""The course's commands run as the instructor runs them, in throw-away folders: the grader as `make grade`
runs it, and nbgrader in the course root (for the tests and `benchmarks/grading.py`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    """This environment with the virtual environment's tools first on PATH, as `make` runs them. The course is an
    installed project: nothing is added to the module search path (an inherited PYTHONPATH is dropped)."""
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return {**inherited, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def grade(folder: Path, work: Path, *extra: str, assignment: str = "rnn") -> subprocess.CompletedProcess:
    """`python -m autograder grade ASSIGNMENT FOLDER` into its own work folder."""
    return subprocess.run([sys.executable, "-m", "autograder", "grade", assignment, str(folder),
                           "--workdir", str(work), *extra], cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=900)


def nbgrader(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The `nbgrader` command of this environment (run in the course root, it reads nbgrader_config.py)."""
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env(), capture_output=True, text=True,
                          timeout=600)
