"""Similarity screening (autograder/similarity.py) on answers whose origin is known: independent correct answers in
different styles (tests/fixtures/similarity/independent, one author each) and planted copies of some of them
(copies/<original>__<how>.py: renamed variables, reordered functions, added comments)."""
import nbformat
import numpy as np
import pytest

from autograder import similarity
from autograder.intake import answer_cells
from helpers import ROOT

pytestmark = pytest.mark.unit

CASES = ROOT / "tests" / "fixtures" / "similarity"


@pytest.fixture(scope="module")
def boilerplate():
    return ["\n\n".join(c.source for c in answer_cells(nbformat.read(ROOT / d / "rnn" / "rnn.ipynb", as_version=4)))
            for d in ("exercises", "solutions")]


def test_threshold_finds_every_planted_copy_and_no_independent_pair(boilerplate):
    rates = similarity.measure(CASES, boilerplate)
    print(f"\nthreshold {rates['threshold']}: false positives {rates['false_positives']} of "
          f"{rates['independent_pairs']} independent pairs (highest {rates['highest_independent']:.2f}), false "
          f"negatives {rates['false_negatives']} of {rates['copied_pairs']} planted copies (lowest "
          f"{rates['lowest_copy']:.2f})")
    assert rates["copied_pairs"] >= 4 and rates["independent_pairs"] >= 30
    assert rates["false_positives"] == 0 and rates["false_negatives"] == 0, rates
    # a margin on both sides, so that a small change of tokenizer does not flip a verdict
    assert rates["lowest_copy"] >= similarity.THRESHOLD + 0.2
    assert rates["highest_independent"] <= similarity.THRESHOLD - 0.2


def test_the_solution_shape_is_boilerplate(boilerplate):
    """Two answers that are the reference solution with different names share nothing once it is removed."""
    solution = boilerplate[1]
    renamed = solution.replace("h_t", "state").replace("log_probs", "lp")
    assert similarity.compare({"a": solution, "b": renamed}, boilerplate, threshold=0.0) == []
    assert similarity.compare({"a": solution, "b": renamed}, [], threshold=0.0)[0].similarity > 0.9


def test_highlighted_code_is_escaped(boilerplate):
    code = (CASES / "independent" / "loops.py").read_text() + "\n# <script>alert(1)</script>\n"
    pair = similarity.compare({"a": code, "b": code}, boilerplate)[0]
    assert "<mark>" in pair.marked[0] and "<script>" not in pair.marked[0] + pair.marked[1]


@pytest.mark.parametrize("path", sorted((CASES / "independent").glob("*.py")), ids=lambda p: p.stem)
def test_independent_answers_are_correct(path):
    """Each fixture is a real answer: it passes every visible and hidden check of the rnn exercise."""
    from autograder.hidden.rnn import hidden_cases
    from rnncourse.cases.rnn import FORWARD, LOSS, STEP, visible_cases
    from rnncourse.checking import as_outputs, judge

    ns = {"np": np}
    exec(path.read_text(), ns)
    for test_id in (STEP, FORWARD, LOSS):
        for case in visible_cases(test_id) + hidden_cases(test_id):
            assert judge(case, as_outputs(ns[case.func](*case.call_args()))) is None, (path.name, case.label)
