"""Chapter 3's benchmarks: the hand-written torch LSTM (`rnncourse.lstm_torch`) is nn.LSTM (mapped by
`rnncourse.weights`), and the benchmark command lines run and report."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmarks import lstm_speed as speed_script
from benchmarks import numpy_vs_torch_lstm
from rnncourse.bench import lstm_speed
from rnncourse.lstm_torch import sequence_eager, sequence_hoisted
from rnncourse.weights import lstm_book_params, torch_lstm_from_book

pytestmark = pytest.mark.unit

TINY = ["--batch", "2", "--seq-len", "3", "--input-size", "4", "--hidden-size", "5", "--repeat", "1",
        "--device", "cpu", "--no-compile", "--threads", "1"]


@pytest.fixture(autouse=True)
def _restore_torch_threads():
    """--threads 1 below sets torch's thread count for the whole process; put it back for other tests."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _problem(B=3, T=6, D=4, H=5, seed=0):
    """Random float64 inputs and weights in the book's layout; a nonzero initial state."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    h0 = torch.tanh(torch.randn(B, H, generator=g, dtype=torch.float64))
    c0 = torch.randn(B, H, generator=g, dtype=torch.float64)
    W = torch.randn(D, 4 * H, generator=g, dtype=torch.float64) / D**0.5
    U = torch.randn(H, 4 * H, generator=g, dtype=torch.float64) / H**0.5
    b = torch.randn(4 * H, generator=g, dtype=torch.float64) * 0.5
    return x, h0, c0, W, U, b


def _nn_lstm(x, h0, c0, W, U, b):
    layer = torch_lstm_from_book(W, U, b)
    with torch.no_grad():
        out, (h_n, c_n) = layer(x, (h0[None], c0[None]))
    return out, h_n[0], c_n[0]


@pytest.mark.parametrize("fn", [sequence_eager, sequence_hoisted], ids=["eager", "hoisted"])
def test_hand_written_cell_equals_nn_lstm(fn):
    x, h0, c0, W, U, b = _problem()
    out, h_n, c_n = _nn_lstm(x, h0, c0, W, U, b)
    with torch.no_grad():
        h, h_T, c_T = fn(x, h0, c0, W, U, b)
    torch.testing.assert_close(h, out, rtol=0, atol=1e-12)
    torch.testing.assert_close(h_T, h_n, rtol=0, atol=1e-12)
    torch.testing.assert_close(c_T, c_n, rtol=0, atol=1e-12)


def test_weight_mapping_is_transposed_and_gate_order_matters():
    """The mapping has teeth: untransposed weights fail to load, and swapping two gate blocks changes the output."""
    x, h0, c0, W, U, b = _problem(D=5, H=5)
    out, _, _ = _nn_lstm(x, h0, c0, W, U, b)
    H = 5
    swapped = torch.cat([W[:, :2 * H], W[:, 3 * H:], W[:, 2 * H:3 * H]], dim=1)   # i, f, o, g
    with torch.no_grad():
        h_swapped = sequence_eager(x, h0, c0, swapped, U, b)[0]
    assert (h_swapped - out).abs().max() > 1e-3
    layer = torch.nn.LSTM(5, H, batch_first=True).double()
    with pytest.raises(RuntimeError):
        with torch.no_grad():
            layer.weight_hh_l0.copy_(U)                     # (H, 4H) does not fit PyTorch's (4H, H)


def test_weight_mapping_round_trips():
    """Book -> PyTorch -> book gives the same W and U, and b back as the sum of PyTorch's two biases."""
    _, _, _, W, U, b = _problem(D=3, H=4)
    layer = torch_lstm_from_book(W, U, b)
    with torch.no_grad():
        layer.bias_hh_l0.fill_(0.25)
        layer.bias_ih_l0.sub_(0.25)
    for got, want in zip(lstm_book_params(layer), (W, U, b)):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-15)


