"""Shared helpers: run the course's real commands (nbgrader, the grader) in throw-away folders."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SESSION_START = time.time()
# torch.compile's cache, one per test process: processes compiling into one shared cache at once have crashed it
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR",
                      str(Path(tempfile.gettempdir()) / f"rnncourse-inductor-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))
BIN = Path(sys.executable).parent
FIXTURE_CLASS = ROOT / "tests" / "fixtures" / "class_rnn"
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())  # an assignment is a folder there


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


# --- the built book, shared by tests/test_book.py and tests/test_browser.py -------------------------------------
HTML = ROOT / "_build" / "html"
BROWSER = ROOT / "tests" / "browser"
BUILD = ["python", "scripts/build_book.py"]   # what `make book` runs
# The book is built as a CPU without AVX-512 would build it: oneDNN and PyTorch's own kernels are capped at AVX2,
# so a cell that needs newer instructions (bf16 autocast of an LSTM, say) fails here as it would there.
WEAKER_CPU = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


def ensure_node_deps() -> None:
    """`npm ci` in tests/browser when its node_modules is missing or older than package(-lock).json, as `make setup`
    does: the book serves MathJax from there (offline math) and the browser test drives Chromium with playwright-core."""
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


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the HTML book once per test session, once for all xdist workers, and return _build/html.

    A lock in _build/ keeps two builds (two workers, two sessions) from writing into _build/html at once; under
    xdist the first worker records the outcome in the session's shared temporary folder and the others reuse it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    outcome = tmp_path_factory.getbasetemp().parent / "built_book.json" if worker else None
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if outcome is not None and outcome.exists():
            result = json.loads(outcome.read_text())
        else:
            ensure_node_deps()
            run = subprocess.run([str(BIN / BUILD[0]), *BUILD[1:]], cwd=ROOT, env={**env(), **WEAKER_CPU},
                                 capture_output=True, text=True, timeout=1200)
            result = {"returncode": run.returncode, "output": run.stdout[-4000:] + run.stderr[-4000:]}
            print(run.stdout[run.stdout.rfind("Execution time of each chapter"):])   # shown with pytest -s / -rA
            if outcome is not None:
                outcome.write_text(json.dumps(result))
    assert result["returncode"] == 0, result["output"]
    return HTML


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small recurrent nets run fastest on one thread (and much slower when cores are shared)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pytest_terminal_summary(terminalreporter):
    """Show how long each chapter took to execute when this session built the book."""
    report = ROOT / "_build" / "build_report.txt"
    if report.exists() and report.stat().st_mtime >= SESSION_START:
        terminalreporter.write_sep("-", "book build")
        terminalreporter.write(report.read_text())
