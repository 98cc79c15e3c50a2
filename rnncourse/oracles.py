"""PyTorch oracles: reference outputs computed by PyTorch from the book's NumPy parameters.

The book stores weights for row vectors, `x_t @ W_x` with `W_x` of shape (input_size, hidden_size).
PyTorch stores them transposed (`weight_ih_l0` has shape (hidden_size, input_size)) and keeps two
biases, `b_ih` and `b_hh`, that are simply added; the book's single `b` maps to `b_ih = b, b_hh = 0`.
"""
from __future__ import annotations

import numpy as np
import torch


def load_book_params(weight_ih, weight_hh, bias_ih, bias_hh, W, U, b) -> None:
    """Write the book's W (D, kH), U (H, kH), b (kH,) into a PyTorch layer's parameters: the weights
    transposed, the one bias into `bias_ih`, and `bias_hh` zeroed (PyTorch adds the two)."""
    with torch.no_grad():
        weight_ih.copy_(torch.as_tensor(W.T))
        weight_hh.copy_(torch.as_tensor(U.T))
        bias_ih.copy_(torch.as_tensor(b))
        bias_hh.zero_()


def torch_rnn_from_numpy(Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
                         dtype: torch.dtype = torch.float64) -> torch.nn.RNN:
    """A batch-first `nn.RNN` (tanh) computing exactly the book's cell with these parameters."""
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True).to(dtype)
    load_book_params(rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, Wx, Wh, b)
    return rnn


def rnn_reference(x: np.ndarray, h0: np.ndarray, Wx, Wh, b) -> np.ndarray:
    """All hidden states, shape (batch, T, hidden), in float64."""
    rnn = torch_rnn_from_numpy(Wx, Wh, b)
    with torch.no_grad():
        out, _ = rnn(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(h0, dtype=torch.float64)[None])
    return out.numpy()


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


def torch_lstm_cell_from_numpy(W: np.ndarray, U: np.ndarray, b: np.ndarray,
                               dtype: torch.dtype = torch.float64) -> torch.nn.LSTMCell:
    """An `nn.LSTMCell` computing the book's LSTM: W (D, 4H), U (H, 4H), b (4H,), gate blocks i, f, g, o.

    PyTorch uses the same block order (i, f, g, o) but stores W and U transposed and splits the
    bias in two (`bias_ih` + `bias_hh`); the book's b maps to `bias_ih = b`, `bias_hh = 0`.
    """
    D, H4 = W.shape
    cell = torch.nn.LSTMCell(D, H4 // 4).to(dtype)
    load_book_params(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, W, U, b)
    return cell


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


def peephole_lstm_torch(x, h0, c0, W, U, b, p_i, p_f, p_o, *, output_sees_old_cell=False, peephole_grad=True):
    """The peephole LSTM (Gers and Schmidhuber, 2000) in torch ops; PyTorch has no built-in one.

    i = σ(a_i + p_i ⊙ c_{t-1}), f = σ(a_f + p_f ⊙ c_{t-1}), o = σ(a_o + p_o ⊙ c_t), gate blocks of
    the pre-activation a = x W + h U + b in the order i, f, g, o. Returns h, c of shape (B, T, H). The two flags
    switch on typical mistakes (for hints): the output gate reading c_{t-1}, and no gradient through the peepholes'
    view of the cell state.
    """
    H = h0.shape[1]
    h, c, hs, cs = h0, c0, [], []
    for t in range(x.shape[1]):
        ai, af, ag, ao = (x[:, t] @ W + h @ U + b).split(H, dim=1)
        seen = c if peephole_grad else c.detach()
        i, f = torch.sigmoid(ai + p_i * seen), torch.sigmoid(af + p_f * seen)
        c_new = f * c + i * torch.tanh(ag)
        o_view = seen if output_sees_old_cell else (c_new if peephole_grad else c_new.detach())
        h, c = torch.sigmoid(ao + p_o * o_view) * torch.tanh(c_new), c_new
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, 1), torch.stack(cs, 1)


PEEPHOLE_GRADS = ("dx", "dh0", "dc0", "dW", "dU", "db", "dp_i", "dp_f", "dp_o")


