"""Time the peephole LSTM's implementation ladder against nn.LSTM (cuDNN on a GPU), and save the numbers
(Chapter 4; `rnncourse.bench.peephole_ladder`).

    python benchmarks/peephole_ladder.py --json benchmarks/results/peephole_ladder_cuda.json   # on a GPU
    python benchmarks/peephole_ladder.py --device cpu --batch 16 --seq-len 32 \\
        --input-size 64 --hidden-size 64 --dtype float32                                       # a quick CPU run

For each dtype and mode (forward without autograd; forward and backward with the gradients of every
parameter and of x) it times nn.LSTM and the four rungs of `rnncourse.peephole_torch.PeepholeLSTM` in one
process: tokens per second (batch x seq_len over the best of --repeat rounds) and the ratio to nn.LSTM.
Each rung's output (and gradients) is also compared with rung 1's.
"""
from __future__ import annotations

import sys

from rnncourse.bench import kit
from rnncourse.bench.peephole_ladder import ladder_table, run_ladder
from rnncourse.peephole_torch import DEFAULT_CHUNK, RUNGS


def main(argv=None) -> dict:
    p = kit.parser(__doc__, threads=0, seed=0, device="auto", batch=64, seq_len=256, input_size=512, hidden_size=512,
                   dtype=["float32", "bfloat16"], repeat=10)
    p.add_argument("--rungs", nargs="+", choices=RUNGS, default=list(RUNGS), help="the rungs to time (default: all)")
    p.add_argument("--chunk", type=int, default=DEFAULT_CHUNK,
                   help=f"steps per compiled program in rung 4 (default {DEFAULT_CHUNK})")
    p.add_argument("--no-cuda-graphs", action="store_true",
                   help="rung 4 on a GPU without CUDA graphs (plain torch.compile of each chunk)")
    args = p.parse_args(argv)
    device = kit.setup(args)
    result = run_ladder(batch=args.batch, seq_len=args.seq_len, input_size=args.input_size,
                        hidden_size=args.hidden_size, device=device, dtypes=args.dtype, rungs=args.rungs,
                        repeat=args.repeat, seed=args.seed, chunk=args.chunk, cuda_graphs=not args.no_cuda_graphs)
    print(kit.describe(result["environment"]))
    print(ladder_table(result))
    if args.json:
        print(f"wrote {kit.save(result, args.json)}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
