"""Cases for Chapter 4's exercise: the peephole LSTM (Gers and Schmidhuber, 2000).

Parameters: Chapter 3's W (D, 4H), U (H, 4H), b (4H,) with gate blocks i, f, g, o, plus three peephole
vectors p_i, p_f, p_o of shape (H,) (diagonal peephole weights). Signatures (batch first):
    peephole_lstm_step_forward(x, h_prev, c_prev, W, U, b, p_i, p_f, p_o)  -> (h_next, c_next)
    peephole_lstm_forward(x, h0, c0, W, U, b, p_i, p_f, p_o)               -> (h, c), each (B, T, H)
    peephole_lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, W, U, b, p_i, p_f, p_o)
        -> (dx, dh_prev, dc_prev, dW, dU, db, dp_i, dp_f, dp_o)
    peephole_lstm_backward(dh, x, h0, c0, W, U, b, p_i, p_f, p_o)
        -> (dx, dh0, dc0, dW, dU, db, dp_i, dp_f, dp_o)
References: autograd through a torch implementation (`rnncourse.oracles.peephole_reference`); with the
peepholes at zero, PyTorch's own `nn.LSTMCell` (Chapter 3's LSTM).
"""
from __future__ import annotations

import numpy as np
import torch

from rnncourse import oracles
from rnncourse.cases.lstm import GATES
from rnncourse.cases.lstm import _inputs as lstm_inputs
from rnncourse.checking import Case, run_cases
from rnncourse.gradcheck import check_sequence_backward

STEP_FWD, FWD = "test_peephole_step_forward", "test_peephole_forward"
STEP_BWD, BWD = "test_peephole_step_backward", "test_peephole_backward"
PARAMS = ("W", "U", "b", "p_i", "p_f", "p_o")

def _output_sees_old_cell(a, c, p_i, p_f, p_o):
    """The peephole cell with the output gate reading c_{t-1} instead of c_t."""
    ai, af, ag, ao = a.chunk(4, dim=-1)
    c_new = torch.sigmoid(af + p_f * c) * c + torch.sigmoid(ai + p_i * c) * torch.tanh(ag)
    return torch.sigmoid(ao + p_o * c) * torch.tanh(c_new), c_new


def _no_peephole_gradient(a, c, p_i, p_f, p_o):
    """The right forward pass, with no gradient through the peepholes' view of the cell state."""
    ai, af, ag, ao = a.chunk(4, dim=-1)
    seen = c.detach()
    c_new = torch.sigmoid(af + p_f * seen) * c + torch.sigmoid(ai + p_i * seen) * torch.tanh(ag)
    return torch.sigmoid(ao + p_o * c_new.detach()) * torch.tanh(c_new), c_new


FORWARD_MISTAKES = (("the output gate looks at c_{t-1}; it looks at the new cell state c_t.",
                     _output_sees_old_cell),)   # the hint, and the mistaken cell (`peephole_reference(step=...)`)
BACKWARD_MISTAKES = (("your dc misses the peephole terms: c_{t-1} also feeds the input and forget gates "
                      "(p_i, p_f) and c_t feeds the output gate (p_o).", _no_peephole_gradient),
                     *FORWARD_MISTAKES)


def _inputs(rng, B, T, D, H, scale=1.0, zero_state=False, zero_peepholes=False, dtype=np.float64):
    """Chapter 3's LSTM inputs, then the three peephole vectors."""
    arrays = lstm_inputs(rng, B, T, D, H, scale, zero_state, dtype)
    peep = [np.zeros(H) if zero_peepholes else rng.normal(0, scale, H) for _ in range(3)]
    return arrays + [p.astype(dtype) for p in peep]


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-9)


