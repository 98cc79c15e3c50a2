"""The book's weight layout and PyTorch's, in both directions: the one place where they are mapped.

The book stores weights for row vectors, `x_t @ W` with W (D, kH), U (H, kH) and one bias b (kH,), k
gate blocks side by side (LSTM: i, f, g, o; GRU: r, z, n). PyTorch's layers store them transposed
(`weight_ih` (kH, D), `weight_hh` (kH, H)) in the same block order, and keep two biases, `bias_ih` and
`bias_hh`, that are simply added: the book's b maps to `bias_ih = b, bias_hh = 0`, and back to their sum.
"""
from __future__ import annotations

import numpy as np
import torch


def load_book_params(weight_ih, weight_hh, bias_ih, bias_hh, W, U, b) -> None:
    """Book -> PyTorch: write W (D, kH), U (H, kH), b (kH,) (NumPy or torch) into a layer's parameters."""
    with torch.no_grad():
        weight_ih.copy_(torch.as_tensor(W).T)
        weight_hh.copy_(torch.as_tensor(U).T)
        bias_ih.copy_(torch.as_tensor(b))
        bias_hh.zero_()


def book_params(weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyTorch -> book: (W, U, b) = (weight_ih.T, weight_hh.T, bias_ih + bias_hh), detached copies
    (b is zeros for a layer without biases)."""
    with torch.no_grad():
        W, U = weight_ih.T.clone(), weight_hh.T.clone()
        b = (bias_ih + bias_hh).clone() if bias_ih is not None else W.new_zeros(W.shape[1])
    return W, U, b


def lstm_book_params(lstm: torch.nn.LSTM) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(W, U, b) of a one-layer, one-directional `nn.LSTM` without projection (`book_params`)."""
    if lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size:
        raise ValueError("only a one-layer, one-directional LSTM without projection maps to the book's cell")
    return book_params(lstm.weight_ih_l0, lstm.weight_hh_l0, *((lstm.bias_ih_l0, lstm.bias_hh_l0) if lstm.bias else ()))


def _layer(cls, W, k: int, dtype, **kw):
    W = torch.as_tensor(W)
    return cls(W.shape[0], W.shape[1] // k, device=W.device, dtype=dtype or W.dtype, **kw)


def torch_rnn_from_numpy(Wx, Wh, b, dtype: torch.dtype = torch.float64) -> torch.nn.RNN:
    """A batch-first `nn.RNN` (tanh) computing exactly the book's cell with these parameters."""
    rnn = _layer(torch.nn.RNN, Wx, 1, dtype, nonlinearity="tanh", batch_first=True)
    load_book_params(rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, Wx, Wh, b)
    return rnn


def torch_lstm_cell_from_numpy(W, U, b, dtype: torch.dtype = torch.float64) -> torch.nn.LSTMCell:
    """An `nn.LSTMCell` computing the book's LSTM: W (D, 4H), U (H, 4H), b (4H,), gate blocks i, f, g, o."""
    cell = _layer(torch.nn.LSTMCell, W, 4, dtype)
    load_book_params(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, W, U, b)
    return cell


def torch_lstm_from_book(W, U, b, dtype: torch.dtype | None = None) -> torch.nn.LSTM:
    """A batch-first `nn.LSTM` computing the book's LSTM, on W's device, in `dtype` (default: W's)."""
    lstm = _layer(torch.nn.LSTM, W, 4, dtype, batch_first=True)
    load_book_params(lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0, W, U, b)
    return lstm


def torch_gru_from_book(W, U, b) -> torch.nn.GRU:
    """A batch-first `nn.GRU` computing the book's GRU, which it can exactly when U_n is diagonal.

    PyTorch's gate order is also r, z, n and its weights are stored transposed, but its update gate
    weighs the OLD state (h' = (1 - z') ⊙ n + z' ⊙ h), so z' = 1 - z: the z block changes sign.
    It applies the reset gate after the product, r ⊙ (h U_n + b_hn), which equals (r ⊙ h) U_n only
    for a diagonal U_n (and b_hn = 0).
    """
    H = np.shape(W)[1] // 3
    flip = np.concatenate([np.ones(H), -np.ones(H), np.ones(H)])
    gru = _layer(torch.nn.GRU, np.asarray(W), 3, torch.float64, batch_first=True)
    load_book_params(gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0, W * flip, U * flip, b * flip)
    return gru
