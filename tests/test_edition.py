"""The student edition (`make student-edition`): nothing that grades students is in any of its files, its
exercises work on their own in a fresh environment installed with its README's one command, a chapter notebook
opened alone fetches and installs it, and publishing commits it to a repository students can pull from."""
from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import nbformat
import numpy as np
import pytest
import torch

from autograder import edition as student_edition
from autograder.solutions import answer_sources, with_answers
from helpers import ASSIGNMENTS, ROOT, canaries, load_module, solution_lines, up_to_the_last_graded_cell
from rnncourse.checking import as_outputs

EXERCISES = sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())
# Solution lines the edition gives away on purpose, and the files that may hold each: the visible checks of
# gru_params_from_torch build an nn.GRU from the book's parameters (the inverse mapping, with the same sign flip of
# the update gate) and name that flip in the hint for its typical mistake; the GRU chapter teaches it in its prose.
GIVEN_AWAY = {"flip = np.concatenate([np.ones(H), -np.ones(H), np.ones(H)])": {"rnncourse/weights.py",
                                                                               "rnncourse/cases/gru.py"}}


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    return student_edition.build(tmp_path_factory.mktemp("edition") / "rnn-course")


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def _hidden_case_lines() -> set[str]:
    """Distinctive lines of the hidden-case modules (labels, sizes and seeds of the grader's cases) that no public
    source of the course also has."""
    public = "\n".join(p.read_text() for p in (ROOT / "rnncourse").rglob("*.py"))
    lines = {line.strip() for p in (ROOT / "autograder" / "hidden").glob("*.py") for line in p.read_text().splitlines()}
    return {line for line in lines if len(line) > 25 and line not in public}


def _graded_test_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


@pytest.mark.unit
def test_it_holds_the_course_and_nothing_of_the_instructor(edition):
    names = {p.relative_to(edition).as_posix() for p in _files(edition)}
    for name in EXERCISES:
        assert f"exercises/{name}/{name}.ipynb" in names and f"rnncourse/cases/{name}.py" in names
        assert f"chapters/{name}.md" in names
    assert {"intro.md", "_config.yml", "_toc.yml", "_ext/standalone_notebooks.py", "pyproject.toml", "README.md",
            "binder/requirements.txt"} <= names
    assert not [n for n in names if n.split("/")[0] in {"solutions", "autograder", "tests", "jupyterhub"}]
    assert not [n for n in names if "gradebook" in n or n.endswith("nbgrader_config.py")]
    assert {"benchmarks/numpy_vs_torch_lstm.py", "benchmarks/grading.py", "scripts/char_lm_long.py"}.isdisjoint(names)
    assert not [n for n in names if n.startswith("rnncourse/answers/")], "the graded functions' references"
    assert not [n for n in names if n.endswith(".py") and student_edition.INSTRUCTOR_IMPORT.search(
        (edition / n).read_text())]


@pytest.mark.unit
def test_no_solution_line_hidden_case_or_canary_in_any_file(edition):
    hidden = _hidden_case_lines()
    assert len(hidden) > 20 and any("seed=" in line for line in hidden)
    assert set(GIVEN_AWAY) <= solution_lines()   # still solution lines (else drop them from GIVEN_AWAY)
    needles = {"BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograder.hidden", "hidden-canary", *canaries(),
               *solution_lines(), *hidden}
    files = _files(edition)
    assert len(files) > 30
    for path in files:
        text = path.read_text(errors="replace")
        found = [n for n in needles if (n in text or json.dumps(n)[1:-1] in text)
                 and path.relative_to(edition).as_posix() not in GIVEN_AWAY.get(n, ())]
        assert not found, f"{path.relative_to(edition)} contains {found[:5]}"


# --- graded function bodies, however they are written ----------------------------------------------------------
def _visible_cases() -> list:
    """Every visible case of every exercise: the inputs of a graded function and its expected outputs."""
    cases = []
    for name in ASSIGNMENTS:
        module = __import__(f"rnncourse.cases.{name}", fromlist=["visible_cases"])
        release = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
        for cell in _graded_test_cells(release):
            cases += module.visible_cases(cell.metadata["nbgrader"]["grade_id"])
    return cases


@contextmanager
def _at_most(seconds: int):
    def stop(*_):
        raise TimeoutError
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _numpy_only():
    """NumPy arrays cannot be handed to PyTorch: the visible checks' references (rnncourse.oracles, the mistake
    models next to the cases) are written in PyTorch on purpose, and stop working; a NumPy answer does not."""
    def refuse(*_, **__):
        raise RuntimeError("no PyTorch here")
    with mock.patch.multiple(torch, as_tensor=refuse, from_numpy=refuse, tensor=refuse, asarray=refuse):
        yield


