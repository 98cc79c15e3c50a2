"""Time `torch.nn.LSTM` (cuDNN on a GPU) against the hand-written LSTM cell of Chapter 3, in one run.

Four ways to run the same LSTM (same weights, same inputs; the script checks that their outputs agree):

  nn.LSTM             PyTorch's layer: one fused kernel (cuDNN on an NVIDIA GPU, oneDNN or ATen on a CPU)
  eager cell          the book's cell in a Python loop: z = x_t W + h U + b, then the gates, every step
  eager, hoisted      the input projection for all steps at once, (B*T, D) @ (D, 4H), before the loop;
                      the loop only does h U and the elementwise gate arithmetic
  torch.compile       the hoisted loop with its per-step function compiled by `torch.compile`
                      (skipped, with the reason printed, when compilation fails or --no-compile is given)

Each is timed for a forward pass (no gradients) and for forward + backward (the gradients of all
parameters), best of --repeat runs, and reported in tokens per second (batch * seq_len / seconds) and
as its time relative to nn.LSTM in the same run. Examples:

    python benchmarks/lstm_speed.py                                   # CPU, or the GPU when there is one
    python benchmarks/lstm_speed.py --device cuda --batch 64 --seq-len 200 --hidden-size 512 \
        --dtype bfloat16 --json benchmarks/results/lstm_speed_gpu_bf16.json

The book's chapter imports `run_benchmark` and `format_table` and runs them at small sizes on the CPU.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from rnncourse.devices import device_name, pick_device, time_call

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16, "float64": torch.float64}
REFERENCE = "nn.LSTM"


# --- the LSTM, written by hand in torch (the book's layout: W (D, 4H), U (H, 4H), b (4H,), blocks i, f, g, o) ---

def lstm_cell(x_t, h, c, W, U, b):
    """One step of the book's LSTM; returns the new (h, c), each (B, H)."""
    z = x_t @ W + h @ U + b                          # all four gates' pre-activations in one (B, 4H)
    zi, zf, zg, zo = z.chunk(4, dim=1)
    c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
    h = torch.sigmoid(zo) * torch.tanh(c)
    return h, c


def lstm_eager(x, h0, c0, W, U, b):
    """The cell in a Python loop over time. x (B, T, D). Returns all h (B, T, H) and the last (h, c)."""
    h, c, hs = h0, c0, []
    for t in range(x.shape[1]):
        h, c = lstm_cell(x[:, t], h, c, W, U, b)
        hs.append(h)
    return torch.stack(hs, dim=1), (h, c)


def recurrent_step(xw_t, h, c, U):
    """One step once x_t W + b is known: only the recurrent product and the elementwise gate arithmetic."""
    zi, zf, zg, zo = (xw_t + h @ U).chunk(4, dim=1)
    c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zg)
    h = torch.sigmoid(zo) * torch.tanh(c)
    return h, c


def lstm_hoisted(x, h0, c0, W, U, b, step: Callable = recurrent_step):
    """Like `lstm_eager`, with the input projection of every step done first, as one (B*T, D) @ (D, 4H) product.

    The projected inputs are laid out time-major, (T, B, 4H), so that each step reads one contiguous block,
    and split with `unbind`, whose backward assembles one gradient tensor (indexing `xw[:, t]` in the loop
    would make autograd build a full-size zero gradient for every step).
    """
    B, T, D = x.shape
    xw = torch.addmm(b, x.transpose(0, 1).reshape(T * B, D), W).reshape(T, B, -1).unbind(0)
    h, c, hs = h0, c0, []
    for xw_t in xw:
        h, c = step(xw_t, h, c, U)
        hs.append(h)
    return torch.stack(hs, dim=1), (h, c)


