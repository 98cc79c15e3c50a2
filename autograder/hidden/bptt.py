"""Hidden cases of Chapter 2: shapes, T = 1, long T with tiny gradients, zero gradients, exploding weights.

hidden-canary: c4n4ry-bptt-51d0a3  (a test greps everything returned to students for this string)
"""
from __future__ import annotations

from rnncourse.cases import bptt as visible
from rnncourse.checking import Case, run_cases

CANARY = "c4n4ry-bptt-51d0a3"


def hidden_cases(test_id: str) -> list[Case]:
    """Grader-only cases for one test cell; canary c4n4ry-bptt-51d0a3."""
    step, back, clip = visible.step_case, visible.backward_case, visible.clip_case
    return {
        visible.STEP: lambda: [
            step("batch of 1, D=1, H=1", 1, 1, 1, seed=111),
            step("B=3, D=5, H=6", 3, 5, 6, seed=112),
            step("large recurrent weights (saturated tanh)", 4, 3, 5, seed=113, w_scale=6.0),
        ],
        visible.BACKWARD: lambda: [
            back("T=1", 2, 1, 3, 4, seed=211),
            back("B=4, T=10, D=4, H=6", 4, 10, 4, 6, seed=212),
            back("T=60, loss on the last step only: tiny early gradients", 2, 60, 3, 5, seed=213,
                 w_scale=0.5, last_step_only=True, rtol=1e-5, atol=0.0),
            back("zero upstream gradient", 2, 5, 3, 4, seed=214, dh_scale=0.0),
            back("large recurrent weights", 3, 8, 2, 4, seed=215, w_scale=3.0),
        ],
        visible.CLIP: lambda: [
            clip("all-zero gradients", [(2, 3), (3,)], 1.0, seed=311, scale=0.0),
            clip("one array, far above max_norm", [(5, 5)], 0.5, seed=312, scale=10.0),
            clip("five arrays", [(2, 2), (3,), (4, 1), (1,), (2, 3, 2)], 2.0, seed=313, scale=3.0),
        ],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the hidden cases of one test cell (used by plain `nbgrader autograde`)."""
    run_cases(hidden_cases(test_id), fn)
