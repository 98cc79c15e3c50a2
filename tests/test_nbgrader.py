"""Real nbgrader runs: the release is in sync, the notebook's own tests grade right, students can validate."""
import csv
import json
import shutil

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.solutions import answer_sources, with_answers
from helpers import ASSIGNMENTS, ROOT, env, nbgrader, up_to_the_last_graded_cell

pytestmark = pytest.mark.integration


def _overrides(tmp):
    return [f"--CourseDirectory.db_url=sqlite:///{tmp / 'gradebook.db'}",
            f"--CourseDirectory.release_directory={tmp / 'release'}",
            f"--CourseDirectory.submitted_directory={tmp / 'submitted'}",
            f"--CourseDirectory.autograded_directory={tmp / 'autograded'}",
            f"--CourseDirectory.feedback_directory={tmp / 'feedback'}"]


def _cells(path):
    nb = json.loads(path.read_text())
    return [(c["cell_type"], c["source"], c["metadata"]) for c in nb["cells"]]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_is_in_sync_with_solutions(name, tmp_path):
    run = nbgrader("generate_assignment", name, "--force", *_overrides(tmp_path))
    assert run.returncode == 0, run.stderr[-2000:]
    fresh, committed = (tmp_path / "release" / name / f"{name}.ipynb", ROOT / "exercises" / name / f"{name}.ipynb")
    assert _cells(fresh) == _cells(committed), f"exercises/{name} is stale: run `make release ASSIGNMENT={name}`"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_has_no_solutions_or_hidden_tests(name):
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    answers = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")]
    text = (ROOT / "exercises" / name / f"{name}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in text and "HIDDEN" not in text and "autograder.hidden" not in text
    assert text.count("    raise NotImplementedError()") == len(answers)


def _graded_test_cells(nb) -> list:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_notebook_runs_in_a_clean_kernel(name):
    """The instructor's notebook as JupyterLab runs it: in its own folder, in a new kernel of this environment, with
    nothing added to the environment. Every graded cell passes, its visible and its hidden checks."""
    path = ROOT / "solutions" / name / f"{name}.ipynb"
    nb = up_to_the_last_graded_cell(nbformat.read(path, as_version=4))
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
                   ).execute(env=env())   # raises on the first cell that fails
    for cell in _graded_test_cells(nb):
        printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert printed.count("checks passed") >= 2, (cell.metadata["nbgrader"]["grade_id"], printed)


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_plain_nbgrader_autograde_gives_full_marks_and_zero(name, tmp_path):
    """`nbgrader autograde` as an instructor (or the formgrader's button) runs it in the course root, with nothing
    added to the environment: the solution pasted into the release gets every point, the untouched release none,
    and (Exercise 1) a wrong answer the points of the cells it passes, with the usual message in its feedback."""
    assert nbgrader("generate_assignment", name, "--force", *_overrides(tmp_path)).returncode == 0
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    release = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    answers = answer_sources(source)
    students = {"solved": with_answers(release, answers), "blank": release}
    expected = {"solved": float(sum(c.metadata["nbgrader"]["points"] for c in _graded_test_cells(source))),
                "blank": 0.0}
    if name == "rnn":
        students["wrong"] = with_answers(release, {gid: code.replace("h_t = rnn_step_forward(x[:, t], h_t,",
                                                                      "h_t = rnn_step_forward(x[:, t], h0,")
                                                   for gid, code in answers.items()})
        expected["wrong"] = 4.0
    for student, nb in students.items():
        (tmp_path / "submitted" / student / name).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "submitted" / student / name / f"{name}.ipynb")
    run = nbgrader("autograde", name, *_overrides(tmp_path), "--ExecutePreprocessor.timeout=120")
    assert run.returncode == 0, run.stderr[-3000:]
    assert nbgrader("generate_feedback", name, *_overrides(tmp_path)).returncode == 0
    assert nbgrader("export", "--to", str(tmp_path / "grades.csv"), *_overrides(tmp_path)).returncode == 0
    with open(tmp_path / "grades.csv") as f:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f) if r["assignment"] == name}
    assert scores == expected
    if name == "rnn":
        feedback = (tmp_path / "feedback" / "wrong" / "rnn" / "rnn.html").read_text()
        assert "test_rnn_forward" in feedback and "carry h from step t-1 to step t" in feedback


def test_student_validate(tmp_path, solution_nb, release_nb):
    nb = with_answers(release_nb, answer_sources(solution_nb))
    nbformat.write(nb, tmp_path / "good.ipynb")
    good = nbgrader("validate", str(tmp_path / "good.ipynb"), cwd=tmp_path)
    assert "Success! Your notebook passes all the tests." in good.stdout, good.stdout + good.stderr
    for c in nb.cells:
        c.source = c.source.replace("np.tanh(x @ Wx + h_prev @ Wh + b)", "x @ Wx + h_prev @ Wh + b")
    nbformat.write(nb, tmp_path / "bad.ipynb")
    bad = nbgrader("validate", str(tmp_path / "bad.ipynb"), cwd=tmp_path)
    assert "the tanh is missing" in bad.stdout, bad.stdout
    shutil.rmtree(tmp_path)