def forward_case(label, B, T, D, H, seed, *, step=False, dtype=np.float64, **kind) -> Case:
    arrays = _inputs(np.random.default_rng(seed), B, 1 if step else T, D, H, **kind)
    if kind.get("zero_peepholes"):  # the reference is then Chapter 3's LSTM, PyTorch's nn.LSTMCell
        ref = oracles.lstm_reference(*arrays[:6])
    else:
        ref = oracles.peephole_reference(arrays)
    hints = [(t, oracles.peephole_reference(arrays, step=m)) for t, m in FORWARD_MISTAKES]
    pick = (lambda a: a[:, 0]) if step else (lambda a: a)
    hints = tuple((t, (pick(r["h"]).astype(dtype), pick(r["c"]).astype(dtype))) for t, r in hints)
    cast = [a.astype(dtype) for a in arrays]
    state = ("h_prev", "c_prev") if step else ("h0", "c0")
    if step:
        cast[0] = cast[0][:, 0]
    return Case(STEP_FWD if step else FWD, label, "peephole_lstm_step_forward" if step else "peephole_lstm_forward",
                tuple(zip(("x", *state, *PARAMS), cast)), ("h_next", "c_next") if step else ("h", "c"),
                (pick(ref["h"]).astype(dtype), pick(ref["c"]).astype(dtype)), time_axis=None if step else 1,
                exact_dtype=dtype == np.float32, **_tol(dtype), hints=hints)


def backward_case(label, B, T, D, H, seed, *, step=False, dh_scale=1.0, **kind) -> Case:
    rng = np.random.default_rng(seed)
    arrays = _inputs(rng, B, 1 if step else T, D, H, **kind)
    dh = rng.normal(0, dh_scale, (B, 1 if step else T, H))
    dc_last = rng.normal(0, dh_scale, (B, H)) if step else None
    ref = oracles.peephole_reference(arrays, dh, dc_last)
    wrong = [(t, oracles.peephole_reference(arrays, dh, dc_last, step=m)) for t, m in BACKWARD_MISTAKES]
    names = list(oracles.PEEPHOLE_GRADS)
    if step:
        x, h0, c0, *params = arrays
        args = (("dh_next", dh[:, 0]), ("dc_next", dc_last), ("x", x[:, 0]), ("h_prev", h0), ("c_prev", c0),
                *zip(PARAMS, params))
        first = lambda r: (r["dx"][:, 0], *(r[k] for k in names[1:]))  # noqa: E731
        return Case(STEP_BWD, label, "peephole_lstm_step_backward", args,
                    ("dx", "dh_prev", "dc_prev", *names[3:]), first(ref),
                    hints=tuple((t, first(r)) for t, r in wrong), gate_blocks=GATES)
    args = tuple(zip(("dh", "x", "h0", "c0", *PARAMS), [dh, *arrays]))
    return Case(BWD, label, "peephole_lstm_backward", args, tuple(names), tuple(ref[k] for k in names),
                time_axis=1, hints=tuple((t, tuple(r[k] for k in names)) for t, r in wrong), gate_blocks=GATES)


def visible_cases(test_id: str) -> list[Case]:
    """The cases a student runs in the notebook (the grader runs them too)."""
    return {
        STEP_FWD: lambda: [forward_case("B=2, D=3, H=4", 2, 1, 3, 4, seed=31, step=True)],
        FWD: lambda: [forward_case("B=2, T=5, D=3, H=4", 2, 5, 3, 4, seed=32),
                      forward_case("peepholes at zero: Chapter 3's LSTM", 2, 4, 3, 4, seed=33, zero_peepholes=True)],
        STEP_BWD: lambda: [backward_case("B=2, D=3, H=4", 2, 1, 3, 4, seed=34, step=True)],
        BWD: lambda: [backward_case("B=2, T=4, D=3, H=4", 2, 4, 3, 4, seed=35)],
    }[test_id]()


def _gradient_check(fn) -> None:
    """Numerical check of the student's peephole_lstm_backward on a tiny problem."""
    params = dict(zip(("x", "h0", "c0", *PARAMS), _inputs(np.random.default_rng(8), 2, 3, 2, 3)))
    check_sequence_backward(fn, lambda *a: oracles.peephole_reference(list(a))["h"], params,
                            np.random.default_rng(9).normal(size=(2, 3, 3)))


def check(test_id: str, fn) -> None:
    """Run the visible cases of one test cell (and a numerical gradient check for the backward pass)."""
    run_cases(visible_cases(test_id), fn)
    if test_id == BWD:
        _gradient_check(fn)
