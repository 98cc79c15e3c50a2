"""The book's NumPy RNN as a character-level language model, trained by truncated BPTT on a stream with the
same data, chunks, optimiser, budget and loop (`rnncourse.char_lm_torch.run_training`) as PyTorch's models.

Instructor-side: its functions answer the capstone exercise. Characters enter as one-hot vectors, so the NumPy
model and `nn.RNN` have exactly the same parameters: Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from rnncourse import char_lm_torch
from rnncourse.answers.numpy_rnn import clip_grad_norm, cross_entropy, rnn_backward, rnn_forward
from rnncourse.char_lm_torch import LN2
from rnncourse.text import VOCAB, stream_chunks

PARAM_NAMES = ("Wx", "Wh", "b", "Wy", "by")


# --- sampling ------------------------------------------------------------------------------------------------

def sample_next(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Probabilities softmax(logits / temperature) (V,) and one index drawn from them with `rng.choice`."""
    s = logits / temperature
    p = np.exp(s - s.max())
    p /= p.sum()
    return p, int(rng.choice(len(p), p=p))


# --- the NumPy model -------------------------------------------------------------------------------------------

def init_params(hidden: int, rng: np.random.Generator, vocab: int = VOCAB) -> list[np.ndarray]:
    """[Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,)], scaled like PyTorch's defaults."""
    s = 1 / math.sqrt(hidden)
    return [rng.uniform(-s, s, (vocab, hidden)), rng.uniform(-s, s, (hidden, hidden)), np.zeros(hidden),
            rng.uniform(-s, s, (hidden, vocab)), np.zeros(vocab)]


def tbptt_step(params: list[np.ndarray], x: np.ndarray, y: np.ndarray, h0: np.ndarray):
    """Loss and gradients of one chunk, x, y (B, T) ids, starting from the carried state h0 (B, H).

    Returns (loss, [dWx, dWh, db, dWy, dby], h_T): the mean cross-entropy in nats, the gradients, and the
    last state, which the next chunk starts from. No gradient flows into h0: the truncation.
    """
    Wx, Wh, b, Wy, by = params
    onehot = np.eye(Wx.shape[0])[x]                                   # (B, T, V)
    h = rnn_forward(onehot, h0, Wx, Wh, b)                           # (B, T, H)
    loss, dlogits = cross_entropy(h @ Wy + by, y)
    H, V = Wy.shape
    dWy = h.reshape(-1, H).T @ dlogits.reshape(-1, V)
    _, _, dWx, dWh, db = rnn_backward(dlogits @ Wy.T, onehot, h0, h, Wx, Wh)
    return loss, [dWx, dWh, db, dWy, dlogits.sum(axis=(0, 1))], h[:, -1]


class Adam:
    """Adam (Kingma and Ba, 2015) on a list of NumPy arrays, updated in place; PyTorch's defaults."""

    def __init__(self, params: list[np.ndarray], lr: float, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        self.params, self.lr, self.betas, self.eps, self.t = params, lr, betas, eps, 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.t += 1
        b1, b2 = self.betas
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p -= self.lr * (m / (1 - b1 ** self.t)) / (np.sqrt(v / (1 - b2 ** self.t)) + self.eps)


def numpy_bits_per_char(params: list[np.ndarray], ids: np.ndarray, chunk: int = 256) -> float:
    """Bits per character of the NumPy model on one long text, read in chunks with the state carried."""
    Wx, Wh, b, Wy, by = params
    h, total = np.zeros((1, Wh.shape[0])), 0.0
    for s in range(0, len(ids) - 1, chunk):
        x, y = ids[None, s:s + chunk], ids[None, s + 1:s + chunk + 1]
        x = x[:, : y.shape[1]]
        states = rnn_forward(np.eye(Wx.shape[0])[x], h, Wx, Wh, b)
        total += cross_entropy(states @ Wy + by, y)[0] * y.size
        h = states[:, -1]
    return total / (len(ids) - 1) / LN2


def numpy_next_logits(params: list[np.ndarray]) -> Callable[[int], np.ndarray]:
    """A one-character-at-a-time reader for `generate`, holding the NumPy model's state."""
    Wx, Wh, b, Wy, by = params
    h = np.zeros(Wh.shape[0])

    def step(ch: int) -> np.ndarray:
        nonlocal h
        h = np.tanh(Wx[ch] + h @ Wh + b)                              # one-hot x_t picks the row Wx[ch]
        return h @ Wy + by
    return step


# --- training -----------------------------------------------------------------------------------------------------

def train_char_lm(kind: str, train_ids: np.ndarray, valid_ids: np.ndarray, *, hidden: int = 64, steps: int = 1000,
                  batch: int = 32, chunk: int = 32, lr: float = 3e-3, clip: float = 1.0, seed: int = 0,
                  device="cpu", eval_every: int = 200, sample_every: int = 0, prompt: str = "def ",
                  sample_length: int = 200, temperature: float = 0.7) -> dict:
    """Train `kind`: "numpy" for the book's NumPy RNN (on the CPU), or "rnn", "lstm", "gru" for PyTorch's
    (`char_lm_torch.train_char_lm`, on `device`), with Adam and clipping by global norm, by truncated BPTT over
    `stream_chunks(train_ids, batch, chunk)`. Every model sees the same chunks in the same order. Returns the
    record of `char_lm_torch.run_training` with kind, parameters, model, hidden and reader.
    """
    loop = dict(steps=steps, seed=seed, eval_every=eval_every, sample_every=sample_every, prompt=prompt,
                sample_length=sample_length, temperature=temperature)
    if kind != "numpy":
        return char_lm_torch.train_char_lm(kind, train_ids, valid_ids, hidden=hidden, batch=batch, chunk=chunk,
                                           lr=lr, clip=clip, device=device, **loop)
    params = init_params(hidden, np.random.default_rng(seed))
    optimizer, h = Adam(params, lr), None

    def train_step(x, y, restart):
        nonlocal h
        if restart:
            h = np.zeros((batch, hidden))                         # the text starts again: so does the state
        loss, grads, h = tbptt_step(params, x, y, h)
        optimizer.step(clip_grad_norm(grads, clip)[0])
        return loss

    reader = lambda: numpy_next_logits(params)                     # noqa: E731
    run = char_lm_torch.run_training(train_step, lambda: numpy_bits_per_char(params, valid_ids), reader,
                                     stream_chunks(train_ids, batch, chunk), **loop)
    return {**run, "kind": kind, "parameters": sum(p.size for p in params), "model": params, "hidden": hidden,
            "reader": reader}
