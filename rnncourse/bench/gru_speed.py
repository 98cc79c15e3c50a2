"""Chapter 5's measurements: PyTorch's fused `nn.GRU` (cuDNN on an NVIDIA GPU) against a GRU cell written
by hand in torch ops, and the fused `nn.RNN`, `nn.GRU` and `nn.LSTM` per time step.

Three ways to run the same GRU, with the same parameters, over a batch of sequences:

  nn_gru         `torch.nn.GRU`: one fused call for the whole sequence (cuDNN on a GPU, PyTorch's own
                 kernel on the CPU);
  hand_eager     `hand_gru`: a Python loop over time steps calling `gru_cell`, PyTorch's equations
                 written out in torch ops, run eagerly (one kernel launch per op per step);
  hand_compiled  the same loop with `gru_cell` compiled by `torch.compile` (fused elementwise kernels),
                 skipped with the reason recorded when compilation fails.

Every variant is timed forward only (no gradients) and for forward + backward, after checking that it
computes the same hidden states as `nn.GRU`, in interleaved rounds (`kit.best_times`).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from rnncourse.bench import kit

VARIANTS = ("nn_gru", "hand_eager", "hand_compiled")
LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def gru_cell(gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """One step of PyTorch's GRU, given the input projection gi = x_t W_ih^T + b_ih of shape (B, 3H).

    Blocks r, z, n as in `nn.GRU`: r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n),
    h' = (1 - z) ⊙ n + z ⊙ h, where gh = h W_hh^T + b_hh (the reset gate applied after the product).
    """
    gh = torch.addmm(b_hh, h, w_hh.t())
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)                    # = (1 - z) * n + z * h


def hand_gru(x: torch.Tensor, h0: torch.Tensor, gru: nn.GRU, cell: Callable = gru_cell) -> torch.Tensor:
    """All hidden states (B, T, H) of a one-layer, batch-first `gru`, computed step by step with `cell`.

    The input projections of all T steps are one matrix product before the loop, as fused
    implementations do; only the recurrent part runs step by step.
    """
    B, T, _ = x.shape
    gi_all = torch.addmm(gru.bias_ih_l0, x.reshape(B * T, -1), gru.weight_ih_l0.t()).view(B, T, -1)
    h, states = h0, []
    for gi in gi_all.unbind(1):
        h = cell(gi, h, gru.weight_hh_l0, gru.bias_hh_l0)
        states.append(h)
    return torch.stack(states, dim=1)


def make_problem(batch: int, seq_len: int, input_size: int, hidden_size: int, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, seed: int = 0) -> tuple[nn.GRU, torch.Tensor, torch.Tensor]:
    """A seeded one-layer batch-first `nn.GRU`, inputs x (B, T, D) and an initial state h0 (B, H)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gru = nn.GRU(input_size, hidden_size, batch_first=True)
    gru = gru.to(device=device, dtype=dtype)
    x = torch.randn(batch, seq_len, input_size, generator=gen).to(device=device, dtype=dtype)
    h0 = torch.randn(batch, hidden_size, generator=gen).tanh().to(device=device, dtype=dtype)
    return gru, x, h0


