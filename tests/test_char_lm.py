"""The capstone's shared code: the NumPy RNN, the text stream, sampling, the character models, the sunspots."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, env
from rnncourse import char_lm_torch, oracles, text, weights
from rnncourse.answers import char_lm
from rnncourse.answers.numpy_rnn import clip_grad_norm, rnn_backward, rnn_forward
from rnncourse.tasks import sliding_windows, sunspots
from rnncourse.training import train_forecaster


@pytest.mark.unit
def test_numpy_rnn_matches_pytorch_forward_and_gradients():
    rng = np.random.default_rng(0)
    B, T, D, H = 3, 6, 4, 5
    x, h0 = rng.normal(size=(B, T, D)), np.tanh(rng.normal(size=(B, H)))
    Wx, Wh, b = rng.normal(size=(D, H)) / 2, rng.normal(size=(H, H)) / 2, rng.normal(size=H) / 10
    dh = rng.normal(size=(B, T, H))
    h = rnn_forward(x, h0, Wx, Wh, b)
    np.testing.assert_allclose(h, oracles.rnn_reference(x, h0, Wx, Wh, b), rtol=1e-12, atol=1e-12)
    ref = oracles.rnn_gradients(x, h0, Wx, Wh, b, dh)
    for name, got in zip(("dx", "dh0", "dWx", "dWh", "db"), rnn_backward(dh, x, h0, h, Wx, Wh)):
        np.testing.assert_allclose(got, ref[name], rtol=1e-10, atol=1e-12, err_msg=name)
    grads = [rng.normal(size=(3, 2)), rng.normal(size=4)]
    for mine, theirs in zip(clip_grad_norm(grads, 0.5)[0], oracles.clip_by_global_norm(grads, 0.5)[0]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)


@pytest.mark.unit
def test_tbptt_step_matches_autograd_and_carries_the_state():
    rng = np.random.default_rng(1)
    params = char_lm.init_params(6, rng, vocab=7)
    x, y = rng.integers(0, 7, (2, 5)), rng.integers(0, 7, (2, 5))
    h0 = np.tanh(rng.normal(size=(2, 6)))
    loss, grads, h_last = char_lm.tbptt_step(params, x, y, h0)
    ref_loss, ref_grads, ref_h = oracles.char_chunk_reference(params, x, y, h0)
    assert loss == pytest.approx(float(ref_loss), rel=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(h_last, ref_h, rtol=1e-12)
    # two chunks with the state carried are one chunk of twice the length, as far as the forward pass goes
    x2 = rng.integers(0, 7, (2, 5))
    _, _, h_two = char_lm.tbptt_step(params, x2, y, h_last)
    _, _, h_once = char_lm.tbptt_step(params, np.hstack([x, x2]), np.hstack([y, y]), h0)
    np.testing.assert_allclose(h_two, h_once, rtol=1e-12)


@pytest.mark.unit
def test_numpy_adam_matches_torch():
    rng = np.random.default_rng(2)
    p = [rng.normal(size=(3, 2)), rng.normal(size=2)]
    tp = [torch.tensor(a.copy(), requires_grad=True) for a in p]
    mine, theirs = char_lm.Adam(p, lr=0.1), torch.optim.Adam(tp, lr=0.1)
    for _ in range(3):
        grads = [rng.normal(size=a.shape) for a in p]
        mine.step(grads)
        for t, g in zip(tp, grads):
            t.grad = torch.tensor(g)
        theirs.step()
    for a, t in zip(p, tp):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-10)


@pytest.mark.unit
def test_stream_chunks_continue_rows_and_restart():
    ids = np.arange(2 * 13)
    chunks = text.stream_chunks(ids, batch=2, chunk=4)
    seen = [next(chunks) for _ in range(4)]
    assert [r for _, _, r in seen] == [True, False, False, True]                  # (13 - 1) // 4 = 3 chunks a pass
    np.testing.assert_array_equal(seen[0][0][1], [13, 14, 15, 16])                 # row 1 starts at id 13
    np.testing.assert_array_equal(seen[1][0][0], [4, 5, 6, 7])                     # chunk 2 continues chunk 1
    np.testing.assert_array_equal(seen[0][1][0], [1, 2, 3, 4])                     # y is x shifted by one
    np.testing.assert_array_equal(seen[3][0], seen[0][0])


@pytest.mark.unit
def test_text_round_trip_and_corpus():
    assert text.decode(text.encode("def f(x):\n    return 'é'")) == "def f(x):\n    return '?'"
    train, held_out = text.corpus()
    assert len(train) > 100_000 and len(held_out) > 5_000 and "def " in held_out


@pytest.mark.unit
def test_sample_next_draws_like_the_reference_and_sharpens_with_temperature():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 2, (8, 6))
    for tau in (0.5, 1.0, 3.0):
        probs, ids = oracles.temperature_sample_reference(logits, tau, 11)
        gen = np.random.default_rng(11)
        draws = [char_lm.sample_next(row, tau, gen) for row in logits]
        np.testing.assert_allclose([p for p, _ in draws], probs, rtol=1e-12)
        assert [i for _, i in draws] == list(ids)
    cold, hot = char_lm.sample_next(logits[0], 0.2, rng)[0], char_lm.sample_next(logits[0], 5.0, rng)[0]
    assert cold.max() > hot.max()
    assert char_lm.sample_next(np.array([1000.0, 0.0]), 0.01, rng) == (pytest.approx(np.array([1.0, 0.0])), 0)


@pytest.mark.unit
def test_ngram_baselines_count_the_training_text_with_add_k():
    ab = text.encode("ab" * 50)
    bits = char_lm_torch.ngram_bits_per_char(ab, ab, orders=(1, 2), k=0.0, vocab=2)
    assert bits[1] == pytest.approx(1.0)                  # a and b equally frequent: one bit each
    assert bits[2] == pytest.approx(0.0, abs=1e-12)       # the previous character decides the next one
    unseen = char_lm_torch.ngram_bits_per_char(ab, text.encode("ac"), orders=(1,), k=1.0, vocab=3)[1]
    assert unseen == pytest.approx(-np.log2(1 / (100 + 3)))  # add-k: an unseen character keeps k / (N + kV)
    rng = np.random.default_rng(5)
    train, test = rng.integers(0, 4, 300), rng.integers(0, 4, 40)
    for order, bits in char_lm_torch.ngram_bits_per_char(train, test, orders=(1, 2, 3), k=0.5, vocab=4).items():
        total = 0.0                                   # the definition, counted directly
        for i in range(1, len(test)):
            gram = tuple(test[max(0, i - order + 1):i + 1])
            n = len(gram)
            grams = [tuple(train[j:j + n]) for j in range(len(train) - n + 1)]
            total -= np.log2((grams.count(gram) + 0.5) / (sum(g[:-1] == gram[:-1] for g in grams) + 0.5 * 4))
        assert bits == pytest.approx(total / (len(test) - 1)), order


@pytest.mark.unit
def test_generate_is_reproducible_and_sharpens_with_temperature():
    logits = np.array([2.0, 1.0, 0.0])
    reader = lambda ch: logits                                     # noqa: E731
    draw = lambda tau, seed: char_lm_torch.generate(reader, "a", 200, tau, np.random.default_rng(seed))  # noqa: E731
    assert draw(0.7, 1) == draw(0.7, 1)
    cold, hot = draw(0.2, 2), draw(5.0, 2)
    first = text.decode([0])
    assert cold.count(first) > hot.count(first)


@pytest.mark.unit
def test_cell_states_are_the_lstms_own_step_by_step(one_torch_thread):
    model = char_lm_torch.new_model("lstm", 8, seed=3)
    ids = text.encode("def f(x):\n    return (x, 'a')\n")
    with torch.no_grad():
        onehot = torch.nn.functional.one_hot(torch.as_tensor(ids), text.VOCAB).float()[None]
        state, cells = None, []
        for t in range(len(ids)):
            _, state = model.rnn(onehot[:, t:t + 1], state)
            cells.append(state[1][0, 0].numpy())
    np.testing.assert_allclose(char_lm_torch.cell_states(model, ids), np.array(cells), rtol=1e-5, atol=1e-6)


@pytest.mark.unit
def test_source_features():
    source = 'def f(a, b=(1, 2)):\n    s = "x(y"  # (\n    return s\n'
    f = text.source_features(source)
    at = source.index
    assert f["inside a string"][at('"x(y"') + 2] == 1 and f["inside a string"][at("return")] == 0
    assert f["bracket depth"][at("1, 2")] == 2 and f["bracket depth"][at("return")] == 0   # "(" in a string or comment
    assert f["indentation"][at("return")] == 4 and f["indentation"][at("def")] == 0
    assert f["column"][at("return") + 2] == 6


@pytest.mark.unit
def test_numpy_and_torch_rnn_models_agree_on_the_same_weights():
    """The NumPy model and `CharModel("rnn")` with its weights (float32): same bits per character, same logits."""
    rng = np.random.default_rng(4)
    params = char_lm.init_params(8, rng)
    params[2], params[4] = rng.normal(0, 0.1, 8), rng.normal(0, 0.1, text.VOCAB)
    model = char_lm_torch.CharModel("rnn", 8)
    weights.load_book_params(model.rnn.weight_ih_l0, model.rnn.weight_hh_l0, model.rnn.bias_ih_l0,
                             model.rnn.bias_hh_l0, *params[:3])
    with torch.no_grad():
        model.head.weight.copy_(torch.as_tensor(params[3].T))
        model.head.bias.copy_(torch.as_tensor(params[4]))
    ids = text.encode("import os\nprint(os.getcwd())\n" * 3)
    assert char_lm.numpy_bits_per_char(params, ids, chunk=7) == pytest.approx(
        char_lm_torch.torch_bits_per_char(model, ids, "cpu", chunk=7), rel=1e-5)
    numpy_reader, torch_reader = char_lm.numpy_next_logits(params), char_lm_torch.torch_next_logits(model, "cpu")
    for ch in ids[:10]:
        np.testing.assert_allclose(numpy_reader(int(ch)), torch_reader(int(ch)), rtol=1e-4, atol=1e-5)


@pytest.mark.unit
@pytest.mark.parametrize("kind", ["numpy", "lstm"])
def test_train_char_lm_learns_and_reports(kind, one_torch_thread):
    train_ids, held_out_ids = text.encode("for i in range(10):\n    print(i)\n" * 40), text.encode("print(i)\n" * 5)
    run = char_lm.train_char_lm(kind, train_ids, held_out_ids, hidden=16, steps=60, batch=4, chunk=8, lr=2e-2,
                                eval_every=30, sample_every=30, sample_length=20)
    assert run["valid"][-1][1] < run["valid"][0][1] < np.log2(text.VOCAB)
    assert [s for s, _ in run["samples"]] == [0, 30, 60] and all(len(t) == 20 for _, t in run["samples"])
    assert run["seconds"] > 0 and run["parameters"] > 0


@pytest.mark.integration
def test_long_run_script_writes_what_the_chapter_reads(tmp_path):
    out = tmp_path / "long.json"
    run = subprocess.run([sys.executable, "scripts/char_lm_long.py", "--steps", "4", "--hidden", "8", "--batch", "4",
                          "--chunk", "8", "--eval-every", "2", "--device", "cpu", "--json", str(out)],
                         cwd=ROOT, env={**env(), "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result["models"]) == {"nn.RNN", "nn.LSTM", "nn.GRU"} and result["config"]["steps"] == 4
    for model in result["models"].values():
        assert [s for s, _ in model["valid"]] == [2, 4] and model["samples"][-1][0] == 4


@pytest.mark.unit
def test_sunspots_and_windows():
    years, spots = sunspots()
    assert (years[0], years[-1], len(spots)) == (1700, 2008, 309) and spots.min() >= 0
    x, y = sliding_windows(np.arange(6.0), 3)
    np.testing.assert_array_equal(x[..., 0], [[0, 1, 2], [1, 2, 3], [2, 3, 4]])
    np.testing.assert_array_equal(y, [3, 4, 5])


@pytest.mark.unit
def test_train_forecaster_fits_a_sine_and_is_seeded(one_torch_thread):
    x, y = sliding_windows(np.sin(0.3 * np.arange(120)), 10)
    first, again = (train_forecaster("gru", x, y, hidden=8, steps=80, seed=1) for _ in range(2))
    with torch.no_grad():
        pred = first(torch.as_tensor(x, dtype=torch.float32)).numpy()
        np.testing.assert_array_equal(pred, again(torch.as_tensor(x, dtype=torch.float32)).numpy())
    assert np.mean((pred - y) ** 2) < 0.05 * np.var(y)


def _chapter_cell(name: str) -> str:
    """The code of the capstone chapter's cell whose figure is `name`."""
    import jupytext

    chapter = jupytext.read(ROOT / "chapters" / "capstone.md")
    return next(c.source for c in chapter.cells if c.cell_type == "code"
                and c.metadata.get("mystnb", {}).get("figure", {}).get("name") == name)


@pytest.mark.unit
@pytest.mark.parametrize("committed", [False, True])
def test_longer_run_figure_only_with_data_else_the_command(committed, capsys):
    """No record in benchmarks/results/: no (empty) figure, but the command that writes one."""
    import textwrap
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    record = {"config": {"hidden": 8, "batch": 4, "chunk": 8, "steps": 4, "temperature": 0.7},
              "environment": {"device_name": "cpu", "versions": {"torch": torch.__version__}, "date": "2026-01-01"},
              "models": {"nn.LSTM": {"valid": [[2, 5.0], [4, 4.0]], "seconds": 1.0, "samples": [[4, "x"]]}}}
    plt.close("all")
    kit = SimpleNamespace(load=lambda pattern: [record] if committed else [])
    exec(_chapter_cell("capstone-fig-long"), {"kit": kit, "plt": plt, "textwrap": textwrap,
                                              "show": lambda title, sample: None})
    printed = capsys.readouterr().out
    assert bool(plt.get_fignums()) is committed
    assert ("python scripts/char_lm_long.py" in printed) is not committed
    plt.close("all")
