"""The instructor's reference solutions as plain Python functions (for tests and benchmarks, never the book)."""
import copy
from pathlib import Path

import nbformat

from autograder.intake import is_test_cell

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def solution_namespace(name: str) -> dict:
    """Run every code cell of `solutions/<name>/<name>.ipynb` except its test cells; return the names defined."""
    ns: dict = {}
    for cell in nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4).cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            exec(cell.source, ns)
    return ns


def answer_sources(nb) -> dict[str, str]:
    """{grade_id: code} of the answer cells of a solution notebook, without nbgrader's solution markers."""
    out = {}
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("solution"):
            lines = [line for line in c.source.splitlines() if not any(m in line for m in MARKERS)]
            out[c.metadata["nbgrader"]["grade_id"]] = "\n".join(lines)
    return out


def with_answers(release, answers: dict[str, str]):
    """A copy of a release notebook with `answers` ({grade_id: code}) written into its answer cells."""
    nb = nbformat.from_dict(copy.deepcopy(dict(release)))
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nb
