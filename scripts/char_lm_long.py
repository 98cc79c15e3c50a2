"""The capstone chapter's character models, trained for longer (on a GPU): curves, samples and times as JSON.

    python scripts/char_lm_long.py                          # H=256, 6000 updates, on cuda when there is one
    python scripts/char_lm_long.py --numpy                  # also the book's NumPy RNN (on the CPU: slow)
    python scripts/char_lm_long.py --steps 50 --hidden 32   # a quick try

Writes benchmarks/results/char_lm_long_<device>.json (or --json PATH), a record of the benchmark kit
(rnncourse.bench.kit: environment, config, results), which the chapter shows.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from rnncourse import text
from rnncourse.answers import char_lm
from rnncourse.bench import kit
from rnncourse.devices import pick_device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--eval-every", type=int, default=500)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--device", default=str(pick_device()))
    parser.add_argument("--numpy", action="store_true", help="also train the book's NumPy RNN (CPU)")
    parser.add_argument("--json", type=Path, help="output file (default benchmarks/results/char_lm_long_<device>.json)")
    args = parser.parse_args()

    train_ids, held_out_ids = (text.encode(t) for t in text.corpus())
    config = dict(hidden=args.hidden, steps=args.steps, batch=args.batch, chunk=args.chunk, lr=args.lr, clip=1.0,
                  seed=0, eval_every=args.eval_every, sample_every=args.eval_every, sample_length=300,
                  temperature=args.temperature)
    kinds = (["numpy"] if args.numpy else []) + ["rnn", "lstm", "gru"]
    names = {"numpy": "NumPy RNN", "rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}
    models = {}
    for kind in kinds:
        run = char_lm.train_char_lm(kind, train_ids, held_out_ids, device="cpu" if kind == "numpy" else args.device,
                                    **config)
        every = max(1, len(run["losses"]) // 500)                     # at most about 500 points per curve
        models[names[kind]] = {"valid": run["valid"], "samples": run["samples"], "seconds": run["seconds"],
                               "parameters": run["parameters"],
                               "losses": [float(np.mean(run["losses"][i:i + every]))
                                          for i in range(0, len(run["losses"]), every)]}
        print(f"{names[kind]:10s} held-out {run['valid'][-1][1]:.3f} bits/char in {run['seconds']:.1f} s", flush=True)
    device = torch.device(args.device)
    result = kit.record("char_lm_long", device, config, source=text.SOURCE, models=models)
    path = kit.save(result, args.json or kit.RESULTS / f"char_lm_long_{device.type}.json")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
