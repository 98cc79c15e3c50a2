"""`rnn-grade export --format canvas|moodle|plain`: the gradebook's scores in the file a school's LMS imports.

One source: nbgrader's gradebook (autograder/gradebook.db), every assignment graded into it. A student is known
there by the id the grader gave their folder (`students.py`); the LMS knows them by a login or an id. Without a
roster the folder name is taken as the login (nbgrader's exchange names folders by JupyterHub user); a roster CSV
(`--roster`, columns `folder`, `login`, and optionally `sis_id` (the school's student number), `name`, `section`)
says it for each folder.

- Canvas (Grades > Import): `Student, ID, SIS User ID, SIS Login ID, Section`, then one column per assignment,
  `Name (id)` with Canvas's assignment id when given (`--canvas-id rnn=1234`), else `Name` (Canvas then creates the
  assignment); an optional "Points Possible" row, as Canvas's own export writes it.
- Moodle (Grade administration > Import > CSV file): `username` (map it to the user's username), `idnumber` when
  the roster gives student numbers, then one column per grade item, named after the assignment.
- plain: student id, folder, then one column per assignment.
An empty cell is an assignment not handed in: both LMSs leave the grade as it was.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from traitlets.config.loader import PyFileConfigLoader

from autograder import students

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("canvas", "moodle", "plain")
CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS = "    Points Possible"   # the label Canvas's export gives the row of maximum points


@dataclass
class Person:
    student: str   # the grader's id
    folder: str    # the class folder's name
    login: str
    sis_id: str = ""
    name: str = ""
    section: str = ""


@dataclass
class Grades:
    assignments: list[tuple[str, float]]        # (name, points possible), in the gradebook's order
    scores: dict[str, dict[str, float]]         # student id -> assignment -> score (absent: not handed in)


def read_gradebook(work: Path) -> Grades:
    course_id = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().CourseDirectory.course_id
    with Gradebook(f"sqlite:///{work / 'gradebook.db'}", course_id) as gb:
        assignments = [(a.name, float(a.max_score)) for a in sorted(gb.assignments, key=lambda a: a.name)]
        scores: dict[str, dict[str, float]] = {s.id: {} for s in gb.students}
        for name, _ in assignments:
            for sid in scores:
                try:
                    scores[sid][name] = float(gb.find_submission(name, sid).score)
                except MissingEntry:
                    pass
    return Grades(assignments, scores)


def people(work: Path, student_ids: list[str], roster: Path | None = None) -> list[Person]:
    """Who each student id is: the folder it came from (the grader's rosters), and the LMS identity the roster
    gives that folder (default: the folder name as login)."""
    folder = {sid: sid for sid in student_ids}
    for path in sorted((work / "reports").glob("*-folders.json")):
        entries, _ = students.read_roster(work, path.name.removesuffix("-folders.json"))
        folder.update({e.student: e.folder for e in entries if e.student})
    given: dict[str, dict[str, str]] = {}
    if roster is not None:
        with open(roster, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        missing = {"folder", "login"} - set(rows[0] if rows else {})
        if missing:
            raise ValueError(f"{roster}: the roster needs the columns folder and login (missing: {sorted(missing)})")
        given = {r["folder"]: r for r in rows}
    out = []
    for sid in student_ids:
        row = given.get(folder[sid], {})
        out.append(Person(sid, folder[sid], row.get("login") or folder[sid], row.get("sis_id", ""),
                          row.get("name") or folder[sid], row.get("section", "")))
    return out


def _score(grades: Grades, sid: str, assignment: str) -> str:
    value = grades.scores[sid].get(assignment)
    return "" if value is None else f"{value:g}"


def rows(fmt: str, grades: Grades, who: list[Person], canvas_ids: dict[str, str] | None = None,
         points_possible: bool = False) -> list[list[str]]:
    """The file's rows, header first."""
    names = [a for a, _ in grades.assignments]
    if fmt == "canvas":
        ids = canvas_ids or {}
        out = [CANVAS_IDENTITY + [f"{a} ({ids[a]})" if a in ids else a for a in names]]
        if points_possible:
            out.append([CANVAS_POINTS, "", "", "", ""] + [f"{p:g}" for _, p in grades.assignments])
        # ID is Canvas's own user id, which only Canvas knows: Canvas matches the student by SIS User ID or login
        out += [[p.name, "", p.sis_id, p.login, p.section] + [_score(grades, p.student, a) for a in names]
                for p in who]
        return out
    if fmt == "moodle":
        with_ids = any(p.sis_id for p in who)
        out = [["username"] + (["idnumber"] if with_ids else []) + names]
        out += [[p.login] + ([p.sis_id] if with_ids else []) + [_score(grades, p.student, a) for a in names]
                for p in who]
        return out
    if fmt == "plain":
        return [["student_id", "folder"] + names] + [[p.student, p.folder] + [_score(grades, p.student, a)
                                                                              for a in names] for p in who]
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def export(work: Path, fmt: str, roster: Path | None = None, canvas_ids: dict[str, str] | None = None,
           points_possible: bool = False) -> str:
    """The CSV text of `fmt` for every student of the gradebook in `work`."""
    grades = read_gradebook(work)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(
        rows(fmt, grades, people(work, sorted(grades.scores), roster), canvas_ids, points_possible))
    return buf.getvalue()
