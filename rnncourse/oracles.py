"""PyTorch oracles: reference outputs computed by PyTorch from the book's NumPy parameters.

The book's parameters are put into PyTorch's layers by `rnncourse.weights` (the one place where the two
layouts are mapped; its layer builders are re-exported here). Where PyTorch has no layer (the peephole
LSTM, the book's GRU), the reference is the book's equations in torch operations, and autograd.
"""
from __future__ import annotations

import numpy as np
import torch

from rnncourse.lstm_torch import pointwise
from rnncourse.weights import torch_gru_from_book, torch_lstm_cell_from_numpy, torch_rnn_from_numpy  # noqa: F401


def rnn_reference(x: np.ndarray, h0: np.ndarray, Wx, Wh, b) -> np.ndarray:
    """All hidden states, shape (batch, T, hidden), in float64."""
    rnn = torch_rnn_from_numpy(Wx, Wh, b)
    with torch.no_grad():
        out, _ = rnn(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(h0, dtype=torch.float64)[None])
    return out.numpy()


def rnn_reference_packed(x: np.ndarray, lengths, h0: np.ndarray, Wx, Wh, b) -> tuple[np.ndarray, np.ndarray]:
    """A padded batch x (batch, T, D) whose sequence i has lengths[i] real steps, run through `nn.RNN` as a
    packed sequence. Returns the hidden states (batch, T, hidden), zero after each sequence's end, and each
    sequence's last real state (batch, hidden), in float64."""
    rnn = torch_rnn_from_numpy(Wx, Wh, b)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out, h_last = rnn(packed, torch.as_tensor(h0, dtype=torch.float64)[None])
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out.numpy(), h_last[0].numpy()


def rnn_step_reference(x: np.ndarray, h_prev: np.ndarray, Wx, Wh, b) -> np.ndarray:
    """One step of the cell, shape (batch, hidden), in float64."""
    return rnn_reference(x[:, None, :], h_prev, Wx, Wh, b)[:, 0, :]


