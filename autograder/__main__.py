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
    a = p.parse_args(argv)
    from autograder.grade import grade  # imports torch for the references: after parsing

    limits = Limits(a.seconds_per_call, a.seconds_per_notebook, a.memory_mb, a.processes, a.output_kb, a.disk_mb)
    work = {"work": a.workdir} if a.workdir else {}
    return grade(a.assignment, a.folder, **work, limits=limits, jobs=a.jobs, require_sandbox=a.require_sandbox,
                 force=a.force, hidden_feedback=a.hidden_feedback, cluster=a.cluster, scheduler_file=a.scheduler_file,
                 allow_weak_sandbox=a.allow_weak_sandbox, connect_timeout=a.connect_timeout)


if __name__ == "__main__":
    sys.exit(main())
