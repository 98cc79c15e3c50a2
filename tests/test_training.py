"""The adding problem and the shared training helper (rnncourse.training), fast enough for every run."""
import numpy as np
import pytest
import torch

from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem
from rnncourse.training import SequenceRegressor, train_adding

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("one_torch_thread")]


@pytest.mark.parametrize("T", [2, 7, 10, 51])
def test_adding_problem_targets_are_the_sum_of_the_two_marked_values(T):
    x, y = adding_problem(300, T, np.random.default_rng(T))
    assert x.shape == (300, T, 2) and y.shape == (300,)
    values, markers = x[..., 0], x[..., 1]
    assert set(np.unique(markers)) <= {0.0, 1.0}
    assert (markers.sum(axis=1) == 2).all(), "every row needs exactly two markers"
    half = T // 2
    assert (markers[:, :half].sum(axis=1) == 1).all() and (markers[:, half:].sum(axis=1) == 1).all()
    np.testing.assert_allclose(y, (values * markers).sum(axis=1))
    assert ((0 <= values) & (values <= 1)).all()


def test_always_predicting_one_scores_the_baseline():
    _, y = adding_problem(200_000, 10, np.random.default_rng(0))
    assert abs(np.mean((y - 1) ** 2) - ADDING_BASELINE_MSE) < 3e-3


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_regressor_gives_one_number_per_sequence(kind):
    model = SequenceRegressor(kind, input_size=2, hidden=8)
    assert isinstance(model.rnn, {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind])
    assert model.rnn.batch_first
    out = model(torch.zeros(5, 9, 2))
    assert out.shape == (5,)


def test_regressor_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="kind"):
        SequenceRegressor("transformer")


def test_rnn_learns_the_short_adding_problem():
    result = train_adding("rnn", 5, hidden=32, steps=300, batch=64, lr=1e-2, seed=0)
    assert result["final_mse"] < 0.25 * ADDING_BASELINE_MSE, result["final_mse"]
    assert len(result["losses"]) == 300
    assert np.mean(result["losses"][-50:]) < np.mean(result["losses"][:50])


def test_untrained_model_does_not_beat_the_baseline():
    """With no training the held-out MSE cannot be small: the evaluation is not fooled."""
    result = train_adding("rnn", 5, steps=0, seed=0)
    assert result["final_mse"] > 0.5 * ADDING_BASELINE_MSE
    assert result["losses"] == []


def test_same_seed_same_run_other_seed_other_run():
    a = train_adding("gru", 6, hidden=8, steps=20, seed=3)
    b = train_adding("gru", 6, hidden=8, steps=20, seed=3)
    c = train_adding("gru", 6, hidden=8, steps=20, seed=4)
    assert a["losses"] == b["losses"] and a["final_mse"] == b["final_mse"]
    assert a["losses"] != c["losses"]


def test_training_leaves_the_global_torch_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_adding("rnn", 4, hidden=4, steps=2, seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_recurrent_initialisations():
    ortho = train_adding("lstm", 4, hidden=6, steps=0, init="orthogonal")["model"]
    for block in ortho.rnn.weight_hh_l0.detach().split(6, dim=0):  # four gate blocks
        torch.testing.assert_close(block @ block.T, torch.eye(6), atol=1e-5, rtol=0)
    ident = train_adding("rnn", 4, hidden=6, steps=0, init="identity")["model"]
    torch.testing.assert_close(ident.rnn.weight_hh_l0.detach(), torch.eye(6))
    with pytest.raises(ValueError, match="init"):
        train_adding("rnn", 4, hidden=6, steps=0, init="zeros")


def test_evaluation_is_on_a_fixed_held_out_batch():
    """Runs with different training seeds are scored on the same sequences (it depends on T only)."""
    a = train_adding("rnn", 8, hidden=4, steps=0, seed=0)
    b = train_adding("rnn", 8, hidden=4, steps=0, seed=0, test_seed=999)
    assert a["final_mse"] != b["final_mse"]
    assert [m for _, m in a["test_mse"]] == [a["final_mse"]]
    logged = train_adding("rnn", 5, hidden=8, steps=40, eval_every=10, seed=1)["test_mse"]
    assert [s for s, _ in logged] == [10, 20, 30, 40]


def test_forget_bias_is_set_before_training_and_only_for_the_lstm():
    run = train_adding("lstm", 5, steps=0, forget_bias=1.0, hidden=4)
    rnn = run["model"].rnn
    assert torch.all(rnn.bias_ih_l0[4:8] == 1.0) and torch.all(rnn.bias_hh_l0[4:8] == 0.0)
    with pytest.raises(ValueError):
        train_adding("gru", 5, steps=0, forget_bias=1.0)
