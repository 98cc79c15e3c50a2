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

import argparse
import ctypes
import functools
import glob
import os
import time

import numpy as np
import torch

from rnncourse.devices import cpu_flags, time_call


@functools.lru_cache(maxsize=1)
def _openblas():
    """NumPy's own copy of OpenBLAS (already loaded) and the prefix of its symbols; (None, None) if not found."""
    folder = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(folder, "*openblas*")):
        lib = ctypes.CDLL(path)
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"),
                               ("openblas", "")):
            if hasattr(lib, f"{prefix}_get_num_threads{suffix}"):
                return lib, (prefix, suffix)
    return None, None


def blas_kernel() -> str | None:
    """The name of the kernels OpenBLAS chose for this CPU (e.g. 'Haswell' = AVX2, 'SkylakeX' = AVX-512)."""
    lib, names = _openblas()
    if lib is None or not hasattr(lib, f"{names[0]}_get_corename{names[1]}"):
        return None
    getter = getattr(lib, f"{names[0]}_get_corename{names[1]}")
    getter.restype = ctypes.c_char_p
    return getter().decode()


def blas_threads(n: int | None = None) -> int | None:
    """Set (when `n` is given) and return the number of threads of NumPy's OpenBLAS; None if not found.

    NumPy's matrix products run on OpenBLAS threads, independently of torch's `set_num_threads`. A fair
    comparison gives both libraries the same number of threads, and on a small busy machine one thread
    each gives the steadiest numbers (two libraries each spinning two threads on two cores fight).
    """
    lib, names = _openblas()
    if lib is None:
        return None
    prefix, suffix = names
    if n is not None:
        getattr(lib, f"{prefix}_set_num_threads{suffix}")(int(n))
    return int(getattr(lib, f"{prefix}_get_num_threads{suffix}")())


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


def torch_lstm(W, U, b) -> torch.nn.LSTM:
    """The same LSTM as a batch-first `nn.LSTM` (weights stored transposed, the bias as bias_ih)."""
    D, H4 = W.shape
    layer = torch.nn.LSTM(D, H4 // 4, batch_first=True)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(torch.from_numpy(W.T.copy()))
        layer.weight_hh_l0.copy_(torch.from_numpy(U.T.copy()))
        layer.bias_ih_l0.copy_(torch.from_numpy(b))
        layer.bias_hh_l0.zero_()
    return layer


def run(batch: int = 64, seq_len: int = 100, input_size: int = 256, hidden_size: int = 256,
        repeat: int = 10, seed: int = 0, solution: bool = False) -> dict:
    """Time the forward passes in this run (the graded solution's too when `solution`).

    Returns {name: seconds}, ratios, tokens/s, agreement and the configuration."""
    rng = np.random.default_rng(seed)
    k = hidden_size ** -0.5
    x = rng.normal(size=(batch, seq_len, input_size)).astype(np.float32)
    W = rng.uniform(-k, k, (input_size, 4 * hidden_size)).astype(np.float32)
    U = rng.uniform(-k, k, (hidden_size, 4 * hidden_size)).astype(np.float32)
    b = rng.uniform(-k, k, 4 * hidden_size).astype(np.float32)
    h0 = np.zeros((batch, hidden_size), np.float32)
    layer = torch_lstm(W, U, b)
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
    seconds = {name: float("inf") for name in fns}
    for _ in range(repeat):                      # interleaved rounds, best of each: fair on a busy machine
        for name, fn in fns.items():
            seconds[name] = min(seconds[name], time_call(fn, repeat=1, warmup=0))
    tokens = batch * seq_len
    return {"seconds": seconds, "tokens_per_s": {n: tokens / s for n, s in seconds.items()},
            "ratio_to_torch": {n: s / seconds["nn.LSTM"] for n, s in seconds.items()}, "max_abs_diff": max_diff,
            "config": dict(batch=batch, seq_len=seq_len, input_size=input_size, hidden_size=hidden_size,
                           repeat=repeat, torch_threads=torch.get_num_threads(), blas_threads=blas_threads(),
                           blas_kernel=blas_kernel(), cpu_count=os.cpu_count())}


def format_result(result: dict) -> str:
    cfg = result["config"]
    lines = [f"forward pass, float32, CPU: T={cfg['seq_len']}, B={cfg['batch']}, D={cfg['input_size']}, "
             f"H={cfg['hidden_size']}; best of {cfg['repeat']};\nthreads: torch {cfg['torch_threads']}, "
             f"NumPy's BLAS {cfg['blas_threads'] if cfg['blas_threads'] is not None else 'unknown'} "
             f"(OpenBLAS kernels: {cfg['blas_kernel'] or 'unknown'})",
             f"{'':16s} {'ms':>9s} {'tokens/s':>12s} {'time / nn.LSTM':>15s} {'max |diff|':>11s}"]
    for name, s in result["seconds"].items():
        lines.append(f"{name:16s} {1e3 * s:9.2f} {result['tokens_per_s'][name]:12,.0f} "
                     f"{result['ratio_to_torch'][name]:14.2f}x {result['max_abs_diff'][name]:11.1e}")
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=10, help="interleaved rounds; the best time is kept")
    parser.add_argument("--no-solution", action="store_true", help="leave out the graded solution's lstm_forward")
    parser.add_argument("--threads", type=int, default=0,
                        help="threads for torch and for NumPy's BLAS alike (0: leave both at their defaults)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
        if blas_threads(args.threads) is None:
            print("could not find NumPy's OpenBLAS to set its threads; it runs with its default")
    start = time.perf_counter()
    result = run(args.batch, args.seq_len, args.input_size, args.hidden_size, args.repeat,
                 solution=not args.no_solution)
    print(format_result(result))
    name = "NumPy, fused" if args.no_solution else "solution"
    ratio = result["ratio_to_torch"][name]
    print(f"{name} takes {ratio:.2f}x the time of torch's nn.LSTM here ({'slower' if ratio > 1 else 'faster'}); "
          f"measured in one run of {time.perf_counter() - start:.1f} s.")
    if result["config"]["blas_kernel"] == "Haswell" and "avx512f" in cpu_flags():
        print("This CPU has AVX-512 but OpenBLAS chose its AVX2 kernels; "
              "OPENBLAS_CORETYPE=SkylakeX before the command selects the AVX-512 ones.")
    return result


if __name__ == "__main__":
    main()
