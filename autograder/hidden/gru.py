"""Hidden cases of Chapter 5: shapes, T = 1, batch of 1, saturated gates, float32, nn.GRU itself.

hidden-canary: c4n4ry-gru-a81f66  (a test greps everything returned to students for this string)
"""
from __future__ import annotations

import numpy as np

from rnncourse.cases import gru as visible
from rnncourse.checking import Case, run_cases

CANARY = "c4n4ry-gru-a81f66"


def hidden_cases(test_id: str) -> list[Case]:
    """Grader-only cases for one test cell; canary c4n4ry-gru-a81f66."""
    fwd, bwd, mapping = visible.forward_case, visible.backward_case, visible.mapping_case
    return {
        visible.STEP_FWD: lambda: [
            fwd("batch of 1, D=1, H=1", 1, 1, 1, 1, seed=141, step=True),
            fwd("saturated gates", 3, 1, 4, 5, seed=142, scale=8.0, step=True),
            fwd("float32 inputs", 3, 1, 4, 5, seed=143, dtype=np.float32, step=True),
        ],
        visible.FWD: lambda: [
            fwd("T=1", 2, 1, 3, 4, seed=241),
            fwd("B=4, T=9, D=5, H=6", 4, 9, 5, 6, seed=242),
            fwd("saturated gates", 3, 6, 3, 4, seed=243, scale=8.0),
            fwd("zero initial state", 2, 5, 2, 3, seed=244, zero_state=True),
            fwd("float32 inputs", 3, 7, 4, 5, seed=245, dtype=np.float32),
            fwd("against nn.GRU (diagonal U_n)", 3, 6, 4, 5, seed=246, against_torch=True),
        ],
        visible.STEP_BWD: lambda: [
            bwd("batch of 1", 1, 1, 2, 3, seed=341, step=True),
            bwd("B=3, D=5, H=6", 3, 1, 5, 6, seed=342, step=True),
            bwd("saturated gates", 2, 1, 3, 4, seed=343, scale=6.0, step=True),
        ],
        visible.BWD: lambda: [
            bwd("T=1", 2, 1, 3, 4, seed=441),
            bwd("B=3, T=8, D=4, H=5", 3, 8, 4, 5, seed=442),
            bwd("saturated gates", 2, 6, 3, 4, seed=443, scale=5.0),
            bwd("zero upstream gradient", 2, 4, 3, 3, seed=444, dh_scale=0.0),
        ],
        visible.MAP: lambda: [
            mapping("nn.GRU(1, 1)", 1, 3, 1, 1, seed=541),
            mapping("nn.GRU(6, 7), T=4", 3, 4, 6, 7, seed=542),
        ],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the hidden cases of one test cell (used by plain `nbgrader autograde`)."""
    run_cases(hidden_cases(test_id), fn)
