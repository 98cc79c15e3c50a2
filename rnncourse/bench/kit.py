"""What every benchmark of the course shares: interleaved timing, the compile attempt, the environment
record, the result table, the command-line flags and the one folder where results live.

A record, as every benchmark writes it with `--json`:

    {"benchmark": "lstm_speed", "environment": environment(device), "config": {sizes, dtype, repeat, ...},
     ...the benchmark's own results (rows, timings)...}

The chapters read the records from `RESULTS` (`benchmarks/results/` at the root of the course).
"""
from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
from pathlib import Path
from typing import Callable, Hashable, Iterable, Sequence

import numpy as np
import torch
from rich import box
from rich.console import Console
from rich.table import Table

from rnncourse.devices import blas_libraries, blas_threads, cpu_model, device_name, pick_device, time_call

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16,
          "float64": torch.float64}
ENVIRONMENT_KEYS = ("device_type", "device_name", "cpu_model", "cpu_capability", "cpu_count", "torch_threads",
                    "blas", "versions", "date")


# ------------------------------------------------------------------------------------------------ timing
def best_times(calls: dict[Hashable, Callable[[], object]], repeat: int = 5, warmup: int = 1,
               device: torch.device | str | None = None) -> dict[Hashable, float]:
    """The best wall time in seconds of each call, over `repeat` interleaved rounds of one run each.

    Every call first runs `warmup` times untimed (where torch.compile compiles and caches fill). Then each
    round runs every call once in turn; on a GPU each run is synchronised (`time_call`). Interleaving
    spreads every call's runs over the same stretch of time, so a burst of load from other processes on
    a shared machine slows them all alike instead of spoiling one of them.
    """
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeat):
        for key, fn in calls.items():
            best[key] = min(best[key], time_call(fn, repeat=1, warmup=0, device=device))
    return best


# -------------------------------------------------------------------------------------- compile attempt
def error_line(err: BaseException) -> str:
    """The kind and first line of an error, short enough for a table cell or a record."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0][:200] if lines else ''}"


def try_compile(fn: Callable, attempt: Callable[[Callable], object], **options) -> tuple[Callable | None, str | None]:
    """`torch.compile(fn, **options)`, tried at once by `attempt(compiled)` (which should run every pass that
    will be timed: compilation happens on the first call). Returns (compiled, None), or (None, the reason)
    when compiling or running fails: no C++ compiler, no Triton, an unsupported dtype..."""
    try:
        compiled = torch.compile(fn, **options)
        attempt(compiled)
        return compiled, None
    except Exception as err:  # noqa: BLE001 - any failure means "no compiled variant on this machine"
        return None, f"torch.compile failed: {error_line(err)}"


# ------------------------------------------------------------------------------------------ environment
def environment(device: torch.device | str) -> dict:
    """Everything needed to read a timing later: the device, the CPU, the BLAS, the versions and the date.

    Keys: ENVIRONMENT_KEYS. `cpu_capability` is the instruction set PyTorch's CPU kernels were picked for
    (e.g. 'AVX2', 'AVX512'); `blas` lists NumPy's BLAS libraries (`devices.blas_libraries`).
    """
    device = torch.device(device)
    cuda = torch.cuda.is_available()
    versions = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                "cuda": torch.version.cuda if cuda else None,
                "cudnn": torch.backends.cudnn.version() if cuda and torch.backends.cudnn.is_available() else None,
                "nccl": ".".join(map(str, torch.cuda.nccl.version())) if cuda else None}
    return {"device_type": device.type, "device_name": device_name(device), "cpu_model": cpu_model(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "blas": blas_libraries(), "versions": versions,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def describe(env: dict) -> str:
    """One line naming the machine and versions of an `environment` record."""
    v = env["versions"]
    gpu = f", CUDA {v['cuda']}, cuDNN {v['cudnn']}" if env["device_type"] == "cuda" else \
        f" ({env['torch_threads']} torch thread(s), kernels {env['cpu_capability']})"
    return f"{env['device_name']}{gpu}; torch {v['torch']}, measured {env['date'][:10]}"


def record(benchmark: str, device: torch.device | str, config: dict, **results) -> dict:
    """A benchmark's record: its name, the environment, its settings and its results."""
    return {"benchmark": benchmark, "environment": environment(device), "config": config, **results}


def save(rec: dict, path: Path | str) -> Path:
    """Write a record as JSON (the folders made as needed); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec, indent=1) + "\n")
    return path


def load(pattern: str, folder: Path | str = RESULTS, device_type: str | None = None) -> list[dict]:
    """The records in `folder` whose file names match `pattern` (e.g. "lstm_speed*.json"), sorted by name;
    only those measured on `device_type` ("cuda", "cpu") when it is given."""
    found = [json.loads(p.read_text()) for p in sorted(Path(folder).glob(pattern))]
    return [r for r in found if device_type is None or r["environment"]["device_type"] == device_type]


# ------------------------------------------------------------------------------------------------ table
def table(columns: Sequence[str], rows: Iterable[Sequence], title: str | None = None, left: int = 1) -> str:
    """A plain-text table (rich, no colours) of already formatted cells: the first `left` columns are
    left-aligned, the others (numbers) right-aligned. Returns the text to print."""
    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for k, name in enumerate(columns):
        t.add_column(name, justify="left" if k < left else "right")
    for r in rows:
        t.add_row(*map(str, r))
    out = io.StringIO()
    Console(file=out, width=160, color_system=None).print(t)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n")


# ------------------------------------------------------------------------------------------ command line
FLAGS = {   # the one set of flag names of every benchmark: name -> (type, help)
    "device": (str, "auto (the GPU when there is one), cpu, cuda, cuda:1..."),
    "batch": (int, "sequences per batch B"),
    "seq_len": (int, "time steps T"),
    "input_size": (int, "input features D"),
    "hidden_size": (int, "hidden units H"),
    "dtype": (str, f"one or more of {', '.join(DTYPES)}"),
    "repeat": (int, "interleaved rounds; in each, every measurement runs once, and its best time is kept"),
    "threads": (int, "torch CPU threads, and NumPy's BLAS threads (0: leave both at their defaults)"),
    "seed": (int, "seed of the weights and inputs"),
    "json": (Path, "write the record (with device, versions and date) to this file"),
}


def parser(description: str, **defaults) -> argparse.ArgumentParser:
    """A command line with the shared flags named in `defaults` (keys of FLAGS, with their defaults) and
    `--json PATH`; the caller adds its own flags. A device, sizes, threads or a seed are given a default
    here by each command; the names, types and help texts are the same everywhere."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
                                allow_abbrev=False)   # one spelling of each flag: no prefixes like --hidden
    defaults = {**defaults, "json": None}
    for name, default in defaults.items():
        kind, help_text = FLAGS[name]
        flag = "--" + name.replace("_", "-")
        if name == "dtype":
            p.add_argument(flag, nargs="+", choices=list(DTYPES), default=list(default), help=help_text)
        else:
            p.add_argument(flag, type=kind, default=default,
                           help=help_text + ("" if default is None else f" (default: {default})"))
    return p


def setup(args: argparse.Namespace) -> torch.device | None:
    """Apply the shared flags: torch's and BLAS's threads; returns the device `--device` names (auto: the GPU
    when there is one), or None for a command without --device."""
    if getattr(args, "threads", 0):
        torch.set_num_threads(args.threads)
        blas_threads(args.threads)
    if getattr(args, "device", None) is None:
        return None
    return pick_device() if args.device == "auto" else torch.device(args.device)
