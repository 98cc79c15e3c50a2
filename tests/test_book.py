"""The book builds with every cell executed, and nothing for instructors' eyes only ends up in it."""
import importlib
import json

import nbformat
import pytest

from conftest import ROOT


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
