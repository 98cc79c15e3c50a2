"""The reference solutions agree with each other and with numerical gradients (instructor-side checks)."""
import nbformat
import numpy as np
import pytest

from autograder.intake import is_test_cell
from autograder.solutions import solution_namespace
from helpers import ASSIGNMENTS, ROOT
from rnncourse.gradcheck import check_gradients, numerical_gradient, relative_error, worst_entry

pytestmark = pytest.mark.unit


def _lstm_arrays(rng, B=2, T=4, D=3, H=4):
    return [rng.normal(size=s) for s in ((B, T, D), (B, H), (B, H), (D, 4 * H), (H, 4 * H), (4 * H,))]


def test_peephole_with_zero_peepholes_is_the_lstm():
    lstm, peep = solution_namespace("lstm"), solution_namespace("peephole")
    rng = np.random.default_rng(0)
    x, h0, c0, W, U, b = _lstm_arrays(rng)
    zeros = [np.zeros(4)] * 3
    forward = lstm["lstm_forward"](x, h0, c0, W, U, b)
    for a, b_ in zip(forward, peep["peephole_lstm_forward"](x, h0, c0, W, U, b, *zeros)):
        np.testing.assert_allclose(a, b_, rtol=1e-12)
    dh = rng.normal(size=(2, 4, 4))
    plain = lstm["lstm_backward"](dh, x, h0, c0, W, U, b)
    with_peep = peep["peephole_lstm_backward"](dh, x, h0, c0, W, U, b, *zeros)
    for a, b_ in zip(plain, with_peep[:6]):
        np.testing.assert_allclose(a, b_, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name, backward, forward, n_params", [
    ("lstm", "lstm_backward", "lstm_forward", 6),
    ("gru", "gru_backward", "gru_forward", 5),
])
def test_solution_gradients_pass_the_numerical_check(name, backward, forward, n_params):
    ns = solution_namespace(name)
    rng = np.random.default_rng(1)
    B, T, D, H = 2, 3, 2, 3
    k = 4 if name == "lstm" else 3
    shapes = [(B, T, D), (B, H)] + ([(B, H)] if name == "lstm" else []) + [(D, k * H), (H, k * H), (k * H,)]
    arrays = [rng.normal(size=s) for s in shapes]
    dh = rng.normal(size=(B, T, H))

    def loss():
        out = ns[forward](*arrays)
        return float(((out[0] if isinstance(out, tuple) else out) * dh).sum())

    grads = ns[backward](dh, *arrays)
    check_gradients(loss, {f"p{i}": a for i, a in enumerate(arrays)}, {f"p{i}": g for i, g in enumerate(grads)})


def test_gradcheck_reports_the_worst_entry():
    x = np.array([1.0, 2.0, 3.0])
    numeric = numerical_gradient(lambda: float(np.sum(x**2)), x)
    np.testing.assert_allclose(numeric, 2 * x, rtol=1e-8)
    wrong = 2 * x
    wrong[1] = 5.0
    err, sentence = worst_entry("x", wrong, numeric)
    assert err > 0.1 and "[1]" in sentence and "numerical 4" in sentence and "yours 5" in sentence
    with pytest.raises(AssertionError, match="gradient check failed for dx"):
        check_gradients(lambda: float(np.sum(x**2)), {"x": x}, {"x": wrong})


def test_relative_error_is_scale_free_above_its_floor():
    assert relative_error(np.array([1e-6]), np.array([1.1e-6]))[0] == pytest.approx(0.1 / 2.1)
    assert relative_error(np.array([1e-20]), np.array([1.1e-20]), floor=1e-300)[0] == pytest.approx(0.1 / 2.1)
    assert relative_error(np.array([0.0]), np.array([0.0]))[0] == 0.0


def _scaled(out):
    """A slightly wrong answer: every returned number times 1.01."""
    if isinstance(out, (tuple, list)):
        return type(out)(_scaled(o) for o in out)
    return np.asarray(out) * 1.01


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_visible_tests_pass_on_the_solution_and_catch_a_wrong_answer(name, capsys):
    """The release's test cells, as a student runs them, on the reference answers and on broken ones."""
    release = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    tests = [c.source for c in release.cells if is_test_cell(c)]
    ns = solution_namespace(name)
    for source in tests:
        exec(source, ns)
    assert capsys.readouterr().out.count("passed") >= len(tests)
    checked = [k for k in ns if callable(ns[k]) and any(f", {k})" in t for t in tests)]
    assert len(checked) == len(tests)
    for func in checked:
        right = ns[func]
        ns[func] = lambda *a, _f=right: _scaled(_f(*a))
        with pytest.raises(AssertionError):
            exec(next(t for t in tests if f", {func})" in t), ns)
        ns[func] = right
