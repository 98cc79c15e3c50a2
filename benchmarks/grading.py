"""Grade a synthetic class with the hardened grader and with plain sequential `nbgrader autograde`.

Both grade the same submissions (a mix of solved, partly wrong and blank notebooks) in one run,
so the ratio is measured on the same machine at the same time. The hardened time includes
everything `make grade` does (sandboxed runs, gradebook, HTML feedback, CSV); the nbgrader time
is `nbgrader autograde` alone, so the ratio understates the hardened grader's advantage.

    python benchmarks/grading.py [--students 100]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.commands import ROOT, grade, nbgrader
from autograder.solutions import answer_sources, with_answers


def make_class(folder: Path, n: int) -> None:
    """n students: solved, tanh missing, state not carried, blank, in turn."""
    solution = nbformat.read(ROOT / "solutions/rnn/rnn.ipynb", as_version=4)
    release = nbformat.read(ROOT / "exercises/rnn/rnn.ipynb", as_version=4)
    answers = answer_sources(solution)
    edits = [lambda s: s, lambda s: s.replace("np.tanh(x @ Wx + h_prev @ Wh + b)", "x @ Wx + h_prev @ Wh + b"),
             lambda s: s.replace("rnn_step_forward(x[:, t], h_t,", "rnn_step_forward(x[:, t], h0,"), None]
    for i in range(n):
        edit = edits[i % len(edits)]
        nb = with_answers(release, {gid: edit(code) for gid, code in answers.items()} if edit else {})
        (folder / f"s{i:03d}").mkdir(parents=True)
        nbformat.write(nb, folder / f"s{i:03d}" / "rnn.ipynb")


def plain_nbgrader(folder: Path, tmp: Path) -> float:
    over = [f"--CourseDirectory.{d}_directory={tmp / d}" for d in ("release", "submitted", "autograded", "feedback")]
    tmp.mkdir(parents=True, exist_ok=True)
    over.append(f"--CourseDirectory.db_url=sqlite:///{tmp / 'gradebook.db'}")
    gen = nbgrader("generate_assignment", "rnn", "--force", *over)
    assert gen.returncode == 0, gen.stderr[-2000:]
    for student in folder.iterdir():
        shutil.copytree(student, tmp / "submitted" / student.name / "rnn")
    start = time.perf_counter()
    run = nbgrader("autograde", "rnn", "--ExecutePreprocessor.timeout=60", *over)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-2000:]
    return seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--students", type=int, default=100)
    n = p.parse_args().students
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", n)
        start = time.perf_counter()
        run = grade(tmp / "class", tmp / "hardened")
        hardened = time.perf_counter() - start
        assert run.returncode == 0, run.stderr[-2000:]
        plain = plain_nbgrader(tmp / "class", tmp / "plain")
    print(f"machine: {os.cpu_count()} cores; class of {n} submissions")
    print(f"hardened grader (sandboxed, parallel, + feedback + CSV): {hardened:7.1f} s  "
          f"{hardened / n:.3f} s/submission")
    print(f"plain nbgrader autograde (sequential, unsandboxed):      {plain:7.1f} s  {plain / n:.3f} s/submission")
    print(f"throughput ratio hardened / plain: {plain / hardened:.1f}x")


if __name__ == "__main__":
    main()
