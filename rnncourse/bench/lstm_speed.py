"""Chapter 3's measurement: `nn.LSTM` (cuDNN on a GPU) against the hand-written LSTM cell, in one run.

Four ways to run the same LSTM (same weights, same inputs; their outputs are compared with nn.LSTM's):

  nn.LSTM             PyTorch's layer: one fused kernel (cuDNN on an NVIDIA GPU, oneDNN or ATen on a CPU)
  eager cell          the book's cell (`rnncourse.lstm_torch`) in a Python loop: z = x_t W + h U + b, then
                      the gates, every step
  eager, hoisted      the input projection for all steps at once, (B*T, D) @ (D, 4H), before the loop;
                      the loop only does h U and the elementwise gate arithmetic
  torch.compile       the hoisted loop with the gate arithmetic of a step compiled by `torch.compile`
                      (skipped, with the reason, when compilation fails or is not asked for)

Each is timed for a forward pass (no gradients) and for forward + backward (the gradients of all
parameters), in interleaved rounds, per dtype, and reported in tokens per second (batch * seq_len /
seconds) and as its time relative to nn.LSTM's in the same run.
"""
from __future__ import annotations

import torch

from rnncourse.bench import kit
from rnncourse.devices import device_name, pick_device
from rnncourse.lstm_torch import pointwise, sequence_eager, sequence_hoisted
from rnncourse.weights import torch_lstm_from_book

REFERENCE = "nn.LSTM"
COMPILED = "torch.compile step (hoisted)"
PASSES = ("forward", "forward+backward")


def device_note(device: torch.device) -> str:
    """What kind of numbers these are; on a machine without a GPU, where GPU numbers come from."""
    if device.type == "cuda":
        return (f"GPU: {device_name(device)}; nn.LSTM runs cuDNN {torch.backends.cudnn.version()} "
                f"(enabled: {torch.backends.cudnn.enabled}).")
    if not torch.cuda.is_available():
        return ("No GPU is present (torch.cuda.is_available() is False): these are CPU numbers\n"
                f"({device_name(device)}, {torch.get_num_threads()} torch threads), and nn.LSTM runs PyTorch's "
                "CPU kernels, not cuDNN.\nGPU figures come from records measured on a GPU "
                "(make gpu-figures), not from this run.")
    return f"CPU by request ({device_name(device)}, {torch.get_num_threads()} torch threads); a GPU is present."


def make_problem(batch, seq_len, input_size, hidden_size, device, dtype, seed=0):
    """Random inputs and weights of a typical scale (PyTorch's default uniform range), on `device` in `dtype`:
    x (B, T, D), h0, c0 (B, H) zeros, W (D, 4H), U (H, 4H), b (4H,)."""
    gen = torch.Generator().manual_seed(seed)
    k = hidden_size ** -0.5

    def uniform(*shape):
        return ((torch.rand(*shape, generator=gen) * 2 - 1) * k).to(device=device, dtype=dtype)

    x = torch.randn(batch, seq_len, input_size, generator=gen).to(device=device, dtype=dtype)
    W, U, b = uniform(input_size, 4 * hidden_size), uniform(hidden_size, 4 * hidden_size), uniform(4 * hidden_size)
    h0 = torch.zeros(batch, hidden_size, device=device, dtype=dtype)
    return x, h0, h0.clone(), W, U, b


def _variants(x, h0, c0, W, U, b, use_compile: bool):
    """name -> (forward() -> all h, its parameters); and name -> reason for the variants skipped."""
    layer = torch_lstm_from_book(W, U, b)
    Wp, Up, bp = (t.clone().requires_grad_(True) for t in (W, U, b))
    hand = [Wp, Up, bp]
    variants = {
        REFERENCE: (lambda: layer(x, (h0[None], c0[None]))[0], list(layer.parameters())),
        "eager cell": (lambda: sequence_eager(x, h0, c0, Wp, Up, bp)[0], hand),
        "eager, hoisted input projection": (lambda: sequence_hoisted(x, h0, c0, Wp, Up, bp)[0], hand),
    }
    if not use_compile:
        return variants, {COMPILED: "not asked for (--no-compile)"}

    def attempt(step):   # both passes, so that a failure shows here and not in the timing loop
        with torch.no_grad():
            sequence_hoisted(x, h0, c0, Wp, Up, bp, step=step)
        sequence_hoisted(x, h0, c0, Wp, Up, bp, step=step)[0].float().sum().backward()

    compiled, reason = kit.try_compile(pointwise, attempt, dynamic=False)
    if compiled is None:
        return variants, {COMPILED: reason}
    variants[COMPILED] = (lambda: sequence_hoisted(x, h0, c0, Wp, Up, bp, step=compiled)[0], hand)
    return variants, {}


def run_benchmark(batch: int = 32, seq_len: int = 50, input_size: int = 64, hidden_size: int = 128,
                  device: str | torch.device = "auto", dtype: str | tuple = "float32", repeat: int = 10,
                  use_compile: bool = True, seed: int = 0) -> dict:
    """Time every variant, forward and forward + backward, for each dtype, in this one run; the record.

    record["rows"]: variant, dtype, pass, seconds (best of `repeat` interleaved rounds), tokens_per_s,
    time_vs_nn_lstm (its time over nn.LSTM's for the same dtype and pass) and max_abs_diff (its output
    against nn.LSTM's); record["skipped"]: {variant: reason}; record["note"]: what kind of numbers these are.
    """
    device = pick_device() if str(device) == "auto" else torch.device(device)
    dtypes = (dtype,) if isinstance(dtype, str) else tuple(dtype)
    rows, skipped = [], {}
    for dtype_name in dtypes:
        problem = make_problem(batch, seq_len, input_size, hidden_size, device, kit.DTYPES[dtype_name], seed)
        variants, skip = _variants(*problem, use_compile)
        skipped.update({f"{name} ({dtype_name})": reason for name, reason in skip.items()})
        with torch.no_grad():
            reference = variants[REFERENCE][0]().float()
        calls, mine = {}, []
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

            for pass_name, fn in zip(PASSES, (inference, training)):
                calls[name, pass_name] = fn
                mine.append({"variant": name, "dtype": dtype_name, "pass": pass_name, "max_abs_diff": diff})
        seconds = kit.best_times(calls, repeat=repeat, warmup=1, device=device)
        for row in mine:
            row["seconds"] = seconds[row["variant"], row["pass"]]
            row["tokens_per_s"] = batch * seq_len / row["seconds"]
            row["time_vs_nn_lstm"] = row["seconds"] / seconds[REFERENCE, row["pass"]]
        rows += mine
    config = dict(batch=batch, seq_len=seq_len, input_size=input_size, hidden_size=hidden_size, dtype=list(dtypes),
                  repeat=repeat, compile=use_compile, seed=seed)
    return kit.record("lstm_speed", device, config, rows=rows, skipped=skipped, note=device_note(device))


def format_table(result: dict) -> str:
    """The rows as a text table, followed by the skipped variants and their reasons."""
    lines = [kit.table(["variant", "dtype", "pass", "ms", "tokens/s", "time / nn.LSTM", "max |diff|"],
                       ([r["variant"], r["dtype"], r["pass"], f"{1e3 * r['seconds']:.2f}", f"{r['tokens_per_s']:,.0f}",
                         f"{r['time_vs_nn_lstm']:.2f}x", f"{r['max_abs_diff']:.1e}"] for r in result["rows"]), left=3)]
    lines += [f"{name}: skipped ({reason})" for name, reason in result["skipped"].items()]
    return "\n".join(lines)
