"""Cases for Chapter 2's exercise: `rnn_step_backward`, `rnn_backward`, `clip_grad_norm`.

Signatures (batch first, as in Chapter 1):
    rnn_step_backward(dh_next, x, h_prev, Wx, Wh, b) -> (dx, dh_prev, dWx, dWh, db)
    rnn_backward(dh, x, h0, Wx, Wh, b)               -> (dx, dh0, dWx, dWh, db)
    clip_grad_norm(grads, max_norm)                  -> (clipped_grads, total_norm)
`dh_next` (B, H) is dL/dh_t; `dh` (B, T, H) holds dL/dh_t coming from the outputs at every step.
References: PyTorch autograd through `nn.RNN` with the same weights (`rnncourse.oracles`).
"""
from __future__ import annotations

import numpy as np
import torch

from rnncourse import oracles
from rnncourse.checking import Case, run_cases
from rnncourse.gradcheck import check_gradients

STEP, BACKWARD, CLIP = "test_rnn_step_backward", "test_rnn_backward", "test_clip_grad_norm"
GRADS = ("dx", "dh0", "dWx", "dWh", "db")


class _TanhWrongDerivative(torch.autograd.Function):
    """tanh whose backward uses 1 - a**2 of the pre-activation a (a typical mistake)."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        return torch.tanh(a)

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.saved_tensors
        return grad * (1 - a**2)


def _mistaken_gradients(x, h0, Wx, Wh, b, dh, *, carry=True, wrong_derivative=False):
    """Gradients of sum(h * dh) when the backward pass makes one typical mistake."""
    xt, h0t = (torch.tensor(a, requires_grad=True) for a in (x, h0))
    W = [torch.tensor(a, requires_grad=True) for a in (Wx, Wh, b)]
    h, outs = h0t, []
    for t in range(x.shape[1]):
        prev = h if carry or t == 0 else h.detach()
        a = xt[:, t] @ W[0] + prev @ W[1] + W[2]
        h = _TanhWrongDerivative.apply(a) if wrong_derivative else torch.tanh(a)
        outs.append(h)
    (torch.stack(outs, 1) * torch.as_tensor(dh)).sum().backward()
    return [xt.grad.numpy(), h0t.grad.numpy(), W[0].grad.numpy(), W[1].grad.numpy(), W[2].grad.numpy()]


def _inputs(rng, B, T, D, H, w_scale, dh_scale, dtype):
    x = rng.normal(0, 1, (B, T, D))
    h0 = np.tanh(rng.normal(0, 1, (B, H)))
    Wx = rng.normal(0, 1 / np.sqrt(D), (D, H))
    Wh = rng.normal(0, w_scale / np.sqrt(H), (H, H))
    b = rng.normal(0, 0.1, H)
    dh = rng.normal(0, dh_scale, (B, T, H))
    return [a.astype(dtype) for a in (x, h0, Wx, Wh, b, dh)]


def backward_case(label, B, T, D, H, seed, *, w_scale=1.0, dh_scale=1.0, last_step_only=False,
                  rtol=1e-6, atol=1e-9, test_id=BACKWARD) -> Case:
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dh = _inputs(rng, B, T, D, H, w_scale, dh_scale, np.float64)
    if last_step_only:  # the loss sees only the last state: every earlier gradient comes through time
        dh[:, :-1] = 0
    ref = oracles.rnn_gradients(x, h0, Wx, Wh, b, dh)
    args = (("dh", dh), ("x", x), ("h0", h0), ("Wx", Wx), ("Wh", Wh), ("b", b))
    hints = (
        ("your gradients match a backward pass that does not carry dh_prev from step t to step t-1: "
         "add it to the upstream gradient of the previous step.",
         tuple(_mistaken_gradients(x, h0, Wx, Wh, b, dh, carry=False))),
        ("your gradients match tanh'(a) computed as 1 - a**2 of the pre-activation a; "
         "the derivative of tanh is 1 - tanh(a)**2 = 1 - h**2.",
         tuple(_mistaken_gradients(x, h0, Wx, Wh, b, dh, wrong_derivative=True))),
    )
    return Case(test_id, label, "rnn_backward", args, GRADS, tuple(ref[k] for k in GRADS),
                time_axis=1, rtol=rtol, atol=atol, hints=hints)


def step_case(label, B, D, H, seed, *, w_scale=1.0, test_id=STEP) -> Case:
    rng = np.random.default_rng(seed)
    x, h0, Wx, Wh, b, dh = _inputs(rng, B, 1, D, H, w_scale, 1.0, np.float64)
    ref = oracles.rnn_gradients(x, h0, Wx, Wh, b, dh)
    wrong = _mistaken_gradients(x, h0, Wx, Wh, b, dh, wrong_derivative=True)
    names = ("dx", "dh_prev", "dWx", "dWh", "db")
    args = (("dh_next", dh[:, 0]), ("x", x[:, 0]), ("h_prev", h0), ("Wx", Wx), ("Wh", Wh), ("b", b))
    hints = (("your gradients match tanh'(a) computed as 1 - a**2 of the pre-activation a; "
              "the derivative of tanh is 1 - tanh(a)**2 = 1 - h**2.", (wrong[0][:, 0], *wrong[1:])),)
    return Case(test_id, label, "rnn_step_backward", args, names,
                (ref["dx"][:, 0], ref["dh0"], ref["dWx"], ref["dWh"], ref["db"]), hints=hints)


def clip_case(label, shapes, max_norm, seed, *, scale=1.0, test_id=CLIP) -> Case:
    rng = np.random.default_rng(seed)
    grads = [rng.normal(0, scale, s) for s in shapes]
    clipped, norm = oracles.clip_by_global_norm(grads, max_norm)
    per_array = [g * min(1.0, max_norm / np.linalg.norm(g)) if np.linalg.norm(g) > 0 else g for g in grads]
    names = tuple(f"clipped[{i}]" for i in range(len(grads))) + ("total_norm",)
    hints = (("you clipped each array by its own norm; clip all of them by one global norm, "
              "the 2-norm of all entries together.", (*per_array, np.asarray(norm))),
             ("you scaled the gradients even though their norm is below max_norm; leave them unchanged then.",
              (*[g * max_norm / norm for g in grads], np.asarray(norm))) if 0 < norm < max_norm else ("", ()))
    hints = tuple(h for h in hints if h[0])
    return Case(test_id, label, "clip_grad_norm", (("grads", grads), ("max_norm", np.asarray(float(max_norm)))),
                names, (*clipped, np.asarray(norm)), hints=hints,
                nonfinite_hint="With all-zero gradients the norm is 0: do not divide by it.")


def visible_cases(test_id: str) -> list[Case]:
    """The cases a student runs in the notebook (the grader runs them too)."""
    return {
        STEP: lambda: [step_case("B=2, D=3, H=4", 2, 3, 4, seed=11)],
        BACKWARD: lambda: [backward_case("B=2, T=4, D=3, H=5", 2, 4, 3, 5, seed=12)],
        CLIP: lambda: [clip_case("norm above max_norm", [(3, 4), (4,)], 1.0, seed=13, scale=2.0),
                       clip_case("norm below max_norm", [(2, 2), (3,)], 100.0, seed=14)],
    }[test_id]()


def _gradient_check(test_id: str, fn) -> None:
    """A numerical check of the student's gradients, with the worst entry reported."""
    rng = np.random.default_rng(7)
    B, T, D, H = 2, 3, 3, 4
    x, h0, Wx, Wh, b, dh = _inputs(rng, B, T, D, H, 1.0, 1.0, np.float64)
    if test_id == STEP:
        x, dh = x[:, :1], dh[:, :1]
    params = {"x": x, "h0": h0, "Wx": Wx, "Wh": Wh, "b": b}

    def loss():
        return float((oracles.rnn_reference(x, h0, Wx, Wh, b) * dh).sum())

    if test_id == STEP:
        grads = fn(dh[:, 0].copy(), x[:, 0].copy(), h0.copy(), Wx.copy(), Wh.copy(), b.copy())
        grads = (grads[0][:, None], *grads[1:])
    else:
        grads = fn(dh.copy(), x.copy(), h0.copy(), Wx.copy(), Wh.copy(), b.copy())
    check_gradients(loss, params, dict(zip(params, grads)))


def check(test_id: str, fn) -> None:
    """Run the visible cases of one test cell (and, for gradients, a numerical gradient check)."""
    run_cases(visible_cases(test_id), fn)
    if test_id in (STEP, BACKWARD):
        _gradient_check(test_id, fn)
