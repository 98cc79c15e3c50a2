"""The adding problem and the shared training helper (rnncourse.training), fast enough for every run."""
import numpy as np
import pytest
import torch

from rnncourse import training
from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem
from rnncourse.training import RUNS_ENV, TOLERANCE, SequenceRegressor, adding_runs, evaluate, learned, train_adding

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


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_truncated_forward_has_the_same_values_and_a_gradient_k_steps_deep(kind):
    torch.manual_seed(0)
    model, x = SequenceRegressor(kind, input_size=2, hidden=8), torch.randn(3, 12, 2, requires_grad=True)
    full, truncated = model(x), model(x, truncate=5)                   # chunks of 5, 5 and 2 steps
    assert torch.allclose(full, truncated)
    truncated.sum().backward()
    reached = x.grad.abs().sum(dim=(0, 2)).nonzero().flatten()
    assert reached.tolist() == [10, 11]                                # the last chunk's steps only


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


def test_accuracy_is_the_fraction_answered_within_the_tolerance():
    model = SequenceRegressor("rnn", input_size=2, hidden=4)
    x = torch.zeros(4, 3, 2)
    prediction = model(x).detach()
    y = prediction + torch.tensor([0.0, TOLERANCE / 2, 2 * TOLERANCE, -2 * TOLERANCE])
    mse, within = evaluate(model, x, y)
    assert within == pytest.approx(0.5)
    assert mse == pytest.approx(torch.mean((prediction - y) ** 2).item())


def test_learned_is_a_quarter_of_the_baseline():
    assert learned(0.24 * ADDING_BASELINE_MSE) and not learned(0.26 * ADDING_BASELINE_MSE)


def test_adding_runs_are_trained_once_and_shared_through_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    monkeypatch.setattr(training, "_RUNS", {})
    specs = [("rnn", 4, 0), ("gru", 4, 1)]
    first = adding_runs(specs, steps=3, hidden=4)
    assert len(list(tmp_path.glob("*.pt"))) == 2
    monkeypatch.setattr(training, "_RUNS", {})                         # a second process: reads, trains nothing
    monkeypatch.setattr(training, "train_adding", lambda *a, **k: pytest.fail("trained a stored run again"))
    second = adding_runs(specs, steps=3, hidden=4)
    for spec in specs:
        assert second[spec]["final_mse"] == first[spec]["final_mse"]
        assert second[spec]["test_mse"] == first[spec]["test_mse"]
        x = torch.rand(2, 4, 2)
        torch.testing.assert_close(second[spec]["model"](x), first[spec]["model"](x))


def test_a_run_another_process_is_training_is_left_for_later(tmp_path, monkeypatch):
    import fcntl

    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    monkeypatch.setattr(training, "_RUNS", {})
    busy, free = ("rnn", 4, 0), ("rnn", 4, 1)
    key = training._key(*busy, {"steps": 2, "hidden": 4})
    with open(tmp_path / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                                 # "another process" holds the busy run
        assert training._shared_run(tmp_path, key, {}, block=False) is None
        order = []
        real = training._train
        monkeypatch.setattr(training, "_train", lambda args: order.append((args["kind"], args["T"], args["seed"]))
                            or real(args))
        adding_runs([free], steps=2, hidden=4)
    assert order == [free]
    runs = adding_runs([busy, free], steps=2, hidden=4)                 # the lock is free now: trained, then read
    assert order == [free, busy] and set(runs) == {busy, free}


def test_a_fixed_training_set_is_all_the_data_the_model_sees():
    # one sequence repeated: the model can fit it far better than it fits held-out sequences
    small = train_adding("gru", 5, hidden=16, steps=150, seed=0, train_size=1)
    assert small["losses"][-1] < 1e-3 < small["final_mse"]
    assert train_adding("gru", 5, hidden=16, steps=150, seed=0)["losses"][-1] > small["losses"][-1]
