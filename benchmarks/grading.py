"""Grade a synthetic class with the hardened grader and with plain sequential `nbgrader autograde`; or, with
`--cluster loopback`, on a real Dask cluster on 127.0.0.1 with 1 then 2 workers, and project a large class.

Both grade the same submissions (a mix of solved, partly wrong and blank notebooks) in one run, so the ratio is
measured on the same machine at the same time. The hardened time includes everything `make grade` does
(sandboxed runs, gradebook, HTML feedback, CSV, class report); the nbgrader time is `nbgrader autograde` alone.
Each run prints the grader's profile (reports/<A>-timing.json): where its seconds went.

    python benchmarks/grading.py [--students 100] [--json benchmarks/results/grading.json]
    python benchmarks/grading.py --cluster loopback [--students 200]
"""
from __future__ import annotations

import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.commands import ROOT, grade, nbgrader
from autograder.solutions import answer_sources, with_answers
from rnncourse.bench import kit

PROJECTED_CLASS = 120_000             # 20,000 students x 6 assignments
PROJECTED_WORKERS = (10, 100, 1000)   # workers of one sandbox each


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


def hardened(folder: Path, work: Path, *extra: str) -> tuple[float, dict]:
    """Seconds of `rnn-grade grade` on the class, and its timing record."""
    start = time.perf_counter()
    run = grade(folder, work, *extra)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stderr[-3000:]
    return seconds, json.loads((work / "reports" / "rnn-timing.json").read_text())


def profile(timing: dict) -> str:
    """Where one grading run's seconds went, per phase and per submission run."""
    n = max(timing["run"], 1)
    rows = [[name, f"{s:.2f}", f"{s / n:.3f}"] for name, s in timing["phases_s"].items()]
    sandbox = timing["sandbox_s"]
    rows.append(["one sandbox (mean, on its worker)", f"{statistics.fmean(sandbox):.3f}" if sandbox else "-", ""])
    return kit.table(["phase", "seconds", "per submission"], rows,
                     title=f"Profile: {timing['run']} submissions run in {timing['wall_s']:.1f} s "
                           f"on {timing['where'].splitlines()[0]}")


def single_machine(n: int, tmp: Path) -> dict:
    make_class(tmp / "class", n)
    seconds, timing = hardened(tmp / "class", tmp / "hardened")
    plain = plain_nbgrader(tmp / "class", tmp / "plain")
    print(profile(timing))
    print(kit.table(["grader", "seconds", "s/submission"],
                    [["hardened (sandboxed, parallel, + gradebook, feedback, CSV, report)", f"{seconds:.1f}",
                      f"{seconds / n:.3f}"],
                     ["plain nbgrader autograde (sequential, unsandboxed)", f"{plain:.1f}", f"{plain / n:.3f}"]]))
    print(f"throughput ratio hardened / plain: {plain / seconds:.1f}x")
    return {"hardened_s": seconds, "plain_s": plain, "throughput_ratio": plain / seconds, "profile": timing}


def scheduler_overhead(address: str, tasks: int = 2000) -> float:
    """Seconds the scheduler and one worker spend per task that does nothing (submitted and gathered in bulk)."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        client.gather(client.map(abs, range(100)))  # warm up the connection
        start = time.perf_counter()
        client.gather(client.map(abs, range(1, tasks + 1)))
        return (time.perf_counter() - start) / tasks


def loopback(n: int, tmp: Path) -> dict:
    from autograder.loopback import LoopbackCluster

    make_class(tmp / "class", n)
    runs = {}
    for workers in (1, 2):
        with LoopbackCluster(workers=workers) as cluster:
            seconds, timing = hardened(tmp / "class", tmp / f"work{workers}", "--cluster", cluster.address)
            if workers == 1:
                per_task_overhead = scheduler_overhead(cluster.address)
        runs[workers] = {"seconds": seconds, "per_second": n / seconds, "profile": timing}
        print(profile(timing))
    scaling = runs[2]["per_second"] / runs[1]["per_second"]
    print(kit.table(["workers on 127.0.0.1", "seconds", "submissions/s"],
                    [[str(w), f"{r['seconds']:.1f}", f"{r['per_second']:.2f}"] for w, r in runs.items()]))
    print(f"scaling 1 -> 2 workers: {scaling:.2f}x (the machine has {kit.environment('cpu')['cpu_count']} cores, "
          "shared by the scheduler, the workers and the grader)")
    phases = runs[1]["profile"]["phases_s"]
    task = statistics.fmean(runs[1]["profile"]["sandbox_s"])
    client = sum(s for name, s in phases.items() if name.startswith(("judge", "gradebook: each"))) / n
    fixed = sum(s for name, s in phases.items() if name.startswith(("start", "gradebook: assignment")))
    grows = sum(s for name, s in phases.items() if name.startswith(("feedback", "class report")))
    rows = []
    for workers in PROJECTED_WORKERS:
        limits = {"workers": workers / task, "scheduler": 1 / per_task_overhead, "grader's gradebook": 1 / client}
        bound = min(limits, key=limits.get)
        hours = (PROJECTED_CLASS / limits[bound] + fixed + grows * PROJECTED_CLASS / n) / 3600
        rows.append([str(workers), f"{limits[bound]:.1f}", f"{hours:.1f}", bound])
    print(kit.table(["workers", "submissions/s", "hours", "limited by"], rows,
                    title=f"Projection: {PROJECTED_CLASS:,} notebooks"))
    print(f"Assumptions: each worker runs one sandbox at a time and is as fast as one core here ({task:.3f} s per "
          f"submission, measured); the scheduler spends {per_task_overhead * 1e3:.2f} ms per task (measured with "
          f"{2000} empty tasks); one grader process judges and records every result in its gradebook "
          f"({client * 1e3:.0f} ms per submission, measured, overlapping the sandboxes); after the last result it "
          f"writes feedback and the report ({grows:.1f} s per {n} submissions, growing with the class); the network "
          "moves the cells and the returned arrays (tens of KB per task) without delay. One grader per assignment, "
          "each with its own --workdir, divides the gradebook's limit by the number of assignments graded at once.")
    return {"runs": runs, "scaling": scaling, "scheduler_s_per_task": per_task_overhead,
            "client_s_per_submission": client, "projection": rows}


def main(argv=None) -> dict:
    p = kit.parser(__doc__)
    p.add_argument("--students", type=int, default=None,
                   help="submissions in the synthetic class (default: 100; 200 with --cluster)")
    p.add_argument("--cluster", choices=["loopback"], default=None,
                   help="grade on a Dask scheduler and 1, then 2, workers started on 127.0.0.1")
    args = p.parse_args(argv)
    n = args.students or (200 if args.cluster else 100)
    print(kit.describe(kit.environment("cpu")) + f"; class of {n} submissions")
    with tempfile.TemporaryDirectory() as tmp:
        results = loopback(n, Path(tmp)) if args.cluster else single_machine(n, Path(tmp))
    record = kit.record("grading-cluster" if args.cluster else "grading", "cpu", {"students": n}, **results)
    if args.json:
        print(f"wrote {kit.save(record, args.json)}")
    return record


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
