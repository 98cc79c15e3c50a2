"""Cases for Chapter 3's exercise: the LSTM forward and backward passes.

Parameters in the book's layout: W (D, 4H), U (H, 4H), b (4H,), gate blocks in the order
i, f, g, o (input, forget, candidate, output), so `a = x W + h U + b` and `a[:, :H]` is the input gate's
pre-activation. Signatures (batch first):
    lstm_step_forward(x, h_prev, c_prev, W, U, b)                      -> (h_next, c_next)
    lstm_forward(x, h0, c0, W, U, b)                                   -> (h, c), each (B, T, H)
    lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, W, U, b)   -> (dx, dh_prev, dc_prev, dW, dU, db)
    lstm_backward(dh, x, h0, c0, W, U, b)                              -> (dx, dh0, dc0, dW, dU, db)
References: PyTorch's `nn.LSTMCell` with the same weights, and its autograd (`rnncourse.oracles`).
"""
from __future__ import annotations

import numpy as np
import torch

from rnncourse import oracles
from rnncourse.checking import Case, run_cases
from rnncourse.gradcheck import check_sequence_backward

STEP_FWD, FWD = "test_lstm_step_forward", "test_lstm_forward"
STEP_BWD, BWD = "test_lstm_step_backward", "test_lstm_backward"
SEQ_GRADS = ("dx", "dh0", "dc0", "dW", "dU", "db")
GATES = ("input gate i", "forget gate f", "candidate g", "output gate o")  # the column blocks of W, U, b


def lstm_variant(x, h0, c0, W, U, b, *, order="ifgo", cell_tanh=True, candidate=torch.tanh,
                 carry_c=True, h_feeds_c=True, restart_from_c0=False):
    """A functional LSTM in torch with one typical mistake switched on (for hints); returns h, c (B, T, H)."""
    H = h0.shape[1]
    h, c, hs, cs = h0, c0, [], []
    for t in range(x.shape[1]):
        blocks = dict(zip(order, (x[:, t] @ W + h @ U + b).split(H, dim=1)))
        i, f, o = (torch.sigmoid(blocks[k]) for k in "ifo")
        c_prev = c0 if restart_from_c0 else c if carry_c or t == 0 else c.detach()
        c = f * c_prev + i * candidate(blocks["g"])
        squashed = torch.tanh(c if h_feeds_c else c.detach()) if cell_tanh else c
        h = o * squashed
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, 1), torch.stack(cs, 1)


def _variant_grads(arrays, dh, dc_last=None, **mistake):
    x, h0, c0, W, U, b = (torch.tensor(a, requires_grad=True) for a in arrays)
    h, c = lstm_variant(x, h0, c0, W, U, b, **mistake)
    loss = (h * torch.as_tensor(dh)).sum()
    if dc_last is not None:
        loss = loss + (c[:, -1] * torch.as_tensor(dc_last)).sum()
    loss.backward()
    return [t.grad.numpy() if t.grad is not None else np.zeros(t.shape) for t in (x, h0, c0, W, U, b)]


def _variant_states(arrays, **mistake):
    with torch.no_grad():
        h, c = lstm_variant(*(torch.as_tensor(a) for a in arrays), **mistake)
    return h.numpy(), c.numpy()


FORWARD_MISTAKES = (
    ("h_t = o_t * c_t: the tanh on the cell state is missing (h_t = o_t * tanh(c_t)).", dict(cell_tanh=False)),
    ("your gates are read in the order i, f, o, g; the book's blocks are i, f, g, o.", dict(order="ifog")),
    ("the candidate g_t uses a sigmoid; it is a tanh (values in [-1, 1]).", dict(candidate=torch.sigmoid)),
    ("the cell state is not carried: each step starts from c0 instead of c_{t-1}.", dict(restart_from_c0=True)),
)
BACKWARD_MISTAKES = (
    ("your gradients drop what reaches c_t through h_t = o_t * tanh(c_t): "
     "dc_t = dc_next + dh_t * o_t * (1 - tanh(c_t)**2).", dict(h_feeds_c=False)),
    ("your gradients do not carry dc from step t to step t-1 (dc_prev = dc_t * f_t).", dict(carry_c=False)),
    ("h_t = o_t * c_t: the tanh on the cell state is missing.", dict(cell_tanh=False)),
)


def _inputs(rng, B, T, D, H, scale=1.0, zero_state=False, dtype=np.float64):
    x = rng.normal(0, 1, (B, T, D))
    h0 = np.zeros((B, H)) if zero_state else np.tanh(rng.normal(0, 1, (B, H)))
    c0 = np.zeros((B, H)) if zero_state else rng.normal(0, 1, (B, H))
    W = rng.normal(0, scale / np.sqrt(D), (D, 4 * H))
    U = rng.normal(0, scale / np.sqrt(H), (H, 4 * H))
    b = rng.normal(0, 0.1 * scale, 4 * H)
    return [a.astype(dtype) for a in (x, h0, c0, W, U, b)]


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-9)


