"""Every measurement the chapters show for a GPU, in one command (`make gpu-figures`), written where the
chapters read them (`kit.RESULTS`, one record per measurement, named <benchmark>_<device type>.json):

  rnn_speed        Chapter 1: a NumPy loop, nn.RNN on the CPU and on the GPU
  lstm_speed       Chapter 3: the hand-written LSTM cell against nn.LSTM (cuDNN), float32 and bfloat16
  peephole_ladder  Chapter 4: the peephole LSTM's rungs against nn.LSTM at T=256, B=64, D=H=512
  gru_speed        Chapter 5: the hand-written GRU cell against nn.GRU; nn.RNN, nn.GRU, nn.LSTM per step
  ddp_train        the appendix: DDP throughput, one process per GPU (nccl), through torchrun

    python -m rnncourse.bench.figures                 # on a GPU machine: sizes of the chapters, <= 8 minutes
    python -m rnncourse.bench.figures --size tiny --out /tmp/figures    # anywhere: tiny sizes, CPU, seconds

Without a GPU only `--size tiny` runs (its CPU numbers say nothing about a GPU; they check the command).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from rnncourse.bench import gru_speed, kit, lstm_speed, peephole_ladder, rnn_speed
from rnncourse.devices import pick_device

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
# The settings of each measurement: sizes of the chapters' GPU figures, and tiny ones that check the command.
SIZES = {
    "gpu": {
        "rnn_speed": dict(batch=64, seq_len=200, input_size=64, hidden_size=256, repeat=10),
        "lstm_speed": dict(batch=64, seq_len=200, input_size=256, hidden_size=512, dtype=("float32", "bfloat16"),
                           repeat=10),
        "peephole_ladder": dict(batch=64, seq_len=256, input_size=512, hidden_size=512,
                                dtypes=("float32", "bfloat16"), repeat=5),
        "gru_speed": dict(batch=64, seq_len=200, input_size=64, hidden_size=256, repeat=9, layers=True),
        "ddp_train": ["--batch", "256", "--seq-len", "200", "--hidden-size", "128", "--steps", "200"],
    },
    "tiny": {
        "rnn_speed": dict(batch=2, seq_len=3, input_size=4, hidden_size=5, repeat=1),
        "lstm_speed": dict(batch=2, seq_len=3, input_size=4, hidden_size=5, dtype=("float32", "bfloat16"), repeat=1,
                           use_compile=False),
        "peephole_ladder": dict(batch=2, seq_len=3, input_size=4, hidden_size=5, dtypes=("float32",), repeat=1,
                                rungs=("eager", "hoisted")),
        "gru_speed": dict(batch=2, seq_len=3, input_size=4, hidden_size=5, repeat=1, warmup=0, layers=True,
                          compile=False),
        "ddp_train": ["--batch", "4", "--seq-len", "5", "--hidden-size", "4", "--steps", "3", "--timing-warmup", "1",
                      "--threads", "1"],
    },
}
MEASURE = {"rnn_speed": rnn_speed.run_benchmark, "lstm_speed": lstm_speed.run_benchmark,
           "peephole_ladder": peephole_ladder.run_ladder, "gru_speed": gru_speed.run_benchmark}


def ddp_train(device: torch.device, args: list[str], path: Path) -> None:
    """The appendix's throughput: torchrun with one process per GPU (nccl); on a CPU one plain process."""
    script = [str(SCRIPTS / "ddp_train.py"), *args, "--log-every", "0", "--json", str(path)]
    if device.type == "cuda":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                   f"--nproc_per_node={torch.cuda.device_count()}", *script, "--backend", "nccl"]
    else:
        command = [sys.executable, *script, "--backend", "gloo"]
    inherited = ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    subprocess.run(command, check=True, env=env)


def run_all(size: str = "gpu", out: Path | str = kit.RESULTS, device: str | torch.device = "auto") -> dict[str, Path]:
    """Run every measurement at `size` on `device` and write its record to `out`; returns name -> path."""
    device = pick_device() if str(device) == "auto" else torch.device(device)
    if size != "tiny" and device.type != "cuda":
        raise SystemExit("gpu-figures measures what the chapters show for a GPU, and no GPU is here "
                         "(torch.cuda.is_available() is False). On this machine run it at tiny sizes on the CPU: "
                         "make gpu-figures SIZE=tiny (its numbers only check the command).")
    out, written, begin = Path(out), {}, time.perf_counter()
    for name, settings in SIZES[size].items():
        start = time.perf_counter()
        path = out / f"{name}_{device.type}.json"
        if name == "ddp_train":
            ddp_train(device, settings, path)
        else:
            kit.save(MEASURE[name](device=device, **settings), path)
        written[name] = path
        print(f"{name}: {time.perf_counter() - start:.0f} s -> {path}", flush=True)
    print(f"all measurements: {time.perf_counter() - begin:.0f} s", flush=True)
    return written


def main(argv=None) -> dict[str, Path]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=list(SIZES), default="gpu", help="gpu: the chapters' sizes; tiny: a check")
    p.add_argument("--out", type=Path, default=kit.RESULTS, help=f"folder of the records (default: {kit.RESULTS})")
    p.add_argument("--device", default="auto", help=kit.FLAGS["device"][1])
    args = p.parse_args(argv)
    return run_all(args.size, args.out, args.device)


if __name__ == "__main__":
    main()
