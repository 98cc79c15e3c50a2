"""The book's vanilla RNN in NumPy: the functions of Chapters 1 and 2, written once for the pages that train it.

Shapes are batch first, rows as in the book: x (B, T, D), h0 (B, H), Wx (D, H), Wh (H, H), b (H,).
They do what Exercises 1 and 2 ask (with their own signatures), so no chapter prints this file; the capstone
chapter imports it.
"""
from __future__ import annotations

import numpy as np


def rnn_forward(x: np.ndarray, h0: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All hidden states h_1..h_T, shape (B, T, H): h_t = tanh(x_t Wx + h_{t-1} Wh + b)."""
    xw = x @ Wx + b                                   # the input projection of every step in one product
    h, states = h0, []
    for t in range(x.shape[1]):
        h = np.tanh(xw[:, t] + h @ Wh)
        states.append(h)
    return np.stack(states, axis=1)


def rnn_backward(dh: np.ndarray, x: np.ndarray, h0: np.ndarray, h: np.ndarray, Wx: np.ndarray,
                 Wh: np.ndarray) -> tuple[np.ndarray, ...]:
    """BPTT of L with dL/dh_t = dh[:, t] from the outputs (B, T, H), given the states h (B, T, H) of the forward.

    Returns dx (B, T, D), dh0 (B, H), dWx (D, H), dWh (H, H), db (H,).
    """
    T = x.shape[1]
    da = np.empty_like(h)
    carried = np.zeros_like(h0)                       # the part of dL/dh_t that comes through h_{t+1}
    for t in reversed(range(T)):
        da[:, t] = (dh[:, t] + carried) * (1 - h[:, t] ** 2)
        carried = da[:, t] @ Wh.T
    previous = np.concatenate([h0[:, None], h[:, :-1]], axis=1)      # h_0 .. h_{T-1}
    B, _, H = h.shape
    dWx = x.reshape(B * T, -1).T @ da.reshape(B * T, H)
    dWh = previous.reshape(B * T, H).T @ da.reshape(B * T, H)
    return da @ Wx.T, carried, dWx, dWh, da.sum(axis=(0, 1))


def clip_grad_norm(grads: list[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    """Scale all arrays by one factor min(1, max_norm / ||δθ||), ||δθ|| the 2-norm of all entries together;
    return the scaled arrays and ||δθ|| before clipping (as `torch.nn.utils.clip_grad_norm_`)."""
    norm = float(np.sqrt(sum(np.vdot(g, g) for g in grads)))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [g * scale for g in grads], norm


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean softmax cross-entropy over all (B, T) positions of logits (B, T, V) and its gradient (B, T, V)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)          # no overflow in exp (Chapter 1)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_p, y[..., None], axis=-1)
    grad = np.exp(log_p)
    np.put_along_axis(grad, y[..., None], np.take_along_axis(grad, y[..., None], axis=-1) - 1, axis=-1)
    return float(-picked.mean()), grad / y.size
