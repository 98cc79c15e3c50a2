"""What the tests share: the course's folders, its commands (from `autograder.commands`), the built book, and what
must never reach students (solution lines, canaries). Fixtures are in conftest.py."""
from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.commands import BIN, ROOT, env, grade, nbgrader  # noqa: F401 - re-exported for the tests

FIXTURE_CLASS = ROOT / "tests" / "fixtures" / "class_rnn"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def results(work: Path, assignment: str = "rnn") -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (work / "results" / assignment).glob("*.json")}


def load_module(path: Path, name: str | None = None):
    """Import a Python file that is not part of an installed package (e.g. a Sphinx extension in _ext/), as the
    module `name` (default: the file's name)."""
    spec = importlib.util.spec_from_file_location(name or path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses and pickling look their module up there
    spec.loader.exec_module(module)
    return module


# --- what students must never see -------------------------------------------------------------------------------
def solution_lines() -> set[str]:
    """Distinctive lines written between the solution markers of every source notebook, less those a
    release gives away on purpose (Exercise 2 gives Chapter 1's forward step in a locked cell)."""
    released = "\n".join(p.read_text() for p in (ROOT / "exercises").glob("*/*.ipynb"))
    lines = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        inside = False
        for cell in nbformat.read(path, as_version=4).cells:
            for line in cell.source.splitlines():
                inside = ("BEGIN SOLUTION" in line) or (inside and "END SOLUTION" not in line)
                if inside and "BEGIN SOLUTION" not in line and len(line.strip()) > 25:
                    lines.add(line.strip())
    return {line for line in lines if json.dumps(line)[1:-1] not in released}


def canaries() -> list[str]:
    """The canary string of every hidden-test module (autograder/hidden/<assignment>.py)."""
    return [importlib.import_module(f"autograder.hidden.{p.stem}").CANARY
            for p in (ROOT / "autograder" / "hidden").glob("[!_]*.py")]


# --- the built book, shared by tests/test_book.py and tests/test_browser.py -------------------------------------
HTML = ROOT / "_build" / "html"
BROWSER = ROOT / "tests" / "browser"
BUILD = ["python", "scripts/build_book.py"]   # what `make book` runs
# The book is built as a CPU without AVX-512 would build it: oneDNN and PyTorch's own kernels are capped at AVX2,
# so a cell that needs newer instructions (bf16 autocast of an LSTM, say) fails here as it would there.
WEAKER_CPU = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def ensure_node_deps() -> None:
    """`npm ci` in tests/browser when its node_modules is missing or older than package(-lock).json, as `make setup`
    does: the book serves MathJax from there (offline math) and the browser test drives Chromium (playwright-core)."""
    stamp = BROWSER / "node_modules" / ".package-lock.json"
    newest = max((BROWSER / name).stat().st_mtime for name in ("package.json", "package-lock.json"))
    if stamp.exists() and stamp.stat().st_mtime >= newest:
        return
    npm = shutil.which("npm")
    assert npm, "npm (Node.js >= 20) is needed for the book's MathJax and the browser test: install Node.js"
    run = subprocess.run([npm, "ci", "--prefix", str(BROWSER), "--no-audit", "--no-fund"], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, "npm ci --prefix tests/browser failed:\n" + run.stdout[-2000:] + run.stderr[-2000:]
    stamp.touch()


def up_to_the_last_graded_cell(nb):
    """A copy of a notebook without the cells after its last graded cell. The capstone ends with an ungraded
    demonstration that trains for minutes in a Jupyter kernel (by design: the student watches it learn); a
    test that checks the graded cells has no reason to wait for it."""
    nb = copy.deepcopy(nb)
    last = max(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    nb.cells = nb.cells[:last + 1]
    return nb
