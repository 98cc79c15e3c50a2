"""Which submissions look copied: winnowed fingerprints of the answer code (copydetect, as MOSS does), every pair.

Each answer is tokenized with variable, function and string names replaced (copydetect's filter), so renamed
variables, added comments and reordered functions do not hide a copy. What every answer is expected to share is
removed first: the release's starter code and the reference solution's own code (a correct answer has its shape).
A pair is listed when either side has at least `THRESHOLD` of its remaining code in common with the other; the
list is for a person to judge, and never changes a score.
"""
from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage, highlight_overlap

K = 25            # characters of filtered code in a fingerprint (copydetect's default noise threshold)
WINDOW = 1        # keep every k-gram: answers are short, and copydetect's winnowing picks fingerprints by Python's
                  # per-process string hash, which would make a pair's score vary from one run to the next
THRESHOLD = 0.5   # measured in tests/test_similarity.py (planted copies vs independent answers)
MIN_TOKENS = 60   # an answer with less code of its own than this (the untouched release) is not compared
MAX_CHARS = 100_000  # of an answer, compared (a hostile notebook may hold megabytes of code; answers are ~2,000)


@dataclass
class Pair:
    a: str
    b: str
    similarity: float            # the larger of the two shares of code in common
    shares: tuple[float, float]  # share of a's code found in b, of b's in a
    marked: tuple[str, str]      # both answers as HTML, the common code in <mark>


def fingerprint(code: str, boilerplate: set[int] = frozenset()) -> CodeFingerprint:
    """copydetect's fingerprint of Python `code` (its first MAX_CHARS), less the fingerprints in `boilerplate`."""
    fp = CodeFingerprint("answer.py", K, WINDOW, fp=io.StringIO(code[:MAX_CHARS]), language="python")
    if boilerplate:
        # done here, not through copydetect's `boilerplate` argument: that one assumes unique fingerprints, and
        # a window of 1 keeps repeated ones
        fp.hashes -= boilerplate
        fp.hash_idx = {h: i for h, i in fp.hash_idx.items() if h not in boilerplate}
        fp.token_coverage = get_token_coverage(fp.hash_idx, K, len(fp.filtered_code))
    return fp


def compare(answers: dict[str, str], boilerplate: list[str], threshold: float = THRESHOLD) -> list[Pair]:
    """Every pair of `answers` (name -> code) above `threshold`, most similar first."""
    common = set().union(*(fingerprint(code).hashes for code in boilerplate)) if boilerplate else set()
    prints = {name: fingerprint(code, common) for name, code in answers.items()}
    prints = {n: fp for n, fp in prints.items() if fp.token_coverage >= MIN_TOKENS}
    pairs = []
    for a, b in itertools.combinations(sorted(prints), 2):
        _, shares, slices = compare_files(prints[a], prints[b])
        if not max(shares) or max(shares) < threshold:  # nothing in common: nothing to highlight
            continue
        marked = tuple(highlight_overlap(prints[n].raw_code, np.asarray(s, dtype=int), "<mark>", "</mark>",
                                         escape_html=True)[0] for n, s in zip((a, b), slices))
        pairs.append(Pair(a, b, round(float(max(shares)), 3), (round(float(shares[0]), 3),
                                                                round(float(shares[1]), 3)), marked))
    return sorted(pairs, key=lambda p: -p.similarity)


def measure(folder: Path, boilerplate: list[str], threshold: float = THRESHOLD) -> dict:
    """Error rates of `threshold` on `folder`: independent/*.py (answers by different authors) and copies/*.py
    (planted copies, named <original>__<how>.py). Every pair is scored; a copy and its original should be listed,
    no other pair should."""
    answers = {p.stem: p.read_text() for sub in ("independent", "copies") for p in sorted((folder / sub).glob("*.py"))}
    scores = {(p.a, p.b): p.similarity for p in compare(answers, boilerplate, threshold=0.0)}
    copied = {tuple(sorted((p.stem, p.stem.split("__")[0]))) for p in (folder / "copies").glob("*.py")}
    pairs = list(itertools.combinations(sorted(answers), 2))
    independent = [p for p in pairs if p not in copied and p[0].split("__")[0] != p[1].split("__")[0]]
    return {"threshold": threshold, "copied_pairs": len(copied), "independent_pairs": len(independent),
            "false_negatives": sum(scores.get(p, 0.0) < threshold for p in copied),
            "false_positives": sum(scores.get(p, 0.0) >= threshold for p in independent),
            "lowest_copy": min(scores.get(p, 0.0) for p in copied),
            "highest_independent": max(scores.get(p, 0.0) for p in independent)}
