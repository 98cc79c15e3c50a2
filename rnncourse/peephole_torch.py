"""A peephole LSTM for PyTorch (which has none built in), as a ladder of ever faster implementations.

The cell is Chapter 4's (Gers and Schmidhuber, 2000), in the book's layout: W (D, 4H), U (H, 4H), b (4H,)
with gate blocks i, f, g, o, and three peephole vectors p_i, p_f, p_o of shape (H,):

    z_t = x_t W + h_{t-1} U + b,            split into z^i, z^f, z^g, z^o
    i_t = σ(z^i_t + p_i ⊙ c_{t-1}),  f_t = σ(z^f_t + p_f ⊙ c_{t-1}),  g_t = tanh(z^g_t)
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,  o_t = σ(z^o_t + p_o ⊙ c_t),    h_t = o_t ⊙ tanh(c_t)

cuDNN's fused LSTM (behind `nn.LSTM`) cannot run it, so `PeepholeLSTM` runs it with one of these rungs:

  1 "eager"          a Python loop over time, both matrix products inside the loop;
  2 "hoisted"        the input projection x W + b done for all steps at once, one big matrix product;
  3 "fused_cell"     as 2, with the pointwise gate math compiled into fused kernels (torch.compile);
  4 "compiled_loop"  the sequence loop compiled, `chunk` steps unrolled into one program (torch.compile;
                     on CUDA with mode="reduce-overhead", which replays it as a CUDA graph): Python and
                     kernel launches once per chunk instead of a dozen times per step. With chunk >= T it
                     is the whole loop; a bounded chunk keeps the compile time from growing with T.

`run_ladder` times every rung against `nn.LSTM` of the same size and checks that every rung gives the
output of rung 1; `benchmarks/peephole_ladder.py` is its command line. For Chapter 4's timing experiment,
`timed_spike_task` makes the data and `train_timing` trains plain and peephole LSTMs side by side, as one
stacked computation (`peephole_sequence_stacked`).
"""
from __future__ import annotations

import datetime
import math
import platform
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnncourse.devices import device_name, time_call

RUNGS = ("eager", "hoisted", "fused_cell", "compiled_loop")
RUNG_TITLES = {
    "eager": "1 eager loop",
    "hoisted": "2 input projection hoisted",
    "fused_cell": "3 gate math fused (compiled cell)",
    "compiled_loop": "4 loop compiled (chunks)",
}
BASELINE = "nn.LSTM"
MODES = ("forward", "forward+backward")

# Each (rung, dtype, grad mode, shape) is its own compiled program; the default limit of 8 per function
# would silently send the later ones back to eager execution.
torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 64)
torch._dynamo.config.accumulated_recompile_limit = max(torch._dynamo.config.accumulated_recompile_limit, 512)


