"""Test cases and output comparison with messages a student can act on.

The same `Case` objects serve two places:

* in a student's notebook, `run_cases` calls the student's function and raises
  an `AssertionError` that says which output, which time step, expected vs got;
* in the grader, the trusted process sends a case's inputs to the sandbox, gets
  plain arrays back and judges them with `judge`, in its own pristine NumPy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    """One call of a student function with known inputs and reference outputs."""

    test_id: str
    label: str
    func: str
    args: tuple[tuple[str, np.ndarray], ...]
    outputs: tuple[str, ...]
    expected: tuple[np.ndarray, ...]
    time_axis: int | None = None
    exact_dtype: bool = False
    rtol: float = 1e-6
    atol: float = 1e-8
    hints: tuple[tuple[str, tuple[np.ndarray, ...]], ...] = field(default=())
    nonfinite_hint: str = ""
    # names of the gate blocks stacked along the last axis of dW, dU and db, in order (say, the LSTM's
    # "input gate i", ...), so that a wrong entry there is reported with the gate it belongs to
    gate_blocks: tuple[str, ...] = ()
    # applied by the checker to the returned outputs before comparing (e.g. run a model with returned
    # parameters); `outputs` and `expected` then describe what it returns
    transform: Callable | None = None

    def call_args(self) -> list:
        """Fresh copies of the inputs (an argument may be a list of arrays), so writes harm nothing."""
        return [[np.array(x, copy=True) for x in a] if isinstance(a, list) else np.array(a, copy=True)
                for _, a in self.args]

    def describe(self) -> str:
        shapes = ", ".join(f"{n}[{len(a)} arrays]" if isinstance(a, list)
                           else f"{n}={float(a):g}" if np.ndim(a) == 0 else f"{n}{tuple(a.shape)}"
                           for n, a in self.args)
        return f"{self.func}({shapes}) [{self.label}]"


def as_outputs(result) -> list:
    """The outputs of a call as a flat list: several come as a tuple, and a list inside it
    (say, of clipped gradients) counts as one output per element."""
    items = list(result) if isinstance(result, tuple) else [result]
    return [x for item in items for x in (item if isinstance(item, (list, tuple)) else [item])]


def _fmt(x) -> str:
    return f"{x:.6g}"


def _where(index: tuple[int, ...], shape: tuple[int, ...], time_axis: int | None) -> str:
    """Where an entry is; for sequences (batch, time, features) the time step comes first, numbered
    t = 1..T as the book numbers steps (the array index beside it counts from 0, as NumPy does)."""
    pos = "[" + ", ".join(str(i) for i in index) + "]"
    if time_axis is not None and len(index) == 3:
        return (f"time step t={index[time_axis] + 1} of {shape[time_axis]} "
                f"(first wrong entry at index {pos}; steps count from 1, indices from 0)")
    return f"entry {pos}"


STACKED = ("dW", "dU", "db")


def _gate(case: Case, name: str, index: tuple[int, ...], shape: tuple[int, ...]) -> str:
    """' (the forget gate f block)' for an entry of a stacked gradient, else ''."""
    if not case.gate_blocks or name not in STACKED or not index:
        return ""
    width = shape[-1] // len(case.gate_blocks)
    return f" (the {case.gate_blocks[index[-1] // width]} block)"


def _mismatch(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    return np.abs(got - exp) > atol + rtol * np.abs(exp)


def _close(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> bool:
    return got.shape == exp.shape and bool(np.all(np.isfinite(got))) and not _mismatch(got, exp, rtol, atol).any()


def judge(case: Case, got: list) -> str | None:
    """None when every output matches the reference, else a message naming what is wrong."""
    head = f"{case.describe()}: "
    if case.transform is not None:
        try:
            got = list(case.transform(*[np.asarray(g, dtype=np.float64) for g in got]))
        except Exception as exc:  # noqa: BLE001 - wrong shapes or types are the student's mistake
            return head + f"could not use what it returned: {type(exc).__name__}: {str(exc)[:200]}"
    if len(got) != len(case.outputs):
        return head + (f"expected {len(case.outputs)} output(s) {case.outputs}, got {len(got)}.")
    for name, g, exp in zip(case.outputs, got, case.expected):
        problem = _judge_one(case, name, g, exp)
        if problem:
            return head + problem + _hint(case, got)
    return None


def _judge_one(case: Case, name: str, g, exp: np.ndarray) -> str | None:
    if g is None:
        return f"output {name} is None; did you forget a `return`?"
    try:
        g = np.asarray(g)
    except Exception:  # noqa: BLE001 - any object that NumPy cannot read is a wrong answer
        return f"output {name} is not an array (got {type(g).__name__})."
    if g.dtype.kind not in "fiu" or g.dtype.kind in "iu" and exp.dtype.kind == "f":
        return f"output {name} has dtype {g.dtype}, expected a floating-point array ({exp.dtype})."
    if exp.ndim == 0 and g.size == 1:
        g = g.reshape(())
    if g.shape != exp.shape:
        return f"output {name} has shape {g.shape}, expected {exp.shape}."
    if case.exact_dtype and g.dtype != exp.dtype:
        return (f"output {name} has dtype {g.dtype}, expected {exp.dtype} "
                "(keep the dtype of the inputs; do not mix in float64 constants or arrays).")
    g64, e64 = g.astype(np.float64), exp.astype(np.float64)
    bad_finite = ~np.isfinite(g64)
    if bad_finite.any():
        idx = tuple(int(i) for i in np.argwhere(bad_finite)[0])
        msg = (f"output {name} holds {g64[idx]} at {_where(idx, g64.shape, case.time_axis)}"
               f"{_gate(case, name, idx, g64.shape)}, expected {_fmt(e64[idx])}.")
        return msg + (f" {case.nonfinite_hint}" if case.nonfinite_hint else "")
    bad = _mismatch(g64, e64, case.rtol, case.atol)
    if not bad.any():
        return None
    where = np.argwhere(bad)
    if case.time_axis is not None and g64.ndim == 3:
        where = where[np.argsort(where[:, case.time_axis], kind="stable")]
    if exp.ndim == 0:
        return f"output {name} is wrong: expected {_fmt(e64)}, got {_fmt(g64)}."
    idx = tuple(int(i) for i in where[0])
    err = np.abs(g64 - e64)
    return (f"output {name} is wrong at {_where(idx, g64.shape, case.time_axis)}{_gate(case, name, idx, g64.shape)}: "
            f"expected {_fmt(e64[idx])}, "
            f"got {_fmt(g64[idx])}; {int(bad.sum())} of {bad.size} entries are off, "
            f"largest error {_fmt(err.max())}.")


def _hint(case: Case, got: list) -> str:
    for text, wrong in case.hints:
        try:
            arrays = [np.asarray(g, dtype=np.float64) for g in got]
        except Exception:  # noqa: BLE001
            return ""
        if len(arrays) == len(wrong) and all(
            _close(a.reshape(w.shape) if a.size == w.size else a, w.astype(np.float64), 1e-4, 1e-6)
            for a, w in zip(arrays, wrong)
        ):
            return f"\nHint: {text}"
    return ""


def run_cases(cases: list[Case], fn) -> None:
    """Run the cases against a student's function in the notebook; raise on the first failure."""
    if not callable(fn):
        raise AssertionError(f"{cases[0].func} is not a function (got {type(fn).__name__}).")
    for case in cases:
        problem = judge(case, as_outputs(fn(*case.call_args())))
        if problem:
            raise AssertionError(problem)
    print(f"{cases[0].func}: all {len(cases)} visible checks passed.")
