"""The book builds with every cell executed, and nothing for instructors' eyes only ends up in it."""
import os
import subprocess

import nbformat
import pytest
import yaml

from helpers import BIN, ROOT, canaries, solution_lines

pytestmark = pytest.mark.book


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


def test_no_solutions_hidden_tests_or_gradebook_in_the_build(built):
    needles = {"BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "autograder.hidden", *canaries(), *solution_lines()}
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


def _run_cell(source, cwd):
    code = source + "\nprint(os.getcwd()); print(importlib.util.find_spec('rnncourse').origin)"
    run = subprocess.run([str(BIN / "python"), "-c", code], cwd=cwd, env={"PATH": os.environ["PATH"], "HOME": str(cwd)},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout.split("\n")[-3:-1]


def test_setup_cell_does_nothing_inside_the_course(built, tmp_path):
    cwd, origin = _run_cell(_setup_cell(built, "chapters/rnn").source, tmp_path)
    assert cwd == str(tmp_path) and list(tmp_path.iterdir()) == []
    assert origin.startswith(str(ROOT / "rnncourse"))
