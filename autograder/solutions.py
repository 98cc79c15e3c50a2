"""The instructor's reference solutions as plain Python functions (for tests and benchmarks, never the book)."""
from pathlib import Path

import nbformat

from autograder.intake import is_test_cell

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def solution_namespace(name: str) -> dict:
    """Run every code cell of `solutions/<name>/<name>.ipynb` except its test cells; return the names defined."""
    ns: dict = {}
    for cell in nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4).cells:
        if cell.cell_type == "code" and not is_test_cell(cell):
            exec(cell.source, ns)
    return ns
