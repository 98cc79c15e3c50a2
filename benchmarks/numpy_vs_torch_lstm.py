"""How close can a NumPy LSTM forward pass get to PyTorch's `nn.LSTM` on the CPU? Timed in one run.

Forward passes over the same inputs with the same weights, in float32, on the CPU:

  solution          the graded `lstm_forward` of Chapter 3's exercise, loaded from `solutions/lstm/`
                    (instructor-side; left out with --no-solution)
  NumPy, fused      the vectorised layout of Chapter 3: the input projection of all T steps as ONE
                    (B*T, D) @ (D, 4H) product before the loop, then per step ONE (B, H) @ (H, 4H) product
                    for all four gates and the elementwise gate arithmetic
  NumPy, per gate   the same arithmetic written gate by gate, as the equations read: eight small matrix
                    products per step (x_t W_* and h U_* for each of i, f, g, o), the input inside the loop
  nn.LSTM           PyTorch's CPU kernel (no gradients)

It prints the time of each, tokens per second and the ratio to nn.LSTM, checks that they agree, and names
the kernels NumPy's OpenBLAS chose for this CPU. At these sizes almost all the time is in matrix products,
so the ratio is mostly OpenBLAS against oneDNN: OpenBLAS picks its kernels from the CPU model, and on a
CPU it does not recognise (e.g. a recent AMD EPYC in a VM) it may fall back to AVX2 ("Haswell") kernels
where oneDNN uses AVX-512. `OPENBLAS_CORETYPE=SkylakeX` (set before NumPy starts) selects AVX-512 kernels.

    python benchmarks/numpy_vs_torch_lstm.py                 # T=100, B=64, D=H=256, default threads
    python benchmarks/numpy_vs_torch_lstm.py --threads 1
    OPENBLAS_CORETYPE=SkylakeX python benchmarks/numpy_vs_torch_lstm.py --threads 1

This file is instructor-side: it contains a complete NumPy LSTM forward pass, which is part of the
graded exercise of Chapter 3; do not copy it into the book or the `rnncourse` package.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from rnncourse.bench import kit
from rnncourse.devices import blas_kernel, cpu_flags
from rnncourse.weights import torch_lstm_from_book


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def numpy_lstm_fused(x, h0, c0, W, U, b):
    """All hidden states (B, T, H): one input projection for all steps, one recurrent product per step."""
    B, T, D = x.shape
    H = h0.shape[1]
    xw = (x.transpose(1, 0, 2).reshape(T * B, D) @ W + b).reshape(T, B, 4 * H)   # time-major
    out = np.empty((B, T, H), dtype=x.dtype)
    h, c = h0, c0
    for t in range(T):
        z = xw[t] + h @ U
        gates = _sigmoid(z[:, :2 * H])                                        # i and f in one call
        c = gates[:, H:] * c + gates[:, :H] * np.tanh(z[:, 2 * H:3 * H])
        h = _sigmoid(z[:, 3 * H:]) * np.tanh(c)
        out[:, t] = h
    return out


def numpy_lstm_per_gate(x, h0, c0, W, U, b):
    """The same function written gate by gate: eight small products per step, the input inside the loop."""
    B, T, D = x.shape
    H = h0.shape[1]
    Ws = [np.ascontiguousarray(W[:, k * H:(k + 1) * H]) for k in range(4)]
    Us = [np.ascontiguousarray(U[:, k * H:(k + 1) * H]) for k in range(4)]
    bs = [b[k * H:(k + 1) * H] for k in range(4)]
    out = np.empty((B, T, H), dtype=x.dtype)
    h, c = h0, c0
    for t in range(T):
        x_t = x[:, t]
        i = _sigmoid(x_t @ Ws[0] + h @ Us[0] + bs[0])
        f = _sigmoid(x_t @ Ws[1] + h @ Us[1] + bs[1])
        g = np.tanh(x_t @ Ws[2] + h @ Us[2] + bs[2])
        o = _sigmoid(x_t @ Ws[3] + h @ Us[3] + bs[3])
        c = f * c + i * g
        h = o * np.tanh(c)
        out[:, t] = h
    return out


def run(batch: int = 64, seq_len: int = 100, input_size: int = 256, hidden_size: int = 256,
        repeat: int = 10, seed: int = 0, solution: bool = False) -> dict:
    """Time the forward passes in this run (the graded solution's too when `solution`); the record.

    record["seconds"][name] (best of `repeat` interleaved rounds), tokens_per_s, ratio_to_torch (its time
    over nn.LSTM's) and max_abs_diff (against nn.LSTM's output)."""
    rng = np.random.default_rng(seed)
    k = hidden_size ** -0.5
    x = rng.normal(size=(batch, seq_len, input_size)).astype(np.float32)
    W = rng.uniform(-k, k, (input_size, 4 * hidden_size)).astype(np.float32)
    U = rng.uniform(-k, k, (hidden_size, 4 * hidden_size)).astype(np.float32)
    b = rng.uniform(-k, k, 4 * hidden_size).astype(np.float32)
    h0 = np.zeros((batch, hidden_size), np.float32)
    layer = torch_lstm_from_book(W, U, b)
    xt = torch.from_numpy(x)

    def torch_forward():
        with torch.no_grad():
            return layer(xt)[0]

    fns = {"NumPy, fused": lambda: numpy_lstm_fused(x, h0, h0, W, U, b),
           "NumPy, per gate": lambda: numpy_lstm_per_gate(x, h0, h0, W, U, b),
           "nn.LSTM": torch_forward}
    if solution:
        from autograder.solutions import solution_namespace
        lstm_forward = solution_namespace("lstm")["lstm_forward"]
        fns = {"solution": lambda: lstm_forward(x, h0, h0, W, U, b)[0], **fns}
    reference = torch_forward().numpy()
    max_diff = {name: float(np.abs(np.asarray(fn()) - reference).max()) for name, fn in fns.items()}
    seconds = kit.best_times(fns, repeat=repeat, warmup=0)
    config = dict(batch=batch, seq_len=seq_len, input_size=input_size, hidden_size=hidden_size, dtype=["float32"],
                  repeat=repeat, seed=seed)
    return kit.record("numpy_vs_torch_lstm", "cpu", config, seconds=seconds,
                      tokens_per_s={n: batch * seq_len / s for n, s in seconds.items()},
                      ratio_to_torch={n: s / seconds["nn.LSTM"] for n, s in seconds.items()}, max_abs_diff=max_diff)


def format_result(result: dict) -> str:
    cfg, env = result["config"], result["environment"]
    blas = env["blas"][0] if env["blas"] else {"threads": "unknown", "architecture": None}
    title = (f"forward pass, float32, CPU: T={cfg['seq_len']}, B={cfg['batch']}, D={cfg['input_size']}, "
             f"H={cfg['hidden_size']}; best of {cfg['repeat']};\nthreads: torch {env['torch_threads']}, "
             f"NumPy's BLAS {blas['threads']} (OpenBLAS kernels: {blas['architecture'] or 'unknown'})")
    return kit.table(["", "ms", "tokens/s", "time / nn.LSTM", "max |diff|"],
                     ([name, f"{1e3 * s:.2f}", f"{result['tokens_per_s'][name]:,.0f}",
                       f"{result['ratio_to_torch'][name]:.2f}x", f"{result['max_abs_diff'][name]:.1e}"]
                      for name, s in result["seconds"].items()), title=title)


def main(argv=None) -> dict:
    p = kit.parser(__doc__.split("\n\n")[0], threads=0, seed=0, batch=64, seq_len=100, input_size=256,
                   hidden_size=256, repeat=10)
    p.add_argument("--no-solution", action="store_true", help="leave out the graded solution's lstm_forward")
    args = p.parse_args(argv)
    kit.setup(args)
    start = time.perf_counter()
    result = run(args.batch, args.seq_len, args.input_size, args.hidden_size, args.repeat, args.seed,
                 solution=not args.no_solution)
    print(format_result(result))
    name = "NumPy, fused" if args.no_solution else "solution"
    ratio = result["ratio_to_torch"][name]
    print(f"{name} takes {ratio:.2f}x the time of torch's nn.LSTM here ({'slower' if ratio > 1 else 'faster'}); "
          f"measured in one run of {time.perf_counter() - start:.1f} s.")
    if blas_kernel() == "Haswell" and "avx512f" in cpu_flags():
        print("This CPU has AVX-512 but OpenBLAS chose its AVX2 kernels; "
              "OPENBLAS_CORETYPE=SkylakeX before the command selects the AVX-512 ones.")
    if args.json:
        print(f"wrote {kit.save(result, args.json)}")
    return result


if __name__ == "__main__":
    main()
