"""Chapter 4's ladder: every rung of `PeepholeLSTM` against `nn.LSTM` (cuDNN on a GPU) of the same size.

For each dtype and mode ("forward" under no_grad; "forward+backward": the gradients of all parameters and
of x for a fixed random upstream gradient), every implementation runs once untimed (the first call, where
torch.compile compiles, is reported as `first_call_s`), then all are timed in interleaved rounds
(`kit.best_times`). A rung this machine cannot run (no compiler for torch.compile, a dtype without
kernels) is recorded as skipped, with the reason.
"""
from __future__ import annotations

import math
import time
from typing import Callable

import torch
from torch import nn

from rnncourse.bench import kit
from rnncourse.peephole_torch import DEFAULT_CHUNK, RUNG_TITLES, RUNGS, PeepholeLSTM

BASELINE = "nn.LSTM"
MODES = ("forward", "forward+backward")


def _make_runner(model: nn.Module, x: torch.Tensor, mode: str, grad_out: torch.Tensor,
                 rung: str | None = None) -> Callable[[], object]:
    """A function running one forward (no autograd) or one forward and backward of `model` on `x`;
    with `rung`, the peephole model is switched to it first (the rounds interleave the rungs)."""
    def forward():
        if rung:
            model.rung = rung
        return model(x)[0]

    if mode == "forward":
        def run():
            with torch.no_grad():
                return forward()
    else:
        inputs = [x, *model.parameters()]

        def run():
            out = forward()
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
               cuda_graphs: bool = True) -> dict:
    """Time every rung of `PeepholeLSTM` and `nn.LSTM` of the same size, in one run; returns the record.

    record["rows"]: one per (dtype, mode, implementation) with `seconds` (best of `repeat` rounds),
    `tokens_per_s` (B·T / seconds), `first_call_s` and, for the rungs, `ratio` (tokens/s over nn.LSTM's:
    above 1 is faster than nn.LSTM), `max_abs_diff_vs_rung1` and `rel_diff_vs_rung1`: how far the output
    (and, with backward, every gradient) is from those of the first rung run, absolute and relative to
    the largest entry; or `skipped`, the reason it did not run.
    """
    device = torch.device(device)
    config = {"batch": batch, "seq_len": seq_len, "input_size": input_size, "hidden_size": hidden_size,
              "dtype": list(dtypes), "modes": list(modes), "repeat": repeat, "chunk": chunk,
              "cuda_graphs": device.type == "cuda" and cuda_graphs}
    rows = []
    tokens, bound = batch * seq_len, 1 / math.sqrt(hidden_size)
    for dtype_name in dtypes:
        gen = torch.Generator().manual_seed(seed)
        lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        peep = PeepholeLSTM(input_size, hidden_size, chunk=chunk, cuda_graphs=cuda_graphs)
        _uniform_(lstm, gen, bound)
        _uniform_(peep, gen, bound)
        x = torch.randn(batch, seq_len, input_size, generator=gen)
        g = torch.randn(batch, seq_len, hidden_size, generator=gen)
        lstm, peep = lstm.to(device, kit.DTYPES[dtype_name]), peep.to(device, kit.DTYPES[dtype_name])
        x, g = x.to(device, kit.DTYPES[dtype_name]).requires_grad_(True), g.to(device, kit.DTYPES[dtype_name])
        for mode in modes:
            calls, reference = {}, None
            for name in (BASELINE, *rungs):
                row = {"dtype": dtype_name, "mode": mode, "impl": name,
                       "title": BASELINE if name == BASELINE else RUNG_TITLES[name]}
                rows.append(row)
                try:
                    run = _make_runner(lstm, x, mode, g) if name == BASELINE else _make_runner(peep, x, mode, g, name)
                    start = time.perf_counter()
                    out = _flat(run())       # copied at once: later runs may reuse the memory
                    if device.type == "cuda":
                        torch.cuda.synchronize(device)
                    row["first_call_s"] = time.perf_counter() - start
                except Exception as err:  # noqa: BLE001  (a rung this machine cannot run: no compiler, ...)
                    row["skipped"] = kit.error_line(err)
                    continue
                calls[name] = run
                if name != BASELINE:
                    reference = out.clone() if reference is None else reference
                    diff = (out - reference).abs().max().item()
                    row["max_abs_diff_vs_rung1"] = diff
                    row["rel_diff_vs_rung1"] = diff / max(reference.abs().max().item(), 1e-30)
            seconds = kit.best_times(calls, repeat=repeat, warmup=0, device=device)
            mine = [r for r in rows if r["dtype"] == dtype_name and r["mode"] == mode and r["impl"] in seconds]
            for row in mine:
                row["seconds"] = seconds[row["impl"]]
                row["tokens_per_s"] = tokens / row["seconds"]
                if row["impl"] != BASELINE and BASELINE in seconds:
                    row["ratio"] = seconds[BASELINE] / row["seconds"]
    return kit.record("peephole_ladder", device, config, rungs={r: RUNG_TITLES[r] for r in rungs}, rows=rows)


def ladder_table(result: dict) -> str:
    """The rows of `run_ladder` as a text table."""
    def cells(r):
        if "skipped" in r:
            return [r["dtype"], r["mode"], r["title"], "skipped", r["skipped"][:60]]
        ratio = f"{r['ratio']:.3f}" if "ratio" in r else ("1" if r["impl"] == BASELINE else "-")
        return [r["dtype"], r["mode"], r["title"], f"{r['tokens_per_s']:,.0f}", ratio]
    return kit.table(["dtype", "mode", "implementation", "tokens/s", "vs nn.LSTM"], map(cells, result["rows"]),
                     left=3)
