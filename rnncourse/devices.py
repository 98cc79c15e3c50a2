"""Where PyTorch code runs, what the machine is, and how long a call takes there."""
from __future__ import annotations

import platform
import time
from typing import Callable

import torch
from threadpoolctl import threadpool_info, threadpool_limits


def pick_device() -> torch.device:
    """The first CUDA GPU when one is available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what `platform` knows where that file is absent."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device | str) -> str:
    """A readable name of the machine timings come from: the GPU's name, or "CPU: " and the CPU's model name."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return "CPU: " + cpu_model()


def cpu_flags() -> set[str]:
    """The instruction-set flags of the CPU (e.g. 'avx512f', 'avx512_bf16'); empty where /proc/cpuinfo is absent."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


def blas_libraries() -> list[dict]:
    """The BLAS libraries loaded in this process (NumPy's, and any other), as threadpoolctl sees them:
    library (e.g. 'openblas'), version, the kernels it chose for this CPU ('architecture', e.g. 'Haswell' =
    AVX2, 'SkylakeX' = AVX-512; None where the library does not say) and its number of threads."""
    return [{"library": lib["internal_api"], "version": lib.get("version"),
             "architecture": lib.get("architecture"), "threads": lib["num_threads"]}
            for lib in threadpool_info() if lib["user_api"] == "blas"]


def blas_kernel() -> str | None:
    """The kernels NumPy's BLAS chose for this CPU (e.g. 'Haswell', 'SkylakeX'); None when it does not say."""
    return next((lib["architecture"] for lib in blas_libraries() if lib["architecture"]), None)


def blas_threads(n: int | None = None) -> int | None:
    """Set (when `n` is given, for the rest of the process) and return the threads of NumPy's BLAS; None if
    no BLAS is loaded.

    NumPy's matrix products run on BLAS threads, independently of torch's `set_num_threads`. A fair
    comparison gives both libraries the same number of threads, and on a small busy machine one thread
    each gives the steadiest numbers.
    """
    if n is not None:
        threadpool_limits(limits=int(n), user_api="blas")   # applied at construction; kept, not restored
    return next((lib["threads"] for lib in blas_libraries()), None)


def time_call(fn: Callable[[], object], repeat: int = 5, warmup: int = 1,
              device: torch.device | str | None = None) -> float:
    """Best (smallest) wall time of `fn()` over `repeat` runs, in seconds, after `warmup` untimed runs.

    On a CUDA device the GPU is synchronised before and after each run, so queued kernels are counted.
    """
    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    cuda = torch.device(device).type == "cuda" if device is not None else False
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best