def test_hoisted_equals_plain_including_gradients():
    x, h0, c0, W, U, b = _problem(B=2, T=7, D=3, H=4, seed=1)
    grads = []
    for fn in (sequence_eager, sequence_hoisted):
        params = [t.clone().requires_grad_(True) for t in (x, W, U, b)]
        h, h_T, c_T = fn(params[0], h0, c0, *params[1:])
        (h.sin().sum() + c_T.sum()).backward()
        grads.append((h.detach(), [p.grad for p in params]))
    (h_plain, g_plain), (h_hoist, g_hoist) = grads
    torch.testing.assert_close(h_hoist, h_plain, rtol=0, atol=1e-12)
    for a, b_ in zip(g_hoist, g_plain):
        torch.testing.assert_close(a, b_, rtol=1e-10, atol=1e-12)


def test_speed_main_runs_and_reports_positive_throughput(capsys):
    rows = speed_script.main(TINY)["rows"]
    printed = capsys.readouterr().out
    variants = {r["variant"] for r in rows}
    assert {"nn.LSTM", "eager cell", "eager, hoisted input projection"} <= variants
    assert {r["pass"] for r in rows} == {"forward", "forward+backward"}
    assert all(r["tokens_per_s"] > 0 and np.isfinite(r["tokens_per_s"]) for r in rows)
    assert all(r["max_abs_diff"] < 1e-5 for r in rows), "a variant computes something else than nn.LSTM"
    for pass_name in ("forward", "forward+backward"):
        ref = next(r for r in rows if r["variant"] == "nn.LSTM" and r["pass"] == pass_name)
        assert ref["time_vs_nn_lstm"] == pytest.approx(1.0)
    assert "tokens/s" in printed and "eager cell" in printed
    assert "skipped (not asked for (--no-compile))" in printed
    if not torch.cuda.is_available():
        assert "No GPU is present" in printed


def test_speed_json_has_device_versions_and_date(tmp_path):
    path = tmp_path / "out" / "speed.json"
    rows = speed_script.main([*TINY, "--dtype", "float32", "bfloat16", "--json", str(path)])["rows"]
    data = json.loads(path.read_text())
    env = data["environment"]
    assert env["device_type"] == "cpu" and env["device_name"]
    assert env["versions"]["torch"] == torch.__version__ and env["versions"]["numpy"] == np.__version__
    assert env["date"][:4].isdigit() and "T" in env["date"]
    assert data["config"]["batch"] == 2 and data["config"]["seq_len"] == 3
    assert data["config"]["dtype"] == ["float32", "bfloat16"] and {r["dtype"] for r in rows} == {"float32", "bfloat16"}
    assert len(data["rows"]) == len(rows) and all(r["tokens_per_s"] > 0 for r in data["rows"])


def test_compile_failure_is_reported_not_raised(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    result = lstm_speed.run_benchmark(batch=2, seq_len=3, input_size=4, hidden_size=5, device="cpu", repeat=1)
    reason = result["skipped"]["torch.compile step (hoisted) (float32)"]
    assert "torch.compile failed" in reason and "no compiler here" in reason
    assert {r["variant"] for r in result["rows"]} == {"nn.LSTM", "eager cell", "eager, hoisted input projection"}


def test_numpy_vs_torch_agree_and_report_a_ratio(capsys):
    result = numpy_vs_torch_lstm.main(["--batch", "2", "--seq-len", "4", "--input-size", "3", "--hidden-size", "5",
                                       "--repeat", "1"])
    assert set(result["seconds"]) == {"solution", "NumPy, fused", "NumPy, per gate", "nn.LSTM"}
    assert all(d < 1e-5 for d in result["max_abs_diff"].values())
    assert result["ratio_to_torch"]["nn.LSTM"] == pytest.approx(1.0)
    assert all(s > 0 for s in result["seconds"].values())
    out = capsys.readouterr().out
    assert "solution takes" in out and "time of torch's nn.LSTM" in out
    blas = result["environment"]["blas"]
    assert f"OpenBLAS kernels: {blas[0]['architecture'] if blas else 'unknown'}" in out
