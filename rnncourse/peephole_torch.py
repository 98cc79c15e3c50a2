"""A peephole LSTM for PyTorch (which has none built in), as a ladder of ever faster implementations.

The cell is Chapter 4's, written once in `rnncourse.lstm_torch` (`pointwise` with the peepholes p_i, p_f,
p_o). cuDNN's fused LSTM (behind `nn.LSTM`) cannot run it, so `PeepholeLSTM` runs it with one of these rungs:

  1 "eager"          a Python loop over time, both matrix products inside the loop;
  2 "hoisted"        the input projection x W + b done for all steps at once, one big matrix product;
  3 "fused_cell"     as 2, with the pointwise gate math compiled into fused kernels (torch.compile);
  4 "compiled_loop"  the sequence loop compiled, `chunk` steps unrolled into one program (torch.compile;
                     on CUDA with mode="reduce-overhead", which replays it as a CUDA graph, unless
                     `cuda_graphs=False`): Python and kernel launches once per chunk instead of a dozen
                     times per step. A bounded chunk keeps the compile time from growing with T.

Importing this module changes no setting: the torch.compile settings the rungs need are applied only
while a compiled rung runs (`COMPILE_SETTINGS`). `rnncourse.bench.peephole_ladder` times the rungs.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from rnncourse.lstm_torch import input_projection, pointwise, sequence_eager, sequence_hoisted
from rnncourse.weights import lstm_book_params

RUNGS = ("eager", "hoisted", "fused_cell", "compiled_loop")
RUNG_TITLES = {
    "eager": "1 eager loop",
    "hoisted": "2 input projection hoisted",
    "fused_cell": "3 gate math fused (compiled cell)",
    "compiled_loop": "4 loop compiled (chunks)",
}
DEFAULT_CHUNK = 16
# Each (rung, dtype, grad mode, shape) is its own compiled program; the default limit of 8 per function
# would silently send the later ones back to eager execution. Applied while a compiled rung runs.
COMPILE_SETTINGS = dict(recompile_limit=64, accumulated_recompile_limit=512)


def _chunk(ax, h, c, U, p_i, p_f, p_o):
    """Rung 4's compiled unit: K steps from their input projections ax (K, B, 4H), unrolled.

    Returns the K hidden states time-major (K, B, H) and the last (h, c).
    """
    hs = []
    for ax_t in ax.unbind(0):
        h, c = pointwise(torch.addmm(ax_t, h, U), c, p_i, p_f, p_o)
        hs.append(h)
    return torch.stack(hs), h, c


_COMPILED: dict[tuple, Callable] = {}


def _compiled(what: str, device_type: str) -> Callable:
    """The compiled pointwise cell ("cell") or K-step loop ("chunk", "chunk_graphed"), made once."""
    key = (what, device_type)
    if key not in _COMPILED:
        if what == "cell":
            _COMPILED[key] = torch.compile(pointwise, dynamic=False, fullgraph=True)
        else:
            mode = "reduce-overhead" if what == "chunk_graphed" else None
            _COMPILED[key] = torch.compile(_chunk, dynamic=False, fullgraph=True, mode=mode)
    return _COMPILED[key]


def _loop_compiled(x, h, c, W, U, b, p_i, p_f, p_o, chunk: int, cuda_graphs: bool):
    """Rung 4: one compiled program per `chunk` steps, so Python runs T / chunk times, not T times."""
    ax = input_projection(x, W, b)
    graphs = x.device.type == "cuda" and cuda_graphs
    run = _compiled("chunk_graphed" if graphs else "chunk", x.device.type)
    hs = []
    for ax_chunk in ax.split(chunk):     # split, not slicing: its backward is one concatenation
        block, h, c = run(ax_chunk, h, c, U, p_i, p_f, p_o)
        if graphs:   # a CUDA graph's outputs live in its static memory, reused by its next replay
            block, h, c = block.clone(), h.clone(), c.clone()
        hs.append(block)
    return torch.cat(hs).transpose(0, 1), h, c


def peephole_sequence(x, h0, c0, W, U, b, p_i, p_f, p_o, rung: str = "hoisted", chunk: int = DEFAULT_CHUNK,
                      cuda_graphs: bool = True):
    """The peephole LSTM over a batch-first sequence x (B, T, D) from (h0, c0) (B, H), by one rung.

    `chunk` is the number of steps rung 4 compiles into one program (the last one may be shorter);
    `cuda_graphs` lets rung 4 replay them as CUDA graphs on a GPU.
    Returns (h, h_T, c_T): all hidden states (B, T, H) and the last hidden and cell states (B, H).
    """
    args, peep = (x, h0, c0, W, U, b), (p_i, p_f, p_o)
    if rung == "eager":
        return sequence_eager(*args, peep)
    if rung == "hoisted":
        return sequence_hoisted(*args, peep)
    if rung not in RUNGS:
        raise ValueError(f"rung must be one of {RUNGS}, not {rung!r}")
    with torch._dynamo.config.patch(**COMPILE_SETTINGS):
        if rung == "fused_cell":
            return sequence_hoisted(*args, peep, step=_compiled("cell", x.device.type))
        return _loop_compiled(*args, *peep, chunk=chunk, cuda_graphs=cuda_graphs)


class PeepholeLSTM(nn.Module):
    """A one-layer, batch-first peephole LSTM with the book's parameters (PyTorch has no built-in one).

    Parameters: W (D, 4H), U (H, 4H), b (4H,) in gate order i, f, g, o, and p_i, p_f, p_o (H,).
    forward(x, state=None) takes x (B, T, D) and an optional (h0, c0), each (B, H) (zeros when None),
    and returns (h, (h_T, c_T)): all hidden states (B, T, H) and the last states (B, H).
    `rung` picks the implementation (see `RUNGS`; `chunk` is rung 4's number of steps per compiled
    program, `cuda_graphs` whether it replays them as CUDA graphs on a GPU); every rung computes the
    same function.
    """

    def __init__(self, input_size: int, hidden_size: int, rung: str = "hoisted", chunk: int = DEFAULT_CHUNK,
                 cuda_graphs: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        if rung not in RUNGS:
            raise ValueError(f"rung must be one of {RUNGS}, not {rung!r}")
        kw = dict(device=device, dtype=dtype)
        self.input_size, self.hidden_size, self.rung, self.chunk = input_size, hidden_size, rung, chunk
        self.cuda_graphs = cuda_graphs
        H = hidden_size
        self.W = nn.Parameter(torch.empty(input_size, 4 * H, **kw))
        self.U = nn.Parameter(torch.empty(H, 4 * H, **kw))
        self.b = nn.Parameter(torch.empty(4 * H, **kw))
        self.p_i = nn.Parameter(torch.empty(H, **kw))
        self.p_f = nn.Parameter(torch.empty(H, **kw))
        self.p_o = nn.Parameter(torch.empty(H, **kw))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.LSTM's initialisation, uniform in ±1/sqrt(H), for every parameter, peepholes included."""
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    @classmethod
    def from_lstm(cls, lstm: nn.LSTM, rung: str = "hoisted") -> "PeepholeLSTM":
        """The peephole LSTM with `lstm`'s weights and zero peepholes: it computes exactly `lstm` (batch first).

        The weights are mapped by `rnncourse.weights.lstm_book_params`.
        """
        W, U, b = lstm_book_params(lstm)
        cell = cls(lstm.input_size, lstm.hidden_size, rung=rung, device=W.device, dtype=W.dtype)
        with torch.no_grad():
            for p, value in zip((cell.W, cell.U, cell.b), (W, U, b)):
                p.copy_(value)
            for p in (cell.p_i, cell.p_f, cell.p_o):
                p.zero_()
        return cell

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None):
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"x must be (batch, T, {self.input_size}), got {tuple(x.shape)}")
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        h, h_T, c_T = peephole_sequence(x, *state, self.W, self.U, self.b, self.p_i, self.p_f, self.p_o,
                                        rung=self.rung, chunk=self.chunk, cuda_graphs=self.cuda_graphs)
        return h, (h_T, c_T)

    def extra_repr(self) -> str:
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, rung={self.rung!r}"
                + (f", chunk={self.chunk}" if self.rung == "compiled_loop" else ""))
