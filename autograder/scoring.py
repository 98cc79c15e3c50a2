"""The trusted side of a test: build the cases, hand their inputs to the sandbox, judge the outputs.

Reference outputs never leave this process. What comes back from the sandbox is read as plain
data (`np.load(..., allow_pickle=False)`, size-capped JSON) and judged here with this process's
own NumPy, so nothing a submission does to its interpreter can change a score.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnncourse.checking import Case, judge

# assignment -> (module of visible cases, module of hidden cases)
ASSIGNMENTS = {"rnn": ("rnncourse.cases.rnn", "autograder.hidden.rnn"),
               "bptt": ("rnncourse.cases.bptt", "autograder.hidden.bptt"),
               "lstm": ("rnncourse.cases.lstm", "autograder.hidden.lstm"),
               "peephole": ("rnncourse.cases.peephole", "autograder.hidden.peephole"),
               "gru": ("rnncourse.cases.gru", "autograder.hidden.gru"),
               "capstone": ("rnncourse.cases.capstone", "autograder.hidden.capstone")}
MAX_RESULT_BYTES = 8 * 2**20


@dataclass
class TestSpec:
    """One graded test cell: its id and points (from the instructor's notebook) and its cases."""

    test_id: str
    points: float
    cases: list[Case]
    hidden: int  # how many of the cases are hidden


@dataclass
class TestResult:
    test_id: str
    points: float
    score: float
    passed: int
    total: int
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def load_specs(assignment: str, points: dict[str, float]) -> list[TestSpec]:
    """The tests of an assignment: visible then hidden cases of every graded test cell."""
    visible_mod, hidden_mod = (importlib.import_module(m) for m in ASSIGNMENTS[assignment])
    specs = []
    for test_id, pts in points.items():
        hidden = hidden_mod.hidden_cases(test_id)
        specs.append(TestSpec(test_id, pts, visible_mod.visible_cases(test_id) + hidden, len(hidden)))
    return specs


def spec_fingerprint(assignment: str) -> str:
    """Hash of the grader's and the tests' code: cached results count only while it is unchanged."""
    h = hashlib.sha256(assignment.encode())
    for package in ("autograder", "rnncourse"):
        folder = Path(importlib.util.find_spec(package).origin).parent
        for path in sorted(folder.rglob("*.py")):
            h.update(path.read_bytes())
    return h.hexdigest()


def write_calls(specs: list[TestSpec], job: Path) -> None:
    """Save every case's inputs as .npz (no pickle) and the list of calls for the runner."""
    (job / "inputs").mkdir()
    calls = []
    for n, case in enumerate(c for s in specs for c in s.cases):
        args = case.call_args()
        flat = [x for a in args for x in (a if isinstance(a, list) else [a])]
        np.savez(job / "inputs" / f"{n}.npz", *flat)
        layout = [len(a) if isinstance(a, list) else -1 for a in args]  # -1: one array, n: a list of n
        calls.append({"case": n, "func": case.func, "inputs": f"inputs/{n}.npz", "layout": layout})
    (job / "calls.json").write_text(json.dumps(calls))


def _read_outputs(path: Path) -> list[np.ndarray] | str:
    """The arrays of one result file, read without pickle and refused before loading when the
    file, or what its zip members would unpack to, is larger than the grader accepts."""
    too_big = "its output is larger than the grader accepts"
    if path.stat().st_size > MAX_RESULT_BYTES:
        return too_big
    try:
        with zipfile.ZipFile(path) as z:
            if sum(info.file_size for info in z.infolist()) > MAX_RESULT_BYTES:
                return too_big
    except (zipfile.BadZipFile, OSError, ValueError):
        return "it returned something that is not a numeric array (objects are not accepted)"
    try:
        with np.load(path, allow_pickle=False) as data:
            return [np.array(data[f"arr_{i}"]) for i in range(len(data.files))]
    except Exception:  # noqa: BLE001 - whatever the sandbox wrote, an unreadable file is a wrong answer
        return "it returned something that is not a numeric array (objects are not accepted)"


def read_text(path: Path, limit: int = 4000) -> str:
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", "replace")


def judge_job(specs: list[TestSpec], job: Path, killed: str) -> list[TestResult]:
    """Score every test from what the sandbox left in `job/out`."""
    out, results, n = job / "out", [], 0
    for spec in specs:
        passed, messages = 0, []
        for i, case in enumerate(spec.cases):
            kind = "hidden" if i >= len(spec.cases) - spec.hidden else "visible"
            npz, err = out / f"{n}.npz", out / f"{n}.err"
            n += 1
            if npz.exists():
                got = _read_outputs(npz)
                problem = judge(case, got) if isinstance(got, list) else f"{case.describe()}: {got}."
            elif err.exists():
                problem = f"{case.describe()}: {read_text(err)}"
            else:
                problem = f"{case.describe()}: no result ({killed or 'the submission process died'})."
            if problem is None:
                passed += 1
            else:
                messages.append(f"[{kind} check] {problem}")
        score = round(spec.points * passed / len(spec.cases), 2)
        results.append(TestResult(spec.test_id, spec.points, score, passed, len(spec.cases), messages))
    return results