# ---------------------------------------------------------------------------------------------- the cell
def peephole_pointwise(z: torch.Tensor, c: torch.Tensor, p_i: torch.Tensor, p_f: torch.Tensor,
                       p_o: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Everything of one step after the matrix products: z (B, 4H) = x_t W + h_{t-1} U + b, c = c_{t-1}.

    Returns (h_t, c_t). Elementwise only: the peepholes are vectors, one weight per unit and gate.
    Leading axes broadcast (z (..., 4H), c (..., H)), so stacked models can share it.
    """
    zi, zf, zg, zo = z.chunk(4, dim=-1)
    i = torch.sigmoid(zi + p_i * c)
    f = torch.sigmoid(zf + p_f * c)
    c = f * c + i * torch.tanh(zg)
    o = torch.sigmoid(zo + p_o * c)          # the output gate sees the NEW cell state
    return o * torch.tanh(c), c


def _loop_eager(x, h, c, W, U, b, p_i, p_f, p_o, pointwise=peephole_pointwise):
    """Rung 1: x (B, T, D); per step, both products and the gate math. Returns (h (B, T, H), h_T, c_T)."""
    hs = []
    for x_t in x.unbind(1):   # unbind, not x[:, t]: the backward of indexing writes a full-size zero tensor
        h, c = pointwise(x_t @ W + h @ U + b, c, p_i, p_f, p_o)
        hs.append(h)
    return torch.stack(hs, 1), h, c


def _loop_hoisted(x, h, c, W, U, b, p_i, p_f, p_o, pointwise=peephole_pointwise):
    """Rungs 2 and 3: the input projection of all T steps in one (T·B, D) @ (D, 4H) product first."""
    hs = []
    for zx_t in _input_projection(x, W, b).unbind(0):
        h, c = pointwise(torch.addmm(zx_t, h, U), c, p_i, p_f, p_o)
        hs.append(h)
    return torch.stack(hs, 1), h, c


def _input_projection(x, W, b):
    """x W + b for every step at once, time-major (T, B, 4H) so that each step's slice is contiguous."""
    B, T, D = x.shape
    return torch.addmm(b, x.transpose(0, 1).reshape(T * B, D), W).view(T, B, -1)


def _chunk(zx, h, c, U, p_i, p_f, p_o):
    """Rung 4's compiled unit: K steps from their input projections zx (K, B, 4H), unrolled.

    Returns the K hidden states time-major (K, B, H) and the last (h, c).
    """
    hs = []
    for zx_t in zx.unbind(0):
        h, c = peephole_pointwise(torch.addmm(zx_t, h, U), c, p_i, p_f, p_o)
        hs.append(h)
    return torch.stack(hs), h, c


def _loop_compiled(x, h, c, W, U, b, p_i, p_f, p_o, chunk: int):
    """Rung 4: one compiled program per `chunk` steps, so Python runs T / chunk times, not T times."""
    zx = _input_projection(x, W, b)
    graphs = x.device.type == "cuda" and CUDA_GRAPHS
    run = _compiled("chunk_graphed" if graphs else "chunk", x.device.type)
    hs = []
    for zx_chunk in zx.split(chunk):     # split, not slicing: its backward is one concatenation
        block, h, c = run(zx_chunk, h, c, U, p_i, p_f, p_o)
        if graphs:   # a CUDA graph's outputs live in its static memory, reused by its next replay
            block, h, c = block.clone(), h.clone(), c.clone()
        hs.append(block)
    return torch.cat(hs).transpose(0, 1), h, c


_COMPILED: dict[tuple, Callable] = {}
DEFAULT_CHUNK = 16
CUDA_GRAPHS = True   # rung 4 on a GPU: replay each compiled chunk as a CUDA graph (mode="reduce-overhead")


def _compiled(what: str, device_type: str) -> Callable:
    """The compiled pointwise cell ("cell") or K-step loop ("chunk", "chunk_graphed"), made once."""
    key = (what, device_type)
    if key not in _COMPILED:
        if what == "cell":
            _COMPILED[key] = torch.compile(peephole_pointwise, dynamic=False, fullgraph=True)
        else:
            mode = "reduce-overhead" if what == "chunk_graphed" else None
            _COMPILED[key] = torch.compile(_chunk, dynamic=False, fullgraph=True, mode=mode)
    return _COMPILED[key]


def peephole_sequence(x, h0, c0, W, U, b, p_i, p_f, p_o, rung: str = "hoisted", chunk: int = DEFAULT_CHUNK):
    """The peephole LSTM over a batch-first sequence x (B, T, D) from (h0, c0) (B, H), by one rung.

    `chunk` is the number of steps rung 4 compiles into one program (the last one may be shorter).
    Returns (h, h_T, c_T): all hidden states (B, T, H) and the last hidden and cell states (B, H).
    """
    args = (x, h0, c0, W, U, b, p_i, p_f, p_o)
    if rung == "eager":
        return _loop_eager(*args)
    if rung == "hoisted":
        return _loop_hoisted(*args)
    if rung == "fused_cell":
        return _loop_hoisted(*args, pointwise=_compiled("cell", x.device.type))
    if rung == "compiled_loop":
        return _loop_compiled(*args, chunk=chunk)
    raise ValueError(f"rung must be one of {RUNGS}, not {rung!r}")


def peephole_sequence_stacked(x, h0, c0, W, U, b, p_i, p_f, p_o):
    """M independent peephole LSTMs at once, each on its own batch: every argument has a leading model axis.

    x (M, B, T, D), h0, c0 (M, B, H), W (M, D, 4H), U (M, H, 4H), b (M, 4H), p_* (M, H). Returns all hidden
    states (M, B, T, H). It is rung 2 with batched matrix products, so M small models cost about as many
    kernel launches as one: a cheap way to train several seeds side by side.
    """
    M, B, T, D = x.shape
    zx = torch.baddbmm(b[:, None], x.reshape(M, B * T, D), W).view(M, B, T, -1)
    p_i, p_f, p_o = p_i[:, None], p_f[:, None], p_o[:, None]
    h, c, hs = h0, c0, []
    for zx_t in zx.unbind(2):
        h, c = peephole_pointwise(torch.baddbmm(zx_t, h, U), c, p_i, p_f, p_o)
        hs.append(h)
    return torch.stack(hs, 2)


# -------------------------------------------------------------------------------------------- the module
class PeepholeLSTM(nn.Module):
    """A one-layer, batch-first peephole LSTM with the book's parameters (PyTorch has no built-in one).

    Parameters: W (D, 4H), U (H, 4H), b (4H,) in gate order i, f, g, o, and p_i, p_f, p_o (H,).
    forward(x, state=None) takes x (B, T, D) and an optional (h0, c0), each (B, H) (zeros when None),
    and returns (h, (h_T, c_T)): all hidden states (B, T, H) and the last states (B, H).
    `rung` picks the implementation (see `RUNGS`; `chunk` is rung 4's number of steps per compiled
    program); every rung computes the same function.
    """

    def __init__(self, input_size: int, hidden_size: int, rung: str = "hoisted", chunk: int = DEFAULT_CHUNK,
                 device=None, dtype=None) -> None:
        super().__init__()
        if rung not in RUNGS:
            raise ValueError(f"rung must be one of {RUNGS}, not {rung!r}")
        kw = dict(device=device, dtype=dtype)
        self.input_size, self.hidden_size, self.rung, self.chunk = input_size, hidden_size, rung, chunk
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

        PyTorch stores W and U transposed (weight_ih_l0 (4H, D), weight_hh_l0 (4H, H)), uses the same
        gate order i, f, g, o, and adds two biases; the book's b is their sum.
        """
        if lstm.num_layers != 1 or lstm.bidirectional or lstm.proj_size:
            raise ValueError("only a one-layer, one-directional LSTM without projection maps to this cell")
        w = lstm.weight_ih_l0
        cell = cls(lstm.input_size, lstm.hidden_size, rung=rung, device=w.device, dtype=w.dtype)
        with torch.no_grad():
            cell.W.copy_(lstm.weight_ih_l0.T)
            cell.U.copy_(lstm.weight_hh_l0.T)
            cell.b.copy_(lstm.bias_ih_l0 + lstm.bias_hh_l0 if lstm.bias else torch.zeros_like(cell.b))
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
                                        rung=self.rung, chunk=self.chunk)
        return h, (h_T, c_T)

    def extra_repr(self) -> str:
        return (f"input_size={self.input_size}, hidden_size={self.hidden_size}, rung={self.rung!r}"
                + (f", chunk={self.chunk}" if self.rung == "compiled_loop" else ""))


# ------------------------------------------------------------------------------------- a timing task
def timed_spike_task(batch: int, T: int, delay: int, rng: np.random.Generator):
    """Sequences with one input pulse; the answer is the step exactly `delay` steps after it.

    x (batch, T, 1) float32 is 0 except a 1 at a random step t0 in [0, T - delay); returns (x, target)
    with target = t0 + delay, shape (batch,). A network answers with one score per step; its answer is
    the step with the highest score, so it must time the delay to the step.
    """
    if not 0 < delay < T:
        raise ValueError("need 0 < delay < T")
    t0 = rng.integers(0, T - delay, batch)
    x = np.zeros((batch, T, 1), np.float32)
    x[np.arange(batch), t0, 0] = 1.0
    return x, t0 + delay


PARAM_NAMES = ("W", "U", "b", "p_i", "p_f", "p_o")


def train_timing(seeds=(0, 1, 2), *, lrs=(1e-2,), delay: int = 30, T: int = 40, hidden: int = 16,
                 steps: int = 600, batch: int = 32, clip: float = 1.0, eval_every: int = 50,
                 test_size: int = 1000, test_seed: int = 12345) -> dict:
    """For each learning rate and seed, train a plain LSTM and a peephole LSTM on `timed_spike_task`.

    Both members of a pair start from the same W, U, b and readout (nn.LSTM's uniform initialisation,
    seeded by the seed alone) and see the same batches; the peepholes start at zero and only the
    peephole models may move them, so the plain model is exactly Chapter 3's LSTM. Each step of a
    sequence gets the score h_t w + b_out; the loss is the cross-entropy of the softmax over the steps
    against the target step. Adam with a cosine decay of the learning rate, the gradient norm clipped
    per model at `clip`. All len(lrs)·2·len(seeds) models run as one stacked computation
    (`peephole_sequence_stacked`), which is exact: they do not interact.

    Returns a dict with seeds, lrs, delay, T, eval_steps; exact (L, 2, S, n_evals): the fraction of the
    held-out sequences answered at exactly the right step during training (axis 1: 0 plain, 1 peephole);
    final_exact and within_one (L, 2, S) at the end; params (name -> tensor (L, 2, S, ...)); seconds.
    """
    S, L, H = len(seeds), len(lrs), hidden
    G, M = 2 * S, 2 * S * L          # models per learning rate, models in all
    bound = 1 / math.sqrt(H)
    start = time.perf_counter()
    inits = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        u = lambda *shape: torch.rand(*shape, generator=gen) * (2 * bound) - bound  # noqa: E731
        inits.append(dict(W=u(1, 4 * H), U=u(H, 4 * H), b=u(4 * H), w_out=u(H), b_out=u(())))
    groups = []                       # one set of leaves per learning rate: plain models, then peephole
    for _ in lrs:
        leaves = {k: torch.stack([d[k] for d in inits + inits]) for k in inits[0]}
        leaves.update({k: torch.zeros(G, H) for k in ("p_i", "p_f", "p_o")})
        groups.append({k: v.requires_grad_(True) for k, v in leaves.items()})
    can_peep = torch.tensor(([0.0] * S + [1.0] * S) * L)[:, None]

    def scores(x):
        params = {k: torch.cat([g[k] for g in groups]) for k in groups[0]}
        zeros = x.new_zeros(M, x.shape[1], H)
        h = peephole_sequence_stacked(x, zeros, zeros, *(params[k] for k in PARAM_NAMES))
        return torch.einsum("mbth,mh->mbt", h, params["w_out"]) + params["b_out"][:, None, None]

    x_test, y_test = timed_spike_task(test_size, T, delay, np.random.default_rng(test_seed))
    x_test, y_test = torch.as_tensor(x_test).expand(M, -1, -1, -1), torch.as_tensor(y_test)

    def evaluate():
        with torch.no_grad():
            error = (scores(x_test).argmax(-1) - y_test).abs()
        return (error == 0).float().mean(1), (error <= 1).float().mean(1)

    optimizer = torch.optim.Adam([{"params": list(g.values()), "lr": lr} for g, lr in zip(groups, lrs)])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    leaves = [(k, [g[k] for g in groups]) for k in groups[0]]
    rngs = [np.random.default_rng([seed, 1]) for seed in seeds]
    eval_steps, exact = [], []
    for step in range(1, steps + 1):
        data = [timed_spike_task(batch, T, delay, r) for r in rngs]
        x = torch.as_tensor(np.stack([d[0] for d in data] * (2 * L)))
        y = torch.as_tensor(np.stack([d[1] for d in data] * (2 * L)))
        logits = scores(x)                                                  # (M, batch, T)
        loss = nn.functional.cross_entropy(logits.reshape(M * batch, T), y.reshape(-1), reduction="none")
        optimizer.zero_grad(set_to_none=True)
        loss.view(M, batch).mean(1).sum().backward()                        # independent models: sum
        grads = {k: torch.cat([v.grad for v in vs]) for k, vs in leaves}   # (M, ...) per parameter
        for k in ("p_i", "p_f", "p_o"):
            grads[k] *= can_peep
        norms = torch.sqrt(sum(g.pow(2).reshape(M, -1).sum(1) for g in grads.values()))
        scale = (clip / (norms + 1e-6)).clamp(max=1.0)
        for k, vs in leaves:
            for v, g in zip(vs, (grads[k] * scale.view(-1, *[1] * (grads[k].dim() - 1))).split(G)):
                v.grad = g
        optimizer.step()
        schedule.step()
        if step % eval_every == 0 or step == steps:
            eval_steps.append(step)
            exact.append(evaluate()[0])
    final_exact, within_one = evaluate()
    shape = (L, 2, S)
    return {"seeds": list(seeds), "lrs": list(lrs), "delay": delay, "T": T, "eval_steps": eval_steps,
            "exact": torch.stack(exact, -1).view(*shape, -1).numpy(),
            "final_exact": final_exact.view(shape).numpy(), "within_one": within_one.view(shape).numpy(),
            "params": {k: torch.cat([g[k] for g in groups]).detach().view(*shape, *groups[0][k].shape[1:])
                       for k in groups[0]},
            "seconds": time.perf_counter() - start}


# ------------------------------------------------------------------------------------------- the ladder
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "float64": torch.float64}


def _make_runner(model: nn.Module, x: torch.Tensor, mode: str, grad_out: torch.Tensor) -> Callable[[], object]:
    """A function running one forward (no autograd) or one forward and backward of `model` on `x`."""
    if mode == "forward":
        def run():
            with torch.no_grad():
                return model(x)[0]
    else:
        inputs = [x, *model.parameters()]

        def run():
            out = model(x)[0]
            return (out, *torch.autograd.grad(out, inputs, grad_out))
    return run


def _flat(outputs) -> torch.Tensor:
    """One float32 vector of an output, or of an output and its gradients, to compare rungs with."""
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    return torch.cat([t.detach().float().reshape(-1) for t in outputs])


def _uniform_(module: nn.Module, generator: torch.Generator, bound: float) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand(p.shape, generator=generator) * (2 * bound) - bound)


def run_ladder(batch: int = 64, seq_len: int = 256, input_size: int = 512, hidden_size: int = 512,
               device: str | torch.device = "cpu", dtypes=("float32", "bfloat16"), modes=MODES,
               rungs=RUNGS, repeat: int = 5, seed: int = 0, chunk: int = DEFAULT_CHUNK,
               log: Callable[[str], None] | None = print) -> dict:
    """Time every rung of `PeepholeLSTM` and `nn.LSTM` of the same size, in one run.

    For each dtype and mode ("forward" under no_grad; "forward+backward": the gradients of all parameters
    and of x for a fixed random upstream gradient), every implementation runs once untimed (the first
    call, where torch.compile compiles, is reported as `first_call_s`), then `time_call` takes the best of
    `repeat` runs. Returns a dict with the machine, versions, date, sizes and one row per
    (dtype, mode, implementation) with `seconds`, `tokens_per_s` (B·T / seconds) and, for the rungs,
    `ratio` (tokens/s over nn.LSTM's: above 1 is faster than nn.LSTM) and `max_abs_diff_vs_rung1`,
    `rel_diff_vs_rung1`: how far the output (and, with backward, every gradient) is from those of the
    first rung run, absolute and relative to the largest entry; or `skipped`, the reason it did not run.
    """
    device = torch.device(device)
    say = log or (lambda s: None)
    result = {
        "device": device_name(device), "device_type": device.type,
        "torch": torch.__version__, "python": platform.python_version(), "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "cpu_threads": torch.get_num_threads(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sizes": {"batch": batch, "seq_len": seq_len, "input_size": input_size, "hidden_size": hidden_size},
        "repeat": repeat, "chunk": chunk, "cuda_graphs": device.type == "cuda" and CUDA_GRAPHS,
        "rungs": {r: RUNG_TITLES[r] for r in rungs}, "rows": [],
    }
    tokens, bound = batch * seq_len, 1 / math.sqrt(hidden_size)
    for dtype_name in dtypes:
        dtype = DTYPES[dtype_name]
        gen = torch.Generator().manual_seed(seed)
        lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        peep = PeepholeLSTM(input_size, hidden_size, chunk=chunk)
        _uniform_(lstm, gen, bound)
        _uniform_(peep, gen, bound)
        x = torch.randn(batch, seq_len, input_size, generator=gen)
        g = torch.randn(batch, seq_len, hidden_size, generator=gen)
        lstm, peep = lstm.to(device, dtype), peep.to(device, dtype)
        x, g = x.to(device, dtype).requires_grad_(True), g.to(device, dtype)
        for mode in modes:
            base_tps, reference = None, None
            for name in (BASELINE, *rungs):
                row = {"dtype": dtype_name, "mode": mode, "impl": name,
                       "title": BASELINE if name == BASELINE else RUNG_TITLES[name]}
                result["rows"].append(row)
                model = lstm if name == BASELINE else peep
                if name != BASELINE:
                    peep.rung = name
                try:
                    run = _make_runner(model, x, mode, g)
                    start = time.perf_counter()
                    out = _flat(run())       # copied at once: later runs may reuse the memory
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    row["first_call_s"] = time.perf_counter() - start
                    seconds = time_call(run, repeat=repeat, warmup=1, device=device)
                except Exception as err:  # noqa: BLE001  (a rung this machine cannot run: no compiler, ...)
                    first_line = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
                    row["skipped"] = f"{type(err).__name__}: {first_line}"
                    say(f"{dtype_name:9s} {mode:17s} {row['title']:34s} skipped: {row['skipped']}")
                    continue
                row["seconds"] = seconds
                row["tokens_per_s"] = tokens / seconds
                if name == BASELINE:
                    base_tps = row["tokens_per_s"]
                else:
                    if base_tps:
                        row["ratio"] = row["tokens_per_s"] / base_tps
                    if reference is None:
                        reference = out.clone()
                    diff = (out - reference).abs().max().item()
                    row["max_abs_diff_vs_rung1"] = diff
                    row["rel_diff_vs_rung1"] = diff / max(reference.abs().max().item(), 1e-30)
                say(f"{dtype_name:9s} {mode:17s} {row['title']:34s} {row['tokens_per_s']:12,.0f} tokens/s"
                    + (f"  {row['ratio']:.3f} x nn.LSTM" if "ratio" in row else ""))
    return result


def ladder_table(result: dict) -> str:
    """The rows of `run_ladder` as a fixed-width text table."""
    lines = [f"{'dtype':9s} {'mode':17s} {'implementation':34s} {'tokens/s':>12s} {'vs nn.LSTM':>10s}"]
    for r in result["rows"]:
        if "skipped" in r:
            lines.append(f"{r['dtype']:9s} {r['mode']:17s} {r['title']:34s} skipped: {r['skipped']}")
            continue
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else ("1" if r["impl"] == BASELINE else "-")
        lines.append(f"{r['dtype']:9s} {r['mode']:17s} {r['title']:34s} {r['tokens_per_s']:12,.0f} {ratio:>10s}")
    return "\n".join(lines)
