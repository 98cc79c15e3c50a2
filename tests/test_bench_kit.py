"""The benchmark kit (rnncourse.bench.kit) and the one command that runs every GPU measurement of the
chapters (`make gpu-figures`), here at tiny sizes on the CPU."""
from __future__ import annotations

import datetime

import numpy as np
import pytest
import torch

from rnncourse import devices
from rnncourse.bench import figures, kit

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.integration
def test_gpu_figures_at_tiny_sizes_write_every_record_with_its_environment(tmp_path, capsys):
    written = figures.main(["--size", "tiny", "--device", "cpu", "--out", str(tmp_path)])
    assert set(written) == {"rnn_speed", "lstm_speed", "peephole_ladder", "gru_speed", "ddp_train"}
    now = datetime.datetime.now(datetime.timezone.utc)
    for name, path in written.items():
        assert path == tmp_path / f"{name}_cpu.json"
        (rec,) = kit.load(f"{name}_*.json", tmp_path, device_type="cpu")   # as the chapters read them
        assert rec["benchmark"] == name and {"environment", "config"} <= rec.keys()
        env = rec["environment"]
        assert tuple(env) == kit.ENVIRONMENT_KEYS
        assert env["device_type"] == "cpu" and env["device_name"].startswith("CPU: ")
        assert env["versions"]["torch"] == torch.__version__ and env["versions"]["numpy"] == np.__version__
        assert env["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
        assert abs((now - datetime.datetime.fromisoformat(env["date"])).total_seconds()) < 900
        assert kit.load(f"{name}_*.json", tmp_path, device_type="cuda") == []
    assert kit.load("lstm_speed_*.json", tmp_path)[0]["config"]["dtype"] == ["float32", "bfloat16"]
    assert "all measurements" in capsys.readouterr().out


@pytest.mark.unit
def test_gpu_figures_at_gpu_sizes_need_a_gpu(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="SIZE=tiny"):
        figures.main(["--out", str(tmp_path)])
    assert not any(tmp_path.iterdir())


@pytest.mark.unit
def test_best_times_interleaves_rounds_after_the_warmup():
    calls = []
    times = kit.best_times({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeat=2, warmup=1)
    assert calls == ["a", "b", "a", "b", "a", "b"]
    assert set(times) == {"a", "b"} and all(0 <= t < 1 for t in times.values())


@pytest.mark.unit
def test_a_failing_compile_gives_the_reason(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here\nmore detail")

    monkeypatch.setattr(torch, "compile", broken)
    compiled, reason = kit.try_compile(torch.sin, lambda f: f(torch.zeros(1)))
    assert compiled is None and reason == "torch.compile failed: RuntimeError: no compiler here"


@pytest.mark.unit
def test_an_attempt_that_fails_after_compiling_is_reported(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, **kw: fn)
    compiled, reason = kit.try_compile(torch.sin, lambda f: f("not a tensor"))
    assert compiled is None and reason.startswith("torch.compile failed: TypeError")
    compiled, reason = kit.try_compile(torch.sin, lambda f: f(torch.zeros(1)))
    assert compiled is torch.sin and reason is None


@pytest.mark.unit
def test_table_aligns_text_left_and_numbers_right():
    text = kit.table(["name", "ms"], [["long name", "1.5"], ["x", "12.25"]], title="T")
    lines = text.splitlines()
    assert lines[0] == "T"
    row1, row2 = (line for line in lines if line.lstrip().startswith(("long", "x ")))
    assert row1.index("long") == row2.index("x")
    assert row1.rstrip().endswith("1.5") and row2.rstrip().endswith("12.25") and len(row1) == len(row2)


@pytest.mark.unit
def test_every_command_shares_the_flag_names():
    p = kit.parser("test", device="auto", batch=2, seq_len=3, input_size=4, hidden_size=5, dtype=["float32"],
                   repeat=1, threads=0, seed=0)
    args = p.parse_args(["--dtype", "float32", "bfloat16", "--seq-len", "7", "--json", "x.json"])
    assert (args.dtype, args.seq_len, args.hidden_size, str(args.json)) == (["float32", "bfloat16"], 7, 5, "x.json")
    with pytest.raises(SystemExit):
        p.parse_args(["--dtype", "float8"])
    for drifted in (["--hidden", "5"], ["--dtypes", "float32"]):     # the drifted names are gone
        with pytest.raises(SystemExit):
            p.parse_args(drifted)


@pytest.mark.unit
def test_blas_threads_are_set_through_threadpoolctl():
    libraries = devices.blas_libraries()
    assert libraries, "NumPy's BLAS should be visible to threadpoolctl"
    before = devices.blas_threads()
    try:
        assert devices.blas_threads(1) == 1
        assert all(lib["threads"] == 1 for lib in devices.blas_libraries())
    finally:
        devices.blas_threads(before)