def cross_entropy_reference(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Mean softmax cross-entropy over every (sequence, time step), as a float64 scalar."""
    V = logits.shape[-1]
    loss = torch.nn.functional.cross_entropy(
        torch.as_tensor(logits, dtype=torch.float64).reshape(-1, V),
        torch.as_tensor(y, dtype=torch.long).reshape(-1))
    return np.asarray(loss.item())


def rnn_gradients(x, h0, Wx, Wh, b, dh) -> dict[str, np.ndarray]:
    """Gradients of L = sum(h * dh) by autograd through `nn.RNN`, mapped back to the book's layout.

    dh: (batch, T, hidden), the gradient of the loss with respect to every hidden state.
    Returns dx (B, T, D), dh0 (B, H), dWx (D, H), dWh (H, H), db (H,), all float64.
    """
    rnn = torch_rnn_from_numpy(Wx, Wh, b)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    h0t = torch.tensor(h0, dtype=torch.float64, requires_grad=True)
    out, _ = rnn(xt, h0t[None])
    (out * torch.as_tensor(dh, dtype=torch.float64)).sum().backward()
    return {"dx": xt.grad.numpy(), "dh0": h0t.grad.numpy(), "dWx": rnn.weight_ih_l0.grad.T.numpy(),
            "dWh": rnn.weight_hh_l0.grad.T.numpy(), "db": rnn.bias_ih_l0.grad.numpy()}


def clip_by_global_norm(grads: list[np.ndarray], max_norm: float) -> tuple[list[np.ndarray], float]:
    """Scale all gradients by min(1, max_norm / norm), norm being the 2-norm of all entries together."""
    tensors = [torch.as_tensor(g, dtype=torch.float64) for g in grads]
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors])).item()
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [(t * scale).numpy() for t in tensors], norm


def lstm_reference(x, h0, c0, W, U, b, dh=None, dc_last=None) -> dict[str, np.ndarray]:
    """All hidden and cell states (B, T, H) by `nn.LSTMCell`; with upstream gradients `dh` (B, T, H)
    (and optionally `dc_last`, dL/dc_T), also the gradients dx, dh0, dc0, dW, dU, db by autograd."""
    cell = torch_lstm_cell_from_numpy(W, U, b)
    grad = dh is not None
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=grad)
    h = torch.tensor(h0, dtype=torch.float64, requires_grad=grad)
    c = torch.tensor(c0, dtype=torch.float64, requires_grad=grad)
    h0t, c0t, hs, cs = h, c, [], []
    for t in range(x.shape[1]):
        h, c = cell(xt[:, t], (h, c))
        hs.append(h)
        cs.append(c)
    out = {"h": torch.stack(hs, 1), "c": torch.stack(cs, 1)}
    result = {k: v.detach().numpy() for k, v in out.items()}
    if grad:
        loss = (out["h"] * torch.as_tensor(dh)).sum()
        if dc_last is not None:
            loss = loss + (cs[-1] * torch.as_tensor(dc_last)).sum()
        loss.backward()
        result.update(dx=xt.grad.numpy(), dh0=h0t.grad.numpy(), dc0=c0t.grad.numpy(),
                      dW=cell.weight_ih.grad.T.numpy(), dU=cell.weight_hh.grad.T.numpy(),
                      db=cell.bias_ih.grad.numpy())
    return result


def peephole_lstm_torch(x, h0, c0, W, U, b, p_i, p_f, p_o, *, step=pointwise):
    """The peephole LSTM (Gers and Schmidhuber, 2000) over a sequence, in torch ops (the cell of
    `rnncourse.lstm_torch`); PyTorch has no built-in one. x (B, T, D). Returns h, c of shape (B, T, H).

    `step(a, c_prev, p_i, p_f, p_o) -> (h, c)` is the cell; the cases pass mistaken ones for hints.
    """
    h, c, hs, cs = h0, c0, [], []
    for x_t in x.unbind(1):
        h, c = step(x_t @ W + h @ U + b, c, p_i, p_f, p_o)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, 1), torch.stack(cs, 1)


PEEPHOLE_GRADS = ("dx", "dh0", "dc0", "dW", "dU", "db", "dp_i", "dp_f", "dp_o")


def peephole_reference(arrays, dh=None, dc_last=None, step=pointwise) -> dict[str, np.ndarray]:
    """States h, c (B, T, H) of the peephole LSTM; with upstream `dh` (and `dc_last`), the gradients
    of L = sum(h * dh) + sum(c_T * dc_last) for x, h0, c0, W, U, b, p_i, p_f, p_o, by autograd.
    `step` is the cell (`peephole_lstm_torch`)."""
    grad = dh is not None
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]
    h, c = peephole_lstm_torch(*tensors, step=step)
    out = {"h": h.detach().numpy(), "c": c.detach().numpy()}
    if grad:
        loss = (h * torch.as_tensor(dh)).sum()
        if dc_last is not None:
            loss = loss + (c[:, -1] * torch.as_tensor(dc_last)).sum()
        loss.backward()
        for name, t in zip(PEEPHOLE_GRADS, tensors):
            out[name] = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
    return out


def gru_step(x_t, h, W, U, b):
    """One step of the book's GRU (Cho et al., 2014); W (D, 3H), U (H, 3H), b (3H,), blocks r, z, n:

    r = σ(x W_r + h U_r + b_r), z = σ(x W_z + h U_z + b_z), n = tanh(x W_n + (r ⊙ h) U_n + b_n),
    h' = (1 - z) ⊙ h + z ⊙ n.
    """
    H = h.shape[1]
    ax = x_t @ W + b
    r = torch.sigmoid(ax[:, :H] + h @ U[:, :H])
    z = torch.sigmoid(ax[:, H:2 * H] + h @ U[:, H:2 * H])
    n = torch.tanh(ax[:, 2 * H:] + (r * h) @ U[:, 2 * H:])
    return (1 - z) * h + z * n


def gru_torch(x, h0, W, U, b, *, step=gru_step):
    """The book's GRU over a sequence x (B, T, D), in torch ops. Returns h (B, T, H).

    `step(x_t, h, W, U, b) -> h` is the cell; the cases pass other forms for hints.
    """
    h, hs = h0, []
    for x_t in x.unbind(1):
        h = step(x_t, h, W, U, b)
        hs.append(h)
    return torch.stack(hs, 1)


GRU_GRADS = ("dx", "dh0", "dW", "dU", "db")


def gru_reference(x, h0, W, U, b, dh=None, step=gru_step) -> dict[str, np.ndarray]:
    """Hidden states (B, T, H) of the book's GRU (`step` is the cell) and, given `dh`, the gradients by
    autograd."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=dh is not None) for a in (x, h0, W, U, b)]
    h = gru_torch(*tensors, step=step)
    out = {"h": h.detach().numpy()}
    if dh is not None:
        (h * torch.as_tensor(dh)).sum().backward()
        out.update({k: t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
                    for k, t in zip(GRU_GRADS, tensors)})
    return out


def _char_rnn_loss(tensors, x, y, h0):
    """Mean cross-entropy of the capstone's character RNN over a chunk, through `nn.RNN`, and its last state.

    tensors: Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,) as float64 tensors; x, y (B, T) ids; h0 (B, H).
    The weights enter `nn.RNN` by `torch.func.functional_call`, so autograd reaches the book's tensors.
    """
    Wx, Wh, b, Wy, by = tensors
    V, H = Wx.shape
    rnn = torch.nn.RNN(V, H, batch_first=True).double()
    weights = {"weight_ih_l0": Wx.T, "weight_hh_l0": Wh.T, "bias_ih_l0": b, "bias_hh_l0": torch.zeros_like(b)}
    onehot = torch.nn.functional.one_hot(torch.as_tensor(x), V).double()
    out, h_last = torch.func.functional_call(rnn, weights, (onehot, torch.as_tensor(h0)[None]))
    logits = out @ Wy + by
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), torch.as_tensor(y).reshape(-1))
    return loss, h_last[0]


