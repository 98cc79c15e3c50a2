"""Every entry of a class folder gets an id nbgrader can take, or a reason (autograder/students.py). Grading such a
class for real is in tests/test_report.py."""
import os

import pytest

from autograder import students

pytestmark = pytest.mark.unit

ODD = ["--help", "a b;touch x", "ünïcødé-名前", ".hidden", "名前", "..", "-", "x" * 200, "$(rm -rf ~)", "alice"]


def test_safe_ids_are_nbgrader_ids_unique_and_stable():
    ids = students.safe_ids(ODD)
    assert all(students.STUDENT_ID.match(sid) for sid in ids.values())
    assert len(set(ids.values())) == len(ODD)
    assert ids["alice"] == "alice", "a name nbgrader takes is kept"
    assert ids["ünïcødé-名前"].startswith("unic") and ids["--help"].startswith("help-")
    assert students.safe_ids(list(reversed(ODD))) == ids, "the same class gives the same ids, in any order"
    assert students.safe_ids(["--help"]) == {"--help": ids["--help"]}, "an id does not depend on the other folders"


def test_a_clash_with_a_real_name_is_avoided():
    taken = students.safe_ids(["--help"])["--help"]
    ids = students.safe_ids(["--help", taken])
    assert ids[taken] == taken and ids["--help"] != taken and ids["--help"].startswith(taken)


def test_scan_lists_every_entry_with_a_status(tmp_path):
    for name in ("alice", "--help", "ünïcødé-名前", ".hidden"):
        (tmp_path / name).mkdir()
    (tmp_path / "notes.txt").write_text("x")
    os.symlink(tmp_path / "alice", tmp_path / "link")
    os.mkfifo(tmp_path / "pipe")
    entries = {e.folder: e for e in students.scan(tmp_path)}
    assert set(entries) == set(os.listdir(tmp_path))
    graded = {n for n, e in entries.items() if e.student}
    assert graded == {"alice", "--help", "ünïcødé-名前", ".hidden"}
    assert all(not e.status for n, e in entries.items() if n in graded)
    assert entries["link"].status.startswith("not graded: a symbolic link")
    assert entries["notes.txt"].status == "not graded: a file, not a student's folder"
    assert entries["pipe"].status.startswith("not graded: not a folder")


def test_roster_keeps_the_mapping(tmp_path):
    entries = students.scan(tmp_path) + [students.Entry("ünïcødé-名前", "unicd-1", "")]
    students.write_roster(tmp_path, "rnn", entries, "counts")
    assert students.read_roster(tmp_path, "rnn") == (entries, "counts")
