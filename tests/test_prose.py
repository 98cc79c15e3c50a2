"""The chapters' prose states no measured number that the page's own code did not produce.

The convention (README, "Writing a chapter"):
- A measured figure (a time, a ratio, an error, a count of solved seeds, a per-step factor, a speed ordering)
  is glued from the run: ``{glue:text}`key` `` in the text, `glue("key", value, display=False)` in the code.
  A comparison whose direction can change from machine to machine is a sentence built in code and glued.
- Math (`$...$`, `$$...$$`) holds what follows from the equations, never a measurement.
- Anything else in the prose that looks like a measurement (a decimal, a ratio such as 2x, a percentage, a
  duration, a hedged "about 40") must be a constant of the setup or of the math, listed in ALLOWED below with
  its chapter. The same goes for figure captions and alt texts, which cannot be glued: they describe shapes
  and settings, not measured values.
- So must an outcome typed in words: a number word ("a tenth", "half", "three times") or a comparative
  verdict ("every seed", "faster", "most"), outside a sentence that glues. Each such phrase (the verdict and
  the word after it) that is a constant of the setup or the math, or a general fact, is listed in
  ALLOWED_WORDS with its chapter and its reason.
- The text speaks to the reader, never about how the page was made (issues, builds, "this machine").
"""
from __future__ import annotations

import re

import pytest

from conftest import ROOT

pytestmark = pytest.mark.unit

CHAPTERS = sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "intro.md"]

# Constants that look like measurements but are settings of the experiments or facts of the math, per file.
ALLOWED: dict[str, set[str]] = {
    "intro.md": set(),
    "rnn.md": {"0.5", "0.9", "1.5", "some 70"},  # spectral radii; the running example's wobble-to-jam distance
    "bptt.md": {"0.01", "0.04", "0.1", "0.5", "0.9", "1.5",  # learning rates, tolerance, weight scales
                "about 2",  # singular values of a Gaussian matrix: the quarter-circle law
                "10%"},  # the error threshold at which a truncation length counts as enough
    "lstm.md": {"0.01", "0.04", "0.5", "0.88", "0.9", "0.99",  # settings, and sigma(0), sigma(2)
                "some 70",  # the running example
                "about 5", "some 14,000", "about 20", "about 69",  # half-lives: ln 0.5 / ln f
                "about 2",  # bf16's 8 significant bits in decimal digits
                "around 0"},  # PyTorch's default biases: uniform in a small interval around 0
    "peephole.md": {"0.1", "about 0",  # chance on a 10-way answer; a closed output gate's h
                    "99%",  # the task's definition of solved
                    "about 5,400",  # Greff et al.'s count of runs
                    "about 20", "about 3"},  # operations per step in each rung, counted from the code
    "gru.md": {"0.01", "0.04", "0.1", "0.5", "around 0"},  # settings; sigma(0); PyTorch's default biases
    "closing.md": set(),
    "capstone.md": {"0.01", "0.02", "1.0", "0.7", "0.1",  # learning rates, the clip norm, temperatures
                    "2.5", "about 5.7",  # a question's bits per character and 2 ** 2.5
                    "around 2", "about 2",  # what good compressors of source code reach (literature)
                    "roughly 11"},  # the solar cycle, in years
    "scaling_out.md": {"about 8", "1 hour"},  # 8 GPUs at best 8 times one; a paper's title
}

