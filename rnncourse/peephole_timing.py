"""Chapter 4's timing experiment: plain and peephole LSTMs trained side by side on `timed_spike_task`."""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from rnncourse.lstm_torch import sequence_stacked
from rnncourse.tasks import timed_spike_task

PARAM_NAMES = ("W", "U", "b", "p_i", "p_f", "p_o")


def train_timing(seeds=(0, 1, 2), *, lrs=(1e-2,), delay: int = 30, T: int = 40, hidden: int = 16,
                 steps: int = 600, batch: int = 32, clip: float = 1.0, eval_every: int = 50,
                 test_size: int = 1000, test_seed: int = 12345) -> dict:
    """For each learning rate and seed, train a plain LSTM and a peephole LSTM on `timed_spike_task`.

    Both members of a pair start from the same W, U, b and readout (nn.LSTM's uniform initialisation,
    seeded by the seed alone) and see the same batches; the peepholes start at zero and only the
    peephole models may move them, so the plain model is exactly Chapter 3's LSTM. Each step of a
    sequence gets the score h_t w + b_out; the loss is the cross-entropy of the softmax over the steps
    against the target step (a 0-based index: step t of the text is index t - 1). Adam with a cosine decay
    of the learning rate, the gradient norm clipped
    per model at `clip`. All len(lrs)·2·len(seeds) models run as one stacked computation
    (`sequence_stacked`), which is exact: they do not interact.

    Returns a dict with seeds, lrs, delay, T, eval_steps; exact (L, 2, S, n_evals): the fraction of the
    held-out sequences answered at exactly the right step during training (axis 1: 0 plain, 1 peephole);
    final_exact and within_one (L, 2, S) at the end; params (name -> tensor (L, 2, S, ...)); seconds.
    """
    S, L, H = len(seeds), len(lrs), hidden
    G, M = 2 * S, 2 * S * L          # models per learning rate, models in all
    bound = 1 / math.sqrt(H)
    start = time.perf_counter()
    inits = []
    for seed in seeds:
        gen = torch.Generator().manual_seed(seed)
        u = lambda *shape: torch.rand(*shape, generator=gen) * (2 * bound) - bound  # noqa: E731
        inits.append(dict(W=u(1, 4 * H), U=u(H, 4 * H), b=u(4 * H), w_out=u(H), b_out=u(())))
    groups = []                       # one set of leaves per learning rate: plain models, then peephole
    for _ in lrs:
        leaves = {k: torch.stack([d[k] for d in inits + inits]) for k in inits[0]}
        leaves.update({k: torch.zeros(G, H) for k in ("p_i", "p_f", "p_o")})
        groups.append({k: v.requires_grad_(True) for k, v in leaves.items()})
    can_peep = torch.tensor(([0.0] * S + [1.0] * S) * L)[:, None]

    def scores(x):
        params = {k: torch.cat([g[k] for g in groups]) for k in groups[0]}
        zeros = x.new_zeros(M, x.shape[1], H)
        h = sequence_stacked(x, zeros, zeros, *(params[k] for k in PARAM_NAMES))
        return torch.einsum("mbth,mh->mbt", h, params["w_out"]) + params["b_out"][:, None, None]

    x_test, y_test = timed_spike_task(test_size, T, delay, np.random.default_rng(test_seed))
    x_test, y_test = torch.as_tensor(x_test).expand(M, -1, -1, -1), torch.as_tensor(y_test)

    def evaluate():
        with torch.no_grad():
            error = (scores(x_test).argmax(-1) - y_test).abs()
        return (error == 0).float().mean(1), (error <= 1).float().mean(1)

    optimizer = torch.optim.Adam([{"params": list(g.values()), "lr": lr} for g, lr in zip(groups, lrs)])
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    leaves = [(k, [g[k] for g in groups]) for k in groups[0]]
    rngs = [np.random.default_rng([seed, 1]) for seed in seeds]
    eval_steps, exact = [], []
    for step in range(1, steps + 1):
        data = [timed_spike_task(batch, T, delay, r) for r in rngs]
        x = torch.as_tensor(np.stack([d[0] for d in data] * (2 * L)))
        y = torch.as_tensor(np.stack([d[1] for d in data] * (2 * L)))
        logits = scores(x)                                                  # (M, batch, T)
        loss = nn.functional.cross_entropy(logits.reshape(M * batch, T), y.reshape(-1), reduction="none")
        optimizer.zero_grad(set_to_none=True)
        loss.view(M, batch).mean(1).sum().backward()                        # independent models: sum
        grads = {k: torch.cat([v.grad for v in vs]) for k, vs in leaves}   # (M, ...) per parameter
        for k in ("p_i", "p_f", "p_o"):
            grads[k] *= can_peep
        norms = torch.sqrt(sum(g.pow(2).reshape(M, -1).sum(1) for g in grads.values()))
        scale = (clip / (norms + 1e-6)).clamp(max=1.0)
        for k, vs in leaves:
            for v, g in zip(vs, (grads[k] * scale.view(-1, *[1] * (grads[k].dim() - 1))).split(G)):
                v.grad = g
        optimizer.step()
        schedule.step()
        if step % eval_every == 0 or step == steps:
            eval_steps.append(step)
            exact.append(evaluate()[0])
    final_exact, within_one = evaluate()
    shape = (L, 2, S)
    return {"seeds": list(seeds), "lrs": list(lrs), "delay": delay, "T": T, "eval_steps": eval_steps,
            "exact": torch.stack(exact, -1).view(*shape, -1).numpy(),
            "final_exact": final_exact.view(shape).numpy(), "within_one": within_one.view(shape).numpy(),
            "params": {k: torch.cat([g[k] for g in groups]).detach().view(*shape, *groups[0][k].shape[1:])
                       for k in groups[0]},
            "seconds": time.perf_counter() - start}
