"""Chapter 4's PyTorch peephole LSTM: the module against the reference and nn.LSTM, the rungs against
rung 1, and the ladder benchmark's command line at tiny sizes."""
from __future__ import annotations

import datetime
import json

import numpy as np
import pytest
import torch

from benchmarks import peephole_ladder as ladder_script
from rnncourse import oracles
from rnncourse.cases.peephole import FORWARD_MISTAKES
from rnncourse.lstm_torch import sequence_stacked
from rnncourse.peephole_timing import train_timing
from rnncourse.peephole_torch import RUNGS, PeepholeLSTM, peephole_sequence
from rnncourse.tasks import timed_spike_task

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _book_arrays(seed, B=3, T=6, D=4, H=5):
    """x, h0, c0, W, U, b, p_i, p_f, p_o in the book's layout, float64, peepholes clearly non-zero."""
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 1, (B, T, D)), np.tanh(rng.normal(0, 1, (B, H))), rng.normal(0, 1, (B, H)),
            rng.normal(0, D ** -0.5, (D, 4 * H)), rng.normal(0, H ** -0.5, (H, 4 * H)), rng.normal(0, 0.1, 4 * H),
            *(rng.normal(0, 1, H) for _ in range(3))]


def _module_from(arrays, rung="hoisted"):
    x, h0, c0, *params = (torch.as_tensor(a) for a in arrays)
    model = PeepholeLSTM(x.shape[2], h0.shape[1], rung=rung, dtype=torch.float64)
    with torch.no_grad():
        for p, value in zip((model.W, model.U, model.b, model.p_i, model.p_f, model.p_o), params):
            p.copy_(value)
    return model, x, (h0, c0)


