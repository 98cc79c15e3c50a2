"""Hidden cases of Chapter 3: shapes, T = 1, batch of 1, saturated gates, zero initial state, float32.

hidden-canary: c4n4ry-lstm-7b3c19  (a test greps everything returned to students for this string)
"""
from __future__ import annotations

import numpy as np

from rnncourse.cases import lstm as visible
from rnncourse.checking import Case, run_cases

CANARY = "c4n4ry-lstm-7b3c19"


def hidden_cases(test_id: str) -> list[Case]:
    """Grader-only cases for one test cell; canary c4n4ry-lstm-7b3c19."""
    fwd, bwd = visible.forward_case, visible.backward_case
    return {
        visible.STEP_FWD: lambda: [
            fwd("batch of 1, D=1, H=1", 1, 1, 1, 1, seed=121, step=True),
            fwd("saturated gates", 3, 1, 4, 5, seed=122, scale=8.0, step=True),
            fwd("zero initial state", 2, 1, 3, 3, seed=123, zero_state=True, step=True),
            fwd("float32 inputs", 3, 1, 4, 5, seed=124, dtype=np.float32, step=True),
        ],
        visible.FWD: lambda: [
            fwd("T=1", 2, 1, 3, 4, seed=221),
            fwd("B=4, T=9, D=5, H=6", 4, 9, 5, 6, seed=222),
            fwd("saturated gates", 3, 6, 3, 4, seed=223, scale=8.0),
            fwd("zero initial state", 2, 5, 2, 3, seed=224, zero_state=True),
            fwd("float32 inputs", 3, 7, 4, 5, seed=225, dtype=np.float32),
        ],
        visible.STEP_BWD: lambda: [
            bwd("batch of 1", 1, 1, 2, 3, seed=321, step=True),
            bwd("B=3, D=5, H=6", 3, 1, 5, 6, seed=322, step=True),
            bwd("saturated gates", 2, 1, 3, 4, seed=323, scale=6.0, step=True),
        ],
        visible.BWD: lambda: [
            bwd("T=1", 2, 1, 3, 4, seed=421),
            bwd("B=3, T=8, D=4, H=5", 3, 8, 4, 5, seed=422),
            bwd("saturated gates", 2, 6, 3, 4, seed=423, scale=5.0),
            bwd("zero initial state", 2, 5, 3, 4, seed=424, zero_state=True),
            bwd("zero upstream gradient", 2, 4, 3, 3, seed=425, dh_scale=0.0),
        ],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the hidden cases of one test cell (used by plain `nbgrader autograde`)."""
    run_cases(hidden_cases(test_id), fn)
