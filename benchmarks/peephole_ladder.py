"""Time the peephole LSTM's implementation ladder against nn.LSTM (cuDNN on a GPU), and save the numbers.

    python benchmarks/peephole_ladder.py --json data/peephole_ladder_gpu.json          # on a GPU machine
    python benchmarks/peephole_ladder.py --device cpu --batch 16 --seq-len 32 \\
        --input-size 64 --hidden-size 64 --dtypes float32                               # a quick CPU run

For each dtype and mode (forward without autograd; forward and backward with the gradients of every
parameter and of x) it times nn.LSTM and the four rungs of `rnncourse.peephole_torch.PeepholeLSTM` in one
process: tokens per second (batch x seq_len over the best of --repeat runs) and the ratio to nn.LSTM.
Each rung's output (and gradients) is also compared with rung 1's. A rung this machine cannot run (no
compiler for torch.compile, a dtype without kernels) is recorded as skipped, with the reason.
The JSON holds the device name, the versions of torch, Python, CUDA and cuDNN, the date, the sizes and
one row per (dtype, mode, implementation). Chapter 4 plots data/peephole_ladder_gpu.json when it exists.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from rnncourse import peephole_torch
from rnncourse.peephole_torch import DEFAULT_CHUNK, DTYPES, RUNGS, ladder_table, run_ladder


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=64, help="sequences per batch B (default 64)")
    p.add_argument("--seq-len", type=int, default=256, help="time steps T (default 256)")
    p.add_argument("--input-size", type=int, default=512, help="input features D (default 512)")
    p.add_argument("--hidden-size", type=int, default=512, help="hidden units H (default 512)")
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu ... (default: cuda when available)")
    p.add_argument("--dtypes", default="float32,bfloat16",
                   help=f"comma-separated, from {', '.join(DTYPES)} (default float32,bfloat16)")
    p.add_argument("--rungs", default=",".join(RUNGS), help=f"comma-separated subset of {', '.join(RUNGS)}")
    p.add_argument("--chunk", type=int, default=DEFAULT_CHUNK,
                   help=f"steps per compiled program in rung 4 (default {DEFAULT_CHUNK})")
    p.add_argument("--no-cuda-graphs", action="store_true",
                   help="rung 4 on a GPU without CUDA graphs (plain torch.compile of each chunk)")
    p.add_argument("--repeat", type=int, default=10, help="timed runs per measurement; the best counts")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path, default=None, help="write the results to this JSON file")
    p.add_argument("--quiet", action="store_true", help="print only the final table")
    args = p.parse_args(argv)
    args.dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    args.rungs = [r.strip() for r in args.rungs.split(",") if r.strip()]
    for d in args.dtypes:
        if d not in DTYPES:
            p.error(f"unknown dtype {d!r}; choose from {', '.join(DTYPES)}")
    for r in args.rungs:
        if r not in RUNGS:
            p.error(f"unknown rung {r!r}; choose from {', '.join(RUNGS)}")
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    peephole_torch.CUDA_GRAPHS = not args.no_cuda_graphs
    result = run_ladder(batch=args.batch, seq_len=args.seq_len, input_size=args.input_size,
                        hidden_size=args.hidden_size, device=args.device, dtypes=args.dtypes, rungs=args.rungs,
                        repeat=args.repeat, seed=args.seed, chunk=args.chunk,
                        log=None if args.quiet else lambda s: print(s, flush=True))
    print(f"\n{result['device']}, torch {result['torch']}, {result['date']}")
    print(ladder_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
