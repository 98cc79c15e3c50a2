"""Chapter 1's measurement: one forward pass of the vanilla RNN, float32, as a NumPy loop, with
`torch.nn.RNN` on the CPU, and with `torch.nn.RNN` on the GPU when there is one (interleaved rounds)."""
from __future__ import annotations

import numpy as np
import torch

from rnncourse.bench import kit
from rnncourse.weights import torch_rnn_from_numpy

NUMPY, TORCH_CPU, TORCH_GPU = "NumPy loop (CPU)", "torch.nn.RNN (CPU)", "torch.nn.RNN (GPU)"


def run_benchmark(batch: int = 32, seq_len: int = 100, input_size: int = 16, hidden_size: int = 64,
                  device: str | torch.device = "cpu", repeat: int = 10, seed: int = 0) -> dict:
    """The record: seconds[name] (best of `repeat` rounds) and speedup[name] (the NumPy loop's time over
    its time) for the NumPy loop, nn.RNN on the CPU and, when `device` is a GPU, nn.RNN there."""
    device = torch.device(device)
    rng = np.random.default_rng(seed)
    B, T, D, H = batch, seq_len, input_size, hidden_size
    x = rng.normal(size=(B, T, D)).astype(np.float32)
    Wx = rng.normal(0, 1 / np.sqrt(D), (D, H)).astype(np.float32)
    Wh = rng.normal(0, 1 / np.sqrt(H), (H, H)).astype(np.float32)
    b = np.zeros(H, np.float32)

    def numpy_loop():
        h, out = np.zeros((B, H), np.float32), np.empty((B, T, H), np.float32)
        for t in range(T):
            h = np.tanh(x[:, t] @ Wx + h @ Wh + b)
            out[:, t] = h
        return out

    def forward(rnn, inputs):
        def run():
            with torch.no_grad():
                return rnn(inputs)
        return run

    rnn = torch_rnn_from_numpy(Wx, Wh, b, dtype=torch.float32)
    calls = {NUMPY: numpy_loop, TORCH_CPU: forward(rnn, torch.as_tensor(x))}
    if device.type == "cuda":
        calls[TORCH_GPU] = forward(rnn.to(device), torch.as_tensor(x).to(device))
    seconds = kit.best_times(calls, repeat=repeat, warmup=1, device=device)
    config = {"batch": B, "seq_len": T, "input_size": D, "hidden_size": H, "dtype": ["float32"], "repeat": repeat,
              "seed": seed}
    return kit.record("rnn_speed", device, config, seconds=seconds,
                      speedup={k: seconds[NUMPY] / s for k, s in seconds.items()})


def format_table(record: dict) -> str:
    """Time of each and its speed relative to the NumPy loop."""
    return kit.table(["", "time", "speed relative to the NumPy loop"],
                     ([name, f"{1e3 * s:.2f} ms", f"{record['speedup'][name]:.2f}x"]
                      for name, s in record["seconds"].items()), title=kit.describe(record["environment"]))
