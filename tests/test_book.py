"""The book builds with every cell executed, and nothing for instructors' eyes only ends up in it."""
import importlib
import json
import os
import subprocess
import sys

import nbformat
import pytest
import yaml

from conftest import BIN, ROOT

sys.path.insert(0, str(ROOT / "_ext"))
from standalone_notebooks import setup_cell_source  # noqa: E402


@pytest.fixture(scope="module")
def built(built_book):
    """The book, built once per session by conftest's `built_book` (the same command as `make book`)."""
    return built_book


def _all_text(folder):
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py"}:
            yield path, path.read_text(errors="replace")


CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.md") if (ROOT / "exercises" / p.stem).is_dir())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_has_executed_outputs_and_figures(built, chapter):
    page = (built / "chapters" / f"{chapter}.html").read_text()
    assert page.count("<img") >= 2, "the chapter's figures are missing"
    assert "cell_output" in page
    assert "Traceback" not in page


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_links_its_exercise_notebook_and_it_is_the_release(built, chapter):
    page = (built / "chapters" / f"{chapter}.html").read_text()
    assert f"{chapter}.ipynb" in page
    downloads = list((built / "_downloads").rglob(f"{chapter}.ipynb"))
    assert downloads, "the exercise notebook was not copied into the book"
    for nb in downloads:
        text = nb.read_text()
        assert "raise NotImplementedError()" in text and "BEGIN SOLUTION" not in text


def _solution_lines():
    """Distinctive lines written between the solution markers of every source notebook, less those a
    release gives away on purpose (Exercise 2 gives Chapter 1's forward step in a locked cell)."""
    released = "\n".join(p.read_text() for p in (ROOT / "exercises").glob("*/*.ipynb"))
    lines = set()
    for path in (ROOT / "solutions").glob("*/*.ipynb"):
        inside = False
        for cell in nbformat.read(path, as_version=4).cells:
            for line in cell.source.splitlines():
                inside = ("BEGIN SOLUTION" in line) or (inside and "END SOLUTION" not in line)
                if inside and "BEGIN SOLUTION" not in line and len(line.strip()) > 25:
                    lines.add(line.strip())
    return {line for line in lines if json.dumps(line)[1:-1] not in released}


def test_no_solutions_hidden_tests_or_gradebook_in_the_build(built):
    canaries = [importlib.import_module(f"autograder.hidden.{p.stem}").CANARY
                for p in (ROOT / "autograder" / "hidden").glob("[!_]*.py")]
    needles = {"BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograder.hidden", *canaries, *_solution_lines()}
    assert len(needles) > 20
    assert not list(built.rglob("gradebook.db*"))
    for path, text in _all_text(built):
        found = [n for n in needles if n in text]
        assert not found, f"{path} contains {found}"


NOTEBOOK_PAGES = sorted(f"chapters/{p.stem}" for p in (ROOT / "chapters").glob("*.md")
                        if "```{code-cell}" in p.read_text())


def _setup_cell(built, page):
    nb = nbformat.read(built / "_sources" / f"{page}.ipynb", as_version=4)
    return nb.cells[0]


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_downloaded_chapter_notebook_starts_with_the_setup_cell(built, page):
    cell = _setup_cell(built, page)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cell.cell_type == "code" and "standalone-setup" in cell.metadata.tags
    assert f'"--branch", "{config["repository"]["branch"]}", "{config["repository"]["url"]}"' in cell.source


def _run_cell(source, cwd, python_args=(), pythonpath=""):
    code = source + "\nprint(os.getcwd()); print(importlib.util.find_spec('rnncourse').origin)"
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": pythonpath, "HOME": str(cwd)}
    run = subprocess.run([str(BIN / "python"), *python_args, "-c", code], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.split("\n")[-3:-1]


def test_setup_cell_does_nothing_inside_the_course(built, tmp_path):
    cwd, origin = _run_cell(_setup_cell(built, "chapters/rnn").source, tmp_path)
    assert cwd == str(tmp_path) and list(tmp_path.iterdir()) == []
    assert origin.startswith(str(ROOT / "rnncourse"))


def test_setup_cell_fetches_the_course_when_the_notebook_is_alone(tmp_path):
    """Colab or a download: no course package; the cell clones the repository (here a local one) and moves in."""
    repo = tmp_path / "origin" / "my-course"
    for rel, text in {"rnncourse/__init__.py": "", "chapters/rnn.md": "", "requirements.txt": "myst-nb==1.4.0\n"}.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(repo)]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "course"]):
        subprocess.run(git + args, check=True)
    fakes = tmp_path / "fakes" / "myst_nb"             # stands for an installed myst-nb: no network here
    fakes.mkdir(parents=True)
    (fakes / "__init__.py").write_text("")
    source = setup_cell_source(f"file://{repo}", "main", "chapters/rnn")
    work = tmp_path / "colab"
    work.mkdir()
    cwd, origin = _run_cell(source, work, python_args=["-S"], pythonpath=str(fakes.parent))   # -S: no venv packages
    assert cwd == str(work / "my-course" / "chapters")
    assert origin == str(work / "my-course" / "rnncourse" / "__init__.py")
