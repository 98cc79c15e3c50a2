"""Long-range memory tasks: the adding problem (Hochreiter and Schmidhuber, 1997) and timing a delay
(Chapter 4)."""
from __future__ import annotations

import numpy as np


def adding_problem(batch: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of (value, marker) pairs; the target is the sum of the two marked values.

    x: (batch, T, 2), values uniform in [0, 1] on channel 0, markers (0 or 1) on channel 1:
    one marker in the first half of the sequence, one in the second half, so the first marked
    value must be remembered for at least T/2 steps. y: (batch,), in [0, 2].
    Always predicting 1 gives a mean squared error of 1/6 (about 0.167): the baseline to beat.
    """
    if T < 2:
        raise ValueError("the adding problem needs T >= 2")
    values = rng.uniform(0, 1, (batch, T))
    markers = np.zeros((batch, T))
    half = T // 2
    first = rng.integers(0, half, batch)
    second = rng.integers(half, T, batch)
    rows = np.arange(batch)
    markers[rows, first] = 1
    markers[rows, second] = 1
    x = np.stack([values, markers], axis=-1)
    y = values[rows, first] + values[rows, second]
    return x, y


ADDING_BASELINE_MSE = 1 / 6


def sunspots() -> tuple[np.ndarray, np.ndarray]:
    """Yearly mean sunspot numbers 1700-2008, (years (309,), numbers (309,)), from NOAA's National Geophysical
    Data Center as bundled with statsmodels (`statsmodels.datasets.sunspots`, public domain)."""
    from statsmodels.datasets import sunspots as dataset  # here, not at the top: only one chapter needs it

    frame = dataset.load_pandas().data
    return frame["YEAR"].to_numpy(dtype=int), frame["SUNACTIVITY"].to_numpy(dtype=float)


def sliding_windows(series: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of `length` values and the value after it: x (N, length, 1), y (N,), N = len - length."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], length)
    return x[..., None].copy(), series[length:].copy()
def timed_spike_task(batch: int, T: int, delay: int, rng: np.random.Generator):
    """Sequences with one input pulse; the answer is the step exactly `delay` steps after it.

    x (batch, T, 1) float32 is 0 except a 1 at a random index t0 in [0, T - delay); returns (x, target)
    with target = t0 + delay, shape (batch,). These are 0-based indices, as the cross-entropy over the steps
    needs them: index t0 is step t0 + 1 as the text numbers steps (1 to T). A network answers with one score
    per step; its answer is the step with the highest score, so it must time the delay to the step.
    """
    if not 0 < delay < T:
        raise ValueError("need 0 < delay < T")
    t0 = rng.integers(0, T - delay, batch)
    x = np.zeros((batch, T, 1), np.float32)
    x[np.arange(batch), t0, 0] = 1.0
    return x, t0 + delay
