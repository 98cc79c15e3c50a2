"""Cases for the capstone exercise: a character RNN trained by truncated BPTT.

Signatures (batch first; params = [Wx (V, H), Wh (H, H), b (H,), Wy (H, V), by (V,)]):
    sample_many(logits, temperature, seed) -> (probs (N, V), ids (N,))   # the notebook's given driver: it calls
                                              the student's sample_next(row, temperature, rng) with one Generator
    tbptt_step(params, x, y, h0)            -> (loss, [dWx, dWh, db, dWy, dby], h_last)   x, y (B, T) ids
    sgd_update(params, grads, lr, max_norm) -> (new_params, total_norm)
    train_stream(params, stream, chunk, epochs, lr, max_norm) -> (params, losses)          stream (B, N) ids
    embedding_step(E, ids, dX)              -> (X (B, T, D), dE (V, D))   E (V, D), ids (B, T), dX (B, T, D)
References: PyTorch (softmax, autograd through `nn.RNN` and `nn.functional.embedding`, `clip_grad_norm_`) in
`rnncourse.oracles`, and for
the draws the definition of `Generator.choice`; mistake models switch one flag of the same oracles.
"""
from __future__ import annotations

import numpy as np

from rnncourse import oracles
from rnncourse.checking import Case, run_cases
from rnncourse.gradcheck import check_gradients

SAMPLE, STEP, UPDATE, TRAIN = "test_sample_next", "test_tbptt_step", "test_sgd_update", "test_train_stream"
EMBED = "test_embedding_step"
PARAMS = ("Wx", "Wh", "b", "Wy", "by")


def _params(rng, V, H, scale=1.0):
    return [rng.normal(0, scale / np.sqrt(V), (V, H)), rng.normal(0, scale / np.sqrt(H), (H, H)),
            rng.normal(0, 0.1, H), rng.normal(0, 1 / np.sqrt(H), (H, V)), rng.normal(0, 0.1, V)]


def sample_case(label, N, V, temperature, seed, *, scale=3.0, test_id=SAMPLE) -> Case:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, scale, (N, V))
    draw_seed = int(rng.integers(0, 2**31))
    probs, ids = oracles.temperature_sample_reference(logits, temperature, draw_seed)
    hints = (("your probabilities ignore the temperature: divide the logits by it before the softmax "
              "(dividing the probabilities after the softmax and normalising them again undoes it).",
              oracles.temperature_sample_reference(logits, temperature, draw_seed, after_softmax=True)),)
    return Case(test_id, label, "sample_many",
                (("logits", logits), ("temperature", np.asarray(float(temperature))), ("seed", np.asarray(draw_seed))),
                ("probs", "ids"), (probs, ids), hints=hints,
                nonfinite_hint="Subtract the largest scaled logit before np.exp, as in Chapter 1.")


def _chunk_inputs(rng, B, T, V, H, scale):
    params = _params(rng, V, H, scale)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    return params, x, y, np.tanh(rng.normal(0, 1, (B, H)))


def step_case(label, B, T, V, H, seed, *, scale=1.0, zero_state=False, test_id=STEP) -> Case:
    rng = np.random.default_rng(seed)
    params, x, y, h0 = _chunk_inputs(rng, B, T, V, H, scale)
    if zero_state:
        h0 = np.zeros_like(h0)
    loss, grads, h_last = oracles.char_chunk_reference(params, x, y, h0)
    from_zero = oracles.char_chunk_reference(params, x, y, np.zeros_like(h0))
    hints = (("your results match a chunk that starts from zeros: start from h0, the state carried in from "
              "the previous chunk.", (from_zero[0], *from_zero[1], from_zero[2])),
             ("your loss and gradients are B*T times too large: average the loss over all positions, do not sum.",
              (loss * x.size, *[g * x.size for g in grads], h_last)))
    hints = hints[1:] if zero_state else hints
    return Case(test_id, label, "tbptt_step",
                (("params", params), ("x", x), ("y", y), ("h0", h0)),
                ("loss", *(f"d{n}" for n in PARAMS), "h_last"), (loss, *grads, h_last), hints=hints)


def update_case(label, shapes, lr, max_norm, seed, *, scale=1.0, test_id=UPDATE) -> Case:
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 1, s) for s in shapes]
    grads = [rng.normal(0, scale, s) for s in shapes]
    clipped, norm = oracles.clip_by_global_norm(grads, max_norm)
    per_array = [g * min(1.0, max_norm / np.linalg.norm(g)) if np.linalg.norm(g) > 0 else g for g in grads]
    names = tuple(f"new_params[{i}]" for i in range(len(shapes))) + ("total_norm",)
    hints = [("you clipped each array by its own norm; clip all of them by one global norm, the 2-norm of "
              "all entries together, so that the direction of the whole gradient is kept.",
              (*[p - lr * g for p, g in zip(params, per_array)], np.asarray(norm)))]
    if 0 < norm < max_norm:
        hints.append(("you scaled the gradients although their norm is below max_norm; leave them unchanged then.",
                      (*[p - lr * g * max_norm / norm for p, g in zip(params, grads)], np.asarray(norm))))
    return Case(test_id, label, "sgd_update",
                (("params", params), ("grads", grads), ("lr", np.asarray(float(lr))),
                 ("max_norm", np.asarray(float(max_norm)))),
                names, (*[p - lr * g for p, g in zip(params, clipped)], np.asarray(norm)), hints=tuple(hints),
                nonfinite_hint="With all-zero gradients the norm is 0: do not divide by it.")


