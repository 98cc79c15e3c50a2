"""Numerical gradient checking for students: centred differences and a report of the worst entry."""
from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by centred differences, perturbing `x` in place one entry at a time.

    `f` takes no arguments and reads `x` (and anything else) from its closure.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Entrywise |a - n| / max(|a| + |n|, floor): scale-free, so tiny gradients are judged fairly."""
    a, n = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    return np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), floor)


def worst_entry(name: str, analytic: np.ndarray, numeric: np.ndarray) -> tuple[float, str]:
    """The largest relative error and a sentence naming its entry, expected vs got."""
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        return np.inf, f"{name}: shape {analytic.shape}, expected {numeric.shape}"
    err = relative_error(analytic, numeric)
    if err.size == 0:
        return 0.0, f"{name}: empty"
    idx = np.unravel_index(int(np.argmax(err)), err.shape)
    where = "[" + ", ".join(str(int(i)) for i in idx) + "]"
    return float(err[idx]), (f"{name}: worst relative error {err[idx]:.2e} at {where}: "
                             f"numerical {numeric[idx]:.6g}, yours {analytic[idx]:.6g}")


def check_gradients(loss: Callable[[], float], params: dict[str, np.ndarray], grads: dict[str, np.ndarray],
                    tol: float = 1e-6) -> None:
    """Compare analytic `grads` with numerical ones for every array in `params`; raise on the first bad one."""
    for name, x in params.items():
        err, sentence = worst_entry(name, grads[name], numerical_gradient(loss, x))
        if not err <= tol:
            raise AssertionError(f"gradient check failed for d{sentence} (tolerance {tol:.0e}).")
    print(f"gradient check passed for {', '.join('d' + n for n in params)}.")


def check_sequence_backward(backward: Callable, states: Callable, params: dict[str, np.ndarray],
                            dh: np.ndarray, tol: float = 1e-6) -> None:
    """Check a student's `backward(dh, *params)` numerically against L = sum(states(*params) * dh),
    where `states` returns the hidden states (B, T, H) of a reference forward pass."""
    def loss():
        return float((states(*params.values()) * dh).sum())

    grads = backward(dh.copy(), *(a.copy() for a in params.values()))
    check_gradients(loss, params, dict(zip(params, grads)), tol)