# Verdicts typed in words that are not run results, per file: the phrase as `typed_verdicts` reports it.
ALLOWED_WORDS: dict[str, set[str]] = {
    "intro.md": set(),
    "rnn.md": {"twice", "half of"},  # one sequence run twice (with and without tanh); a band's definition
    "bptt.md": {"faster still", "faster than",  # the bound's consequences: tanh' < 1 only shrinks it more
                "half of", "a quarter of", "twice as",  # the task, the verdict `learned`, a doubled budget
                "a third opinion", "most", "twice receives",  # an ordinal; "disagree most"; the chain rule
                "faster", "fastest by", "half"},  # alt texts and a caption: figure shapes, a band's definition
    "lstm.md": {"a third dial", "four times the", "twice", "twice receives",  # the cell's structure, the math
                "half of", "half-life of",  # a half-life: ln 0.5 / ln f
                "a quarter of", "every run also",  # the verdict `learned`; what each run records
                "most open",  # a definition: the unit with the largest forget gate
                "most of", "half of", "halves the",  # small products on a GPU; halved matrix products; bf16
                "faster than", "faster", "slower"},  # what bf16 hardware does, stated as a dependency
    "peephole.md": {"faster and", "faster implementations", "faster one",  # the ladder's aim
                    "fewer small", "fewer reads",  # stacking models, fusing passes: counted operations
                    "most", "most people",  # Greff et al.'s finding; cuDNN's ubiquity
                    "a third", "many times slower", "faster than", "slower",  # paths; a general warning; axes
                    "most of", "slower unless"},  # overhead dominates tiny steps (counted operations)
    "gru.md": {"three quarters of", "three times the", "fewer parameters",  # parameter counts: the math
               "most common", "faster step", "faster is", "faster than", "faster", "fewer steps",  # the claims
               "half of", "a quarter of", "each run has",  # the task, the verdict `learned`, a setting
               "most of",  # Jozefowicz et al.'s finding
               "half at", "half needs", "slower", "slower depends", "faster depends"},  # bidirectional halves
    "closing.md": {"most choices", "a quarter fewer", "most large", "most recent",  # counts, the literature
                   "faster than", "slower", "slower than"},  # the claim quoted; a custom cell's cost
    "capstone.md": {"fewer steps",  # Adam against plain gradient descent: the literature, not this run
                    "fastest from", "most when",  # what a ranking after a short budget can and cannot say
                    "most", "most correlated",  # definitions: where the chosen property changes; the chosen unit
                    "ten times as", "four times larger",  # the longer run's settings: 6,000 updates of 64 x 64
                    "most likely"},  # greedy sampling's definition
    "scaling_out.md": {"halves", "halves the", "every process runs", "every process runs the",  # the method
                       "fewer sequences", "fewer steps", "faster than"},  # data parallelism's arithmetic
}

# What a measured number looks like in running text.
MEASURED = re.compile(
    r"""(?<![\w.])(?:
        \d+\.\d+(?:\s*(?:×|x\b|%|s\b|ms\b|µs\b|seconds?\b|minutes?\b))?     # a decimal, maybe with a unit
      | \d+(?:\.\d+)?[ \t]*(?:×|x\b)                                      # a ratio: 2x, 2×
      | \d+(?:\.\d+)?\s*%                                                # a percentage
      | \d+(?:\.\d+)?\s*(?:ms|µs|s|seconds?|minutes?|min|hours?)\b       # a duration
      | (?:about|around|roughly|approximately|nearly|almost|some|~)\s+\d[\d,.]*  # a hedged number
      | (?:half\ a|one|two|three|a\ few|several)\s+(?:to\s+\w+\s+)?(?:minutes?|seconds?)\b  # a duration in words
    )""", re.VERBOSE | re.IGNORECASE)

# An outcome typed in words: a number word or a comparative verdict, with the word after it.
VERDICT = re.compile(r"""(?<!\bat\ )\b(?:
        (?:a|one)[ -](?:tenth|third|quarter|fifth|hundredth|thousandth)s?
      | (?:two|three|four|nine)[ -](?:tenths|thirds|quarters|fifths)
      | half(?:-life)? | halves | halved | twice | doubled? | tripled?
      | (?:two|three|four|five|six|seven|eight|nine|ten|a\ hundred|a\ thousand|many|several)\ times
      | (?:every|each|all|no|none\ of\ the|neither)\ (?:\w+\ )?(?:seeds?|runs?)
      | faster | slower | quicker | fastest | slowest | most | fewer
    )\b(?:\s+[\w'-]+)?""", re.VERBOSE | re.IGNORECASE)

# How the page was made is not the reader's business.
ABOUT_THE_BUILD = re.compile(r"\b(?:this machine|every build|this build|built this page|builds this book|"
                             r"the issue|issues? that|shared (?:two-core )?machine|two-core)\b", re.IGNORECASE)


