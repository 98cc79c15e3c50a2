"""Chapter 5's claims about PyTorch's GRU, and the GRU speed benchmark (benchmarks/gru_speed.py).

- The book's GRU (z weighs the candidate, reset gate before the product) and `nn.GRU` set up by
  `torch_gru_from_book` are the same function when U_n is diagonal and b_hn = 0, and different ones
  when U_n is a full matrix or b_hn is not zero.
- The hand-written torch GRU cell of the benchmark computes what `nn.GRU` computes, gradients included.
- The benchmark's functions run at tiny sizes, give positive timings and write a JSON record with the
  device, the versions and the date.
"""
import datetime
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnncourse.bench import gru_speed
from rnncourse.oracles import gru_torch, torch_gru_from_book

ROOT = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("gru_speed", ROOT / "benchmarks" / "gru_speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gru_script = _load_script()


pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("one_torch_thread")]


def book_params(rng, D, H, scale=1.0, diagonal_un=False):
    W = rng.normal(0, scale / np.sqrt(D), (D, 3 * H))
    U = rng.normal(0, scale / np.sqrt(H), (H, 3 * H))
    if diagonal_un:
        U[:, 2 * H:] = np.diag(rng.normal(0, scale, H))
    b = rng.normal(0, 0.3, 3 * H)
    return W, U, b


def book_and_torch(x, h0, W, U, b):
    """Hidden states (B, T, H) of the book's GRU and of nn.GRU built from the same parameters."""
    args = [torch.as_tensor(a) for a in (x, h0, W, U, b)]
    book = gru_torch(*args).numpy()
    with torch.no_grad():
        out, h_last = torch_gru_from_book(W, U, b)(args[0], args[1][None])
    assert torch.equal(h_last[0], out[:, -1])
    return book, out.numpy()


@pytest.mark.parametrize("B, T, D, H, seed", [(2, 7, 3, 4, 0), (1, 1, 5, 2, 1), (3, 25, 2, 6, 2)])
def test_book_gru_equals_nn_gru_when_u_n_is_diagonal(B, T, D, H, seed):
    rng = np.random.default_rng(seed)
    W, U, b = book_params(rng, D, H, scale=1.5, diagonal_un=True)
    x, h0 = rng.normal(size=(B, T, D)), np.tanh(rng.normal(size=(B, H)))
    book, torch_out = book_and_torch(x, h0, W, U, b)
    assert np.abs(book - torch_out).max() < 1e-13


def test_torch_update_gate_is_one_minus_the_books():
    """With the z block's sign flipped, nn.GRU's z' = 1 - z: check it on one step with h0 = 0 and U = 0,
    where h_1 = z * n (book) must equal (1 - z') * n (PyTorch)."""
    rng = np.random.default_rng(3)
    D, H = 3, 4
    W, _, b = book_params(rng, D, H)
    U = np.zeros((H, 3 * H))
    x, h0 = rng.normal(size=(2, 1, D)), np.zeros((2, H))
    book, torch_out = book_and_torch(x, h0, W, U, b)
    z = 1 / (1 + np.exp(-(x[:, 0] @ W[:, H:2 * H] + b[H:2 * H])))
    n = np.tanh(x[:, 0] @ W[:, 2 * H:] + b[2 * H:])
    np.testing.assert_allclose(book[:, 0], z * n, rtol=1e-12)
    np.testing.assert_allclose(torch_out[:, 0], z * n, rtol=1e-12)
    # without the sign flip nn.GRU would compute (1 - z) * n instead
    gru = torch_gru_from_book(W, U, b)
    with torch.no_grad():
        gru.weight_ih_l0[H:2 * H] *= -1
        gru.bias_ih_l0[H:2 * H] *= -1
        unflipped, _ = gru(torch.as_tensor(x))
    np.testing.assert_allclose(unflipped[:, 0].numpy(), (1 - z) * n, rtol=1e-12)


def test_book_gru_and_nn_gru_differ_for_a_full_u_n():
    rng = np.random.default_rng(4)
    B, T, D, H = 4, 20, 3, 8
    W, U, b = book_params(rng, D, H, scale=1.5)
    x, h0 = rng.normal(size=(B, T, D)), np.tanh(rng.normal(size=(B, H)))
    book, torch_out = book_and_torch(x, h0, W, U, b)
    assert np.abs(book - torch_out).max() > 1e-2
    # ...and they agree again once the off-diagonal part of U_n is removed
    U_diag = U.copy()
    U_diag[:, 2 * H:] = np.diag(np.diag(U[:, 2 * H:]))
    book, torch_out = book_and_torch(x, h0, W, U_diag, b)
    assert np.abs(book - torch_out).max() < 1e-13


def test_a_nonzero_b_hn_breaks_the_equality_even_with_a_diagonal_u_n():
    """PyTorch's b_hn sits inside the reset gate, r * (h U_n + b_hn): not the same as adding it to b_n."""
    rng = np.random.default_rng(5)
    B, T, D, H = 3, 10, 3, 5
    W, U, b = book_params(rng, D, H, diagonal_un=True)
    x, h0 = rng.normal(size=(B, T, D)), np.tanh(rng.normal(size=(B, H)))
    b_hn = rng.normal(0, 0.5, H)
    gru = torch_gru_from_book(W, U, b)
    with torch.no_grad():
        gru.bias_hh_l0[2 * H:] = torch.as_tensor(b_hn)
        torch_out, _ = gru(torch.as_tensor(x), torch.as_tensor(h0)[None])
    b_added = b.copy()
    b_added[2 * H:] += b_hn
    book = gru_torch(*(torch.as_tensor(a) for a in (x, h0, W, U, b_added))).numpy()
    assert np.abs(book - torch_out.numpy()).max() > 1e-3


