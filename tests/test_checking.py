"""The checks students see: every failure names the output, the time step, expected vs got."""
import numpy as np
import pytest

from rnncourse import oracles
from rnncourse.cases import lstm, rnn
from rnncourse.checking import judge, run_cases

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def forward():
    return rnn.visible_cases(rnn.FORWARD)[0]


def test_correct_output_passes(forward):
    assert judge(forward, [forward.expected[0].copy()]) is None


def test_names_the_first_wrong_time_step(forward):
    got = forward.expected[0].copy()
    got[1, 3, 2] += 0.5
    msg = judge(forward, [got])
    assert "output h is wrong at time step t=4 of 5" in msg and "index [1, 3, 2]" in msg
    assert "expected" in msg and "got" in msg


def test_reports_shape_and_hints_time_major(forward):
    msg = judge(forward, [forward.expected[0].transpose(1, 0, 2)])
    assert "shape (5, 2, 4), expected (2, 5, 4)" in msg and "time-major" in msg


def test_hint_for_state_not_carried(forward):
    wrong = dict(forward.hints)[
        "every step used h0 instead of the previous hidden state: carry h from step t-1 to step t."]
    assert "carry h" in judge(forward, list(wrong))


def test_nan_and_dtype_and_missing_return(forward):
    got = forward.expected[0].copy()
    got[0, 2, 0] = np.nan
    assert "nan at time step t=3 of 5" in judge(forward, [got])
    assert "None" in judge(forward, [None])
    assert "dtype" in judge(forward, [np.zeros(forward.expected[0].shape, dtype=object)])


def test_float32_case_requires_float32():
    case = rnn.forward_case("float32", 2, 3, 2, 3, seed=0, dtype=np.float32)
    assert "dtype float64, expected float32" in judge(case, [case.expected[0].astype(np.float64)])
    assert judge(case, [case.expected[0]]) is None


def test_loss_overflow_hint():
    case = rnn.loss_case("large", 2, 2, 3, seed=0, scale=1000.0)
    msg = judge(case, [np.array(np.inf)])
    assert "subtract each row's maximum" in msg


def test_run_cases_raises_readable_assertion():
    def no_tanh(x, h, Wx, Wh, b):
        return x @ Wx + h @ Wh + b

    with pytest.raises(AssertionError, match="the tanh is missing"):
        run_cases(rnn.visible_cases(rnn.STEP), no_tanh)


def test_references_come_from_torch_not_from_numpy_solution():
    case = rnn.visible_cases(rnn.STEP)[0]
    x, h, Wx, Wh, b = (a for _, a in case.args)
    np.testing.assert_allclose(case.expected[0], np.tanh(x @ Wx + h @ Wh + b), rtol=1e-12)


def test_names_the_gate_block_of_a_wrong_weight_gradient():
    case = lstm.visible_cases(lstm.STEP_BWD)[0]
    got = [e.copy() for e in case.expected]
    H = got[3].shape[1] // 4
    got[3][0, H + 1] += 1.0                       # dW, a column of the forget gate's block
    assert "output dW is wrong at entry [0, 5] (the forget gate f block)" in judge(case, got)
    got = [e.copy() for e in case.expected]
    got[5][3 * H] += 1.0                          # db, the first column of the output gate's block
    assert "(the output gate o block)" in judge(case, got)


def test_padded_batch_reference_is_each_sequence_run_alone():
    """The hidden variable-length cases: nn.RNN on the packed padded batch equals each unpadded prefix alone."""
    cases = rnn.prefix_cases("lengths 4, 1, 3", (4, 1, 3), 4, 2, 3, seed=7)
    assert [case.args[0][1].shape[1] for case in cases] == [4, 1, 3]
    for case in cases:
        assert np.allclose(case.expected[0], oracles.rnn_reference(*(a for _, a in case.args)), atol=1e-12)
