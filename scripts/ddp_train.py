"""Data-parallel training of the course's LSTM on the adding problem, with DistributedDataParallel.

One script for every scale. torchrun starts the processes and tells each one who it is (RANK,
LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); the script picks its device and backend at run
time (nccl when there is a GPU for each local process, gloo on CPUs), wraps the model in
DistributedDataParallel, and trains:

    python scripts/ddp_train.py --steps 200                            # 1 process, no torchrun needed
    torchrun --standalone --nproc_per_node=1 scripts/ddp_train.py      # the same, through torchrun
    torchrun --standalone --nproc_per_node=4 scripts/ddp_train.py      # 4 processes, one machine (4 GPUs, or CPU)
    torchrun --nnodes=2 --nproc_per_node=8 --rdzv-backend=c10d \\
        --rdzv-endpoint=node0.example.org:29400 --rdzv-id=adding42 \\
        scripts/ddp_train.py --json benchmarks/results/ddp_2x8.json    # run the same line on both machines

What is split: the batch. Each process draws its own `--batch` sequences per step, so the global batch
is `--batch` x world size. What is synchronised: the gradients. During backward DDP averages them over
all processes (all-reduce), so every process applies the same update and the weights stay identical.
The learning rate is scaled with the global batch (`--lr-scaling`, relative to `--base-batch`).

--json PATH (written by rank 0) records the throughput in sequences per second with the environment
(device, versions, date: `rnncourse.bench.kit.environment`) and the world size. --save-dir DIR makes
every rank write its final weights and their SHA-256 (rank<R>.pt, rank<R>.json), which is how the tests
check that the ranks agree.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import socket
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from rnncourse.bench import kit
from rnncourse.devices import device_name
from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem
from rnncourse.training import SequenceRegressor, evaluate_mse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = kit.parser(__doc__.split("\n\n")[0], threads=0, seed=0, batch=64, seq_len=50, hidden_size=64)
    p.add_argument("--kind", default="lstm", choices=["rnn", "lstm", "gru"], help="recurrent cell (default: lstm)")
    p.add_argument("--steps", type=int, default=300, help="optimizer steps (default: 300)")
    p.add_argument("--lr", type=float, default=1e-2, help="learning rate for a global batch of --base-batch")
    p.add_argument("--base-batch", type=int, default=64, help="global batch that --lr was tuned for (default: 64)")
    p.add_argument("--lr-scaling", default="sqrt", choices=["sqrt", "linear", "none"],
                   help="how the learning rate grows with the global batch (default: sqrt, for Adam)")
    p.add_argument("--warmup", type=int, default=0, help="steps of linear learning-rate warm-up (default: 0)")
    p.add_argument("--clip", type=float, default=1.0, help="max global gradient norm; 0 for none (default: 1)")
    p.add_argument("--backend", default="auto", choices=["auto", "nccl", "gloo"],
                   help="auto: nccl when every local process has a GPU, else gloo on the CPU")
    p.add_argument("--log-every", type=int, default=50, help="print the loss every this many steps (0: never)")
    p.add_argument("--timing-warmup", type=int, default=5, help="steps left out of the throughput (default: 5)")
    p.add_argument("--save-dir", type=Path, default=None, help="every rank writes its final weights and hash here")
    return p.parse_args(argv)


# --- who am I, and where do I run ---------------------------------------------------------------------------

def setup(backend: str = "auto", threads: int = 0) -> dict:
    """Join the process group; return rank, world size, device and backend of this process.

    Under torchrun the environment holds RANK, LOCAL_RANK, WORLD_SIZE and the rendezvous address. Without it
    (plain `python ddp_train.py`, or a notebook) this is a group of one, rendezvoused through an in-memory store.
    """
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if backend == "auto":
        backend = "nccl" if gpus >= local_world and gpus > 0 and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        if local_rank >= gpus:
            raise SystemExit(f"rank {rank}: LOCAL_RANK {local_rank} but only {gpus} GPU(s) on {socket.gethostname()}")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // local_world))
    if "MASTER_ADDR" in os.environ:   # launched by torchrun (or by hand with the env:// variables)
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world,
                                device_id=device if backend == "nccl" else None)
    else:                             # one process on its own
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1)
    return {"rank": rank, "world": world, "local_rank": local_rank, "local_world": local_world,
            "nnodes": max(1, world // local_world), "device": device, "backend": backend}


def scaled_lr(base_lr: float, global_batch: int, base_batch: int, rule: str) -> float:
    """The learning rate for `global_batch`, given one tuned for `base_batch`.

    linear: lr grows like the batch (Goyal et al., 2017; for SGD, with warm-up);
    sqrt:   lr grows like the square root of the batch (the usual rule for Adam);
    none:   keep the learning rate.
    """
    ratio = global_batch / base_batch
    return base_lr * {"linear": ratio, "sqrt": math.sqrt(ratio), "none": 1.0}[rule]


# --- the training loop: every process runs exactly this ---------------------------------------------------------

def train(model: nn.Module, args: argparse.Namespace, ctx: dict) -> dict:
    """Train the DDP-wrapped `model`; every process draws its own shard of the global batch."""
    device, world = ctx["device"], ctx["world"]
    rng = np.random.default_rng([args.seed, ctx["rank"]])        # a different stream of sequences per process
    lr = scaled_lr(args.lr, args.batch * world, args.base_batch, args.lr_scaling)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = torch.zeros(args.steps, device=device)             # this process's loss at every step
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    start = None
    for step in range(args.steps):
        if step == args.timing_warmup:                          # time from here: no start-up costs
            sync()
            dist.barrier()
            start = time.perf_counter()
        if args.warmup:
            for group in optimizer.param_groups:
                group["lr"] = lr * min(1.0, (step + 1) / args.warmup)
        x, y = adding_problem(args.batch, args.seq_len, rng)          # (batch, T, 2) and (batch,): this shard only
        x = torch.as_tensor(x, dtype=torch.float32).to(device, non_blocking=True)
        y = torch.as_tensor(y, dtype=torch.float32).to(device, non_blocking=True)
        loss = torch.mean((model(x) - y) ** 2)                  # the mean over this process's shard
        optimizer.zero_grad(set_to_none=True)
        loss.backward()                                         # DDP all-reduces (averages) gradients here
        if args.clip:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)   # same averaged grads: same clipping
        optimizer.step()                                        # same grads, same optimizer: same weights
        losses[step] = loss.detach()
        if args.log_every and (step + 1) % args.log_every == 0:
            mean = losses[step].clone()
            dist.all_reduce(mean)                               # the global batch's loss, for printing only
            if ctx["rank"] == 0:
                print(f"step {step + 1:5d}  loss {mean.item() / world:.4f}", flush=True)
    sync()
    dist.barrier()
    seconds = time.perf_counter() - start if start is not None else float("nan")
    dist.all_reduce(losses)
    losses = (losses / world).tolist()                          # loss of the global batch at every step
    timed = args.steps - args.timing_warmup
    return {"lr": lr, "losses": losses, "seconds": seconds, "timed_steps": timed,
            "sequences_per_s": timed * args.batch * world / seconds if timed > 0 else float("nan")}


# --- records ------------------------------------------------------------------------------------------------------

def state_hash(module: nn.Module) -> str:
    """SHA-256 of every tensor of the state dict, in order: equal hashes mean bit-identical weights."""
    h = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def process_device(device: torch.device) -> str:
    """The device of one process; on CPUs with the threads each process uses."""
    if device.type == "cuda":
        return device_name(device)
    return f"{device_name(device)} ({torch.get_num_threads()} threads per process)"


# --- the whole run ----------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    ctx = setup(args.backend, args.threads)
    try:
        torch.manual_seed(args.seed)                            # same seed: same initial weights everywhere;
        model = SequenceRegressor(args.kind, input_size=2, hidden=args.hidden_size).to(ctx["device"])
        ddp = DDP(model, device_ids=[ctx["device"].index] if ctx["device"].type == "cuda" else None)
        # (DDP also broadcasts rank 0's weights at construction, so they would agree anyway)
        if ctx["rank"] == 0:
            print(f"{ctx['world']} process(es) on {ctx['nnodes']} machine(s), backend {ctx['backend']}, "
                  f"device {process_device(ctx['device'])}; global batch {args.batch * ctx['world']} "
                  f"= {ctx['world']} x {args.batch}", flush=True)
        result = train(ddp, args, ctx)
        x_test, y_test = adding_problem(1000, args.seq_len, np.random.default_rng([12345, args.seq_len]))
        final_mse = evaluate_mse(model, torch.as_tensor(x_test, dtype=torch.float32, device=ctx["device"]),
                                 torch.as_tensor(y_test, dtype=torch.float32, device=ctx["device"]))
        digest = state_hash(model)
        if args.save_dir:
            args.save_dir.mkdir(parents=True, exist_ok=True)
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, args.save_dir / f"rank{ctx['rank']}.pt")
            (args.save_dir / f"rank{ctx['rank']}.json").write_text(json.dumps(
                {"rank": ctx["rank"], "world_size": ctx["world"], "sha256": digest,
                 "losses": result["losses"], "final_mse": final_mse}, indent=1))
        config = {"kind": args.kind, "seq_len": args.seq_len, "hidden_size": args.hidden_size,
                  "batch": args.batch, "global_batch": args.batch * ctx["world"], "steps": args.steps,
                  "lr_scaling": args.lr_scaling, "world_size": ctx["world"], "nnodes": ctx["nnodes"],
                  "processes_per_node": ctx["local_world"], "backend": ctx["backend"], "seed": args.seed}
        record = kit.record(
            "ddp_train", ctx["device"], config, sequences_per_s=result["sequences_per_s"], lr=result["lr"],
            timed_steps=result["timed_steps"], seconds=result["seconds"], host=socket.gethostname(),
            first_loss=result["losses"][0], last_loss=result["losses"][-1], final_mse=final_mse,
            baseline_mse=ADDING_BASELINE_MSE, weights_sha256=digest)
        if ctx["rank"] == 0:
            print(f"{record['sequences_per_s']:.0f} sequences/s; loss {record['first_loss']:.4f} -> "
                  f"{record['last_loss']:.4f}; held-out MSE {final_mse:.4f} (baseline {ADDING_BASELINE_MSE:.4f})",
                  flush=True)
            if args.json:
                kit.save(record, args.json)
        return {**record, "losses": result["losses"]}
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