def _reproduces(fn, case) -> bool:
    """Does `fn`, given the case's inputs, return one of the case's expected outputs (that is not an input)
    without PyTorch?"""
    inputs = [np.asarray(a) for _, a in case.args if not isinstance(a, list)]
    expected = [np.asarray(e) for e in case.expected]
    expected = [e for e in expected if not any(a.shape == e.shape and np.allclose(a, e) for a in inputs)]
    try:
        with _at_most(30), _numpy_only():
            outputs = as_outputs(fn(*case.call_args()))
    except Exception:  # noqa: BLE001 - a function for other inputs fails on these: it is not an impostor
        return False
    for out in outputs:
        try:
            got = np.asarray(out, dtype=np.float64)
        except Exception:  # noqa: BLE001 - not numbers
            continue
        if any(got.shape == e.shape and np.allclose(got, e, rtol=1e-5, atol=1e-7) for e in expected):
            return True
    return False


def graded_function_impostors(paths: list[Path]) -> list[str]:
    """'file:function computes graded_function' for every function defined in the Python files `paths` that
    computes a graded function of an exercise in NumPy, whatever its name or code: called with the inputs of a
    visible case, it returns one of the expected outputs. Only functions that take that many arguments are called."""
    cases, found = _visible_cases(), []
    for i, path in enumerate(paths):
        module = load_module(path, f"impostor_suspect_{i}_{path.stem}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            params = inspect.signature(fn).parameters.values()
            if any(p.kind == p.VAR_POSITIONAL for p in params):
                continue
            required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY,
                                                                                   p.POSITIONAL_OR_KEYWORD)]
            for case in cases:
                if len(case.args) == len(required) and _reproduces(fn, case):
                    found.append(f"{path.name}:{name} computes {case.func}")
                    break
    return found


@pytest.mark.integration
def test_no_graded_function_is_computed_by_any_python_file(edition):
    benchmark = ROOT / "benchmarks" / "numpy_vs_torch_lstm.py"
    caught = graded_function_impostors([benchmark])   # the detector finds the benchmark's NumPy LSTM forwards
    assert any("numpy_lstm_fused computes lstm_forward" in c for c in caught), caught
    assert any("numpy_lstm_per_gate computes lstm_forward" in c for c in caught), caught
    assert graded_function_impostors(sorted(edition.rglob("*.py"))) == []


# --- the student's one command, in a fresh virtual environment ------------------------------------------------------
def _clean_env(venv: Path | None = None) -> dict[str, str]:
    """What a student's shell has: no course on any path, the virtual environment (if any) first on PATH."""
    keep = {k: v for k, v in os.environ.items() if k.startswith(("PIP_", "HOME", "LANG", "TMP"))}
    path = os.pathsep.join([*([str(venv / "bin")] if venv else []), "/usr/local/bin", "/usr/bin", "/bin"])
    return {**keep, "PATH": path}


def _new_venv(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, env=_clean_env(), timeout=300)
    return folder


def _install_line() -> str:
    """The install command in the edition's README (the first command it shows)."""
    readme = student_edition.README
    return re.search(r"```\n(python -m pip install[^\n]*)\n```", readme).group(1)


@pytest.fixture(scope="module")
def student(edition, tmp_path_factory):
    """A fresh virtual environment in which the README's command ran, in the edition's folder."""
    venv = _new_venv(tmp_path_factory.mktemp("student") / "venv")
    command = _install_line().split()
    assert command == ["python", "-m", "pip", "install", "."]
    start = time.perf_counter()
    run = subprocess.run([str(venv / "bin" / "python"), *command[1:], "--quiet"], cwd=edition,
                         env=_clean_env(venv), capture_output=True, text=True, timeout=1800)
    seconds = time.perf_counter() - start
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    size = subprocess.run(["du", "-sm", str(venv)], capture_output=True, text=True, check=True).stdout.split()[0]
    print(f"\nstudent environment: installed in {seconds:.0f} s, {size} MB")
    return venv


def _execute(venv: Path, folder: Path, notebooks: list[Path]) -> None:
    """Run the notebooks in the student's environment with its own Jupyter (errors kept in the outputs)."""
    run = subprocess.run([str(venv / "bin" / "jupyter"), "nbconvert", "--to", "notebook", "--execute", "--inplace",
                          "--allow-errors", "--ExecutePreprocessor.timeout=300", *map(str, notebooks)],
                         cwd=folder, env=_clean_env(venv), capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-3000:]


