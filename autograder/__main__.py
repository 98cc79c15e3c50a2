"""Command line of the course's grader: `python -m autograder grade ASSIGNMENT FOLDER`."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder.engine import CONNECT_SECONDS
from autograder.limits import Limits
from autograder.scoring import HIDDEN_FEEDBACK


def main(argv: list[str] | None = None) -> int:
    d = Limits()
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    g = sub.add_parser("grade", help="grade a folder holding one sub-folder per student")
    g.add_argument("assignment")
    g.add_argument("folder", type=Path)
    g.add_argument("--workdir", type=Path, default=None,
                   help="where the gradebook, feedback and grades go (default: autograder/)")
    g.add_argument("--jobs", type=int, default=Limits.default_jobs(),
                   help="parallel sandboxes on this machine (default: all cores; a cluster uses its workers' threads)")
    where = g.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="grade on the Dask cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786)")
    where.add_argument("--scheduler-file", type=Path, help="... or whose scheduler wrote this file")
    g.add_argument("--connect-timeout", type=float, default=CONNECT_SECONDS, metavar="SECONDS",
                   help=f"how long to wait for the scheduler, then for its first worker (default: {CONNECT_SECONDS:g})")
    g.add_argument("--allow-weak-sandbox", action="store_true",
                   help="let cluster workers without bubblewrap run submissions (rlimits only); else they refuse")
    g.add_argument("--force", action="store_true", help="re-run submissions whose results are cached")
    g.add_argument("--require-sandbox", action="store_true", help="refuse to grade without bubblewrap")
    g.add_argument("--seconds-per-call", type=float, default=d.seconds_per_call)
    g.add_argument("--seconds-per-notebook", type=float, default=d.seconds_per_notebook)
    g.add_argument("--memory-mb", type=int, default=d.memory_mb)
    g.add_argument("--processes", type=int, default=d.processes)
    g.add_argument("--output-kb", type=int, default=d.output_kb)
    g.add_argument("--disk-mb", type=int, default=d.disk_mb)
    g.add_argument("--hidden-feedback", choices=list(HIDDEN_FEEDBACK), default="full",
                   help="what feedback says about hidden checks: "
                        + "; ".join(f"{k}: {v}" for k, v in HIDDEN_FEEDBACK.items()) + " (default: full)")
    r = sub.add_parser("report", help="write the class report of a graded assignment (reports/ASSIGNMENT.html)")
    r.add_argument("assignment")
    r.add_argument("--workdir", type=Path, default=None, help="the grading run's work folder (default: autograder/)")
    r.add_argument("--hidden-feedback", choices=list(HIDDEN_FEEDBACK), default=None,
                   help="what the report says about hidden checks (default: what the grading run's feedback said)")
    x = sub.add_parser("export", help="the gradebook's scores as the CSV an LMS imports")
    x.add_argument("--format", choices=["canvas", "moodle", "plain"], required=True)
    x.add_argument("-o", "--output", type=Path, default=None, help="the CSV file (default: print it)")
    x.add_argument("--workdir", type=Path, default=None, help="the grading run's work folder (default: autograder/)")
    x.add_argument("--roster", type=Path, default=None,
                   help="CSV mapping each class folder to the LMS: columns folder, login [, sis_id, name, section]")
    x.add_argument("--canvas-id", action="append", default=[], metavar="ASSIGNMENT=ID",
                   help="Canvas's id of an assignment, for the column header `Name (id)` (repeat per assignment)")
    x.add_argument("--points-possible", action="store_true", help="Canvas: add the row of points possible")
    c = sub.add_parser("cluster", help="a Dask cluster sized for grading: Slurm workers, or a Kubernetes manifest")
    kind = c.add_subparsers(dest="kind", required=True)
    slurm = kind.add_parser("slurm", help="submit worker jobs to Slurm and serve their scheduler from here")
    slurm.add_argument("--jobs", type=int, default=2, help="worker jobs (default: 2)")
    slurm.add_argument("--walltime", default="01:00:00")
    slurm.add_argument("--queue", default=None, help="Slurm partition")
    slurm.add_argument("--account", default=None)
    slurm.add_argument("--interface", default=None, help="network interface the compute nodes reach (e.g. ib0)")
    slurm.add_argument("--scheduler-file", default="rnn-grade-scheduler.json")
    slurm.add_argument("--print-job-script", action="store_true", help="print the batch script and stop")
    k8s = kind.add_parser("kubernetes", help="print the DaskCluster manifest for the dask-kubernetes operator")
    k8s.add_argument("--image", required=True, help="a container image with the course installed and bubblewrap")
    k8s.add_argument("--workers", type=int, default=2)
    k8s.add_argument("--name", default="rnn-grade")
    for parser in (slurm, k8s):
        parser.add_argument("--sandboxes", type=int, default=4, help="submissions each worker runs at once")
        parser.add_argument("--memory-mb", type=int, default=d.memory_mb, help="the grader's --memory-mb")
    a = p.parse_args(argv)
    if a.command == "cluster":
        return _cluster(a)
    if a.command == "export":
        return _export(a)
    if a.command == "report":
        from autograder import report  # imports torch for the cases: after parsing

        page, data = report.build((a.workdir or report.ROOT / "autograder").resolve(), a.assignment,
                                  a.hidden_feedback)
        print(f"{page}\n{data}")
        return 0
    from autograder.grade import grade  # imports torch for the references: after parsing

    limits = Limits(a.seconds_per_call, a.seconds_per_notebook, a.memory_mb, a.processes, a.output_kb, a.disk_mb)
    work = {"work": a.workdir} if a.workdir else {}
    return grade(a.assignment, a.folder, **work, limits=limits, jobs=a.jobs, require_sandbox=a.require_sandbox,
                 force=a.force, hidden_feedback=a.hidden_feedback, cluster=a.cluster, scheduler_file=a.scheduler_file,
                 allow_weak_sandbox=a.allow_weak_sandbox, connect_timeout=a.connect_timeout)


def _cluster(a) -> int:
    from autograder import deploy

    if a.kind == "kubernetes":
        import yaml

        print(yaml.safe_dump(deploy.kubernetes_manifest(a.image, a.workers, a.sandboxes, a.memory_mb, a.name),
                             sort_keys=False), end="")
        return 0
    cluster = deploy.slurm_cluster(a.sandboxes, a.memory_mb, a.walltime, a.queue, a.account, a.interface)
    if a.print_job_script:
        print(cluster.job_script(), end="")
        cluster.close()
        return 0
    deploy.serve_slurm(cluster, a.jobs, a.scheduler_file)
    return 0


def _export(a) -> int:
    from autograder import lms

    work = (a.workdir or lms.ROOT / "autograder").resolve()
    text = lms.export(work, a.format, a.roster, dict(i.split("=", 1) for i in a.canvas_id), a.points_possible)
    if a.output:
        a.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
