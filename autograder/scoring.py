"""The trusted side of a test: build the cases, hand their inputs to the sandbox, judge the outputs.

Reference outputs never leave this process. What comes back from the sandbox is read as plain
data (`jobfolder.Job.result`: arrays without pickle, size-capped text, on the machine that ran it) and judged
here with this process's own NumPy, so nothing a submission does to its interpreter can change a score.
"""
from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from rnncourse.checking import Case, judge

ASSIGNMENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
VISIBLE, HIDDEN = "[visible check] ", "[hidden check] "  # the tag of a failed case's message
# What a student's feedback may say about hidden checks (the instructor's results keep everything).
HIDDEN_FEEDBACK = {"full": "each hidden check's label and shapes, and expected vs got where it is wrong",
                   "counts": "only how many hidden checks passed",
                   "none": "nothing about hidden checks (only the visible ones and the score)"}


def case_modules(assignment: str) -> tuple[ModuleType, ModuleType]:
    """An assignment's visible and hidden cases, found by name: rnncourse.cases.<name>, autograder.hidden.<name>."""
    if not ASSIGNMENT_NAME.match(assignment):
        raise ValueError(f"{assignment!r} is not an assignment name (lower-case letters, digits and _)")
    names = (f"rnncourse.cases.{assignment}", f"autograder.hidden.{assignment}")
    missing = [n for n in names if importlib.util.find_spec(n) is None]
    if missing:
        raise ValueError(f"no assignment {assignment!r}: {' and '.join(missing)} not found")
    return tuple(importlib.import_module(n) for n in names)


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
    hidden_passed: int
    hidden_total: int
    messages: list[str] = field(default_factory=list)  # one per failed case, tagged VISIBLE or HIDDEN

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def load_specs(assignment: str, points: dict[str, float]) -> list[TestSpec]:
    """The tests of an assignment: visible then hidden cases of every graded test cell."""
    visible_mod, hidden_mod = case_modules(assignment)
    specs = []
    for test_id, pts in points.items():
        hidden = hidden_mod.hidden_cases(test_id)
        specs.append(TestSpec(test_id, pts, visible_mod.visible_cases(test_id) + hidden, len(hidden)))
    return specs


def _course_imports(path: Path, package: str) -> set[str]:
    """Modules of this course (rnncourse, autograder) that the module in `path` imports by name."""
    found = set()
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level \
                else node.module
            found |= {base} | {f"{base}.{a.name}" for a in node.names}  # `from pkg import module`
    return {n for n in found if n.split(".")[0] in ("rnncourse", "autograder")}


def _import_closure(names: list[str]) -> list[Path]:
    """The source files of these modules, their packages and every course module they import, transitively."""
    files, todo = set(), list(names)
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for n in [".".join(parts[:i]) for i in range(1, len(parts))] + [name]:  # packages run their __init__
            try:
                spec = importlib.util.find_spec(n)
            except ImportError:  # `from module import name`: a name, not a submodule
                continue
            if spec is None or spec.origin is None or Path(spec.origin) in files:
                continue
            files.add(Path(spec.origin))
            package = n if spec.submodule_search_locations else n.rpartition(".")[0]
            todo += _course_imports(Path(spec.origin), package)
    return sorted(files)


def spec_fingerprint(assignment: str, notebooks: list[Path]) -> str:
    """Hash of what judging depends on: the grader's own modules, the assignment's case modules with every course
    module they import (checking, oracles, ...), and its `notebooks` (source, release). Cached results count only
    while it is unchanged; a change elsewhere (plotting, another assignment) keeps them."""
    grader = sorted(Path(__file__).parent.glob("*.py"))
    cases = _import_closure([f"rnncourse.cases.{assignment}", f"autograder.hidden.{assignment}"])
    h = hashlib.sha256(assignment.encode())
    for path in [*grader, *cases, *notebooks]:
        h.update(str(path.name).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def calls(specs: list[TestSpec]) -> list[tuple[str, list]]:
    """(function name, arguments) of every case, in the order `score_returned` reads them."""
    return [(case.func, case.call_args()) for spec in specs for case in spec.cases]


def score_returned(specs: list[TestSpec], returned: list | None, killed: str) -> list[TestResult]:
    """Score every test from what the sandbox returned for each call of `calls(specs)`, in order: arrays, a text
    saying why the call failed, or None (`returned` None: the submission never ran)."""
    results, n = [], 0
    for spec in specs:
        passed, hidden_passed, messages = 0, 0, []
        for i, case in enumerate(spec.cases):
            hidden = i >= len(spec.cases) - spec.hidden
            got = returned[n] if returned else None
            n += 1
            if isinstance(got, list):
                problem = judge(case, got)
            elif isinstance(got, str):
                problem = f"{case.describe()}: {got}"
            else:
                problem = f"{case.describe()}: no result ({killed or 'the submission process died'})."
            if problem is None:
                passed += 1
                hidden_passed += hidden
            else:
                messages.append((HIDDEN if hidden else VISIBLE) + problem)
        score = round(spec.points * passed / len(spec.cases), 2)
        results.append(TestResult(spec.test_id, spec.points, score, passed, len(spec.cases), hidden_passed,
                                  spec.hidden, messages))
    return results