def nn_lstm_from(W, U, b) -> nn.LSTM:
    """A batch-first `nn.LSTM` computing the same function: PyTorch stores W.T and U.T and splits b in two."""
    D, H4 = W.shape
    layer = nn.LSTM(D, H4 // 4, batch_first=True, device=W.device, dtype=W.dtype)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(W.T)
        layer.weight_hh_l0.copy_(U.T)
        layer.bias_ih_l0.copy_(b)
        layer.bias_hh_l0.zero_()
    return layer


# --- the benchmark ---

def device_note(device: torch.device) -> str:
    """What kind of numbers these are; on a machine without a GPU, where GPU numbers will come from."""
    if device.type == "cuda":
        return (f"GPU: {device_name(device)}; nn.LSTM runs cuDNN {torch.backends.cudnn.version()} "
                f"(enabled: {torch.backends.cudnn.enabled}).")
    if not torch.cuda.is_available():
        return ("No GPU is present (torch.cuda.is_available() is False): these are CPU numbers\n"
                f"({device_name(device)}, {torch.get_num_threads()} torch threads), and nn.LSTM runs PyTorch's "
                "CPU kernels, not cuDNN.\nGPU figures will come from committed data measured by this script "
                "on a GPU (--device cuda --json PATH),\nnot from this run.")
    return f"CPU by request ({device_name(device)}, {torch.get_num_threads()} torch threads); a GPU is present."


def make_problem(batch, seq_len, input_size, hidden_size, device, dtype, seed=0):
    """Random inputs and weights of a typical scale (PyTorch's default uniform range), on `device` in `dtype`."""
    gen = torch.Generator().manual_seed(seed)
    k = hidden_size ** -0.5

    def uniform(*shape, scale=k):
        return ((torch.rand(*shape, generator=gen) * 2 - 1) * scale).to(device=device, dtype=dtype)

    x = torch.randn(batch, seq_len, input_size, generator=gen).to(device=device, dtype=dtype)
    W, U, b = uniform(input_size, 4 * hidden_size), uniform(hidden_size, 4 * hidden_size), uniform(4 * hidden_size)
    h0 = torch.zeros(batch, hidden_size, device=device, dtype=dtype)
    return x, h0, h0.clone(), W, U, b


def _variants(x, h0, c0, W, U, b, use_compile: bool, compile_mode: str):
    """name -> (forward(params) -> output, list of parameters); and name -> reason for variants skipped."""
    layer = nn_lstm_from(W, U, b)
    Wp, Up, bp = (t.clone().requires_grad_(True) for t in (W, U, b))
    hand = [Wp, Up, bp]
    variants = {
        REFERENCE: (lambda: layer(x, (h0[None], c0[None]))[0], list(layer.parameters())),
        "eager cell": (lambda: lstm_eager(x, h0, c0, Wp, Up, bp)[0], hand),
        "eager, hoisted input projection": (lambda: lstm_hoisted(x, h0, c0, Wp, Up, bp)[0], hand),
    }
    skipped = {}
    name = "torch.compile step (hoisted)"
    if not use_compile:
        skipped[name] = "--no-compile given"
    else:
        try:
            compiled = torch.compile(recurrent_step, dynamic=False, mode=compile_mode)
            # Compile now, for both passes, so that a failure is caught here and not in the timing loop.
            with torch.no_grad():
                lstm_hoisted(x, h0, c0, Wp, Up, bp, step=compiled)
            lstm_hoisted(x, h0, c0, Wp, Up, bp, step=compiled)[0].float().sum().backward()
            variants[name] = (lambda: lstm_hoisted(x, h0, c0, Wp, Up, bp, step=compiled)[0], hand)
        except Exception as err:  # no C++ compiler, no Triton, an unsupported dtype...: report and go on
            first_line = (str(err).strip().splitlines() or [""])[0][:200]
            skipped[name] = f"torch.compile failed on {x.device.type}: {type(err).__name__}: {first_line}"
    return variants, skipped


def run_benchmark(batch: int = 32, seq_len: int = 50, input_size: int = 64, hidden_size: int = 128,
                  device: str | torch.device = "auto", dtype: str = "float32", repeat: int = 10,
                  use_compile: bool = True, compile_mode: str = "default", seed: int = 0) -> dict:
    """Time every variant, forward and forward + backward, in this one run.

    The variants take turns, `repeat` rounds of one run each, and each keeps its best time.
    Returns {"rows": [...], "skipped": {variant: reason}, "note": str, "device": str, "device_name": str,
    "config": {...}}; each row has variant, pass, seconds (best of `repeat`), tokens_per_s,
    time_vs_nn_lstm (its time divided by nn.LSTM's for the same pass) and max_abs_diff (its output
    against nn.LSTM's, in `dtype`).
    """
    device = pick_device() if str(device) == "auto" else torch.device(device)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, not {dtype!r}")
    x, h0, c0, W, U, b = make_problem(batch, seq_len, input_size, hidden_size, device, DTYPES[dtype], seed)
    variants, skipped = _variants(x, h0, c0, W, U, b, use_compile, compile_mode)
    tokens = batch * seq_len
    with torch.no_grad():
        reference = variants[REFERENCE][0]().float()
    jobs, rows = [], []
    for name, (forward, params) in variants.items():
        with torch.no_grad():
            diff = (forward().float() - reference).abs().max().item()

        def inference(forward=forward):
            with torch.no_grad():
                forward()

        def training(forward=forward, params=params):
            for p in params:
                p.grad = None
            forward().float().sum().backward()

        for pass_name, fn in (("forward", inference), ("forward+backward", training)):
            fn()                                                   # warm-up (and compilation)
            jobs.append(fn)
            rows.append({"variant": name, "pass": pass_name, "seconds": float("inf"), "max_abs_diff": diff})
    # Interleaved rounds: every measurement gets one run per round, and keeps its best. A slow spell of a
    # busy machine then hits all variants alike instead of spoiling one of them.
    for _ in range(repeat):
        for fn, row in zip(jobs, rows):
            row["seconds"] = min(row["seconds"], time_call(fn, repeat=1, warmup=0, device=device))
    for row in rows:
        row["tokens_per_s"] = tokens / row["seconds"]
    for row in rows:
        ref = next(r for r in rows if r["variant"] == REFERENCE and r["pass"] == row["pass"])
        row["time_vs_nn_lstm"] = row["seconds"] / ref["seconds"]
    config = dict(batch=batch, seq_len=seq_len, input_size=input_size, hidden_size=hidden_size, dtype=dtype,
                  repeat=repeat, compile=use_compile, compile_mode=compile_mode, threads=torch.get_num_threads())
    return {"rows": rows, "skipped": skipped, "note": device_note(device), "device": device.type,
            "device_name": device_name(device), "config": config}


def format_table(result: dict) -> str:
    """The rows as a fixed-width text table, followed by the skipped variants and their reasons."""
    lines = [f"{'variant':34s} {'pass':17s} {'ms':>9s} {'tokens/s':>12s} {'time / nn.LSTM':>15s} "
             f"{'max |diff|':>11s}"]
    for r in result["rows"]:
        lines.append(f"{r['variant']:34s} {r['pass']:17s} {1e3 * r['seconds']:9.2f} {r['tokens_per_s']:12,.0f} "
                     f"{r['time_vs_nn_lstm']:14.2f}x {r['max_abs_diff']:11.1e}")
    for name, reason in result["skipped"].items():
        lines.append(f"{name}: skipped ({reason})")
    return "\n".join(lines)


def metadata(result: dict) -> dict:
    """Everything needed to interpret the numbers later: device, versions, date, sizes."""
    return {"device": result["device"], "device_name": result["device_name"],
            "torch_version": torch.__version__, "numpy_version": np.__version__,
            "cuda_version": torch.version.cuda, "cudnn_version": torch.backends.cudnn.version()
            if torch.backends.cudnn.is_available() else None,
            "python_version": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "config": result["config"], "note": result["note"]}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=50)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--device", default="auto", help="auto (the GPU when there is one), cpu, cuda, cuda:1...")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES))
    parser.add_argument("--repeat", type=int, default=10,
                        help="rounds; in each, every measurement is run once, and its best time is kept")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    parser.add_argument("--compile-mode", default="default",
                        help="torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (0: PyTorch's default); 1 gives the steadiest numbers on a busy "
                             "machine")
    parser.add_argument("--json", metavar="PATH", help="also write the results, with device, versions and date")
    return parser.parse_args(argv)


def main(argv=None) -> list[dict]:
    """Run from the command line (or with a list of arguments); print the table; return the rows."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    result = run_benchmark(args.batch, args.seq_len, args.input_size, args.hidden_size, args.device, args.dtype,
                           args.repeat, use_compile=not args.no_compile, compile_mode=args.compile_mode)
    info = metadata(result)
    print(result["note"])
    print(f"batch {args.batch}, seq_len {args.seq_len}, input {args.input_size}, hidden {args.hidden_size}, "
          f"{args.dtype}, best of {args.repeat}; torch {info['torch_version']}, {info['date'][:19]} UTC")
    print(format_table(result))
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**info, "rows": result["rows"], "skipped": result["skipped"]}, indent=2) + "\n")
        print(f"wrote {path}")
    return result["rows"]


if __name__ == "__main__":
    main()
