"""Time `nn.LSTM` (cuDNN on a GPU) against Chapter 3's hand-written LSTM cell (`rnncourse.bench.lstm_speed`).

    python benchmarks/lstm_speed.py                                   # the GPU when there is one, else the CPU
    python benchmarks/lstm_speed.py --device cuda --batch 64 --seq-len 200 --hidden-size 512 \\
        --dtype float32 bfloat16 --json benchmarks/results/lstm_speed_cuda.json
"""
from __future__ import annotations

from rnncourse.bench import kit, lstm_speed


def main(argv=None) -> dict:
    """Run from the command line (or with a list of arguments); print the table; return the record."""
    p = kit.parser(__doc__, threads=0, seed=0, device="auto", batch=32, seq_len=50, input_size=64, hidden_size=128,
                   dtype=["float32"], repeat=10)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    args = p.parse_args(argv)
    device = kit.setup(args)
    record = lstm_speed.run_benchmark(args.batch, args.seq_len, args.input_size, args.hidden_size, device,
                                      args.dtype, args.repeat, use_compile=not args.no_compile, seed=args.seed)
    print(record["note"])
    print(kit.describe(record["environment"]))
    print(lstm_speed.format_table(record))
    if args.json:
        print(f"wrote {kit.save(record, args.json)}")
    return record


if __name__ == "__main__":
    main()
