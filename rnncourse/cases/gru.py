"""Cases for Chapter 5's exercise: the GRU (Cho et al., 2014) and its mapping to PyTorch's `nn.GRU`.

Parameters in the book's layout: W (D, 3H), U (H, 3H), b (3H,), gate blocks r, z, n (reset, update,
candidate); h_t = (1 - z_t) ⊙ h_{t-1} + z_t ⊙ n_t with n_t = tanh(x_t W_n + (r_t ⊙ h_{t-1}) U_n + b_n).
Signatures (batch first):
    gru_step_forward(x, h_prev, W, U, b)          -> h_next (B, H)
    gru_forward(x, h0, W, U, b)                   -> h (B, T, H)
    gru_step_backward(dh_next, x, h_prev, W, U, b) -> (dx, dh_prev, dW, dU, db)
    gru_backward(dh, x, h0, W, U, b)              -> (dx, dh0, dW, dU, db)
    gru_params_from_torch(weight_ih, weight_hh, bias_ih, bias_hh) -> (W, U, b)
References: autograd through a torch implementation of the book's form, and `nn.GRU` itself where the
two forms agree (diagonal U_n, zero b_hn).
"""
from __future__ import annotations

import numpy as np
import torch

from rnncourse import oracles
from rnncourse.checking import Case, run_cases
from rnncourse.gradcheck import check_sequence_backward

STEP_FWD, FWD, STEP_BWD, BWD, MAP = ("test_gru_step_forward", "test_gru_forward", "test_gru_step_backward",
                                     "test_gru_backward", "test_gru_params_from_torch")
GATES = ("reset gate r", "update gate z", "candidate n")  # the column blocks of W, U, b


def _gates(x_t, h, W, U, b):
    """r, z and the three blocks of n's pre-activation (x W_n + b_n, U_n) of the book's GRU."""
    H = h.shape[1]
    ax = x_t @ W + b
    r = torch.sigmoid(ax[:, :H] + h @ U[:, :H])
    z = torch.sigmoid(ax[:, H:2 * H] + h @ U[:, H:2 * H])
    return r, z, ax[:, 2 * H:], U[:, 2 * H:]


def _swapped_z(x_t, h, W, U, b):
    r, z, xn, Un = _gates(x_t, h, W, U, b)
    return z * h + (1 - z) * torch.tanh(xn + (r * h) @ Un)


def _reset_after(x_t, h, W, U, b):
    r, z, xn, Un = _gates(x_t, h, W, U, b)
    return (1 - z) * h + z * torch.tanh(xn + r * (h @ Un))


def _reset_on_candidate(x_t, h, W, U, b):
    r, z, xn, Un = _gates(x_t, h, W, U, b)
    return (1 - z) * h + z * r * torch.tanh(xn + h @ Un)


MISTAKES = (   # the hint, and the mistaken cell (for `oracles.gru_reference(step=...)`)
    ("z and 1 - z are swapped: the book's h_t = (1 - z_t) * h_{t-1} + z_t * n_t "
     "(PyTorch's nn.GRU writes the other way round).", _swapped_z),
    ("you applied the reset gate after the product, r * (h U_n) (PyTorch's form); "
     "the book's candidate uses (r * h) U_n.", _reset_after),
    ("you applied the reset gate to the candidate, r * tanh(...); it scales the previous state inside "
     "the candidate: tanh(x W_n + (r * h) U_n + b_n).", _reset_on_candidate),
)


def _inputs(rng, B, T, D, H, scale=1.0, zero_state=False, diagonal_un=False, dtype=np.float64):
    x = rng.normal(0, 1, (B, T, D))
    h0 = np.zeros((B, H)) if zero_state else np.tanh(rng.normal(0, 1, (B, H)))
    W = rng.normal(0, scale / np.sqrt(D), (D, 3 * H))
    U = rng.normal(0, scale / np.sqrt(H), (H, 3 * H))
    if diagonal_un:
        U[:, 2 * H:] = np.diag(rng.normal(0, scale, H))
    b = rng.normal(0, 0.1 * scale, 3 * H)
    return [a.astype(dtype) for a in (x, h0, W, U, b)]


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-6, atol=1e-9)


def forward_case(label, B, T, D, H, seed, *, step=False, dtype=np.float64, against_torch=False, **kind) -> Case:
    """Forward outputs; with `against_torch`, the reference is PyTorch's nn.GRU (U_n made diagonal)."""
    arrays = _inputs(np.random.default_rng(seed), B, 1 if step else T, D, H, diagonal_un=against_torch, **kind)
    if against_torch:
        with torch.no_grad():
            ref, _ = oracles.torch_gru_from_book(*arrays[2:])(torch.as_tensor(arrays[0]),
                                                               torch.as_tensor(arrays[1])[None])
        ref = ref.numpy()
    else:
        ref = oracles.gru_reference(*arrays)["h"]
    pick = (lambda a: a[:, 0]) if step else (lambda a: a)
    hints = tuple((t, (pick(oracles.gru_reference(*arrays, step=m)["h"]).astype(dtype),)) for t, m in MISTAKES)
    cast = [a.astype(dtype) for a in arrays]
    if step:
        cast[0] = cast[0][:, 0]
    names = ("x", "h_prev" if step else "h0", "W", "U", "b")
    return Case(STEP_FWD if step else FWD, label, "gru_step_forward" if step else "gru_forward",
                tuple(zip(names, cast)), ("h_next",) if step else ("h",), (pick(ref).astype(dtype),),
                time_axis=None if step else 1, exact_dtype=dtype == np.float32, **_tol(dtype), hints=hints)


