"""Hidden cases of the capstone: extreme temperatures, a batch of one, T = 1, a zero state, big gradients,
all-zero gradients, one epoch and three epochs; for the embedding one character throughout, characters that never
occur, and T = 1.

Seeds: 1xx sampling, 2xx tbptt_step, 3xx sgd_update, 4xx train_stream, 5xx embedding_step (visible cases use
21-27).
hidden-canary: c4n4ry-capstone-7e2b91  (a test greps everything returned to students for this string)
"""
from __future__ import annotations

from rnncourse.cases import capstone as visible
from rnncourse.checking import Case, run_cases

CANARY = "c4n4ry-capstone-7e2b91"


def hidden_cases(test_id: str) -> list[Case]:
    """Grader-only cases for one test cell; canary c4n4ry-capstone-7e2b91."""
    sample, step, update, train = visible.sample_case, visible.step_case, visible.update_case, visible.train_case
    embed = visible.embedding_case
    return {
        visible.SAMPLE: lambda: [
            sample("temperature 0.05 with large logits: overflows without the max subtracted", 5, 6, 0.05,
                   seed=111, scale=20.0),
            sample("temperature 10: close to uniform", 8, 4, 10.0, seed=112),
            sample("temperature 1, V=2, 20 draws", 20, 2, 1.0, seed=113),
        ],
        visible.STEP: lambda: [
            step("T=1", 3, 1, 5, 4, seed=211),
            step("batch of 1, T=7, V=9, H=6", 1, 7, 9, 6, seed=212),
            step("state carried in is zero", 2, 5, 4, 3, seed=213, zero_state=True),
            step("large recurrent weights (saturated tanh)", 2, 6, 5, 4, seed=214, scale=4.0),
        ],
        visible.UPDATE: lambda: [
            update("all-zero gradients", [(2, 3), (3,)], 0.1, 1.0, seed=311, scale=0.0),
            update("five arrays, far above max_norm", [(4, 3), (3, 3), (3,), (3, 4), (4,)], 0.05, 0.5,
                   seed=312, scale=10.0),
        ],
        visible.TRAIN: lambda: [
            train("one epoch, B=1", 1, 17, 4, 3, 5, 1, seed=411),
            train("three epochs, B=3, chunks of 3", 3, 11, 6, 5, 3, 3, seed=412, lr=0.3, max_norm=0.5),
        ],
        visible.EMBED: lambda: [
            embed("one character at every position", 2, 4, 5, 3, seed=511, ids=[[2, 2, 2, 2], [2, 2, 2, 2]]),
            embed("V=10, only three characters occur: the other rows get zero", 3, 4, 10, 2, seed=512,
                  ids=[[0, 7, 7, 3], [3, 0, 0, 7], [7, 7, 3, 3]]),
            embed("T=1, batch of 4, D=5", 4, 1, 8, 5, seed=513),
        ],
    }[test_id]()


def check(test_id: str, fn) -> None:
    """Run the hidden cases of one test cell (used by plain `nbgrader autograde`)."""
    run_cases(hidden_cases(test_id), fn)
