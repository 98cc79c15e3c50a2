"""scripts/ddp_train.py under torchrun: two CPU processes (gloo on loopback) end with the same weights."""
import json
import subprocess

import pytest
import torch

from helpers import BIN, ROOT, env
from rnncourse.training import SequenceRegressor

pytestmark = pytest.mark.integration

SCRIPT = ROOT / "scripts" / "ddp_train.py"
SMALL = ["--seq-len", "20", "--hidden-size", "16", "--batch", "32", "--steps", "40", "--log-every", "10",
         "--timing-warmup", "2", "--threads", "1"]


def run(cmd, tmp_path):
    inherited = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
    e = {k: v for k, v in env().items() if k not in inherited}
    e.update(GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1")      # gloo on loopback; one thread per rank
    out = subprocess.run(cmd, cwd=tmp_path, env=e, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


def test_two_processes_end_with_identical_weights_and_a_lower_loss(tmp_path):
    """One torchrun per test run (a module fixture would run once per `pytest -n` worker)."""
    out = run([str(BIN / "torchrun"), "--standalone", "--nnodes=1", "--nproc_per_node=2", str(SCRIPT), *SMALL,
               "--save-dir", str(tmp_path / "weights"), "--json", str(tmp_path / "run.json")], tmp_path)
    reports = [json.loads((tmp_path / "weights" / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in reports] == [2, 2]

    # both ranks hold bit-identical weights ...
    assert reports[0]["sha256"] == reports[1]["sha256"]
    w0, w1 = (torch.load(tmp_path / "weights" / f"rank{r}.pt") for r in (0, 1))
    assert w0.keys() == w1.keys() and all(torch.equal(w0[k], w1[k]) for k in w0)
    # ... which were trained (not the seeded initial weights), and the loss of the global batch fell
    torch.manual_seed(0)
    init = SequenceRegressor("lstm", input_size=2, hidden=16).state_dict()
    assert any(not torch.equal(init[k], w0[k]) for k in init)
    losses = reports[0]["losses"]
    assert len(losses) == 40 and reports[1]["losses"] == losses
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5, losses

    # the --json record: throughput with device, versions, date and world size
    record = json.loads((tmp_path / "run.json").read_text())
    config, env = record["config"], record["environment"]
    assert config["world_size"] == 2 and config["global_batch"] == 64 and config["backend"] == "gloo"
    assert record["sequences_per_s"] > 0 and env["device_name"].startswith("CPU")
    assert {"torch", "python"} <= env["versions"].keys() and env["date"][:2] == "20"
    assert "2 process(es) on 1 machine(s), backend gloo" in out.stdout


def test_one_process_without_torchrun(tmp_path):
    out = run([str(BIN / "python"), str(SCRIPT), *SMALL, "--steps", "5", "--json", str(tmp_path / "one.json")],
              tmp_path)
    record = json.loads((tmp_path / "one.json").read_text())
    assert record["config"]["world_size"] == 1 and record["config"]["global_batch"] == 32
    assert "1 process(es)" in out.stdout
