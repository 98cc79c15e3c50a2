"""Dask clusters sized for grading: Slurm workers (dask-jobqueue) and a Kubernetes cluster (dask-kubernetes).

Each worker runs `sandboxes` submissions at once (its threads). It is given the memory of that many sandboxes plus
`WORKER_MB` for itself, so that each sandbox's own bound (`--memory-mb`, enforced by the grader on the worker)
stops a submission before the batch system or Kubernetes stops the worker. The workers must have this course
installed (the same commit as the grader that sends them tasks: `make setup`) and bubblewrap on their PATH.
"""
from __future__ import annotations

import sys

from autograder.limits import Limits

WORKER_MB = 1024  # the Dask worker process itself, and the grader's modules it imports


def worker_memory_mb(sandboxes: int, memory_mb: int = Limits.memory_mb) -> int:
    """What one worker running `sandboxes` submissions at once needs, in MiB."""
    return sandboxes * memory_mb + WORKER_MB


def slurm_cluster(sandboxes: int = 4, memory_mb: int = Limits.memory_mb, walltime: str = "01:00:00",
                  queue: str | None = None, account: str | None = None, interface: str | None = None,
                  host: str | None = None, python: str = sys.executable):
    """A `dask_jobqueue.SLURMCluster` whose jobs each start one worker of `sandboxes` threads; its scheduler runs in
    this process. `cluster.scale(jobs=N)` submits N jobs; `cluster.job_script()` shows the batch script."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(cores=sandboxes, processes=1, memory=f"{worker_memory_mb(sandboxes, memory_mb)}MiB",
                        walltime=walltime, queue=queue, account=account, interface=interface, python=python,
                        job_name="rnn-grade", scheduler_options={"dashboard_address": None,
                                                                 **({"host": host} if host else {})})


def kubernetes_manifest(image: str, workers: int, sandboxes: int = 4, memory_mb: int = Limits.memory_mb,
                        name: str = "rnn-grade") -> dict:
    """The DaskCluster resource of the dask-kubernetes operator (`kubectl apply -f` it as YAML): one scheduler pod,
    `workers` worker pods of `sandboxes` threads, from `image` (the course installed, with bubblewrap)."""
    from dask_kubernetes.operator import make_cluster_spec

    memory = f"{worker_memory_mb(sandboxes, memory_mb)}Mi"
    spec = make_cluster_spec(name=name, image=image, n_workers=workers,
                             resources={"requests": {"cpu": str(sandboxes), "memory": memory},
                                        "limits": {"cpu": str(sandboxes), "memory": memory}},
                             worker_command=["dask", "worker", "--nthreads", str(sandboxes)])
    [scheduler] = spec["spec"]["scheduler"]["spec"]["containers"]
    scheduler["resources"] = {"requests": {"cpu": "1", "memory": f"{WORKER_MB}Mi"},
                              "limits": {"cpu": "1", "memory": f"{2 * WORKER_MB}Mi"}}  # it only hands out tasks
    [worker] = spec["spec"]["worker"]["spec"]["containers"]
    # bubblewrap makes mount, PID and network namespaces for each sandbox: a container may only do that with
    # CAP_SYS_ADMIN and without the runtime's default seccomp and AppArmor profiles, which forbid those calls.
    worker["securityContext"] = {"capabilities": {"add": ["SYS_ADMIN"]},
                                 "seccompProfile": {"type": "Unconfined"},
                                 "appArmorProfile": {"type": "Unconfined"}}
    return spec


def serve_slurm(cluster, jobs: int, scheduler_file: str) -> None:
    """Submit `jobs` worker jobs, write the scheduler's address to `scheduler_file` for `rnn-grade grade
    --scheduler-file`, and keep the cluster up until Ctrl-C (then its jobs are cancelled)."""
    import json
    import time

    cluster.scale(jobs=jobs)
    with open(scheduler_file, "w") as f:
        json.dump({"address": cluster.scheduler_address}, f)
    print(f"Scheduler at {cluster.scheduler_address}; {jobs} worker jobs submitted. In another terminal:\n"
          f"  rnn-grade grade ASSIGNMENT FOLDER --scheduler-file {scheduler_file}\nCtrl-C ends the workers' jobs.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        cluster.close()
