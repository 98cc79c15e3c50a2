"""One notation down to the exercises: a symbol the book reserves keeps its one meaning everywhere.

The book's notation table (intro.md, "Notation") gives each symbol one meaning. This test reads what a reader
and a student read: every chapter, intro.md, and every exercise notebook of solutions/ (their markdown, figure
captions and alt texts, and the docstrings and messages of their code), and the docstrings and messages of
rnncourse and the autograder, which students meet in `help()`, in the visible tests' hints and in the grader's
feedback. It fails where a reserved symbol is used with
another meaning, in the ways that have happened:

- $z_t$ is the GRU's update gate only: a $z$ outside a passage about the GRU names something else (the scores);
- $s_t$ is the scores: the scores $h_t W_y + b_y$ written under any other name;
- $a_t$ is the pre-activation: an $a_t$ that is not a sum of products with weights;
- $\\delta$ is a gradient, $\\delta v = \\partial L / \\partial v$, written before what it is the gradient of:
  a bare $\\delta_t$ leaves the reader to guess which $v$;
- $g$ is the LSTM's candidate $g_t$ (and the gate label in $W_g$, $a^g_t$) and $c$ its cell state $c_t$:
  neither stands alone for a scale, a gradient or a threshold;
- $L$ is the loss, never a number of layers.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from conftest import ROOT

pytestmark = pytest.mark.unit

CHAPTERS = sorted((ROOT / "chapters").glob("*.md")) + [ROOT / "intro.md"]
EXERCISES = sorted((ROOT / "solutions").glob("*/*.ipynb"))
MODULES = sorted((ROOT / "rnncourse").rglob("*.py")) + sorted((ROOT / "autograder").rglob("*.py"))

MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|```\{math\}(.+?)```", re.DOTALL)
GRU = re.compile(r"GRU|update gate|reset gate|\bgru\b", re.IGNORECASE)
GATE_ORDER = re.compile(r"\b[a-z](?:,\s*[a-z]){2,}\b")   # "i, f, g, o", "r, z, n": the blocks' order, not symbols
def _token(letter: str) -> str:
    """The letter as a symbol: not part of a word or a macro (\\gamma), not itself a subscript (W_g)."""
    return r"(?<![\\\w^_{])" + letter + r"(?![A-Za-z0-9'])"


def _bare(letter: str) -> re.Pattern:
    """The letter as a symbol of its own (not g_t, not W_g, not \\gamma): `_` or `^` after it make it a gate's
    quantity, so only a letter with neither counts."""
    return re.compile(_token(letter) + r"(?!\s*[_^])")


# (name, where it looks: "math" or "code", pattern, the rule it breaks). A pattern's first group, if any, is quoted.
RULES = [
    ("z outside the GRU", "math", re.compile(_token("z")),
     "z_t is the GRU's update gate only; the scores (logits) are s_t"),
    ("scores not s", "math", re.compile(r"(?<![\\\w])([a-rt-zA-Z])(?:_\{?[\w,\s]*\}?)?\s*=\s*h_\{?[\w,\s]*\}?\s*W_y"),
     "the scores h_t W_y + b_y are s_t"),
    ("a_t not a pre-activation", "math",
     re.compile(r"(?<![\\\w])(?<!partial )(?<!delta )a_\{?t\}?\s*=\s*(?![^$;]*(?:[WU]|a\^))"),
     "a_t is the pre-activation, a sum of products with weights"),
    ("bare delta", "math", re.compile(r"\\delta\s*_"),
     "δ is written before what it is the gradient of (δh_t, δc_t), never with a bare index"),
    ("g alone", "math", _bare("g"), "g is the LSTM's candidate g_t (and the gate label of W_g, a^g_t)"),
    ("c alone", "math", _bare("c"), "c is the LSTM's cell state c_t"),
    ("L as layers", "text", re.compile(r"\$L\$\s+layers|num_layers\s*=\s*L\b|\bL\s+layers\b"),
     "L is the loss; a number of layers is not L"),
    ("z_t in code docs", "code", re.compile(r"\bz_t\b|\bz\[:,\s*t\]"),
     "z_t is the GRU's update gate only; the scores (logits) are s_t"),
    ("scores not s in code docs", "code", re.compile(r"\b([a-rt-z])_t\s*=\s*h_t\s*@\s*Wy"),
     "the scores h_t @ Wy + by are s_t"),
    ("g as a gradient in code docs", "code", re.compile(r"\|\|g\|\|"),
     "g is the LSTM's candidate g_t; the gradient of all parameters is δθ"),
    ("bare delta in code docs", "code", re.compile(r"δ_|\bdelta_t\b"),
     "δ is written before what it is the gradient of (δh_t, δc_t), never with a bare index"),
]


def _code_texts(source: str) -> list[tuple[str, str]]:
    """The text a reader sees in a cell or module, one passage per top-level statement (a function, a class, a
    line), as (its first line, its text): its docstrings and the messages it prints or raises, every string
    constant in it. The first line says what the passage is about: the strings of `draw_gru_cell` or `GRU_ALT`
    are about the GRU. IPython magics and
    shell lines are dropped so that the code parses."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    passages = []
    for statement in tree.body:
        strings = [n.value for n in ast.walk(statement) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        if strings:
            head = code.splitlines()[statement.lineno - 1].replace("_", " ")   # "def draw gru cell(", "GRU ALT = {"
            passages.append((head, "\n".join(strings)))
    return passages


def _strings(value) -> list[str]:
    """Every string in a cell's metadata: figure captions and alt texts are read too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _passages(path: Path) -> list[tuple[str, str, str]]:
    """(kind, text, what it is about) for each paragraph a reader reads: "text" for markdown and captions, "code"
    for what the code says (docstrings, messages)."""
    if path.suffix == ".py":
        return [("code", text, head) for head, text in _code_texts(path.read_text())]
    nb = nbformat.read(path, as_version=4) if path.suffix == ".ipynb" else jupytext.read(path)
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out += [("text", p, "") for p in re.split(r"\n\s*\n", cell.source)]
        elif cell.cell_type == "code":
            out += [("code", text, head) for head, text in _code_texts(cell.source)]
            out += [("text", s, "") for s in _strings(cell.metadata) if "$" in s]
    return out


def violations(path: Path) -> list[str]:
    """One line per misuse: the file, the rule it breaks, and the text around it."""
    where_from = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
    found = []
    for kind, text, about in _passages(path):
        about_gru = bool(GRU.search(text) or GRU.search(about)) or "gru" in path.stem
        maths = [next(g for g in m.groups() if g is not None) for m in MATH.finditer(text)] if kind == "text" else []
        for name, where, pattern, rule in RULES:
            if name.startswith("z") and about_gru:
                continue
            if where == "math":
                spans = [GATE_ORDER.sub("", m) for m in maths]
            elif where == "text":
                spans = [text] if kind == "text" else []
            else:
                spans = [text] if kind == "code" else []
            for span in spans:
                for hit in pattern.finditer(span):
                    around = span[max(0, hit.start() - 40):hit.end() + 40].replace("\n", " ")
                    found.append(f"{where_from}: {rule}: …{around}…")
    return found


@pytest.mark.parametrize("path", CHAPTERS + EXERCISES + MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_reserved_symbols_keep_one_meaning(path):
    found = violations(path)
    assert not found, f"{len(found)} uses of a reserved symbol with another meaning:\n" + "\n".join(found)


def test_each_rule_finds_what_it_is_for(tmp_path):
    """Every rule catches the misuse it names (a rule that cannot fail would pass the book unread)."""
    page = tmp_path / "page.md"
    page.write_text("\n\n".join([
        "The logits $z_t = h_t W_y + b_y$.",                      # z outside the GRU, scores not s
        "Write $\\delta_t = \\partial L / \\partial h_t$.",          # bare delta
        "The scale $g = 2$ and the threshold $c$.",                # g alone, c alone
        "$a_t = \\tanh(h_t)$",                                     # a_t not a pre-activation
        "`num_layers=L` stacks layers.",                           # L as layers
    ]))
    found = violations(page)
    for name, where, _, rule in RULES:
        assert where == "code" or any(rule in v for v in found), f"not caught: {name}"
    module = tmp_path / "mod.py"
    module.write_text('"""The scores z_t = h_t @ Wy + by; δ_t the gradient, clipped to ||g||."""\n'
                      'def check(got):\n    raise AssertionError(f"logits z_t: got {got}")\n'
                      'def gru_check(z):\n    """Compare z_t, the update gate."""\n')
    assert len(violations(module)) == 5, violations(module)   # four in the docstring, one in the message