def time_layers(batch: int = 64, seq_len: int = 100, input_size: int = 16, hidden_size: int = 64,
                device: str | torch.device = "cpu", repeat: int = 9, warmup: int = 2, backward: bool = True,
                seed: int = 0) -> dict:
    """Time per step of PyTorch's fused `nn.RNN`, `nn.GRU` and `nn.LSTM` (one layer, batch first) on the
    same inputs: {kind: {"params": ..., "forward_s": ..., "forward_backward_s": ...}}, seconds per time step
    (best of `repeat` interleaved rounds over the whole sequence, divided by `seq_len`)."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, seq_len, input_size, generator=gen).to(device)
    out, calls = {}, {}
    for kind, layer in LAYERS.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = layer(input_size, hidden_size, batch_first=True).to(device)

        def forward(model=model):
            with torch.no_grad():
                model(x)

        def forward_backward(model=model):
            model.zero_grad(set_to_none=True)
            model(x)[0].sum().backward()

        out[kind] = {"params": sum(p.numel() for p in model.parameters())}
        calls[kind, "forward_s"] = forward
        if backward:
            calls[kind, "forward_backward_s"] = forward_backward
    for (kind, key), seconds in kit.best_times(calls, repeat, warmup, device).items():
        out[kind][key] = seconds / seq_len
    return out


def run_benchmark(batch: int = 16, seq_len: int = 50, input_size: int = 16, hidden_size: int = 64,
                  device: str | torch.device = "cpu", repeat: int = 9, warmup: int = 2,
                  compile: bool = True, backward: bool = True, layers: bool = False, seed: int = 0) -> dict:
    """Check and time the variants at one size (float32); returns the record.

    record["timings"][variant] = {"forward_s": ..., "forward_backward_s": ...} (best of `repeat`
    interleaved rounds, in seconds; forward_backward_s only with `backward`),
    record["max_abs_diff"][variant] is the largest |hidden state - nn.GRU's|, and record["ratios"]
    divides each variant's time by nn_gru's. With `layers`, record["layers"] also holds `time_layers`
    at the same sizes (nn.RNN, nn.GRU, nn.LSTM).
    """
    device = torch.device(device)
    gru, x, h0 = make_problem(batch, seq_len, input_size, hidden_size, device, seed=seed)
    runners: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "nn_gru": lambda inp: gru(inp, h0[None])[0],
        "hand_eager": lambda inp: hand_gru(inp, h0, gru),
    }
    skipped = {}
    if compile:
        def attempt(cell):
            with torch.no_grad():
                hand_gru(x, h0, gru, cell)
            if backward:
                hand_gru(x.detach().requires_grad_(True), h0, gru, cell).sum().backward()
                gru.zero_grad(set_to_none=True)

        compiled, reason = kit.try_compile(gru_cell, attempt, dynamic=False)
        if compiled is None:
            skipped["hand_compiled"] = reason
        else:
            runners["hand_compiled"] = lambda inp: hand_gru(inp, h0, gru, compiled)
    else:
        skipped["hand_compiled"] = "not asked for (--no-compile)"

    with torch.no_grad():
        reference = runners["nn_gru"](x)
        diffs = {name: (run(x) - reference).abs().max().item() for name, run in runners.items()}

    x_grad = x.clone().requires_grad_(True)

    def forward_backward(run):
        gru.zero_grad(set_to_none=True)
        x_grad.grad = None
        run(x_grad).sum().backward()

    calls = {}
    for name, run in runners.items():
        def forward(run=run):
            with torch.no_grad():
                run(x)
        calls[name, "forward_s"] = forward
        if backward:
            calls[name, "forward_backward_s"] = lambda run=run: forward_backward(run)
    timings = {name: {} for name in runners}
    for (name, key), seconds in kit.best_times(calls, repeat, warmup, device).items():
        timings[name][key] = seconds
    ratios = {name: {k: v / timings["nn_gru"][k] for k, v in t.items()} for name, t in timings.items()}
    config = {"batch": batch, "seq_len": seq_len, "input_size": input_size, "hidden_size": hidden_size,
              "dtype": ["float32"], "repeat": repeat, "seed": seed}
    results = {"timings": timings, "ratios": ratios, "max_abs_diff": diffs, "skipped": skipped}
    if layers:
        results["layers"] = time_layers(batch, seq_len, input_size, hidden_size, device, repeat, warmup, backward,
                                        seed)
    return kit.record("gru_speed", device, config, **results)


def format_table(record: dict) -> str:
    """The record as text tables: time per run and per step, the ratio to nn.GRU, and the fused layers."""
    c, env = record["config"], record["environment"]
    title = (f"{kit.describe(env)}; B={c['batch']}, T={c['seq_len']}, D={c['input_size']}, H={c['hidden_size']}, "
             f"float32, best of {c['repeat']} interleaved rounds")

    def cells(name, t):
        fb = t.get("forward_backward_s")
        return [name, f"{1e3 * t['forward_s']:.2f}ms", f"{1e6 * t['forward_s'] / c['seq_len']:.1f}us",
                f"{record['ratios'][name]['forward_s']:.2f}x",
                f"{1e3 * fb:.2f}ms" if fb else "-",
                f"{record['ratios'][name]['forward_backward_s']:.2f}x" if fb else "-",
                f"{record['max_abs_diff'][name]:.1e}"]
    lines = [kit.table(["variant", "forward", "per step", "x nn.GRU", "fwd+bwd", "x nn.GRU", "max|diff|"],
                       (cells(n, t) for n, t in record["timings"].items()), title=title)]
    lines += [f"{name}: skipped ({reason})" for name, reason in record["skipped"].items()]
    if "layers" in record:
        lines.append(kit.table(["fused layer", "params", "fwd/step", "fwd+bwd/step"],
                               ([f"nn.{kind.upper()}", t["params"], f"{1e6 * t['forward_s']:.1f}us",
                                 f"{1e6 * t['forward_backward_s']:.1f}us" if "forward_backward_s" in t else "-"]
                                for kind, t in record["layers"].items())))
    return "\n".join(lines)
