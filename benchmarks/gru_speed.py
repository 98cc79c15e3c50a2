"""Time PyTorch's fused `nn.GRU` (cuDNN on an NVIDIA GPU) against a GRU cell written by hand in torch ops.

Three ways to run the same GRU, with the same parameters, over a batch of sequences:

  nn_gru         `torch.nn.GRU`: one fused call for the whole sequence (cuDNN on a GPU, PyTorch's own
                 kernel on the CPU);
  hand_eager     `hand_gru`: a Python loop over time steps calling `gru_cell`, PyTorch's equations
                 written out in torch ops, run eagerly (one kernel launch per op per step);
  hand_compiled  the same loop with `gru_cell` compiled by `torch.compile` (fused elementwise kernels),
                 skipped with the reason recorded when compilation fails.

Every variant is timed forward only (no gradients) and for forward + backward, after checking that it
computes the same hidden states as `nn.GRU`. Times are the best of `--rounds` rounds of `--repeat` runs, the
variants interleaved round by round, in one process.
Unless `--no-layers`, the fused `nn.RNN`, `nn.GRU` and `nn.LSTM` are also timed per time step at the same
sizes (Chapter 5's comparison table).

    python benchmarks/gru_speed.py --device cuda --batch 64 --seq-len 200 --hidden 256 --json gru_speed.json

The JSON file records the device name, the torch (and cuDNN) versions, the date, the sizes and the
timings, so numbers can be committed and quoted with their provenance.
"""
from __future__ import annotations

import argparse
import datetime
import json
import platform
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from rnncourse.devices import device_name, time_call

VARIANTS = ("nn_gru", "hand_eager", "hand_compiled")


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
    for t in range(T):
        h = cell(gi_all[:, t], h, gru.weight_hh_l0, gru.bias_hh_l0)
        states.append(h)
    return torch.stack(states, dim=1)


