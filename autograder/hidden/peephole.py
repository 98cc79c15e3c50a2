"""Hidden cases of Chapter 4: shapes, T = 1, batch of 1, saturated gates, zero state, zero peepholes, float32.

hidden-canary: c4n4ry-peep-2e8d40  (a test greps everything returned to students for this string)
"""
from __future__ import annotations

import numpy as np

from rnncourse.cases import peephole as visible
from rnncourse.checking import Case, run_cases

CANARY = "c4n4ry-peep-2e8d40"


def hidden_cases(test_id: str) -> list[Case]:
    """Grader-only cases for one test cell; canary c4n4ry-peep-2e8d40."""
    fwd, bwd = visible.forward_case, visible.backward_case
    return {
        visible.STEP_FWD: lambda: [
            fwd("batch of 1, D=1, H=1", 1, 1, 1, 1, seed=131, step=True),
            fwd("saturated gates", 3, 1, 4, 5, seed=132, scale=6.0, step=True),
            fwd("peepholes at zero: Chapter 3's LSTM", 2, 1, 3, 4, seed=133, zero_peepholes=True, step=True),
            fwd("float32 inputs", 3, 1, 4, 5, seed=134, dtype=np.float32, step=True),
        ],
        visible.FWD: lambda: [
            fwd("T=1", 2, 1, 3, 4, seed=231),
            fwd("B=4, T=9, D=5, H=6", 4, 9, 5, 6, seed=232),
            fwd("zero initial state", 2, 6, 3, 4, seed=233, zero_state=True),
            fwd("peepholes at zero: Chapter 3's LSTM", 3, 7, 4, 5, seed=234, zero_peepholes=True),
            fwd("float32 inputs", 3, 7, 4, 5, seed=235, dtype=np.float32),
        ],
        visible.STEP_BWD: lambda: [
            bwd("batch of 1", 1, 1, 2, 3, seed=331, step=True),
            bwd("B=3, D=5, H=6", 3, 1, 5, 6, seed=332, step=True),
            bwd("saturated gates", 2, 1, 3, 4, seed=333, scale=5.0, step=True),
        ],
        visible.BWD: lambda: [
            bwd("T=1", 2, 1, 3, 4, seed=431),
            bwd("B=3, T=8, D=4, H=5", 3, 8, 4, 5, seed=432),
            bwd("zero initial state", 2, 5, 3, 4, seed=433, zero_state=True),
            bwd("peepholes at zero", 2, 5, 3, 4, seed=434, zero_peepholes=True),
        ],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the hidden cases of one test cell (used by plain `nbgrader autograde`)."""
    run_cases(hidden_cases(test_id), fn)
