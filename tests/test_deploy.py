"""The cluster configurations the instructors' page shows: a Slurm worker job (dask-jobqueue renders its batch
script, no Slurm needed) and the Kubernetes DaskCluster manifest (dask-kubernetes' operator resource)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from autograder import deploy
from helpers import ROOT, env

pytestmark = pytest.mark.unit


def test_slurm_job_script_starts_one_worker_sized_for_its_sandboxes():
    cluster = deploy.slurm_cluster(sandboxes=8, memory_mb=1024, walltime="02:00:00", queue="short", account="cs101",
                                   host="127.0.0.1")
    try:
        script = cluster.job_script()
        address = cluster.scheduler_address
    finally:
        cluster.close()
    sbatch = dict(re.findall(r"^#SBATCH (\S+?)[ =](\S+)$", script, re.M))
    assert sbatch == {"-J": "rnn-grade", "-p": "short", "-A": "cs101", "-n": "1", "--cpus-per-task": "8",
                      "--mem": "9G", "-t": "02:00:00"}, script
    [command] = [line for line in script.splitlines() if "dask_worker" in line]
    assert command.startswith(f"{sys.executable} -m distributed.cli.dask_worker {address} ")
    assert "--nthreads 8" in command and "--nanny" in command
    # the worker may use all of its job's memory: 8 sandboxes of 1 GiB, and the worker itself
    assert "--memory-limit 9.00GiB" in command and deploy.worker_memory_mb(8, 1024) == 9 * 1024


def test_kubernetes_manifest_gives_workers_bubblewrap_and_the_memory_of_their_sandboxes():
    run = subprocess.run([sys.executable, "-m", "autograder", "cluster", "kubernetes", "--image", "registry/course:1",
                          "--workers", "3", "--sandboxes", "4", "--memory-mb", "512"], cwd=ROOT, env=env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    manifest = yaml.safe_load(run.stdout)
    assert manifest == deploy.kubernetes_manifest("registry/course:1", 3, 4, 512)
    assert (manifest["apiVersion"], manifest["kind"]) == ("kubernetes.dask.org/v1", "DaskCluster")
    worker_spec = manifest["spec"]["worker"]
    [worker] = worker_spec["spec"]["containers"]
    assert worker_spec["replicas"] == 3 and worker["image"] == "registry/course:1"
    assert worker["args"][:4] == ["dask", "worker", "--nthreads", "4"]
    assert worker["resources"]["limits"] == {"cpu": "4", "memory": f"{4 * 512 + deploy.WORKER_MB}Mi"}
    assert worker["securityContext"]["capabilities"]["add"] == ["SYS_ADMIN"]
    assert worker["securityContext"]["seccompProfile"] == {"type": "Unconfined"}
    [scheduler] = manifest["spec"]["scheduler"]["spec"]["containers"]
    assert scheduler["args"][0] == "dask-scheduler" and scheduler["resources"]["limits"]["cpu"] == "1"
    assert {p["port"] for p in manifest["spec"]["scheduler"]["service"]["ports"]} >= {8786}
