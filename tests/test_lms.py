"""`rnn-grade export`: the gradebook's scores in the CSV files Canvas and Moodle import (autograder/lms.py).

The columns are those the LMSs document: Canvas's gradebook import reads `Student, ID, SIS User ID, SIS Login ID,
Section`, then one column per assignment `Name (id)`, an optional "Points Possible" row; Moodle's CSV grade import
maps one identifier column to a user field (username, ID number, email) and each other column to a grade item."""
import csv
import os

import pytest

from autograder import lms, students
from autograder.__main__ import main
from helpers import BIN

# nbgrader's own SQLAlchemy warnings when submissions are added (the grader sends them to its log)
pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore:Object of type")]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A gradebook of two assignments, three students; one folder of the class had an odd name."""
    from nbgrader.api import Gradebook

    tmp_path = tmp_path_factory.mktemp("lms")
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{BIN}{os.pathsep}{path}"   # a new gradebook runs `alembic` (of this environment)
    scores = {("rnn", "alice"): 7, ("rnn", "help-0bdbc8fb"): 4.5, ("bptt", "alice"): 3}
    try:
        with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "rnn-course") as gb:
            for name in ("rnn", "bptt"):
                gb.add_assignment(name)
                gb.add_notebook(name, name)
                gb.add_grade_cell("test", name, name, max_score=7, cell_type="code")
            for sid in ("alice", "bob", "help-0bdbc8fb"):
                gb.add_student(sid)
            for (name, sid), score in scores.items():
                gb.add_submission(name, sid)
                gb.find_grade("test", name, name, sid).auto_score = score
            gb.db.commit()
    finally:
        os.environ["PATH"] = path
    students.write_roster(tmp_path, "rnn", [students.Entry("--help", "help-0bdbc8fb")], "full")
    return tmp_path


def _read(text: str) -> list[list[str]]:
    return list(csv.reader(text.splitlines()))


def test_canvas(work):
    rows = _read(lms.export(work, "canvas", canvas_ids={"rnn": "1234"}, points_possible=True))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "bptt", "rnn (1234)"]
    assert rows[1][0].strip() == "Points Possible" and rows[1][5:] == ["7", "7"]
    by_login = {r[3]: r for r in rows[2:]}
    assert by_login["alice"][5:] == ["3", "7"]
    assert by_login["bob"][5:] == ["", ""], "not handed in: an empty cell, which Canvas leaves as it is"
    assert by_login["--help"][5:] == ["", "4.5"], "a renamed folder is exported under its original name"


def test_moodle_with_a_roster(work, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("folder,login,sis_id\n--help,h.elp,S-7\nalice,a.lice,S-1\n", encoding="utf-8")
    rows = _read(lms.export(work, "moodle", roster))
    assert rows[0] == ["username", "idnumber", "bptt", "rnn"]
    assert {r[0]: r[1:] for r in rows[1:]} == {"a.lice": ["S-1", "3", "7"], "bob": ["", "", ""],
                                               "h.elp": ["S-7", "", "4.5"]}


def test_plain_and_the_command_line(work, tmp_path):
    out = tmp_path / "grades.csv"
    assert main(["export", "--format", "plain", "--workdir", str(work), "-o", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(r["student_id"], r["folder"], r["rnn"], r["bptt"]) for r in rows] == [
        ("alice", "alice", "7", "3"), ("bob", "bob", "", ""), ("help-0bdbc8fb", "--help", "4.5", "")]


def test_a_roster_without_logins_is_refused(work, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,email\nA,a@example.org\n")
    with pytest.raises(ValueError, match="folder and login"):
        lms.export(work, "canvas", roster)
