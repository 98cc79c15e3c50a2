"""Grade a synthetic class with the hardened grader and with plain sequential `nbgrader autograde`.

Both grade the same submissions (a mix of solved, partly wrong and blank notebooks) in one run,
so the ratio is measured on the same machine at the same time. The hardened time includes
everything `make grade` does (sandboxed runs, gradebook, HTML feedback, CSV); the nbgrader time
is `nbgrader autograde` alone, so the ratio understates the hardened grader's advantage.

    python benchmarks/grading.py [--students 100] [--json benchmarks/results/grading.json]
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.commands import ROOT, grade, nbgrader
from autograder.solutions import answer_sources, with_answers
from rnncourse.bench import kit  # noqa: E402


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


def main(argv=None) -> dict:
    p = kit.parser(__doc__)
    p.add_argument("--students", type=int, default=100, help="submissions in the synthetic class (default: 100)")
    args = p.parse_args(argv)
    n = args.students
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", n)
        start = time.perf_counter()
        run = grade(tmp / "class", tmp / "hardened")
        hardened = time.perf_counter() - start
        assert run.returncode == 0, run.stderr[-2000:]
        plain = plain_nbgrader(tmp / "class", tmp / "plain")
    record = kit.record("grading", "cpu", {"students": n}, hardened_s=hardened, plain_s=plain,
                        throughput_ratio=plain / hardened)
    print(kit.describe(record["environment"]) + f"; class of {n} submissions")
    print(kit.table(["grader", "seconds", "s/submission"],
                    [["hardened (sandboxed, parallel, + feedback + CSV)", f"{hardened:.1f}", f"{hardened / n:.3f}"],
                     ["plain nbgrader autograde (sequential, unsandboxed)", f"{plain:.1f}", f"{plain / n:.3f}"]]))
    print(f"throughput ratio hardened / plain: {plain / hardened:.1f}x")
    if args.json:
        print(f"wrote {kit.save(record, args.json)}")
    return record


if __name__ == "__main__":
    main()
