"""The book's LSTM cell in torch operations, written once: plain (Chapter 3) or with peepholes (Chapter 4).

Parameters in the book's layout: W (D, 4H), U (H, 4H), b (4H,) with gate blocks i, f, g, o, and for the
peephole LSTM (Gers and Schmidhuber, 2000) three vectors p_i, p_f, p_o (H,):

    a_t = x_t W + h_{t-1} U + b,            split into a^i, a^f, a^g, a^o
    i_t = σ(a^i_t + p_i ⊙ c_{t-1}),  f_t = σ(a^f_t + p_f ⊙ c_{t-1}),  g_t = tanh(a^g_t)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,  o_t = σ(a^o_t + p_o ⊙ c_t),    h_t = o_t ⊙ tanh(c_t)

Without peepholes (None) it is Chapter 3's LSTM, which is also what `nn.LSTM` computes.
Every loop iterates with `unbind`, not `x[:, t]`: the backward of indexing writes a full-size zero tensor
at every step.
"""
from __future__ import annotations

from typing import Callable

import torch

Peepholes = tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None


def pointwise(a: torch.Tensor, c: torch.Tensor, p_i=None, p_f=None, p_o=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Everything of one step after the matrix products: a (B, 4H) = x_t W + h_{t-1} U + b, c = c_{t-1}.

    Returns (h_t, c_t). Elementwise only: the peepholes (all three, or None) are vectors, one weight per
    unit and gate. Leading axes broadcast (a (..., 4H), c (..., H)), so stacked models can share it.
    """
    ai, af, ag, ao = a.chunk(4, dim=-1)
    if p_i is not None:
        ai, af = ai + p_i * c, af + p_f * c
    c = torch.sigmoid(af) * c + torch.sigmoid(ai) * torch.tanh(ag)
    if p_o is not None:
        ao = ao + p_o * c                    # the output gate sees the NEW cell state
    return torch.sigmoid(ao) * torch.tanh(c), c


def input_projection(x: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x W + b for every step at once, x (B, T, D): one (T·B, D) @ (D, 4H) product, time-major (T, B, 4H)
    so that each step's slice is contiguous."""
    B, T, D = x.shape
    return torch.addmm(b, x.transpose(0, 1).reshape(T * B, D), W).view(T, B, -1)


def sequence_eager(x, h, c, W, U, b, peepholes: Peepholes = None, step: Callable = pointwise):
    """A Python loop over time, both products inside the loop. x (B, T, D), h, c (B, H).

    Returns (all h (B, T, H), h_T, c_T)."""
    hs = []
    for x_t in x.unbind(1):
        h, c = step(x_t @ W + h @ U + b, c, *(peepholes or ()))
        hs.append(h)
    return torch.stack(hs, 1), h, c


def sequence_hoisted(x, h, c, W, U, b, peepholes: Peepholes = None, step: Callable = pointwise):
    """As `sequence_eager`, with the input projection of all steps done first (`input_projection`):
    only h U and the gate math stay in the loop. `step` may be a compiled `pointwise`."""
    hs = []
    for ax_t in input_projection(x, W, b).unbind(0):
        h, c = step(torch.addmm(ax_t, h, U), c, *(peepholes or ()))
        hs.append(h)
    return torch.stack(hs, 1), h, c


def sequence_stacked(x, h0, c0, W, U, b, p_i, p_f, p_o) -> torch.Tensor:
    """M independent peephole LSTMs at once, each on its own batch: every argument has a leading model axis.

    x (M, B, T, D), h0, c0 (M, B, H), W (M, D, 4H), U (M, H, 4H), b (M, 4H), p_* (M, H). Returns all hidden
    states (M, B, T, H). The hoisted loop with batched matrix products, so M small models cost about as
    many kernel launches as one: a cheap way to train several seeds side by side.
    """
    M, B, T, D = x.shape
    ax = torch.baddbmm(b[:, None], x.reshape(M, B * T, D), W).view(M, B, T, -1)
    p_i, p_f, p_o = p_i[:, None], p_f[:, None], p_o[:, None]
    h, c, hs = h0, c0, []
    for ax_t in ax.unbind(2):
        h, c = pointwise(torch.baddbmm(ax_t, h, U), c, p_i, p_f, p_o)
        hs.append(h)
    return torch.stack(hs, 2)