def prose(text: str) -> str:
    """The reader-facing text of a MyST chapter: no front matter, code, math, glue roles, inline code or URLs;
    figure captions and alt texts are kept (they are prose the page shows)."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.DOTALL)
    kept, fence = [], None        # fence: (marker, keep the body?) of the block we are in
    for line in text.splitlines():
        opener = re.match(r"\s*(`{3,}|~{3,})(.*)$", line)
        if fence is None and opener:
            marker, info = opener.groups()
            directive = re.match(r"\{([\w:-]+)\}", info.strip())
            fence = (marker, bool(directive) and directive.group(1) != "code-cell")
            continue
        if fence is not None and line.strip() == fence[0]:
            fence = None
            continue
        if fence is None or fence[1]:
            kept.append(line)
    captions = re.findall(r'^\s*(?:alt|caption):\s*"(.*?)"', text, flags=re.DOTALL | re.MULTILINE)
    text = "\n".join(kept + captions)
    text = re.sub(r"^\s*(?::{3,}.*|:\w+:.*)$", "", text, flags=re.MULTILINE)  # colon fences, directive options
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    text = re.sub(r"\$[^$\n]+\$", " ", text)
    text = re.sub(r"\{glue(?::\w+)?\}`[^`]*`", " GLUED ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"<?https?://\S+", " ", text)
    text = re.sub(r"^%.*$", "", text, flags=re.MULTILINE)                # MyST comments
    return text


def unglued_numbers(path) -> list[str]:
    allowed = ALLOWED.get(path.name, set())
    found = (" ".join(m.group(0).split()).rstrip(".,") for m in MEASURED.finditer(prose(path.read_text())))
    return [number for number in found if number not in allowed]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_measured_numbers_in_prose_are_glued(path):
    found = unglued_numbers(path)
    assert not found, (f"{path.name} states numbers that look measured but are typed, not glued from the run: "
                       f"{found}. Glue them (see this file's docstring), or add a constant of the setup or the "
                       "math to ALLOWED with its chapter.")


def verdict_phrases(path) -> list[str]:
    """Number words and comparative verdicts, with the word after each, in the sentences of a page that glue
    nothing."""
    sentences = re.split(r"(?<=[.!?:;])\s+|\n\s*\n", prose(path.read_text()))
    return [" ".join(m.group(0).lower().split()) for s in sentences if "GLUED" not in s for m in VERDICT.finditer(s)]


def typed_verdicts(path) -> list[str]:
    allowed = ALLOWED_WORDS.get(path.name, set())
    return [phrase for phrase in verdict_phrases(path) if phrase not in allowed]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_outcomes_in_words_are_glued(path):
    found = typed_verdicts(path)
    assert not found, (f"{path.name} types run outcomes in words: {found}. Build the sentence in code and glue "
                       "it, or add a constant of the setup or the math to ALLOWED_WORDS with its reason.")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_allowed_phrase_still_occurs(path):
    stale = ALLOWED_WORDS.get(path.name, set()) - set(verdict_phrases(path))
    assert not stale, f"ALLOWED_WORDS lists phrases that {path.name} no longer has: {sorted(stale)}; remove them"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_prose_speaks_to_the_reader_not_about_the_build(path):
    found = sorted({m.group(0) for m in ABOUT_THE_BUILD.finditer(prose(path.read_text()))})
    assert not found, f"{path.name} talks about how the page was made: {found}"


@pytest.mark.parametrize("sentence, flagged", [
    ("the hand-written loop is ~1.5× slower", True),
    ("it took 2.2 times as long", True),
    ("this cell takes one to two minutes", True),
    ("about half a minute", True),
    ("a factor of 0.8 per step", True),
    ("it printed 70 s", True),
    ("an error of about 0.001", True),
    ("3% of the steps", True),
    ("the eager cell took {glue:text}`ratio` times", False),
    ("with $f = 0.5$ the memory halves", False),
    ("three seeds at $T = 40$", False),
    ("Hochreiter and Schmidhuber (1997)", False),
])
def test_the_check_flags_typed_measurements(tmp_path, sentence, flagged):
    assert bool(unglued_numbers(_page(tmp_path, sentence))) is flagged


@pytest.mark.parametrize("sentence, flagged", [
    ("there the average unit lets in less than a tenth of its candidate per step", True),   # gru.md, before
    ("This is the slowest cell of the chapter", True),
    ("the same network stays at the baseline, on every seed", True),
    ("the LSTM took three times as long", True),
    ("half the runs learned it", True),
    ("most gate values are small", True),
    ("the GRU was faster", True),
    ("the gradient is at most 1", False),
    ("there the average unit lets in {glue:text}`z_after`, a tenth of its candidate", False),
    ("Hochreiter and Schmidhuber (1997) built the LSTM", False),
])
def test_the_check_flags_outcomes_typed_in_words(tmp_path, sentence, flagged):
    assert bool(typed_verdicts(_page(tmp_path, sentence))) is flagged


def _page(tmp_path, sentence: str):
    """A one-sentence page for the checks above."""
    page = tmp_path / "page.md"
    page.write_text(f"# A page\n\n{sentence}.\n")
    return page
