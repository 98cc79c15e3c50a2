"""Where PyTorch code runs, and how long a call takes there."""
from __future__ import annotations

import platform
import time
from typing import Callable

import torch


def pick_device() -> torch.device:
    """The first CUDA GPU when one is available, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device | str) -> str:
    """A readable name of the machine timings come from: the GPU's name, or "CPU: " and the CPU's model name."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return "CPU: " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "CPU: " + (platform.processor() or platform.machine())


def cpu_flags() -> set[str]:
    """The instruction-set flags of the CPU (e.g. 'avx512f', 'avx512_bf16'); empty where /proc/cpuinfo is absent."""
    try:
        with open("/proc/cpuinfo") as f:
            return next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set())
    except OSError:
        return set()


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
