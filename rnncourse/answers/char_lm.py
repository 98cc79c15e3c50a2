"""Character-level language models trained by truncated BPTT on a stream: the book's NumPy RNN and
PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU`, with the same data, chunks, optimiser and budget.

Loss is reported in bits per character (cross-entropy / ln 2). Characters enter as one-hot vectors, so the
NumPy model and `nn.RNN` have exactly the same parameters: Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,).
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnncourse.answers.numpy_rnn import clip_grad_norm, cross_entropy, rnn_backward, rnn_forward
from rnncourse.text import VOCAB, decode, encode, stream_chunks
from rnncourse.training import CELLS

LN2 = math.log(2)
PARAM_NAMES = ("Wx", "Wh", "b", "Wy", "by")


# --- sampling ------------------------------------------------------------------------------------------------

def sample_next(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Probabilities softmax(logits / temperature) (V,) and one index drawn from them with `rng.choice`."""
    s = logits / temperature
    p = np.exp(s - s.max())
    p /= p.sum()
    return p, int(rng.choice(len(p), p=p))


def generate(next_logits: Callable[[int], np.ndarray], prompt: str, length: int, temperature: float,
             rng: np.random.Generator) -> str:
    """`length` characters after `prompt`; `next_logits(id)` feeds one character to a model holding its
    state and returns the logits (V,) of the next one."""
    for ch in encode(prompt)[:-1]:
        next_logits(int(ch))
    current, out = int(encode(prompt)[-1]), []
    for _ in range(length):
        _, current = sample_next(next_logits(current), temperature, rng)
        out.append(current)
    return decode(out)



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


# --- the PyTorch models -------------------------------------------------------------------------------------------

class CharModel(nn.Module):
    """One-hot characters -> `nn.RNN` / `nn.LSTM` / `nn.GRU` (batch first) -> a linear layer to V logits."""

    def __init__(self, kind: str, hidden: int, vocab: int = VOCAB) -> None:
        super().__init__()
        self.kind, self.vocab = kind, vocab
        self.rnn = CELLS[kind](vocab, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor, state=None):
        """x (B, T) ids -> logits (B, T, V) and the last state (h, or (h, c) for the LSTM)."""
        out, state = self.rnn(nn.functional.one_hot(x, self.vocab).float(), state)
        return self.head(out), state


def _detach(state):
    """Keep the state's value and cut its gradient path: truncated BPTT's cut between chunks."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


@torch.no_grad()
def torch_bits_per_char(model: CharModel, ids: np.ndarray, device, chunk: int = 256) -> float:
    state, total = None, 0.0
    data = torch.as_tensor(ids, device=device)[None]
    for s in range(0, len(ids) - 1, chunk):
        y = data[:, s + 1:s + chunk + 1]
        logits, state = model(data[:, s:s + y.shape[1]], state)
        total += nn.functional.cross_entropy(logits[0], y[0], reduction="sum").item()
    return total / (len(ids) - 1) / LN2


def torch_next_logits(model: CharModel, device) -> Callable[[int], np.ndarray]:
    state = None

    @torch.no_grad()
    def step(ch: int) -> np.ndarray:
        nonlocal state
        logits, state = model(torch.tensor([[ch]], device=device), state)
        return logits[0, -1].double().cpu().numpy()
    return step


# --- one training loop for both ---------------------------------------------------------------------------------

def train_char_lm(kind: str, train_ids: np.ndarray, valid_ids: np.ndarray, *, hidden: int = 64, steps: int = 1000,
                  batch: int = 32, chunk: int = 32, lr: float = 3e-3, clip: float = 1.0, seed: int = 0,
                  device="cpu", eval_every: int = 200, sample_every: int = 0, prompt: str = "def ",
                  sample_length: int = 200, temperature: float = 0.7) -> dict:
    """Train `kind` ("numpy" for the book's NumPy RNN, or "rnn", "lstm", "gru" for PyTorch) with Adam and
    clipping by global norm, by truncated BPTT over `stream_chunks(train_ids, batch, chunk)`.

    Every model sees the same chunks in the same order. Returns losses (training bits per character of
    every step), valid [(step, held-out bits per character)], samples [(step, text)] (before training and
    every `sample_every` steps), seconds (training only: evaluation and sampling are not counted), parameters,
    model (NumPy arrays or the module) and reader (a fresh `next_logits` for `generate`).
    """
    rng = np.random.default_rng(seed)
    chunks = stream_chunks(train_ids, batch, chunk)
    if kind == "numpy":
        params = init_params(hidden, rng)
        optimizer, h = Adam(params, lr), None

        def train_step(x, y, restart):
            nonlocal h
            if restart:
                h = np.zeros((batch, hidden))                         # the text starts again: so does the state
            loss, grads, h = tbptt_step(params, x, y, h)
            optimizer.step(clip_grad_norm(grads, clip)[0])
            return loss

        model = params
        evaluate = lambda: numpy_bits_per_char(params, valid_ids)     # noqa: E731
        reader = lambda: numpy_next_logits(params)                     # noqa: E731
        n_params = sum(p.size for p in params)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = CharModel(kind, hidden).to(device)
        optimizer, state = torch.optim.Adam(model.parameters(), lr=lr), None

        def train_step(x, y, restart):
            nonlocal state
            state = None if restart else _detach(state)
            logits, state = model(torch.as_tensor(x, device=device), state)
            targets = torch.as_tensor(y, device=device).reshape(-1)
            loss = nn.functional.cross_entropy(logits.reshape(-1, model.vocab), targets)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            return loss.item()

        evaluate = lambda: torch_bits_per_char(model, valid_ids, device)   # noqa: E731
        reader = lambda: torch_next_logits(model, device)                  # noqa: E731
        n_params = sum(p.numel() for p in model.parameters())
    losses, valid, samples, seconds = [], [], [], 0.0

    def sample(step: int) -> None:
        text = generate(reader(), prompt, sample_length, temperature, np.random.default_rng([seed, step]))
        samples.append((step, text))

    if sample_every:
        sample(0)
    for step in range(1, steps + 1):
        start = time.perf_counter()
        losses.append(train_step(*next(chunks)) / LN2)             # .item() waits for the GPU to finish
        seconds += time.perf_counter() - start
        if step % eval_every == 0 or step == steps:
            valid.append((step, evaluate()))
        if sample_every and (step % sample_every == 0 or step == steps):
            sample(step)
    return {"kind": kind, "losses": losses, "valid": valid, "samples": samples, "seconds": seconds,
            "parameters": n_params, "model": model, "hidden": hidden, "reader": reader}