def forward_case(label, B, T, D, H, seed, *, scale=1.0, zero_state=False, dtype=np.float64, step=False) -> Case:
    rng = np.random.default_rng(seed)
    arrays = _inputs(rng, B, 1 if step else T, D, H, scale, zero_state)
    ref = oracles.lstm_reference(*arrays)
    hints = tuple((text, _variant_states(arrays, **m)) for text, m in FORWARD_MISTAKES
                  if not (step and "carried" in text))
    cast = [a.astype(dtype) for a in arrays]
    if step:
        names = ("x", "h_prev", "c_prev", "W", "U", "b")
        cast[0] = cast[0][:, 0]
        expected = (ref["h"][:, 0], ref["c"][:, 0])
        hints = tuple((t, (h[:, 0], c[:, 0])) for t, (h, c) in hints)
        return Case(STEP_FWD, label, "lstm_step_forward", tuple(zip(names, cast)), ("h_next", "c_next"),
                    tuple(e.astype(dtype) for e in expected), exact_dtype=dtype == np.float32, **_tol(dtype),
                    hints=hints)
    names = ("x", "h0", "c0", "W", "U", "b")
    return Case(FWD, label, "lstm_forward", tuple(zip(names, cast)), ("h", "c"),
                (ref["h"].astype(dtype), ref["c"].astype(dtype)), time_axis=1,
                exact_dtype=dtype == np.float32, **_tol(dtype), hints=hints)


def backward_case(label, B, T, D, H, seed, *, scale=1.0, zero_state=False, dh_scale=1.0, step=False,
                  rtol=1e-6, atol=1e-9) -> Case:
    rng = np.random.default_rng(seed)
    arrays = _inputs(rng, B, 1 if step else T, D, H, scale, zero_state)
    dh = rng.normal(0, dh_scale, (B, 1 if step else T, H))
    dc_last = rng.normal(0, dh_scale, (B, H)) if step else None
    ref = oracles.lstm_reference(*arrays, dh=dh, dc_last=dc_last)
    mistakes = [(text, m) for text, m in BACKWARD_MISTAKES if not (step and "carry" in text)]
    hints = [(text, _variant_grads(arrays, dh, dc_last, **m)) for text, m in mistakes]
    if step:
        x, h0, c0, W, U, b = arrays
        args = (("dh_next", dh[:, 0]), ("dc_next", dc_last), ("x", x[:, 0]), ("h_prev", h0), ("c_prev", c0),
                ("W", W), ("U", U), ("b", b))
        expected = (ref["dx"][:, 0], ref["dh0"], ref["dc0"], ref["dW"], ref["dU"], ref["db"])
        hints = [(t, (g[0][:, 0], *g[1:])) for t, g in hints]
        return Case(STEP_BWD, label, "lstm_step_backward", args, ("dx", "dh_prev", "dc_prev", "dW", "dU", "db"),
                    expected, rtol=rtol, atol=atol, hints=tuple((t, tuple(g)) for t, g in hints), gate_blocks=GATES)
    names = ("dh", "x", "h0", "c0", "W", "U", "b")
    return Case(BWD, label, "lstm_backward", tuple(zip(names, [dh, *arrays])), SEQ_GRADS,
                tuple(ref[k] for k in SEQ_GRADS), time_axis=1, rtol=rtol, atol=atol,
                hints=tuple((t, tuple(g)) for t, g in hints), gate_blocks=GATES)


def visible_cases(test_id: str) -> list[Case]:
    """The cases a student runs in the notebook (the grader runs them too)."""
    return {
        STEP_FWD: lambda: [forward_case("B=2, D=3, H=4", 2, 1, 3, 4, seed=21, step=True)],
        FWD: lambda: [forward_case("B=2, T=5, D=3, H=4", 2, 5, 3, 4, seed=22)],
        STEP_BWD: lambda: [backward_case("B=2, D=3, H=4", 2, 1, 3, 4, seed=23, step=True)],
        BWD: lambda: [backward_case("B=2, T=4, D=3, H=4", 2, 4, 3, 4, seed=24)],
    }[test_id]()


def _gradient_check(fn) -> None:
    """Numerical check of the student's lstm_backward on a tiny problem; reports the worst entry."""
    params = dict(zip(("x", "h0", "c0", "W", "U", "b"), _inputs(np.random.default_rng(5), 2, 3, 2, 3)))
    check_sequence_backward(fn, lambda *a: oracles.lstm_reference(*a)["h"], params,
                            np.random.default_rng(6).normal(size=(2, 3, 3)))


def check(test_id: str, fn) -> None:
    """Run the visible cases of one test cell (and a numerical gradient check for lstm_backward)."""
    run_cases(visible_cases(test_id), fn)
    if test_id == BWD:
        _gradient_check(fn)
