"""One submission's sandboxed run: the task a grading worker executes, on this machine or on a Dask worker.

It receives data (the cells to run, the calls to make with their input arrays, the limits) and returns data (what
each call returned as plain arrays or why it failed, how each cell ran, why the sandbox was stopped): never code,
and never a score. Judging stays with the grader that holds the expected values (`scoring.judge`).
"""
from __future__ import annotations

import functools
import shutil
import socket
from dataclasses import dataclass

from autograder import memory_bound, sandbox, slots
from autograder.jobfolder import Job
from autograder.limits import Limits

WEAK, STRONG = "rlimits only (weak)", "bubblewrap"


@dataclass(frozen=True)
class Settings:
    """What every task of one grading run shares."""

    limits: Limits
    allow_weak: bool  # run without bubblewrap on a worker that lacks it (else refuse the task)


@functools.lru_cache(maxsize=4)
def memory_bound_for(limits: Limits) -> memory_bound.CgroupBound | memory_bound.WatchdogBound:
    """The memory bound of this machine, chosen once per worker process (it probes cgroups)."""
    return memory_bound.choose(limits)


def worker_name() -> str:
    """The Dask worker running this task (its address), or this host when it runs in the grader itself."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"local ({socket.gethostname()})"


def run_submission(student: str, cells: list[dict], calls: list[tuple[str, list]], settings: Settings) -> dict:
    """Run `cells` ({"id", "source"}) then `calls` ((function name, argument arrays)) in a sandbox.

    Returns {"results": one entry per call (a list of arrays, a text saying why it failed, or None),
    "cells": {cell id: "ok" or the error}, "killed": why the sandbox was stopped ("" if it ended by itself),
    "seconds", "worker", "sandbox", "memory_bound", "refused": why this worker would not run it ("" if it did)}.
    """
    strong = sandbox.strong_sandbox_available()
    done = {"worker": worker_name(), "sandbox": STRONG if strong else WEAK}
    if not strong and not settings.allow_weak:
        return {**done, "refused": f"worker {done['worker']} has no bubblewrap (bwrap): it refuses to run student "
                                   "code without it (the grader's --allow-weak-sandbox permits it)",
                "results": [None] * len(calls), "cells": {}, "killed": "", "seconds": 0.0, "memory_bound": ""}
    bound = memory_bound_for(settings.limits)
    job = Job.create(f"grade-{student}-", cells, calls, settings.limits.seconds_per_call)
    try:
        with slots.lease() as slot:
            outcome = sandbox.run_job(job, settings.limits, strong=strong, slot=slot, bound=bound)
        killed = outcome.killed or job.early_exit(outcome.exit_code)
        # Past the memory bound, a submission's processes may have outlived the cell that started them (its alarm
        # fired while they still held memory) and raced the calls: no result of such a run is scored.
        results = [None] * len(calls) if outcome.over_memory else [job.result(n) for n in range(len(calls))]
        return {**done, "refused": "", "results": results,
                "cells": job.cell_statuses(), "killed": killed, "seconds": round(outcome.seconds, 3),
                "memory_bound": bound.description}
    finally:
        shutil.rmtree(job.folder, ignore_errors=True)
