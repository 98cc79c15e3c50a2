"""Character-level language models in PyTorch (`nn.RNN`, `nn.LSTM`, `nn.GRU`), the training loop that every model
of the capstone chapter shares, sampling, and the count-based baselines (unigram and n-gram).

Truncated BPTT over a stream (`rnncourse.text.stream_chunks`), Adam, clipping by global norm. Loss is reported in
bits per character (cross-entropy / ln 2); perplexity is 2 ** bits per character. The book's NumPy RNN
(`rnncourse.answers.char_lm`, instructor-side: it answers exercises) plugs its own step into `run_training`.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnncourse.text import VOCAB, decode, encode, stream_chunks
from rnncourse.training import CELLS

LN2 = math.log(2)


def generate(next_logits: Callable[[int], np.ndarray], prompt: str, length: int, temperature: float,
             rng: np.random.Generator) -> str:
    """`length` characters after `prompt`, each drawn from softmax(s_t / temperature) with `rng.choice`;
    `next_logits(id)` feeds one character to a model holding its state and returns the logits s_t (V,)."""
    for ch in encode(prompt)[:-1]:
        next_logits(int(ch))
    current, out = int(encode(prompt)[-1]), []
    for _ in range(length):
        probs = torch.softmax(torch.as_tensor(next_logits(current), dtype=torch.float64) / temperature, 0).numpy()
        current = int(rng.choice(len(probs), p=probs / probs.sum()))
        out.append(current)
    return decode(out)


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


def new_model(kind: str, hidden: int, seed: int, device="cpu") -> CharModel:
    """A CharModel initialised from `seed` alone (the global random state is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return CharModel(kind, hidden).to(device)


def _detach(state):
    """Keep the state's value and cut its gradient path: truncated BPTT's cut between chunks."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


@torch.no_grad()
def torch_bits_per_char(model: CharModel, ids: np.ndarray, device, chunk: int = 256) -> float:
    """Bits per character of `model` on one long text, read in chunks with the state carried."""
    state, total = None, 0.0
    data = torch.as_tensor(ids, device=device)[None]
    for s in range(0, len(ids) - 1, chunk):
        y = data[:, s + 1:s + chunk + 1]
        logits, state = model(data[:, s:s + y.shape[1]], state)
        total += nn.functional.cross_entropy(logits[0], y[0], reduction="sum").item()
    return total / (len(ids) - 1) / LN2


def torch_next_logits(model: CharModel, device) -> Callable[[int], np.ndarray]:
    """A one-character-at-a-time reader for `generate`, holding the model's state."""
    state = None

    @torch.no_grad()
    def step(ch: int) -> np.ndarray:
        nonlocal state
        logits, state = model(torch.tensor([[ch]], device=device), state)
        return logits[0, -1].double().cpu().numpy()
    return step


@torch.no_grad()
def cell_states(model: CharModel, ids: np.ndarray) -> np.ndarray:
    """The LSTM's cell state c_t after every character of `ids`, read from a zero state: (len(ids), H).

    nn.LSTM returns only h for every step; with all of them known, the gates of every step come from one matrix
    product, and c_t = f_t * c_{t-1} + i_t * g_t is left as a cheap elementwise loop (PyTorch's gate order i, f, g, o).
    """
    lstm, device = model.rnn, next(model.parameters()).device
    x = nn.functional.one_hot(torch.as_tensor(ids, device=device), model.vocab).float()[None]
    h = lstm(x)[0][0]                                                        # (T, H)
    h_prev = torch.cat([torch.zeros_like(h[:1]), h[:-1]])
    a = x[0] @ lstm.weight_ih_l0.T + h_prev @ lstm.weight_hh_l0.T + lstm.bias_ih_l0 + lstm.bias_hh_l0
    i, f, g, _ = a.chunk(4, dim=1)
    f, written = torch.sigmoid(f).cpu().numpy(), (torch.sigmoid(i) * torch.tanh(g)).cpu().numpy()
    cells = np.empty_like(f)
    c = np.zeros(f.shape[1], dtype=f.dtype)
    for t in range(len(ids)):                    # in NumPy: a PyTorch call per step would cost far more than its work
        c = f[t] * c + written[t]
        cells[t] = c
    return cells


def run_training(train_step: Callable, evaluate: Callable[[], float], reader: Callable, chunks, *, steps: int,
                 seed: int, eval_every: int, sample_every: int, prompt: str, sample_length: int,
                 temperature: float) -> dict:
    """The loop every model shares: `train_step(x, y, restart)` (mean cross-entropy in nats) on `steps` chunks,
    held-out bits per character every `eval_every` steps, and samples every `sample_every` steps.

    Returns losses (training bits per character of every step), valid [(step, held-out bits per character)],
    samples [(step, text)] (before training and every `sample_every` steps), and seconds (training only:
    evaluation and sampling are not counted).
    """
    losses, valid, samples, seconds = [], [], [], 0.0

    def sample(step: int) -> None:
        samples.append((step, generate(reader(), prompt, sample_length, temperature,
                                       np.random.default_rng([seed, step]))))

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
    return {"losses": losses, "valid": valid, "samples": samples, "seconds": seconds}


def train_char_lm(kind: str, train_ids: np.ndarray, valid_ids: np.ndarray, *, hidden: int = 64, steps: int = 1000,
                  batch: int = 32, chunk: int = 32, lr: float = 3e-3, clip: float = 1.0, seed: int = 0,
                  device="cpu", eval_every: int = 200, sample_every: int = 0, prompt: str = "def ",
                  sample_length: int = 200, temperature: float = 0.7) -> dict:
    """Train `kind` ("rnn", "lstm", "gru") with Adam and clipping by global norm, by truncated BPTT over
    `stream_chunks(train_ids, batch, chunk)`: `run_training`'s record, plus kind, parameters, hidden, model
    and reader (a fresh `next_logits` for `generate`)."""
    model = new_model(kind, hidden, seed, device)
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

    reader = lambda: torch_next_logits(model, device)                  # noqa: E731
    run = run_training(train_step, lambda: torch_bits_per_char(model, valid_ids, device), reader,
                       stream_chunks(train_ids, batch, chunk), steps=steps, seed=seed, eval_every=eval_every,
                       sample_every=sample_every, prompt=prompt, sample_length=sample_length, temperature=temperature)
    return {**run, "kind": kind, "parameters": sum(p.numel() for p in model.parameters()), "model": model,
            "hidden": hidden, "reader": reader}


# --- count-based baselines -------------------------------------------------------------------------------------------

def _ngram_counts(ids: np.ndarray, n: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct n-grams of `ids`, each coded as one integer (base `vocab`), sorted, and how often each occurs."""
    codes = np.lib.stride_tricks.sliding_window_view(ids, n) @ (vocab ** np.arange(n - 1, -1, -1, dtype=np.int64))
    return np.unique(codes, return_counts=True)


def _lookup(table: tuple[np.ndarray, np.ndarray], codes: np.ndarray) -> np.ndarray:
    """How often each of `codes` occurs in a table of `_ngram_counts` (0 when it never does)."""
    keys, counts = table
    at = np.minimum(np.searchsorted(keys, codes), len(keys) - 1)
    return np.where(keys[at] == codes, counts[at], 0)


def ngram_bits_per_char(train_ids: np.ndarray, test_ids: np.ndarray, orders=(1, 2, 3, 5), k: float = 0.1,
                        vocab: int = VOCAB) -> dict[int, float]:
    """{order: bits per character on `test_ids`} of n-gram models counted on `train_ids`, with add-k smoothing:
    p(next | the previous n-1 characters) = (count(context, next) + k) / (count(context) + k V).

    Order 1 is the unigram model (no context). Near the start of the test text, where fewer than n-1 characters
    precede, the shorter context there is used, so that every character after the first is scored. A context
    counts where a character follows it in the training text.
    """
    train, test = np.asarray(train_ids, dtype=np.int64), np.asarray(test_ids, dtype=np.int64)
    result = {}
    for order in orders:
        bits = []
        for n in range(1, order + 1):      # the gram of length n < order ends at position n-1; n = order ends at all
            ends = np.arange(n - 1, len(test)) if n == order else np.array([n - 1])
            ends = ends[ends >= 1]
            if not len(ends):
                continue
            grams = _ngram_counts(train, n, vocab)
            contexts = ((grams[0] // vocab), grams[1])          # each n-gram's first n-1 characters, with its count
            keys, where = np.unique(contexts[0], return_inverse=True)
            context_table = (keys, np.bincount(where, weights=contexts[1]))
            codes = np.lib.stride_tricks.sliding_window_view(test, n)[ends - n + 1] @ (
                vocab ** np.arange(n - 1, -1, -1, dtype=np.int64))
            bits.append(-np.log2((_lookup(grams, codes) + k) / (_lookup(context_table, codes // vocab) + k * vocab)))
        result[order] = float(np.concatenate(bits).sum() / (len(test) - 1))
    return result
