"""Every chapter's exercise through the real grader: solution full marks, blank zero, typical mistakes
partial credit with a message that names the mistake."""

import nbformat
import pytest

from autograder.solutions import answer_sources, with_answers
from helpers import ROOT, grade, results

pytestmark = pytest.mark.integration

# assignment -> typical wrong answers: (student, answer cell, text(s) replaced, replacement(s), words of the hint)
MISTAKES = {
    "rnn": [("no_tanh", "rnn_step_forward", "np.tanh(x @ Wx + h_prev @ Wh + b)", "x @ Wx + h_prev @ Wh + b",
             "the tanh is missing"),
            ("not_carried", "rnn_forward", "rnn_step_forward(x[:, t], h_t,", "rnn_step_forward(x[:, t], h0,",
             "carry h from step t-1 to step t")],
    "bptt": [("dh_not_carried", "rnn_backward", "dh[:, t] + dh_prev", "dh[:, t]", "does not carry dh_prev"),
             ("tanh_of_preactivation", "rnn_step_backward", "da = dh_next * (1 - h_next**2)",
              "da = dh_next * (1 - (x @ Wx + h_prev @ Wh + b)**2)", "1 - a**2 of the pre-activation")],
    "lstm": [("no_cell_tanh", "lstm_step_forward", "return o * np.tanh(c_next), c_next",
              "return o * c_next, c_next", "the tanh on the cell state is missing"),
             ("dc_dropped", "lstm_step_backward", "dc = dc_next + dh_next * o * (1 - tanh_c**2)", "dc = dc_next",
              "drop what reaches c_t through h_t"),
             ("c_not_carried", "lstm_backward", "dh[:, t] + dh_prev, dc_prev,", "dh[:, t] + dh_prev, 0 * dc_prev,",
              "do not carry dc")],
    "peephole": [("output_sees_old_cell", "peephole_lstm_step_forward", "p_o * c_next)", "p_o * c_prev)",
                  "the output gate looks at c_{t-1}"),
                 ("peephole_missing_in_dc", "peephole_lstm_step_backward",
                  ("dc = dc_next + dh_next * o * (1 - tanh_c**2) + da_o * p_o",
                   "dc_prev = dc * f + da_i * p_i + da_f * p_f"),
                  ("dc = dc_next + dh_next * o * (1 - tanh_c**2)", "dc_prev = dc * f"), "misses the peephole terms")],
    "gru": [("z_swapped", "gru_step_forward", "(1 - z) * h_prev + z * n", "z * h_prev + (1 - z) * n",
             "z and 1 - z are swapped"),
            ("reset_on_candidate", "gru_step_forward", "n = np.tanh(xw[:, 2 * H:] + (r * h_prev) @ U[:, 2 * H:])",
             "n = r * np.tanh(xw[:, 2 * H:] + h_prev @ U[:, 2 * H:])", "reset gate to the candidate"),
            ("no_sign_flip", "gru_params_from_torch",
             "return weight_ih.T * flip, weight_hh.T * flip, (bias_ih + bias_hh) * flip",
             "return weight_ih.T, weight_hh.T, bias_ih + bias_hh", "changes sign")],
    "capstone": [("temperature_after_softmax", "sample_next",
                  "s = logits / temperature\n    p = np.exp(s - s.max())\n    p = p / p.sum()",
                  "p = np.exp(logits - logits.max())\n    p = p / p.sum() / temperature\n    p = p / p.sum()",
                  "ignore the temperature"),
                 ("h0_ignored", "tbptt_step", "states = [h0]", "states = [np.zeros_like(h0)]",
                  "starts from zeros: start from h0"),
                 ("clip_per_array", "sgd_update", "[p - lr * scale * grad for p, grad in zip(params, grads)]",
                  "[p - lr * min(1.0, max_norm / max(np.linalg.norm(grad), 1e-12)) * grad\n"
                  "            for p, grad in zip(params, grads)]",
                  "clipped each array by its own norm"),
                 ("state_not_carried", "train_stream", "loss, grads, h = tbptt_step(", "loss, grads, _ = tbptt_step(",
                  "starts every chunk from zeros"),
                 ("state_not_cut", "train_stream",
                  "    losses = []\n    for epoch in range(epochs):\n        h = np.zeros((B, H))",
                  "    losses = []\n    h = np.zeros((B, H))\n    for epoch in range(epochs):",
                  "from the end of the text into its start"),
                 ("gradients_accumulated", "train_stream", "params, _ = sgd_update(params, grads, lr, max_norm)",
                  "total = grads if not losses else [t + g for t, g in zip(total, grads)]\n"
                  "            params, _ = sgd_update(params, total, lr, max_norm)",
                  "sum of all gradients so far"),
                 ("embedding_repeats_lost", "embedding_step", "np.add.at(dE, ids, dX)", "dE[ids] += dX",
                  "occurs more than once")],
}


@pytest.fixture(scope="module", params=sorted(MISTAKES))
def graded(request, tmp_path_factory):
    name = request.param
    release = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    answers = answer_sources(nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4))
    folder = tmp_path_factory.mktemp(f"class_{name}")
    students = {"solution": answers, "blank": {}}
    for student, gid, old, new, _ in MISTAKES[name]:
        source = answers[gid]
        for a, b in zip(*((old, new) if isinstance(old, tuple) else ((old,), (new,)))):
            assert a in source, f"{name}: the mistake {student} no longer applies to the solution"
            source = source.replace(a, b)
        students[student] = {**answers, gid: source}
    for student, code in students.items():
        (folder / student).mkdir()
        nbformat.write(with_answers(release, code), folder / student / f"{name}.ipynb")
    work = tmp_path_factory.mktemp(f"work_{name}")
    run = grade(folder, work, assignment=name)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return name, results(work, name), work


def test_solution_full_marks_and_blank_zero(graded):
    _, reports, _ = graded
    assert reports["solution"]["score"] == reports["solution"]["max_score"], reports["solution"]["tests"]
    assert reports["blank"]["score"] == 0


def test_typical_mistakes_get_partial_credit_and_a_hint(graded):
    name, reports, work = graded
    for student, gid, _, _, words in MISTAKES[name]:
        report = reports[student]
        assert 0 < report["score"] < report["max_score"], (student, report["score"])
        messages = [m for t in report["tests"].values() for m in t["messages"]]
        assert any(words in m for m in messages), (student, messages[:3])
        feedback = (work / "feedback" / student / name / f"{name}.html").read_text()
        assert words.split()[0] in feedback
