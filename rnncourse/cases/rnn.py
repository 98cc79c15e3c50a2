"""Cases for Chapter 1's exercise: `rnn_step_forward`, `rnn_forward`, `softmax_cross_entropy`.

Shapes (batch first): x_t (B, D), h (B, H), W_x (D, H), W_h (H, H), b (H,);
a sequence x is (B, T, D) and its hidden states (B, T, H).
References come from PyTorch (`rnncourse.oracles`), never from the student's code.
"""
from __future__ import annotations

import numpy as np
import torch

from rnncourse import oracles
from rnncourse.checking import Case, run_cases

STEP, FORWARD, LOSS = "test_rnn_step_forward", "test_rnn_forward", "test_softmax_cross_entropy"


def _params(rng, D, H, scale=1.0):
    Wx = rng.normal(0, scale / np.sqrt(D), (D, H))
    Wh = rng.normal(0, scale / np.sqrt(H), (H, H))
    b = rng.normal(0, 0.1 * scale, H)
    return Wx, Wh, b


def _tolerances(dtype):
    return (dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-9))


def _linear_sequence(x, h0, Wx, Wh, b, *, squash=True, carry=True):
    """The sequence with a typical mistake switched on: no tanh, or h0 reused at every step."""
    xt, h = torch.as_tensor(x), torch.as_tensor(h0)
    start, out = h, []
    for t in range(xt.shape[1]):
        a = xt[:, t] @ torch.as_tensor(Wx) + (h if carry else start) @ torch.as_tensor(Wh) + torch.as_tensor(b)
        h = torch.tanh(a) if squash else a
        out.append(h)
    return torch.stack(out, 1).numpy()


def step_case(label, B, D, H, seed, *, scale=1.0, dtype=np.float64, test_id=STEP) -> Case:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, scale, (B, D))
    h = np.tanh(rng.normal(0, 1, (B, H)))
    Wx, Wh, b = _params(rng, D, H)
    args = [a.astype(dtype) for a in (x, h, Wx, Wh, b)]
    exp = oracles.rnn_step_reference(*args).astype(dtype)
    no_tanh = _linear_sequence(args[0][:, None], *args[1:], squash=False)[:, 0]
    return Case(test_id, label, "rnn_step_forward",
                tuple(zip(("x", "h_prev", "Wx", "Wh", "b"), args)), ("h_next",), (exp,),
                exact_dtype=dtype == np.float32, **_tolerances(dtype),
                hints=(("your output equals x W_x + h W_h + b: the tanh is missing.", (no_tanh.astype(dtype),)),))


def forward_case(label, B, T, D, H, seed, *, scale=1.0, dtype=np.float64, test_id=FORWARD) -> Case:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, scale, (B, T, D))
    h0 = np.tanh(rng.normal(0, 1, (B, H)))
    Wx, Wh, b = _params(rng, D, H)
    args = [a.astype(dtype) for a in (x, h0, Wx, Wh, b)]
    exp = oracles.rnn_reference(*args).astype(dtype)
    hints = (
        ("every step used h0 instead of the previous hidden state: carry h from step t-1 to step t.",
         (_linear_sequence(*args, carry=False).astype(dtype),)),
        ("your states equal x_t W_x + h_{t-1} W_h + b: the tanh is missing.",
         (_linear_sequence(*args, squash=False).astype(dtype),)),
        ("your output is time-major (T, B, H); return the hidden states batch first, (B, T, H).",
         (exp.transpose(1, 0, 2),)),
    )
    return Case(test_id, label, "rnn_forward", tuple(zip(("x", "h0", "Wx", "Wh", "b"), args)), ("h",), (exp,),
                time_axis=1, exact_dtype=dtype == np.float32, **_tolerances(dtype), hints=hints)


def prefix_cases(label, lengths, T, D, H, seed, *, test_id=FORWARD) -> list[Case]:
    """Variable-length sequences: a padded batch (len(lengths), T, D) runs through `nn.RNN` packed, and each
    sequence's unpadded prefix, run alone through the student's `rnn_forward`, must give the same states."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, (len(lengths), T, D))
    h0 = np.tanh(rng.normal(0, 1, (len(lengths), H)))
    Wx, Wh, b = _params(rng, D, H)
    packed, _ = oracles.rnn_reference_packed(x, lengths, h0, Wx, Wh, b)
    return [Case(test_id, f"{label}: sequence {i + 1} of {len(lengths)}, its first {n} of {T} steps", "rnn_forward",
                 tuple(zip(("x", "h0", "Wx", "Wh", "b"), (x[i:i + 1, :n], h0[i:i + 1], Wx, Wh, b))), ("h",),
                 (packed[i:i + 1, :n],), time_axis=1, **_tolerances(np.float64))
            for i, n in enumerate(lengths)]


def loss_case(label, B, T, V, seed, *, scale=1.0, dtype=np.float64, test_id=LOSS) -> Case:
    rng = np.random.default_rng(seed)
    logits = (rng.normal(0, scale, (B, T, V))).astype(dtype)
    y = rng.integers(0, V, (B, T))
    exp = oracles.cross_entropy_reference(logits, y)
    hints = (
        ("your loss is the sum over all B*T positions; the book's loss is their mean.", (exp * B * T,)),
        ("your loss is averaged over the batch only; average over time steps too.", (exp * T,)),
    )
    return Case(test_id, label, "softmax_cross_entropy", (("logits", logits), ("y", y)), ("loss",), (exp,),
                **_tolerances(dtype), hints=hints,
                nonfinite_hint="Large logits overflow np.exp: subtract each row's maximum before exponentiating.")


def visible_cases(test_id: str) -> list[Case]:
    """The cases a student runs in the notebook (the grader runs them too)."""
    return {
        STEP: lambda: [step_case("B=2, D=3, H=4", 2, 3, 4, seed=1)],
        FORWARD: lambda: [forward_case("B=2, T=5, D=3, H=4", 2, 5, 3, 4, seed=2)],
        LOSS: lambda: [loss_case("B=2, T=3, V=5", 2, 3, 5, seed=3)],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the visible cases of one test cell against the student's function."""
    run_cases(visible_cases(test_id), fn)
