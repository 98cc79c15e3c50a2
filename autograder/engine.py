"""Where the sandboxes run: a pool of threads on this machine, or a Dask cluster (one task per submission).

Both take the class's submissions and yield (submission, what its sandbox returned) as each one finishes, so that
the grader judges and records results as they arrive. On a cluster, the cases' inputs are sent to every worker once
(`Client.scatter`), each task is keyed by (assignment, student, submission hash, tests hash), and a task whose
worker died is run again on another worker by the scheduler; the grader sees each submission exactly once.
"""
from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from autograder import sandbox, task
from autograder.limits import Limits

CONNECT_SECONDS = 30.0  # default wait to reach the scheduler, then again to see at least one worker


class Unreachable(Exception):
    """The cluster cannot be used: its scheduler does not answer, or it has no worker."""


class Pool(Protocol):
    description: str

    def run(self, grader, todo: list) -> Iterator[tuple[object, dict | str]]:
        """(intake, `task.run_submission`'s data, or why the grading machinery failed on it) per submission."""

    def __enter__(self): ...

    def __exit__(self, *exc_info): ...


def _machinery_failed(exc: BaseException) -> str:
    return f"the grader failed on this submission ({type(exc).__name__}: {exc})"


class LocalPool:
    """`jobs` sandboxes at once, each run from a thread of this process."""

    def __init__(self, jobs: int, limits: Limits):
        self.jobs = jobs
        kind = task.STRONG if sandbox.strong_sandbox_available() else "WEAK (rlimits only)"
        self.description = (f"this machine, {jobs} sandboxes at once, sandbox: {kind}.\n"
                            f"Memory bound: {task.memory_bound_for(limits).description}")

    def run(self, grader, todo):
        with concurrent.futures.ThreadPoolExecutor(self.jobs) as threads:
            futures = {threads.submit(task.run_submission, g.student, grader.cells(g), grader.calls,
                                      grader.settings): g for g in todo}
            for future in concurrent.futures.as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as exc:  # noqa: BLE001 - recorded as a grader error, the class goes on
                    yield futures[future], _machinery_failed(exc)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return None


class ClusterPool:
    """The workers of a running Dask scheduler; this process is the client."""

    def __init__(self, client):
        self.client = client
        workers = client.scheduler_info(n_workers=-1)["workers"]
        threads = sum(w.get("nthreads", 1) for w in workers.values())
        self.description = (f"the Dask cluster at {client.scheduler.address}: {len(workers)} workers, "
                            f"{threads} sandboxes at once")

    def run(self, grader, todo):
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        [calls] = self.client.scatter([grader.calls], broadcast=True)  # the inputs, once per worker
        futures = {self.client.submit(task.run_submission, g.student, grader.cells(g), calls, grader.settings,
                                      key=grader.task_key(g)): g for g in todo}
        for future in as_completed(futures, loop=self.client.loop):
            got = futures[future]
            try:
                yield got, future.result()
            except KilledWorker as exc:
                yield got, (f"every worker that ran it died ({exc.last_worker.address if exc.last_worker else '?'} "
                            "last): grade it again, and look at the workers' logs")
            except Exception as exc:  # noqa: BLE001 - cancelled, lost: recorded as a grader error, the class goes on
                yield got, _machinery_failed(exc)
            finally:
                future.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.client.close()


def connect(address: str | None, scheduler_file: Path | None, jobs: int, limits: Limits,
            seconds: float = CONNECT_SECONDS) -> LocalPool | ClusterPool:
    """This machine's pool, or a client of the scheduler at `address` (or in `scheduler_file`) with at least one
    worker within `seconds` each; raises Unreachable, in one line, when there is none."""
    if not address and not scheduler_file:
        return LocalPool(jobs, limits)
    from distributed import Client

    where = address or f"the scheduler file {scheduler_file}"
    if scheduler_file and not Path(scheduler_file).is_file():
        raise Unreachable(f"cannot reach the Dask scheduler: {scheduler_file} does not exist")
    try:
        client = Client(address, scheduler_file=str(scheduler_file) if scheduler_file else None,
                        timeout=seconds, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise Unreachable(f"cannot reach the Dask scheduler at {where}: {str(exc).splitlines()[0]}") from None
    try:
        client.wait_for_workers(1, timeout=seconds)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise Unreachable(f"the Dask scheduler at {where} has no worker ({type(exc).__name__})") from None
    return ClusterPool(client)

