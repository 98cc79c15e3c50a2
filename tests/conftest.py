"""The tests' fixtures, and the rule that every test names its tier (the markers in pyproject.toml)."""
from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path

import nbformat
import pytest

from helpers import BIN, BUILD, HTML, ROOT, WEAKER_CPU, ensure_node_deps, env

SESSION_START = time.time()
# torch.compile's cache, one per test process: processes compiling into one shared cache at once have crashed it
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path(tempfile.gettempdir()) / f"rnncourse-inductor-{WORKER}"))


def pytest_collection_modifyitems(config, items):
    """Every test has exactly one tier: one without would be left out of `make test-fast` and of every `-m` selection
    without anyone noticing, one with two would run in both (a module's mark adds to its functions' marks)."""
    markers = tomllib.loads(config.inipath.read_text())["tool"]["pytest"]["ini_options"]["markers"]
    tiers = {line.split(":")[0] for line in markers}   # pyproject.toml's markers (getini adds the plugins' too)
    wrong = [f"{item.nodeid} {sorted(marks) or ''}" for item in items
             if len(marks := {m.name for m in item.iter_markers()} & tiers) != 1]
    if wrong:
        raise pytest.UsageError(f"a test needs exactly one tier marker of {sorted(tiers)}: {', '.join(wrong[:10])}")


@pytest.fixture(scope="session")
def solution_nb():
    return nbformat.read(ROOT / "solutions" / "rnn" / "rnn.ipynb", as_version=4)


@pytest.fixture(scope="session")
def release_nb():
    return nbformat.read(ROOT / "exercises" / "rnn" / "rnn.ipynb", as_version=4)


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