def backward_case(label, B, T, D, H, seed, *, step=False, dh_scale=1.0, **kind) -> Case:
    rng = np.random.default_rng(seed)
    arrays = _inputs(rng, B, 1 if step else T, D, H, **kind)
    dh = rng.normal(0, dh_scale, (B, 1 if step else T, H))
    names = oracles.GRU_GRADS
    ref = oracles.gru_reference(*arrays, dh=dh)
    wrong = [(t, oracles.gru_reference(*arrays, dh=dh, step=m)) for t, m in MISTAKES]
    if step:
        x, h0, W, U, b = arrays
        pick = lambda r: (r["dx"][:, 0], *(r[k] for k in names[1:]))  # noqa: E731
        args = (("dh_next", dh[:, 0]), ("x", x[:, 0]), ("h_prev", h0), ("W", W), ("U", U), ("b", b))
        return Case(STEP_BWD, label, "gru_step_backward", args, ("dx", "dh_prev", "dW", "dU", "db"), pick(ref),
                    hints=tuple((t, pick(r)) for t, r in wrong), gate_blocks=GATES)
    args = tuple(zip(("dh", "x", "h0", "W", "U", "b"), [dh, *arrays]))
    return Case(BWD, label, "gru_backward", args, names, tuple(ref[k] for k in names), time_axis=1,
                hints=tuple((t, tuple(r[k] for k in names)) for t, r in wrong), gate_blocks=GATES)


def mapping_case(label, B, T, D, H, seed) -> Case:
    """The student maps an nn.GRU's weights to the book's layout; the checker runs the book's GRU with
    them and compares with nn.GRU itself (whose U_n is made diagonal and b_hn zero, so both forms agree)."""
    x, h0, W, U, b = _inputs(np.random.default_rng(seed), B, T, D, H, diagonal_un=True)
    gru = oracles.torch_gru_from_book(W, U, b)
    with torch.no_grad():
        gru.bias_hh_l0[:2 * H] = torch.as_tensor(np.random.default_rng(seed + 1).normal(0, 0.3, 2 * H))
        expected, _ = gru(torch.as_tensor(x), torch.as_tensor(h0)[None])
    torch_args = [p.detach().numpy().copy() for p in (gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0,
                                                      gru.bias_hh_l0)]

    def run_book_gru(W_, U_, b_):
        for name, got, want in (("W", W_, W), ("U", U_, U), ("b", b_, b)):
            if got.shape != want.shape:
                raise ValueError(f"{name} has shape {got.shape}, expected {want.shape}")
        return [oracles.gru_reference(x, h0, W_, U_, b_)["h"]]

    w_ih, w_hh, b_ih, b_hh = torch_args
    hints = (
        ("your mapping keeps the sign of the update gate: PyTorch's z weighs the old state, so the "
         "book's z is 1 - z_torch and its z block of W, U and b changes sign.",
         tuple(run_book_gru(w_ih.T, w_hh.T, b_ih + b_hh))),
        ("your mapping drops bias_hh: PyTorch adds its two biases, b_ih + b_hh.",
         tuple(run_book_gru(*_flip_z(w_ih.T, w_hh.T, b_ih)))),
    )
    return Case(MAP, label, "gru_params_from_torch",
                tuple(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), torch_args)), ("h",),
                (expected.numpy(),), time_axis=1, hints=hints, transform=run_book_gru)


def _flip_z(W, U, b):
    H = U.shape[0]
    flip = np.concatenate([np.ones(H), -np.ones(H), np.ones(H)])
    return W * flip, U * flip, b * flip


def visible_cases(test_id: str) -> list[Case]:
    """The cases a student runs in the notebook (the grader runs them too)."""
    return {
        STEP_FWD: lambda: [forward_case("B=2, D=3, H=4", 2, 1, 3, 4, seed=41, step=True)],
        FWD: lambda: [forward_case("B=2, T=5, D=3, H=4", 2, 5, 3, 4, seed=42)],
        STEP_BWD: lambda: [backward_case("B=2, D=3, H=4", 2, 1, 3, 4, seed=43, step=True)],
        BWD: lambda: [backward_case("B=2, T=4, D=3, H=4", 2, 4, 3, 4, seed=44)],
        MAP: lambda: [mapping_case("nn.GRU(3, 4), T=5", 2, 5, 3, 4, seed=45)],
    }[test_id]()


def _gradient_check(fn) -> None:
    """Numerical check of the student's gru_backward on a tiny problem; reports the worst entry."""
    params = dict(zip(("x", "h0", "W", "U", "b"), _inputs(np.random.default_rng(10), 2, 3, 2, 3)))
    check_sequence_backward(fn, lambda *a: oracles.gru_reference(*a)["h"], params,
                            np.random.default_rng(11).normal(size=(2, 3, 3)))


def check(test_id: str, fn) -> None:
    """Run the visible cases of one test cell (and a numerical gradient check for gru_backward)."""
    run_cases(visible_cases(test_id), fn)
    if test_id == BWD:
        _gradient_check(fn)
