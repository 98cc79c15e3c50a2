"""Turn whatever a student handed in into a notebook the grader can trust the shape of.

The instructor's release notebook is the skeleton: every cell, test, id and point value comes
from it. Only the code of the answer cells is taken from the submission, matched by nbgrader
`grade_id`, or, when the metadata was damaged, by the functions the cell defines. A file that is
not a notebook at all still yields a (blank) notebook, so every student gets a gradebook row.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import is_grade, is_solution

MAX_NOTEBOOK_BYTES = 20 * 2**20


@dataclass
class Intake:
    student: str
    notebook: nbformat.NotebookNode  # the normalized notebook
    sha256: str                      # of the file as received ("" when there was none)
    notes: list[str] = field(default_factory=list)
    ungradable: bool = False
    folder: str = ""                 # the student's folder as named in the class folder (student: its safe id)


def is_test_cell(cell) -> bool:
    """nbgrader's "autograded tests" cell: graded, and not an answer."""
    return cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)


def answer_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and is_solution(c)]


def test_cells(nb) -> list:
    return [c for c in nb.cells if is_test_cell(c)]


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}


def _regular(path: Path) -> bool:
    """A plain file, not a symlink (to the solutions, say), a FIFO or a device."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def find_notebook(folder: Path, name: str) -> tuple[Path | None, list[str]]:
    """The student's notebook in `folder`: the expected name, else the only (or newest) .ipynb.
    Symlinks and special files are never taken (the grader may run as root)."""
    layouts = (folder / name, folder / Path(name).stem / name, folder / folder.name / name)  # 2nd: nbgrader collect
    exact = [p for p in layouts if _regular(p)]
    if exact:
        return exact[0], []
    found = [p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and _regular(p)]
    found.sort(key=lambda p: os.lstat(p).st_mtime)
    if not found:
        return None, [f"no notebook found (expected {name})"]
    note = f"notebook was named {found[-1].name}, not {name}; graded it anyway"
    if len(found) > 1:
        note += f" (the newest of {len(found)} notebooks)"
    return found[-1], [note]


def normalize(student: str, path: Path | None, release) -> Intake:
    """Build the notebook to grade: the release with the student's answer code put in."""
    nb = copy.deepcopy(release)
    if path is None:
        return Intake(student, nb, "", ["no submission"], ungradable=True)
    raw = _read_capped(path)
    digest = hashlib.sha256(raw).hexdigest()
    if len(raw) > MAX_NOTEBOOK_BYTES:
        return Intake(student, nb, digest, ["notebook is larger than 20 MiB; not graded"], ungradable=True)
    try:
        submitted = nbformat.reads(raw.decode("utf-8"), as_version=4)
        cells = [c for c in submitted.cells if c.get("cell_type") == "code"]
    except Exception as exc:  # noqa: BLE001 - any unreadable file is recorded, never fatal
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        return Intake(student, nb, digest, [f"file is not a readable notebook ({reason})"], ungradable=True)
    intake = Intake(student, nb, digest)
    for cell in answer_cells(nb):
        gid = cell.metadata["nbgrader"]["grade_id"]
        source = _pick_answer(gid, cell.source, cells, intake.notes)
        if source is not None:
            cell.source = source
    return intake


def _read_capped(path: Path) -> bytes:
    """At most MAX_NOTEBOOK_BYTES + 1 bytes of a regular file, never following a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return b""
        return f.read(MAX_NOTEBOOK_BYTES + 1)


def _pick_answer(gid: str, release_source: str, cells: list, notes: list[str]) -> str | None:
    by_id = [c for c in cells if isinstance(c.get("metadata"), dict)
             and isinstance(c.metadata.get("nbgrader"), dict) and c.metadata["nbgrader"].get("grade_id") == gid]
    if len(by_id) > 1:
        notes.append(f"answer cell '{gid}' appears {len(by_id)} times; graded the last one")
    if by_id:
        return _text(by_id[-1].get("source", ""))
    wanted = _defined_names(release_source)
    by_name = [c for c in cells if wanted and wanted <= _defined_names(_text(c.get("source", "")))]
    if by_name:
        notes.append(f"answer cell '{gid}' had lost its nbgrader metadata; found it by the functions it defines")
        return _text(by_name[-1].source)
    notes.append(f"answer cell '{gid}' is missing; graded as blank")
    return None


def _text(source) -> str:
    """Cell source as one string; lone surrogates (valid JSON escapes, invalid UTF-8) become '?'."""
    text = "".join(str(x) for x in source) if isinstance(source, list) else str(source)
    return text.encode("utf-8", "replace").decode("utf-8")