def train_case(label, B, N, V, H, chunk, epochs, seed, *, lr=0.5, max_norm=1.0, test_id=TRAIN) -> Case:
    rng = np.random.default_rng(seed)
    params = _params(rng, V, H)
    stream = rng.integers(0, V, (B, N))
    args = (("params", params), ("stream", stream), ("chunk", np.asarray(chunk)), ("epochs", np.asarray(epochs)),
            ("lr", np.asarray(lr)), ("max_norm", np.asarray(max_norm)))
    run = lambda **mistake: oracles.char_train_reference(params, stream, chunk, epochs, lr, max_norm, **mistake)  # noqa: E731
    ref = run()
    mistakes = (
        ("your training matches one that starts every chunk from zeros: carry the state returned by tbptt_step "
         "into the next chunk.", dict(carry=False)),
        ("your training matches one that carries the state from the end of the text into its start: reset it "
         "to zeros at the start of every epoch.", dict(cut=False)),
        ("your training matches one that updates with the sum of all gradients so far: use only the gradients "
         "of the current chunk (they are not accumulated across steps).", dict(accumulate=True)),
    )
    hints = tuple((text, (*out[0], out[1])) for text, out in ((t, run(**m)) for t, m in mistakes))
    names = tuple(f"params[{i}] ({n})" for i, n in enumerate(PARAMS)) + ("losses",)
    return Case(test_id, label, "train_stream", args, names, (*ref[0], ref[1]), rtol=1e-6, atol=1e-9, hints=hints)


def embedding_case(label, B, T, V, D, seed, *, ids=None, test_id=EMBED) -> Case:
    """An embedding lookup and its backward pass; `ids` (B, T) fixes the ids (else drawn, with repeats)."""
    rng = np.random.default_rng(seed)
    E, dX = rng.normal(0, 1, (V, D)), rng.normal(0, 1, (B, T, D))
    ids = rng.integers(0, V, (B, T)) if ids is None else np.asarray(ids)
    X, dE = oracles.embedding_reference(E, ids, dX)
    mistake = lambda **flag: (X, oracles.embedding_reference(E, ids, dX, **flag)[1])  # noqa: E731
    hints = (("dE misses gradient where a character occurs more than once: `dE[ids] += dX` keeps only one of the "
              "repeated rows. A row read k times gets the sum of its k gradients (np.add.at adds at repeated ids).",
              mistake(last_write_wins=True)),
             ("dE averages the gradients of a character read several times; the lookup is used once per position, "
              "so its gradients add up: sum them.", mistake(mean_of_repeats=True)))
    return Case(test_id, label, "embedding_step", (("E", E), ("ids", ids), ("dX", dX)), ("X", "dE"), (X, dE),
                time_axis=1, hints=tuple(h for h in hints if not np.allclose(h[1][1], dE)))


def visible_cases(test_id: str) -> list[Case]:
    """The cases a student runs in the notebook (the grader runs them too)."""
    return {
        SAMPLE: lambda: [sample_case("N=6, V=5, temperature 0.7", 6, 5, 0.7, seed=21),
                         sample_case("N=4, V=8, temperature 2", 4, 8, 2.0, seed=22)],
        STEP: lambda: [step_case("B=2, T=4, V=6, H=5", 2, 4, 6, 5, seed=23)],
        UPDATE: lambda: [update_case("norm above max_norm", [(3, 4), (4,)], 0.1, 1.0, seed=24, scale=2.0),
                         update_case("norm below max_norm", [(2, 2), (3,)], 0.5, 100.0, seed=25)],
        TRAIN: lambda: [train_case("B=2, N=13, V=5, H=4, chunks of 4, 2 epochs", 2, 13, 5, 4, 4, 2, seed=26)],
        EMBED: lambda: [embedding_case("B=2, T=5, V=6, D=3, repeated characters", 2, 5, 6, 3, seed=27)],
    }[test_id]()


def _gradient_check(fn) -> None:
    """A numerical check of the student's tbptt_step gradients, with the worst entry reported."""
    rng = np.random.default_rng(8)
    params, x, y, h0 = _chunk_inputs(rng, 2, 3, 4, 3, 1.0)
    _, grads, _ = fn([p.copy() for p in params], x.copy(), y.copy(), h0.copy())

    def loss():
        return float(oracles.char_chunk_reference(params, x, y, h0)[0])

    check_gradients(loss, dict(zip(PARAMS, params)), dict(zip(PARAMS, grads)))


def _embedding_gradient_check(fn) -> None:
    """A numerical check of the student's dE against L = sum(X * dX), X from PyTorch's lookup."""
    rng = np.random.default_rng(9)
    E, ids, dX = rng.normal(0, 1, (5, 2)), np.array([[1, 3, 1], [4, 1, 0]]), rng.normal(0, 1, (2, 3, 2))
    _, dE = fn(E.copy(), ids.copy(), dX.copy())

    def loss():
        return float((oracles.embedding_reference(E, ids, dX)[0] * dX).sum())

    check_gradients(loss, {"E": E}, {"E": np.asarray(dE, dtype=np.float64)})


def check(test_id: str, fn) -> None:
    """Run the visible cases of one test cell (and, for tbptt_step and embedding_step, a numerical gradient
    check)."""
    run_cases(visible_cases(test_id), fn)
    if test_id == STEP:
        _gradient_check(fn)
    if test_id == EMBED:
        _embedding_gradient_check(fn)
