"""Time `nn.GRU` (cuDNN on a GPU) against a GRU cell written by hand, and nn.RNN, nn.GRU and nn.LSTM per time
step (Chapter 5; `rnncourse.bench.gru_speed`).

    python benchmarks/gru_speed.py --device cuda --batch 64 --seq-len 200 --hidden-size 256 \\
        --json benchmarks/results/gru_speed_cuda.json
"""
from __future__ import annotations

from rnncourse.bench import gru_speed, kit


def main(argv: list[str] | None = None) -> dict:
    p = kit.parser(__doc__, threads=0, seed=0, device="auto", batch=64, seq_len=200, input_size=64,
                   hidden_size=256, repeat=9)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    p.add_argument("--no-backward", action="store_true", help="time the forward pass only")
    p.add_argument("--no-layers", action="store_true", help="skip timing nn.RNN, nn.GRU and nn.LSTM per step")
    args = p.parse_args(argv)
    device = kit.setup(args)
    record = gru_speed.run_benchmark(args.batch, args.seq_len, args.input_size, args.hidden_size, device,
                                     args.repeat, compile=not args.no_compile, backward=not args.no_backward,
                                     layers=not args.no_layers, seed=args.seed)
    print(gru_speed.format_table(record))
    if args.json:
        print(f"wrote {kit.save(record, args.json)}")
    return record


if __name__ == "__main__":
    main()
