"""A real Dask cluster on 127.0.0.1: a `dask scheduler` and `dask worker` processes, for the tests and the scale
benchmark (`make bench-grader CLUSTER=loopback`). Every process it starts is ended by its PID."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder.commands import env

DASK = Path(sys.executable).parent / "dask"
START_SECONDS = 60


class LoopbackCluster:
    """`with LoopbackCluster(workers=2) as c:` then `c.address`; `c.kill_worker(0)` sends SIGKILL to one."""

    def __init__(self, workers: int = 2, threads: int = 1, worker_env: dict | None = None):
        self.folder = Path(tempfile.mkdtemp(prefix="rnn-grade-loopback-"))
        self.scheduler_file = self.folder / "scheduler.json"
        self.n_workers, self.threads, self.worker_env = workers, threads, worker_env
        self.scheduler: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: str, extra_env: dict | None = None) -> subprocess.Popen:
        out = open(self.folder / log, "wb")
        return subprocess.Popen([str(DASK), *args], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**env(), **(extra_env or {})}, start_new_session=True)

    def __enter__(self) -> LoopbackCluster:
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                      "--scheduler-file", str(self.scheduler_file)], "scheduler.log")
        for _ in range(self.n_workers):
            self.add_worker(self.worker_env)
        self.wait_for_workers(self.n_workers)
        return self

    def add_worker(self, extra_env: dict | None = None) -> subprocess.Popen:
        """One more `dask worker` process (its nanny's memory limit off: the sandboxes have their own bound)."""
        n = len(self.workers)
        proc = self._start(["worker", "--scheduler-file", str(self.scheduler_file), "--nthreads", str(self.threads),
                            "--nworkers", "1", "--no-nanny", "--memory-limit", "0", "--no-dashboard",
                            "--host", "127.0.0.1", "--name", f"w{n}"], f"worker{n}.log", extra_env)
        self.workers.append(proc)
        return proc

    @property
    def address(self) -> str:
        return json.loads(self.scheduler_file.read_text())["address"]

    def workers_seen(self) -> dict:
        """The scheduler's view of its workers: {address: info} (info["name"] is "w0", "w1", ...)."""
        from distributed import Client

        with Client(self.address, timeout=10, set_as_default=False) as client:
            return client.scheduler_info(n_workers=-1)["workers"]

    def wait_for_workers(self, n: int) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            dead = [p.args for p in [self.scheduler, *self.workers] if p.poll() is not None]
            if dead:
                raise RuntimeError(f"a loopback cluster process ended at start: {dead}; logs in {self.folder}")
            if self.scheduler_file.exists():
                try:
                    if len(self.workers_seen()) >= n:
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        raise TimeoutError(f"{n} Dask workers did not start in {START_SECONDS} s; logs in {self.folder}")

    def kill_worker(self, n: int) -> None:
        """SIGKILL worker n's process (no goodbye to the scheduler), and wait for it."""
        os.kill(self.workers[n].pid, signal.SIGKILL)
        self.workers[n].wait()

    def __exit__(self, *exc_info) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: the process and whatever it started
                proc.wait()