def peephole_reference(arrays, dh=None, dc_last=None, **mistake) -> dict[str, np.ndarray]:
    """States h, c (B, T, H) of the peephole LSTM; with upstream `dh` (and `dc_last`), the gradients
    of L = sum(h * dh) + sum(c_T * dc_last) for x, h0, c0, W, U, b, p_i, p_f, p_o, by autograd."""
    grad = dh is not None
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=grad) for a in arrays]
    h, c = peephole_lstm_torch(*tensors, **mistake)
    out = {"h": h.detach().numpy(), "c": c.detach().numpy()}
    if grad:
        loss = (h * torch.as_tensor(dh)).sum()
        if dc_last is not None:
            loss = loss + (c[:, -1] * torch.as_tensor(dc_last)).sum()
        loss.backward()
        for name, t in zip(PEEPHOLE_GRADS, tensors):
            out[name] = t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
    return out


def gru_torch(x, h0, W, U, b, *, reset_after=False, reset_on_candidate=False, swap_z=False):
    """The book's GRU (Cho et al., 2014) in torch ops; W (D, 3H), U (H, 3H), b (3H,), blocks r, z, n:

    r = σ(x W_r + h U_r + b_r), z = σ(x W_z + h U_z + b_z), n = tanh(x W_n + (r ⊙ h) U_n + b_n),
    h' = (1 - z) ⊙ h + z ⊙ n. Returns h (B, T, H). The flags switch on other forms (for hints and for
    the comparison with PyTorch): `reset_after` is PyTorch's r ⊙ (h U_n), `reset_on_candidate` scales
    the candidate by r, `swap_z` puts z on the old state.
    """
    H = h0.shape[1]
    h, hs = h0, []
    Wr, Wz, Wn = W.split(H, dim=1)
    Ur, Uz, Un = U.split(H, dim=1)
    br, bz, bn = b.split(H)
    for t in range(x.shape[1]):
        xt = x[:, t]
        r = torch.sigmoid(xt @ Wr + h @ Ur + br)
        z = torch.sigmoid(xt @ Wz + h @ Uz + bz)
        if reset_after:
            n = torch.tanh(xt @ Wn + r * (h @ Un) + bn)
        elif reset_on_candidate:
            n = r * torch.tanh(xt @ Wn + h @ Un + bn)
        else:
            n = torch.tanh(xt @ Wn + (r * h) @ Un + bn)
        h = z * h + (1 - z) * n if swap_z else (1 - z) * h + z * n
        hs.append(h)
    return torch.stack(hs, 1)


GRU_GRADS = ("dx", "dh0", "dW", "dU", "db")


def gru_reference(x, h0, W, U, b, dh=None, **form) -> dict[str, np.ndarray]:
    """Hidden states (B, T, H) of the book's GRU and, given `dh`, the gradients by autograd."""
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=dh is not None) for a in (x, h0, W, U, b)]
    h = gru_torch(*tensors, **form)
    out = {"h": h.detach().numpy()}
    if dh is not None:
        (h * torch.as_tensor(dh)).sum().backward()
        out.update({k: t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
                    for k, t in zip(GRU_GRADS, tensors)})
    return out


def torch_gru_from_book(W: np.ndarray, U: np.ndarray, b: np.ndarray) -> torch.nn.GRU:
    """A batch-first `nn.GRU` computing the book's GRU, which it can exactly when U_n is diagonal.

    PyTorch's gate order is also r, z, n and its weights are stored transposed, but its update gate
    weighs the OLD state (h' = (1 - z') ⊙ n + z' ⊙ h), so z' = 1 - z: the z block changes sign.
    It applies the reset gate after the product, r ⊙ (h U_n + b_hn), which equals (r ⊙ h) U_n only
    for a diagonal U_n (and b_hn = 0).
    """
    D, H3 = W.shape
    H = H3 // 3
    flip = np.concatenate([np.ones(H), -np.ones(H), np.ones(H)])
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    load_book_params(gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0, W * flip, U * flip, b * flip)
    return gru


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
    z = torch.as_tensor(logits, dtype=torch.float64)
    probs = torch.softmax(z if after_softmax else z / temperature, dim=-1).numpy()
    rng = np.random.default_rng(seed)
    draws = [np.searchsorted(np.cumsum(p) / p.sum(), rng.random(), side="right") for p in probs]
    return probs, np.array(draws, dtype=np.int64)
