"""Train a recurrent regressor on the adding problem: one helper shared by the RNN, LSTM and GRU chapters.

`train_adding("rnn", T=20)` builds a `SequenceRegressor` (a batch-first `nn.RNN`, `nn.LSTM` or `nn.GRU`
and a linear head on the last hidden state), trains it with Adam on fresh batches of
`rnncourse.tasks.adding_problem`, and reports the mean squared error on a fixed held-out batch, next to the
classic criterion: the fraction of held-out sequences answered within `TOLERANCE`.
Everything is seeded, so a run on the same CPU gives the same numbers every time.

Chapters 2, 3 and 5 measure every model with one yardstick: `BUDGET`, `SEEDS` and `learned`. `adding_runs`
is `train_adding` with that budget, trained once and shared: by every cell of a chapter, and by chapters
that run at the same time when `RUNS_ENV` names a folder for the finished runs (the book's build sets it).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnncourse import tasks
from rnncourse.tasks import ADDING_BASELINE_MSE, adding_problem

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
BUDGET = dict(hidden=32, steps=1000, batch=64, lr=1e-2, clip=1.0, eval_every=100)  # one budget for every model
SEEDS = (0, 1, 2)
TOLERANCE = 0.04    # a sequence counts as answered when |prediction - target| < 0.04 (Hochreiter and Schmidhuber)
RUNS_ENV = "RNNCOURSE_RUNS"


def learned(mse: float) -> bool:
    """The book's verdict for one run: held-out MSE below a quarter of the baseline's 1/6."""
    return mse < 0.25 * ADDING_BASELINE_MSE


class SequenceRegressor(nn.Module):
    """A recurrent layer (by name: "rnn", "lstm" or "gru"; batch first) and a linear head on its last state.

    forward(x) takes x of shape (batch, T, input_size) and returns one number per sequence, shape (batch,).
    With `truncate=k` the sequence runs in chunks of k steps and the state is detached between chunks: the
    same values, with gradients that reach back k steps at most (truncated BPTT).
    """

    def __init__(self, kind: str, input_size: int = 2, hidden: int = 32, num_layers: int = 1) -> None:
        super().__init__()
        if kind not in CELLS:
            raise ValueError(f"kind must be one of {sorted(CELLS)}, not {kind!r}")
        self.kind = kind
        self.rnn = CELLS[kind](input_size, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, truncate: int | None = None) -> torch.Tensor:
        if truncate is None:
            out, _ = self.rnn(x)
        else:
            state = None
            for chunk in x.split(truncate, dim=1):
                out, state = self.rnn(chunk, state)
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        return self.head(out[:, -1]).squeeze(-1)


def _init_recurrent(model: SequenceRegressor, init: str) -> None:
    """Re-initialise the recurrent matrices: "default" (PyTorch's uniform), "orthogonal" or "identity"."""
    if init == "default":
        return
    with torch.no_grad():
        for name, w in model.rnn.named_parameters():
            if not name.startswith("weight_hh"):
                continue
            hidden = w.shape[1]
            for block in w.split(hidden, dim=0):  # one (hidden, hidden) block per gate
                if init == "orthogonal":
                    nn.init.orthogonal_(block)
                elif init == "identity":
                    block.copy_(torch.eye(hidden))
                else:
                    raise ValueError(f"init must be 'default', 'orthogonal' or 'identity', not {init!r}")


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(mean squared error, fraction of sequences with |error| < TOLERANCE) of `model` on one batch."""
    model.eval()
    with torch.no_grad():
        error = model(x) - y
    model.train()
    return torch.mean(error ** 2).item(), (error.abs() < TOLERANCE).float().mean().item()


def evaluate_mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mean squared error of `model` on one batch, without gradients."""
    return evaluate(model, x, y)[0]


def train_adding(kind: str, T: int, *, hidden: int = 32, steps: int = 400, batch: int = 64, lr: float = 1e-2,
                 clip: float | None = 1.0, seed: int = 0, device: str | torch.device = "cpu",
                 init: str = "default", test_size: int = 1000, test_seed: int = 12345,
                 eval_every: int = 0, forget_bias: float | None = None, train_size: int | None = None,
                 truncate: int | None = None) -> dict:
    """Train a `SequenceRegressor` of this `kind` on the adding problem of length `T` with Adam.

    Each step draws a fresh batch, or, with `train_size`, a batch drawn (with replacement) from one fixed
    training set of that many sequences, to measure what the amount of data does; `clip` (None for no
    clipping) is the max global gradient norm; `truncate=k` trains with truncated BPTT, gradients reaching
    back k steps at most (evaluation runs the same forward pass).
    The held-out batch depends only on `T` and `test_seed`, so runs with different seeds are compared on
    the same sequences. `forget_bias` (LSTM only) sets the forget gate's bias before training
    (PyTorch's block f of i, f, g, o: `bias_ih` to the value, `bias_hh` to 0). Returns a dict with:
      final_mse  the held-out MSE after training (1/6 is what always predicting 1 gets),
      accuracy   the fraction of held-out sequences answered within TOLERANCE after training,
      losses     the training loss (MSE) of every step,
      test_mse   [(step, held-out MSE), ...] every `eval_every` steps (only the end when 0),
      baseline, kind, T, seconds (wall time of training) and model (the trained module, on `device`).
    """
    device = torch.device(device)
    rng = np.random.default_rng(seed)
    x_test, y_test = adding_problem(test_size, T, np.random.default_rng([test_seed, T]))
    x_test = torch.as_tensor(x_test, dtype=torch.float32, device=device)
    y_test = torch.as_tensor(y_test, dtype=torch.float32, device=device)
    with torch.random.fork_rng(devices=[]):  # seeded weights, without touching the caller's global RNG
        torch.manual_seed(seed)
        model = SequenceRegressor(kind, input_size=2, hidden=hidden)
        _init_recurrent(model, init)
    if forget_bias is not None:
        if kind != "lstm":
            raise ValueError("forget_bias applies to the LSTM only")
        with torch.no_grad():
            model.rnn.bias_ih_l0[hidden:2 * hidden] = forget_bias
            model.rnn.bias_hh_l0[hidden:2 * hidden] = 0.0
    model.to(device)
    if train_size is not None:
        x_train, y_train = adding_problem(train_size, T, rng)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses, test_mse = [], []
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if train_size is None:
            x, y = adding_problem(batch, T, rng)
        else:
            pick = rng.integers(0, train_size, batch)
            x, y = x_train[pick], y_train[pick]
        x = torch.as_tensor(x, dtype=torch.float32, device=device)
        y = torch.as_tensor(y, dtype=torch.float32, device=device)
        loss = torch.mean((model(x, truncate) - y) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
        if eval_every and step % eval_every == 0:
            test_mse.append((step, evaluate_mse(model, x_test, y_test)))
    final, accuracy = evaluate(model, x_test, y_test)
    if not test_mse or test_mse[-1][0] != steps:
        test_mse.append((steps, final))
    return {"final_mse": final, "accuracy": accuracy, "losses": losses, "test_mse": test_mse,
            "baseline": ADDING_BASELINE_MSE,
            "kind": kind, "T": T, "seconds": time.perf_counter() - start, "model": model}


_RUNS: dict[str, dict] = {}


def adding_runs(specs: list[tuple[str, int, int]], **options) -> dict[tuple[str, int, int], dict]:
    """{(kind, T, seed): run} for every spec, each `train_adding(kind, T, seed=seed, **BUDGET, **options)` on
    the CPU, trained once per process and, when the environment variable RUNS_ENV names a folder, once for
    every process that shares it: a run another process is training is read when it is done, and the runs
    nobody holds are trained meanwhile, so that two chapters asking for the same runs share the work.

    The key covers everything the numbers depend on: the arguments, the code of this module and of the task,
    the torch version, its CPU kernels and thread count, and oneDNN's instruction cap.
    """
    folder = os.environ.get(RUNS_ENV)
    keys = {spec: _key(*spec, options) for spec in specs}
    out = {spec: _RUNS[key] for spec, key in keys.items() if key in _RUNS}
    pending = [spec for spec in specs if spec not in out]
    while pending:
        waiting = []
        for spec in pending:
            args = {**BUDGET, **options, "kind": spec[0], "T": spec[1], "seed": spec[2]}
            run = _shared_run(Path(folder), keys[spec], args, block=False) if folder else _train(args)
            if run is None:
                waiting.append(spec)        # another process is training it: come back to it later
            else:
                out[spec] = _RUNS[keys[spec]] = run
        if waiting and len(waiting) == len(pending):   # everything left is in training elsewhere: wait
            spec = waiting.pop(0)
            args = {**BUDGET, **options, "kind": spec[0], "T": spec[1], "seed": spec[2]}
            out[spec] = _RUNS[keys[spec]] = _shared_run(Path(folder), keys[spec], args, block=True)
        pending = waiting
    return out


def _key(kind: str, T: int, seed: int, options: dict) -> str:
    args = {**BUDGET, **options, "kind": kind, "T": T, "seed": seed}
    code = [inspect.getsource(module) for module in (tasks, sys.modules[__name__])]
    setting = json.dumps([args, code, torch.__version__, torch.get_num_threads(),
                          torch.backends.cpu.get_cpu_capability(), os.environ.get("ONEDNN_MAX_CPU_ISA")],
                         sort_keys=True, default=str)
    return f"{kind}-T{T}-seed{seed}-{hashlib.sha256(setting.encode()).hexdigest()[:16]}"


def _train(args: dict) -> dict:
    args = dict(args)
    return train_adding(args.pop("kind"), args.pop("T"), **args)


def _shared_run(folder: Path, key: str, args: dict, block: bool) -> dict | None:
    """Read the run from `folder`, or train it under a lock and store it there (the model as a state dict).
    Returns None, without waiting, when another process holds the lock and `block` is false."""
    import fcntl  # POSIX only: the shared folder is the book build's, never a reader's notebook

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{key}.pt"
    with open(folder / f"{key}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        except BlockingIOError:
            return None
        if path.exists():
            stored = torch.load(path, weights_only=False)
            model = SequenceRegressor(args["kind"], input_size=2, hidden=args["hidden"])
            model.load_state_dict(stored.pop("state_dict"))
            return {**stored, "model": model}
        run = _train(args)
        torch.save({**{k: v for k, v in run.items() if k != "model"}, "state_dict": run["model"].state_dict()},
                   path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        return run


def train_forecaster(kind: str, x: np.ndarray, y: np.ndarray, *, hidden: int = 16, steps: int = 300,
                     lr: float = 1e-2, seed: int = 0, device: str | torch.device = "cpu") -> SequenceRegressor:
    """A `SequenceRegressor` of this `kind` fitted to windows x (N, T, 1) -> next values y (N,) with full-batch
    Adam on the mean squared error; seeded, returned on `device` in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SequenceRegressor(kind, input_size=x.shape[-1], hidden=hidden)
    model.to(device)
    xt = torch.as_tensor(x, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y, dtype=torch.float32, device=device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = torch.mean((model(xt) - yt) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()