def make_problem(batch: int, seq_len: int, input_size: int, hidden: int, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, seed: int = 0) -> tuple[nn.GRU, torch.Tensor, torch.Tensor]:
    """A seeded one-layer batch-first `nn.GRU`, inputs x (B, T, D) and an initial state h0 (B, H)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gru = nn.GRU(input_size, hidden, batch_first=True)
    gru = gru.to(device=device, dtype=dtype)
    x = torch.randn(batch, seq_len, input_size, generator=gen).to(device=device, dtype=dtype)
    h0 = torch.randn(batch, hidden, generator=gen).tanh().to(device=device, dtype=dtype)
    return gru, x, h0


def compile_cell(gru: nn.GRU, x: torch.Tensor, h0: torch.Tensor, backward: bool = True,
                 cell: Callable = gru_cell) -> tuple[Callable | None, str | None]:
    """`torch.compile(cell)`, tried on this problem (forward, and backward with `backward`);
    (None, the reason) when compiling or running it fails."""
    try:
        compiled = torch.compile(cell, dynamic=False)
        with torch.no_grad():
            hand_gru(x, h0, gru, compiled)  # compilation happens here, on the first call
        if backward:
            hand_gru(x.detach().requires_grad_(True), h0, gru, compiled).sum().backward()
            gru.zero_grad(set_to_none=True)
        return compiled, None
    except Exception as error:  # noqa: BLE001 - any failure means "no compiled variant here"
        lines = str(error).strip().splitlines()
        return None, f"{type(error).__name__}: {lines[0][:200] if lines else ''}"


LAYERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def best_times(calls: dict[str, Callable[[], object]], rounds: int = 3, repeat: int = 3, warmup: int = 2,
               device: str | torch.device = "cpu") -> dict[str, float]:
    """Best wall time, in seconds, of each call in `calls`, measured in `rounds` interleaved rounds of
    `repeat` runs each (after `warmup` untimed runs in the first round).

    Interleaving spreads every variant's runs over the same stretch of time, so a burst of load from
    other processes on a shared machine slows them all alike instead of one of them.
    """
    best = dict.fromkeys(calls, float("inf"))
    for r in range(rounds):
        for name, fn in calls.items():
            seconds = time_call(fn, repeat=repeat, warmup=warmup if r == 0 else 0, device=device)
            best[name] = min(best[name], seconds)
    return best


def time_layers(batch: int = 64, seq_len: int = 100, input_size: int = 16, hidden: int = 64,
                device: str | torch.device = "cpu", repeat: int = 3, warmup: int = 2, backward: bool = True,
                seed: int = 0, rounds: int = 3) -> dict:
    """Time per step of PyTorch's fused `nn.RNN`, `nn.GRU` and `nn.LSTM` (one layer, batch first) on the
    same inputs: {kind: {"params": ..., "forward_s": ..., "forward_backward_s": ...}}, seconds per time step
    (best of `rounds` x `repeat` interleaved runs of the whole sequence, divided by `seq_len`)."""
    device = torch.device(device)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, seq_len, input_size, generator=gen).to(device)
    out, calls = {}, {}
    for kind, layer in LAYERS.items():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = layer(input_size, hidden, batch_first=True).to(device)

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
    for (kind, key), seconds in best_times(calls, rounds, repeat, warmup, device).items():
        out[kind][key] = seconds / seq_len
    return out


def run_benchmark(batch: int = 16, seq_len: int = 50, input_size: int = 16, hidden: int = 64,
                  device: str | torch.device = "cpu", repeat: int = 3, warmup: int = 2,
                  compile: bool = True, backward: bool = True, layers: bool = False, seed: int = 0,
                  rounds: int = 3) -> dict:
    """Check and time the variants at one size; returns the record that `--json` writes.

    record["timings"][variant] = {"forward_s": ..., "forward_backward_s": ...} (best of `rounds` x
    `repeat` interleaved runs, in seconds; forward_backward_s only with `backward`),
    record["max_abs_diff"][variant] is the largest |hidden state - nn.GRU's| in float32, and
    record["ratios"] divides each variant's time by nn_gru's.
    With `layers`, record["layers"] also holds `time_layers` at the same sizes (nn.RNN, nn.GRU, nn.LSTM).
    """
    device = torch.device(device)
    gru, x, h0 = make_problem(batch, seq_len, input_size, hidden, device)
    runners: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "nn_gru": lambda inp: gru(inp, h0[None])[0],
        "hand_eager": lambda inp: hand_gru(inp, h0, gru),
    }
    skipped = {}
    if compile:
        compiled, reason = compile_cell(gru, x, h0, backward)
        if compiled is None:
            skipped["hand_compiled"] = reason
        else:
            runners["hand_compiled"] = lambda inp: hand_gru(inp, h0, gru, compiled)
    else:
        skipped["hand_compiled"] = "not requested (--no-compile)"

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
    for (name, key), seconds in best_times(calls, rounds, repeat, warmup, device).items():
        timings[name][key] = seconds
    ratios = {name: {k: v / timings["nn_gru"][k] for k, v in t.items()} for name, t in timings.items()}
    threads = "" if device.type == "cuda" else f", {torch.get_num_threads()} torch thread(s)"
    record = {
        "device": device_name(device) + threads,
        "device_type": device.type,
        "torch_version": torch.__version__,
        "cudnn_version": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "python_version": platform.python_version(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "sizes": {"batch": batch, "seq_len": seq_len, "input_size": input_size, "hidden": hidden,
                  "dtype": "float32"},
        "repeat": repeat,
        "rounds": rounds,
        "timings": timings,
        "ratios": ratios,
        "max_abs_diff": diffs,
        "skipped": skipped,
    }
    if layers:
        record["layers"] = time_layers(batch, seq_len, input_size, hidden, device, repeat, warmup, backward, seed,
                                       rounds)
    return record


def format_table(record: dict) -> str:
    """The record as a small text table: time per run and per step, and the ratio to nn.GRU."""
    s = record["sizes"]
    lines = [f"{record['device']}, torch {record['torch_version']}, B={s['batch']}, T={s['seq_len']}, "
             f"D={s['input_size']}, H={s['hidden']}, {s['dtype']}, "
             f"best of {record.get('rounds', 1)} x {record['repeat']} runs",
             f"{'variant':15s} {'forward':>10s} {'per step':>10s} {'x nn.GRU':>9s}"
             f" {'fwd+bwd':>10s} {'x nn.GRU':>9s} {'max|diff|':>10s}"]
    for name, t in record["timings"].items():
        fb = t.get("forward_backward_s")
        if fb:
            fb_text = f"{1e3 * fb:8.2f}ms {record['ratios'][name]['forward_backward_s']:8.2f}x"
        else:
            fb_text = f"{'-':>10s} {'':9s}"
        lines.append(f"{name:15s} {1e3 * t['forward_s']:8.2f}ms {1e6 * t['forward_s'] / s['seq_len']:8.1f}us "
                     f"{record['ratios'][name]['forward_s']:8.2f}x {fb_text} {record['max_abs_diff'][name]:10.1e}")
    for name, reason in record["skipped"].items():
        lines.append(f"{name:15s} skipped: {reason}")
    if "layers" in record:
        lines.append(f"{'fused layer':15s} {'params':>10s} {'fwd/step':>10s} {'fwd+bwd/step':>13s}")
        for kind, t in record["layers"].items():
            fb = t.get("forward_backward_s")
            lines.append(f"nn.{kind.upper():12s} {t['params']:10d} {1e6 * t['forward_s']:8.1f}us "
                         f"{f'{1e6 * fb:11.1f}us' if fb else '-':>13s}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=200)
    parser.add_argument("--input-size", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds over the variants")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    parser.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    parser.add_argument("--no-layers", action="store_true", help="skip timing nn.RNN, nn.GRU and nn.LSTM per step")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--json", type=Path, default=None, help="write the record to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    record = run_benchmark(args.batch, args.seq_len, args.input_size, args.hidden, args.device, args.repeat,
                           compile=not args.no_compile, backward=not args.no_backward, layers=not args.no_layers,
                           rounds=args.rounds)
    print(format_table(record))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")
    return record


if __name__ == "__main__":
    main()
