"""The instructor's reference solutions as plain Python functions (for tests and benchmarks, never the book)."""
from pathlib import Path

import nbformat

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def solution_namespace(name: str) -> dict:
    """Run every code cell of `solutions/<name>/<name>.ipynb` except its test cells; return the names defined."""
    ns: dict = {}
    for cell in nbformat.read(SOLUTIONS / name / f"{name}.ipynb", as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and not (meta.get("grade") and not meta.get("solution")):
            exec(cell.source, ns)
    return ns