def test_hand_written_cell_equals_nn_gru_forward_and_gradients():
    gru, x, h0 = gru_speed.make_problem(3, 9, 4, 5, dtype=torch.float64, seed=7)
    with torch.no_grad():  # nonzero biases everywhere, b_hn included
        for bias in (gru.bias_ih_l0, gru.bias_hh_l0):
            bias.normal_(0, 0.5)
    xa = x.clone().requires_grad_(True)
    xb = x.clone().requires_grad_(True)
    reference, _ = gru(xa, h0[None])
    mine = gru_speed.hand_gru(xb, h0, gru)
    assert mine.shape == (3, 9, 5)
    assert (mine - reference).abs().max().item() < 1e-14
    upstream = torch.randn(reference.shape, generator=torch.Generator().manual_seed(8), dtype=torch.float64)
    grads = []
    for out, inp in ((reference, xa), (mine, xb)):
        gru.zero_grad()
        (out * upstream).sum().backward()
        grads.append([inp.grad.clone()] + [p.grad.clone() for p in gru.parameters()])
    for g_ref, g_mine in zip(*grads):
        assert (g_ref - g_mine).abs().max().item() < 1e-12


def test_hand_written_cell_does_not_equal_the_books_form():
    """The benchmark's cell is PyTorch's GRU, not the book's: a full U_n tells them apart."""
    rng = np.random.default_rng(9)
    W, U, b = book_params(rng, 3, 4, scale=1.5)
    gru = torch_gru_from_book(W, U, b)
    x, h0 = rng.normal(size=(2, 12, 3)), np.tanh(rng.normal(size=(2, 4)))
    with torch.no_grad():
        mine = gru_speed.hand_gru(torch.as_tensor(x), torch.as_tensor(h0), gru).numpy()
    book = gru_torch(*(torch.as_tensor(a) for a in (x, h0, W, U, b))).numpy()
    assert np.abs(mine - book).max() > 1e-2


def test_benchmark_runs_at_tiny_sizes_with_positive_timings():
    record = gru_speed.run_benchmark(batch=2, seq_len=3, input_size=3, hidden_size=4, repeat=2, warmup=1,
                                     compile=False)
    assert set(record["timings"]) == {"nn_gru", "hand_eager"}
    for times in record["timings"].values():
        assert times["forward_s"] > 0 and times["forward_backward_s"] > 0
    assert record["ratios"]["nn_gru"]["forward_s"] == 1.0
    assert all(d < 1e-5 for d in record["max_abs_diff"].values())
    assert "hand_compiled" in record["skipped"]
    assert "hand_eager" in gru_speed.format_table(record)


def test_a_failing_compile_is_skipped_with_its_reason(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no compiler on this machine")

    monkeypatch.setattr(torch, "compile", broken)
    record = gru_speed.run_benchmark(batch=2, seq_len=2, input_size=2, hidden_size=3, repeat=1, warmup=0,
                                     backward=False)
    assert "hand_compiled" not in record["timings"]
    assert "no compiler on this machine" in record["skipped"]["hand_compiled"]
    assert "forward_backward_s" not in record["timings"]["nn_gru"]


def test_command_line_writes_json_with_device_versions_and_date(tmp_path, capsys):
    path = tmp_path / "out" / "gru_speed.json"
    gru_script.main(["--device", "cpu", "--batch", "2", "--seq-len", "4", "--input-size", "3", "--hidden-size", "5",
                     "--repeat", "1", "--no-compile", "--json", str(path)])
    record = json.loads(path.read_text())
    env = record["environment"]
    assert env["device_name"].startswith("CPU") and env["device_type"] == "cpu"
    assert env["versions"]["torch"] == torch.__version__
    date = datetime.datetime.fromisoformat(env["date"])
    assert abs((datetime.datetime.now(datetime.timezone.utc) - date).total_seconds()) < 600
    assert record["config"] == {"batch": 2, "seq_len": 4, "input_size": 3, "hidden_size": 5, "dtype": ["float32"],
                                "repeat": 1, "seed": 0}
    assert record["timings"]["nn_gru"]["forward_s"] > 0
    assert "nn_gru" in capsys.readouterr().out


def test_time_layers_counts_parameters_by_the_formula_and_times_every_layer():
    D, H = 3, 4
    layers = gru_speed.time_layers(batch=2, seq_len=3, input_size=D, hidden_size=H, repeat=1, warmup=0)
    assert set(layers) == {"rnn", "gru", "lstm"}
    for kind, blocks in (("rnn", 1), ("gru", 3), ("lstm", 4)):
        assert layers[kind]["params"] == blocks * H * (D + H + 2)
        assert layers[kind]["forward_s"] > 0 and layers[kind]["forward_backward_s"] > 0
