"""Hidden cases of Chapter 1: other shapes and seeds, T = 1, batch of 1, large inputs, float32, and the
unpadded prefixes of a padded batch of variable-length sequences.

hidden-canary: c4n4ry-rnn-9f2e71  (a test greps everything returned to students for this string)
"""
from __future__ import annotations

import numpy as np

from rnncourse.cases import rnn as visible
from rnncourse.checking import Case, run_cases

CANARY = "c4n4ry-rnn-9f2e71"


def hidden_cases(test_id: str) -> list[Case]:
    """Grader-only cases for one test cell; canary c4n4ry-rnn-9f2e71."""
    step, fwd, loss = visible.step_case, visible.forward_case, visible.loss_case
    return {
        visible.STEP: lambda: [
            step("batch of 1, D=1, H=1", 1, 1, 1, seed=101),
            step("B=3, D=7, H=5", 3, 7, 5, seed=102),
            step("large inputs (saturated tanh)", 4, 3, 6, seed=103, scale=40.0),
            step("float32 inputs", 3, 4, 5, seed=104, dtype=np.float32),
        ],
        visible.FORWARD: lambda: [
            fwd("T=1", 2, 1, 3, 4, seed=201),
            fwd("batch of 1", 1, 6, 2, 3, seed=202),
            fwd("B=4, T=12, D=6, H=8", 4, 12, 6, 8, seed=203),
            fwd("large inputs (saturated tanh)", 3, 7, 4, 5, seed=204, scale=40.0),
            fwd("float32 inputs", 3, 9, 4, 6, seed=205, dtype=np.float32),
            *visible.prefix_cases("padded batch, lengths 6, 2, 4, 1", (6, 2, 4, 1), 6, 3, 5, seed=206),
        ],
        visible.LOSS: lambda: [
            loss("T=1, batch of 1", 1, 1, 4, seed=301),
            loss("B=4, T=7, V=11", 4, 7, 11, seed=302),
            loss("large logits (overflow check)", 3, 4, 6, seed=303, scale=1000.0),
            loss("float32 logits", 2, 5, 7, seed=304, dtype=np.float32),
        ],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the hidden cases of one test cell (used by plain `nbgrader autograde`)."""
    run_cases(hidden_cases(test_id), fn)
