"""Every entry of a class folder, each with a student id nbgrader can take, or the reason it is not graded.

A folder named like an nbgrader id (`alice`, `s-0042`) keeps its name. Any other folder (`--help`, `a b;touch x`,
`ünïcødé-名前`, `.alice`) is graded under a safe id: an ASCII slug of the name and a short hash of the name itself,
so the same class gives the same ids on every run and two names never share one. Symlinks (the grader follows none:
one may point at the solutions) and stray files get a line saying why they were not graded.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # what nbgrader's paths and the gradebook take safely
NOT_GRADED = "not graded: "


@dataclass
class Entry:
    """One name in the class folder: `student` is the id it is graded under ('' when it is not graded)."""

    folder: str
    student: str
    status: str = ""  # NOT_GRADED + the reason, or '' for a folder that is graded


def _slug(name: str) -> str:
    """ASCII letters, digits, '_', '.' and '-' of `name` (accents dropped, other characters as '-')."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", ascii_name)
    slug = re.sub(r"^[^A-Za-z0-9]+", "", slug)[:40].rstrip("-.")
    return slug or "student"


def _digest(name: str) -> str:
    return hashlib.sha256(os.fsencode(name)).hexdigest()


def safe_ids(names: list[str]) -> dict[str, str]:
    """The id of each folder name: itself when nbgrader takes it, else slug-hash (8 hex digits, longer on a clash)."""
    ids = {n: n for n in names if STUDENT_ID.match(n)}
    taken = set(ids.values())
    for name in sorted(n for n in names if n not in ids):
        width = 8
        while (sid := f"{_slug(name)}-{_digest(name)[:width]}") in taken:
            width += 4
        ids[name] = sid
        taken.add(sid)
    return ids


def scan(folder: Path) -> list[Entry]:
    """Every entry of the class folder, sorted by name: graded folders with their ids, the rest with a reason."""
    names = sorted(os.listdir(folder))
    kinds = {n: os.lstat(folder / n).st_mode for n in names}
    dirs = [n for n in names if stat.S_ISDIR(kinds[n])]
    ids = safe_ids(dirs)
    entries = []
    for name in names:
        mode = kinds[name]
        if stat.S_ISDIR(mode):
            entries.append(Entry(name, ids[name]))
        elif stat.S_ISLNK(mode):
            entries.append(Entry(name, "", NOT_GRADED + f"a symbolic link (to {os.readlink(folder / name)!r}); the "
                                               "grader follows no links: copy the student's folder in instead"))
        elif stat.S_ISREG(mode):
            entries.append(Entry(name, "", NOT_GRADED + "a file, not a student's folder"))
        else:
            entries.append(Entry(name, "", NOT_GRADED + "not a folder (a special file)"))
    return entries


def roster_path(work: Path, assignment: str) -> Path:
    return work / "reports" / f"{assignment}-folders.json"


def write_roster(work: Path, assignment: str, entries: list[Entry], hidden_feedback: str) -> None:
    """Keep the class folder's entries with the grading results, and what feedback may say about hidden checks:
    the class report and the exports read them here."""
    path = roster_path(work, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"hidden_feedback": hidden_feedback, "folders": [asdict(e) for e in entries]},
                               ensure_ascii=False, indent=1))


def read_roster(work: Path, assignment: str) -> tuple[list[Entry], str]:
    """The entries of the class folder last graded for `assignment`, and its hidden-feedback setting."""
    path = roster_path(work, assignment)
    if not path.exists():
        return [], "full"
    data = json.loads(path.read_text())
    return [Entry(**e) for e in data["folders"]], data["hidden_feedback"]
