"""Grading on a real Dask cluster: a `dask scheduler` and `dask worker` processes on 127.0.0.1 (autograder.loopback).

One class (the sample class and a class of typical mistakes) is graded on this machine and on the cluster, whose
grades must agree byte for byte; then a worker is killed with SIGKILL mid-batch; the red team's resource attacks
go through the cluster; a scheduler that cannot be reached and a worker without bubblewrap are refused clearly.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.loopback import LoopbackCluster
from helpers import FIXTURE_CLASS, ROOT, env, grade, results
from redteam import attacks as A

pytestmark = pytest.mark.integration
LIMITS = ("--seconds-per-call", "2", "--seconds-per-notebook", "20")


def mutant_class(folder: Path) -> None:
    """The sample class, plus the typical mistakes of benchmarks/grading.py (tanh missing, state not carried)."""
    from benchmarks.grading import make_class

    shutil.copytree(FIXTURE_CLASS, folder, ignore=shutil.ignore_patterns("*.md"))
    make_class(folder / "mutants", 4)
    for student in (folder / "mutants").iterdir():
        student.rename(folder / f"mutant-{student.name}")
    (folder / "mutants").rmdir()


def graded_rows(work: Path) -> dict[str, tuple]:
    return {s: (r["score"], r["status"], r["reasons"]) for s, r in results(work).items()}


@pytest.fixture(scope="module")
def cluster():
    with LoopbackCluster(workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def both(tmp_path_factory, cluster):
    """The same class graded on this machine, then on the cluster."""
    base = tmp_path_factory.mktemp("cluster")
    mutant_class(base / "class")
    local = grade(base / "class", base / "local", *LIMITS)
    remote = grade(base / "class", base / "remote", *LIMITS, "--cluster", cluster.address)
    assert local.returncode == 0, local.stderr[-3000:]
    assert remote.returncode == 0, remote.stderr[-3000:]
    return base, local, remote


def test_the_cluster_grades_like_one_machine(both, cluster):
    base, _, remote = both
    assert "2 workers" in " ".join(remote.stderr.split())
    assert (base / "remote/grades/grades.csv").read_bytes() == (base / "local/grades/grades.csv").read_bytes()
    assert graded_rows(base / "remote") == graded_rows(base / "local")
    workers = {r["worker"] for r in results(base / "remote").values() if r["worker"]}
    assert workers <= set(cluster.workers_seen()) and len(workers) == 2, workers  # both workers took part
    for student in results(base / "remote"):
        feedback = base / "remote/feedback" / student / "rnn/rnn.html"
        assert feedback.read_text() == (base / "local/feedback" / student / "rnn/rnn.html").read_text()


def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(both, tmp_path):
    base = both[0]
    with LoopbackCluster(workers=2) as c:
        work = tmp_path / "work"
        cmd = [sys.executable, "-m", "autograder", "grade", "rnn", str(base / "class"), "--workdir", str(work),
               *LIMITS, "--cluster", c.address]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(list((work / "results/rnn").glob("*.json"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        victim = next(a for a, w in c.workers_seen().items() if w["name"] == "w0")
        c.kill_worker(0)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    after = results(work)
    assert len(after) == len(results(base / "local"))
    assert graded_rows(work) == graded_rows(base / "local")
    assert (work / "grades/grades.csv").read_bytes() == (base / "local/grades/grades.csv").read_bytes()
    by_victim = [s for s, r in after.items() if r["worker"] == victim]
    assert len(by_victim) < len(after), "the killed worker had graded everything already"


def test_resource_attacks_are_stopped_on_the_worker(cluster, tmp_path):
    """The memory hog, the fork bomb and the timeout dodger, next to honest students: each attack is stopped in its
    sandbox on the worker, the honest grades are unchanged and both workers live on."""
    by_label = {a.label: a for a in A.ALL}
    ctx = A.Context(tmp_path / "class", tmp_path / "work", tmp_path / "decoy")
    attacks = [by_label[label] for label in ("m_fork_children", "n_fork_bomb", "t_loop_keepalive")]
    A.build_class(tmp_path / "class", ctx, attacks)
    run = grade(tmp_path / "class", tmp_path / "work", "--seconds-per-call", "2", "--seconds-per-notebook", "10",
                "--memory-mb", "512", "--processes", "16", "--cluster", cluster.address)
    assert run.returncode == 0, run.stderr[-3000:]
    got = results(tmp_path / "work")
    assert {s: got[s]["score"] for s in A.REFERENCES} == {s: score for s, (_, score) in A.REFERENCES.items()}
    for attack in attacks:  # each attack's own expectation, as the red team states it
        report = got[attack.label]
        text = " ".join(report["reasons"])
        assert report["score"] <= attack.max_score, report
        assert not attack.statuses or report["status"] in attack.statuses, report
        assert attack.reason is None or any(r in text for r in attack.reason.split("|")), text
    assert all(p.poll() is None for p in cluster.workers), "a worker died"
    assert len(cluster.workers_seen()) == 2


def test_an_unreachable_scheduler_is_one_clear_line_and_writes_nothing(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = grade(FIXTURE_CLASS, tmp_path / "work", "--cluster", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2")
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot reach the Dask scheduler" in lines[0], run.stderr
    assert not (tmp_path / "work").exists()


def test_a_worker_without_bubblewrap_refuses_unless_allowed(tmp_path):
    """The worker's PATH has no bwrap: it refuses each task and the report names it; --allow-weak-sandbox lets it
    grade with rlimits only."""
    no_bwrap = {"PATH": str(Path(sys.executable).parent)}
    class_dir = tmp_path / "class"
    shutil.copytree(FIXTURE_CLASS / "alice", class_dir / "alice")
    with LoopbackCluster(workers=1, worker_env=no_bwrap) as c:
        [address] = c.workers_seen()
        refused = grade(class_dir, tmp_path / "refused", "--cluster", c.address)
        allowed = grade(class_dir, tmp_path / "allowed", "--cluster", c.address, "--allow-weak-sandbox")
    report = results(tmp_path / "refused")["alice"]
    assert refused.returncode == 0 and report["status"] == "needs attention" and report["score"] == 0
    assert any(address in r and "no bubblewrap" in r for r in report["reasons"]), report["reasons"]
    weak = results(tmp_path / "allowed")["alice"]
    assert allowed.returncode == 0 and (weak["score"], weak["sandbox"]) == (7, "rlimits only (weak)"), \
        json.dumps(weak)[:500]