def _outcome(cell) -> tuple[str, str]:
    """(error name or '', printed text and error message) of an executed cell."""
    errors = [o for o in cell.outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return (errors[0].ename, text + errors[0].evalue) if errors else ("", text)


@pytest.mark.integration
def test_exercises_work_alone_solved_and_untouched(edition, student, tmp_path):
    """Each release with the solution pasted in passes its visible tests; untouched, each test cell fails as a
    student sees it (NotImplementedError from the stub); a typical mistake gets its usual message."""
    runs = {}
    for name in EXERCISES:
        release = nbformat.read(edition / "exercises" / name / f"{name}.ipynb", as_version=4)
        answers = answer_sources(nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4))
        runs[f"{name}_solved"] = with_answers(release, answers)
        runs[f"{name}_untouched"] = release
    answers = answer_sources(nbformat.read(ROOT / "solutions" / "rnn" / "rnn.ipynb", as_version=4))
    no_tanh = {gid: code.replace("np.tanh(x @ Wx + h_prev @ Wh + b)", "x @ Wx + h_prev @ Wh + b")
               for gid, code in answers.items()}
    runs["rnn_no_tanh"] = with_answers(runs["rnn_untouched"], no_tanh)
    for label, nb in runs.items():
        nbformat.write(up_to_the_last_graded_cell(nb), tmp_path / f"{label}.ipynb")
    _execute(student, tmp_path, [tmp_path / f"{label}.ipynb" for label in runs])
    for label in runs:
        cells = _graded_test_cells(nbformat.read(tmp_path / f"{label}.ipynb", as_version=4))
        outcomes = [_outcome(c) for c in cells]
        assert cells, label
        if label.endswith("_solved"):
            assert all(e == "" and "visible checks passed" in t for e, t in outcomes), (label, outcomes)
        elif label.endswith("_untouched"):
            assert all(e == "NotImplementedError" for e, _ in outcomes), (label, outcomes)
    no_tanh = [_outcome(c) for c in _graded_test_cells(nbformat.read(tmp_path / "rnn_no_tanh.ipynb", as_version=4))]
    assert ("AssertionError" in {e for e, _ in no_tanh}) and any("the tanh is missing" in t for _, t in no_tanh)


# --- a chapter notebook opened alone (Colab, a download), and publishing ---------------------------------------------
def _commit(folder: Path, into: Path) -> Path:
    """`folder` as the single commit of branch main of a new repository `into` (a stand-in for the public one)."""
    shutil.copytree(folder, into)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(into)]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "edition"]):
        subprocess.run(git + args, check=True)
    return into


@pytest.mark.integration
def test_a_chapter_notebook_alone_fetches_and_installs_the_edition(edition, tmp_path):
    """Colab or a download: no course package; the setup cell clones the edition, installs its package (without
    touching NumPy and PyTorch) and moves into its chapters folder. Here in a bare virtual environment."""
    repo = _commit(edition, tmp_path / "public" / "rnn-course")
    venv = _new_venv(tmp_path / "colab-venv")
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "myst_nb").mkdir()                        # stands for Colab's myst-nb: nothing else to install
    (site / "myst_nb" / "__init__.py").write_text("")
    setup = load_module(ROOT / "_ext" / "standalone_notebooks.py")
    source = setup.setup_cell_source(f"file://{repo}", "main", "chapters/rnn", setup.myst_nb_pin(ROOT))
    work = tmp_path / "content"
    work.mkdir()
    code = source + "\nprint(os.getcwd()); print(importlib.util.find_spec('rnncourse').origin)"
    run = subprocess.run([str(venv / "bin" / "python"), "-c", code], cwd=work, env=_clean_env(venv),
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    cwd, origin = run.stdout.split("\n")[-3:-1]
    assert cwd == str(work / "rnn-course" / "chapters")
    assert origin.startswith(str(site)), origin


@pytest.mark.integration
def test_publish_commits_the_edition_on_top_of_the_public_branch(edition, tmp_path):
    public = tmp_path / "public.git"
    subprocess.run(["git", "init", "-q", "--bare", str(public)], check=True)
    student_edition.publish(edition, str(public), "main")
    (edition / "exercises" / "note.txt").write_text("a later release\n")
    try:
        student_edition.publish(edition, str(public), "main")
    finally:
        (edition / "exercises" / "note.txt").unlink()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--branch", "main", str(public), str(clone)], check=True)
    log = subprocess.run(["git", "-C", str(clone), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert log.count("Student edition of the course at") == 2
    shutil.rmtree(clone / ".git")
    assert sorted(p.relative_to(clone) for p in _files(clone)) == sorted(
        [*(p.relative_to(edition) for p in _files(edition)), Path("exercises/note.txt")])


@pytest.mark.integration
def test_the_capstone_chapter_runs_in_the_student_edition(edition, student, tmp_path):
    """The launch buttons open the chapter from the edition, which has no `rnncourse.answers`: the chapter says in
    one line that it skips the NumPy RNN's training and goes on (it once raised SystemExit in its first cell). Run
    in the student's environment, up to the PyTorch section (what follows does not depend on the edition)."""
    import jupytext

    chapter = jupytext.read(edition / "chapters" / "capstone.md")
    end = next(i for i, c in enumerate(chapter.cells) if c.source.startswith("## The same task in PyTorch"))
    chapter.cells = chapter.cells[:end]
    nbformat.write(chapter, tmp_path / "capstone.ipynb")
    (tmp_path / "myst_nb").mkdir()            # stands for the book's myst-nb, which the `book` extra installs
    (tmp_path / "myst_nb" / "__init__.py").write_text("def glue(name, value, display=True):\n    pass\n")
    _execute(student, tmp_path, [tmp_path / "capstone.ipynb"])
    cells = [c for c in nbformat.read(tmp_path / "capstone.ipynb", as_version=4).cells if c.cell_type == "code"]
    outcomes = [_outcome(c) for c in cells]
    assert all(error == "" for error, _ in outcomes), [o for o in outcomes if o[0]]
    first = outcomes[0][1].strip().splitlines()
    assert len(first) == 1 and "skips its training" in first[0], first
    assert any("restart=True" in text for _, text in outcomes)     # the chapter went on past its first cell
