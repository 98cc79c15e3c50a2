"""Real text that every machine with Python has: modules of the Python standard library, as characters.

The source files of the standard library ship with every CPython (PSF License Version 2). A fixed
96-symbol alphabet (newline and printable ASCII) keeps the vocabulary the same on every Python version;
the rare other characters become "?".
"""
from __future__ import annotations

import io
import sysconfig
import tokenize
from pathlib import Path
from typing import Iterator

import numpy as np

SOURCE = "the Python standard library's own source code (Python Software Foundation License Version 2)"
TRAIN_MODULES = ("argparse", "difflib", "calendar", "statistics", "fractions", "csv", "pprint", "shlex",
                 "heapq", "queue", "string", "glob", "fnmatch", "sched", "colorsys")
HELD_OUT_MODULE = "textwrap"
ALPHABET = "\n" + "".join(chr(c) for c in range(32, 127))
VOCAB = len(ALPHABET)
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}


def module_source(name: str) -> str:
    """The source of one standard-library module, tabs expanded."""
    return (Path(sysconfig.get_paths()["stdlib"]) / f"{name}.py").read_text(encoding="utf-8").expandtabs(4)


def encode(text: str) -> np.ndarray:
    """Character ids, shape (len(text),), int64; characters outside the alphabet count as "?"."""
    return np.array([_INDEX.get(ch, _INDEX["?"]) for ch in text], dtype=np.int64)


def decode(ids) -> str:
    return "".join(ALPHABET[int(i)] for i in ids)


def corpus() -> tuple[str, str]:
    """(training text, held-out text): the training modules joined, and one module never trained on."""
    return "\n".join(module_source(m) for m in TRAIN_MODULES), module_source(HELD_OUT_MODULE)


def stream_chunks(ids: np.ndarray, batch: int, chunk: int) -> Iterator[tuple[np.ndarray, np.ndarray, bool]]:
    """Truncated-BPTT batches forever: (x, y, restart) with x, y (batch, chunk) int64, y = x shifted by one.

    The text is cut into `batch` contiguous rows, read side by side, `chunk` characters at a time, so
    chunk k+1 of a row continues chunk k: the hidden state is carried from one to the next. When the rows
    are used up they start again from their beginning, and `restart` is True: the state must be reset then.
    """
    rows = ids[: len(ids) // batch * batch].reshape(batch, -1)
    per_pass = (rows.shape[1] - 1) // chunk
    while True:
        for k in range(per_pass):
            s = k * chunk
            yield rows[:, s:s + chunk], rows[:, s + 1:s + chunk + 1], k == 0


def source_features(text: str) -> dict[str, np.ndarray]:
    """Per character of Python source (len(text),): inside a string literal (0/1), bracket depth outside
    strings and comments, the indentation of its line, and its column."""
    lines = text.split("\n")
    starts = np.cumsum([0] + [len(line) + 1 for line in lines])
    inside = np.zeros(len(text))
    masked = np.zeros(len(text), dtype=bool)          # strings and comments: their brackets do not count
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type in (tokenize.STRING, tokenize.COMMENT):
            a = starts[tok.start[0] - 1] + tok.start[1]
            b = starts[tok.end[0] - 1] + tok.end[1]
            masked[a:b] = True
            if tok.type == tokenize.STRING:
                inside[a:b] = 1
    chars = np.array(list(text))
    step = np.where(np.isin(chars, list("([{")), 1, 0) - np.where(np.isin(chars, list(")]}")), 1, 0)
    depth = np.cumsum(np.where(masked, 0, step)).astype(float)
    column = np.concatenate([np.arange(len(line) + 1) for line in lines])[: len(text)].astype(float)
    indent = np.concatenate([np.full(len(line) + 1, len(line) - len(line.lstrip(" "))) for line in lines])
    return {"inside a string": inside, "bracket depth": depth, "indentation": indent[: len(text)].astype(float),
            "column": column}