@pytest.mark.unit
@pytest.mark.parametrize("rung", ["eager", "hoisted"])
def test_module_equals_the_reference_peephole_lstm(rung):
    arrays = _book_arrays(0)
    model, x, state = _module_from(arrays, rung)
    h, (h_T, c_T) = model(x, state)
    ref_h, ref_c = oracles.peephole_lstm_torch(*(torch.as_tensor(a) for a in arrays))
    assert h.shape == ref_h.shape == (3, 6, 5)
    torch.testing.assert_close(h, ref_h, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_T, ref_h[:, -1], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(c_T, ref_c[:, -1], rtol=1e-12, atol=1e-12)
    # the peepholes matter: the same weights without them give something else
    plain = oracles.lstm_reference(*arrays[:6])["h"]
    assert np.abs(plain - h.detach().numpy()).max() > 1e-2


@pytest.mark.unit
def test_output_gate_sees_the_new_cell_state():
    """The mistaken form (output gate looking at c_{t-1}) differs, and the module is not it."""
    arrays = _book_arrays(1)
    model, x, state = _module_from(arrays)
    (_, output_sees_old_cell), = FORWARD_MISTAKES
    wrong_h, _ = oracles.peephole_lstm_torch(*(torch.as_tensor(a) for a in arrays), step=output_sees_old_cell)
    assert (model(x, state)[0] - wrong_h).abs().max() > 1e-3


@pytest.mark.unit
def test_zero_peepholes_equal_nn_lstm_outputs_and_gradients():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(4, 5, batch_first=True).double()
    model = PeepholeLSTM.from_lstm(lstm, rung="eager")
    assert all(float(p.detach().abs().max()) == 0 for p in (model.p_i, model.p_f, model.p_o))
    x = torch.randn(3, 7, 4, dtype=torch.float64)
    h0, c0 = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64)
    out, (h_T, c_T) = lstm(x, (h0[None], c0[None]))
    mine, (my_h, my_c) = model(x, (h0, c0))
    torch.testing.assert_close(mine, out, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(my_h, h_T[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(my_c, c_T[0], rtol=1e-12, atol=1e-12)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    (mine * g).sum().backward()
    torch.testing.assert_close(model.W.grad, lstm.weight_ih_l0.grad.T)
    torch.testing.assert_close(model.U.grad, lstm.weight_hh_l0.grad.T)
    torch.testing.assert_close(model.b.grad, lstm.bias_ih_l0.grad)
    torch.testing.assert_close(model.b.grad, lstm.bias_hh_l0.grad)


@pytest.mark.unit
def test_zero_peepholes_equal_the_books_lstm_mapping():
    """With the book's W, U, b and zero peepholes: Chapter 3's LSTM, nn.LSTMCell via torch_lstm_cell_from_numpy."""
    arrays = _book_arrays(2)
    for k in (6, 7, 8):
        arrays[k] = np.zeros_like(arrays[k])
    model, x, state = _module_from(arrays)
    ref = oracles.lstm_reference(*arrays[:6])
    np.testing.assert_allclose(model(x, state)[0].detach().numpy(), ref["h"], rtol=1e-12, atol=1e-12)


@pytest.mark.integration   # compiles each rung (TorchScript, torch.compile): slow on a fresh cache
def test_every_rung_equals_rung_one_in_float32():
    torch.manual_seed(3)
    model = PeepholeLSTM(4, 6, chunk=2)          # T = 5: chunks of 2, 2 and 1 steps
    x = torch.randn(3, 5, 4, requires_grad=True)
    state = (torch.randn(3, 6), torch.randn(3, 6))
    upstream = torch.randn(3, 5, 6)
    inputs = [x, *model.parameters()]
    results = {}
    for rung in RUNGS:
        model.rung = rung
        with torch.no_grad():
            forward_only = model(x, state)[0]
        h, (h_T, c_T) = model(x, state)
        grads = torch.autograd.grad((h * upstream).sum() + c_T.sum(), inputs)
        results[rung] = (forward_only, h, h_T, c_T, *grads)
    for rung in RUNGS[1:]:
        for got, want in zip(results[rung], results["eager"]):
            torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6, msg=lambda m: f"rung {rung}: {m}")


@pytest.mark.unit
def test_bad_rung_and_bad_input_are_refused():
    with pytest.raises(ValueError, match="rung"):
        PeepholeLSTM(2, 3, rung="cudnn")
    with pytest.raises(ValueError, match="rung"):
        peephole_sequence(*([torch.zeros(1)] * 9), rung="fast")
    with pytest.raises(ValueError, match="batch"):
        PeepholeLSTM(2, 3)(torch.zeros(4, 2))


@pytest.mark.unit
def test_stacked_models_equal_one_module_each():
    torch.manual_seed(4)
    M, B, T, D, H = 3, 2, 5, 4, 6
    models = [PeepholeLSTM(D, H, dtype=torch.float64) for _ in range(M)]
    x = torch.randn(M, B, T, D, dtype=torch.float64)
    h0, c0 = torch.randn(M, B, H, dtype=torch.float64), torch.randn(M, B, H, dtype=torch.float64)
    stacked = [torch.stack([getattr(m, k) for m in models]) for k in ("W", "U", "b", "p_i", "p_f", "p_o")]
    together = sequence_stacked(x, h0, c0, *stacked)
    for k, m in enumerate(models):
        torch.testing.assert_close(together[k], m(x[k], (h0[k], c0[k]))[0], rtol=1e-12, atol=1e-12)


@pytest.mark.unit
def test_timed_spike_task_and_a_short_training_run():
    x, target = timed_spike_task(50, T=12, delay=7, rng=np.random.default_rng(0))
    assert x.shape == (50, 12, 1) and x.sum() == 50
    np.testing.assert_array_equal(x[:, :, 0].argmax(1) + 7, target)
    assert target.min() >= 7 and target.max() <= 11
    result = train_timing(seeds=(0, 1), lrs=(1e-2, 2e-2), delay=7, T=12, hidden=4, steps=4, batch=8,
                          eval_every=2, test_size=20)
    assert result["exact"].shape == (2, 2, 2, 2) and result["final_exact"].shape == (2, 2, 2)
    assert ((0 <= result["final_exact"]) & (result["final_exact"] <= result["within_one"])).all()
    params = result["params"]
    for k in ("p_i", "p_f", "p_o"):      # plain models keep zero peepholes, peephole models learn them
        assert params[k].shape == (2, 2, 2, 4)
        assert float(params[k][:, 0].abs().max()) == 0.0 and float(params[k][:, 1].abs().max()) > 0.0
    # a pair starts from the same weights, so after 4 steps they are close but the peepholes made a difference
    assert not torch.equal(params["U"][:, 0], params["U"][:, 1])


@pytest.mark.unit
def test_ladder_script_main_writes_timings_and_provenance(tmp_path, capsys):
    path = tmp_path / "ladder.json"
    result = ladder_script.main(["--device", "cpu", "--batch", "2", "--seq-len", "3", "--input-size", "4",
                                 "--hidden-size", "5", "--dtype", "float32", "--rungs", "eager", "hoisted",
                                 "--repeat", "2", "--threads", "1", "--json", str(path)])
    saved = json.loads(path.read_text())
    assert saved["rows"] == json.loads(json.dumps(result["rows"]))
    env = saved["environment"]
    assert env["device_name"].startswith("CPU") and env["versions"]["torch"] == torch.__version__
    assert datetime.datetime.fromisoformat(env["date"]).year >= 2024
    assert {k: saved["config"][k] for k in ("batch", "seq_len", "input_size", "hidden_size", "dtype")} == \
        {"batch": 2, "seq_len": 3, "input_size": 4, "hidden_size": 5, "dtype": ["float32"]}
    rows = saved["rows"]
    assert [(r["mode"], r["impl"]) for r in rows] == [(m, i) for m in ("forward", "forward+backward")
                                                      for i in ("nn.LSTM", "eager", "hoisted")]
    for r in rows:
        assert "skipped" not in r, r
        assert r["tokens_per_s"] > 0 and r["seconds"] > 0
        if r["impl"] != "nn.LSTM":
            assert r["ratio"] > 0
            assert r["max_abs_diff_vs_rung1"] < 1e-5
    assert "tokens/s" in capsys.readouterr().out


@pytest.mark.unit
def test_ladder_script_rejects_unknown_dtype():
    with pytest.raises(SystemExit):
        ladder_script.main(["--dtype", "float8"])


@pytest.mark.unit
def test_importing_changes_no_torch_compile_setting():
    """The rungs' recompile limits apply only while a compiled rung runs (a subprocess: a fresh import)."""
    import subprocess
    import sys
    code = ("import torch._dynamo.config as c; before = (c.recompile_limit, c.accumulated_recompile_limit); "
            "import rnncourse.peephole_torch, rnncourse.bench.peephole_ladder; "
            "assert (c.recompile_limit, c.accumulated_recompile_limit) == before, before")
    subprocess.run([sys.executable, "-c", code], check=True)