def char_chunk_reference(params, x, y, h0) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Loss (scalar), gradients [dWx, dWh, db, dWy, dby] and last state (B, H) of one truncated-BPTT chunk."""
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    loss, h_last = _char_rnn_loss(tensors, x, y, h0)
    grads = torch.autograd.grad(loss, tensors)
    return np.asarray(loss.item()), [g.numpy() for g in grads], h_last.detach().numpy()


def char_train_reference(params, stream, chunk: int, epochs: int, lr: float, max_norm: float, *, carry=True,
                         cut=True, accumulate=False) -> tuple[list[np.ndarray], np.ndarray]:
    """SGD with clipping by global norm over a stream (B, N) of ids, by truncated BPTT in chunks, in PyTorch on
    float64 tensors (autograd through `nn.RNN`). The state starts from zeros at each epoch and is carried,
    detached, from chunk to chunk. Returns the parameters and the loss of every chunk. The flags switch on
    typical mistakes (for hints): the state reset at every chunk (`carry=False`), carried from the end of the
    text into its start (`cut=False`), and the update made with the sum of all gradients so far
    (`accumulate=True`)."""
    tensors = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    ids = torch.as_tensor(stream)
    zeros = torch.zeros(ids.shape[0], tensors[1].shape[0], dtype=torch.float64)
    state, total, losses = zeros, None, []
    for _ in range(epochs):
        state = zeros if cut else state
        for start in range(0, (ids.shape[1] - 1) // chunk * chunk, chunk):
            x, y = ids[:, start:start + chunk], ids[:, start + 1:start + chunk + 1]
            loss, last = _char_rnn_loss(tensors, x, y, state if carry else zeros)
            grads = torch.autograd.grad(loss, tensors)
            total = grads if total is None or not accumulate else tuple(map(torch.add, total, grads))
            norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in total]))
            scale = torch.clamp(max_norm / norm, max=1.0) if norm > 0 else 1.0
            with torch.no_grad():
                for tensor, grad in zip(tensors, total):
                    tensor.sub_(lr * scale * grad)
            state = last.detach()
            losses.append(loss.item())
    return [t.detach().numpy() for t in tensors], np.array(losses)


def temperature_sample_reference(logits: np.ndarray, temperature: float, seed: int, *,
                                 after_softmax: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities softmax(logits / temperature) per row of logits (N, V) and one draw per row, all with one
    `np.random.default_rng(seed)`. A draw is what `Generator.choice(V, p=p)` returns, computed from its
    definition: the first index whose cumulative probability exceeds one uniform number `rng.random()`.
    `after_softmax` models the typical mistake: softmax first, then divided by the temperature (and
    renormalised, which undoes the division)."""
    s = torch.as_tensor(logits, dtype=torch.float64)
    probs = torch.softmax(s if after_softmax else s / temperature, dim=-1).numpy()
    rng = np.random.default_rng(seed)
    draws = [np.searchsorted(np.cumsum(p) / p.sum(), rng.random(), side="right") for p in probs]
    return probs, np.array(draws, dtype=np.int64)


def embedding_reference(E: np.ndarray, ids: np.ndarray, dX: np.ndarray, *, last_write_wins: bool = False,
                        mean_of_repeats: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An embedding layer: X = the rows of E (V, D) at ids (B, T), by `torch.nn.functional.embedding`, shape
    (B, T, D), and dE (V, D), the gradient of sum(X * dX) by autograd. The flags give typical mistakes (for hints):
    each repeated id keeping only its last position's gradient, as `dE[ids] += dX` does in NumPy
    (`last_write_wins`), or the mean of its positions' gradients instead of their sum (`mean_of_repeats`)."""
    weight = torch.tensor(E, dtype=torch.float64, requires_grad=True)
    flat = torch.as_tensor(ids).reshape(-1)
    X = torch.nn.functional.embedding(torch.as_tensor(ids), weight)
    (dE,) = torch.autograd.grad(X, weight, torch.as_tensor(dX, dtype=torch.float64))
    upstream = torch.as_tensor(dX, dtype=torch.float64).reshape(len(flat), -1)
    if last_write_wins:
        dE = torch.zeros_like(dE)
        for position, i in enumerate(flat.tolist()):
            dE[i] = upstream[position]
    if mean_of_repeats:
        dE = dE / torch.bincount(flat, minlength=len(E)).clamp(min=1)[:, None]
    return X.detach().numpy(), dE.numpy()
