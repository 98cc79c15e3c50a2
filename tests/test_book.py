"""The book builds with every cell executed, and nothing for instructors' eyes only ends up in it."""
import subprocess

import pytest

from conftest import BIN, ROOT, answer_sources, env

HTML = ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def built():
    run = subprocess.run([str(BIN / "jupyter-book"), "build", "--all", "-W", "-n", "--keep-going", "."],
                         cwd=ROOT, env=env(), capture_output=True, text=True, timeout=1200)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return HTML


def _all_text(folder):
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".ipynb", ".md", ".txt", ".js", ".json", ".py"}:
            yield path, path.read_text(errors="replace")


def test_chapter_has_executed_outputs_and_figures(built):
    page = (built / "chapters" / "rnn.html").read_text()
    assert page.count("<img") >= 3, "the chapter's figures are missing"
    assert "cell_output" in page
    assert "Traceback" not in page


def test_chapter_links_its_exercise_notebook_and_it_is_the_release(built):
    page = (built / "chapters" / "rnn.html").read_text()
    assert "rnn.ipynb" in page
    downloads = list((built / "_downloads").rglob("rnn.ipynb"))
    assert downloads, "the exercise notebook was not copied into the book"
    for nb in downloads:
        text = nb.read_text()
        assert "raise NotImplementedError()" in text and "BEGIN SOLUTION" not in text


def test_no_solutions_hidden_tests_or_gradebook_in_the_build(built, solution_nb):
    from autograder.hidden import rnn as hidden

    answer_lines = {line.strip() for src in answer_sources(solution_nb).values() for line in src.splitlines()
                    if len(line.strip()) > 25 and not line.strip().startswith(("def ", '"""', "x:", "Returns"))}
    needles = {"BEGIN SOLUTION", "BEGIN HIDDEN TESTS", hidden.CANARY, "autograder.hidden", *answer_lines}
    assert not list(built.rglob("gradebook.db*"))
    for path, text in _all_text(built):
        found = [n for n in needles if n in text]
        assert not found, f"{path} contains {found}"
