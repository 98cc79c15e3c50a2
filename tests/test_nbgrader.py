"""Real nbgrader runs: the release is in sync, the notebook's own tests grade right, students can validate."""
import csv
import json
import shutil

import nbformat
import pytest

from helpers import ROOT, answer_sources, nbgrader

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


ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    run = nbgrader("generate_assignment", "rnn", "--force", *_overrides(tmp))
    assert run.returncode == 0, run.stderr
    return tmp


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


def _student(tmp, name, nb):
    folder = tmp / "submitted" / name / "rnn"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "rnn.ipynb")


def test_plain_nbgrader_autograde_full_zero_partial(course, solution_nb, release_nb):
    answers = answer_sources(solution_nb)
    solved, wrong = nbformat.from_dict(json.loads(json.dumps(release_nb))), None
    for c in solved.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    wrong = nbformat.from_dict(json.loads(json.dumps(solved)))
    for c in wrong.cells:
        c.source = c.source.replace("h_t = rnn_step_forward(x[:, t], h_t,", "h_t = rnn_step_forward(x[:, t], h0,")
    for name, nb in (("solved", solved), ("blank", release_nb), ("wrong", wrong)):
        _student(course, name, nb)
    run = nbgrader("autograde", "rnn", *_overrides(course), "--ExecutePreprocessor.timeout=60")
    assert run.returncode == 0, run.stderr[-3000:]
    assert nbgrader("generate_feedback", "rnn", *_overrides(course)).returncode == 0
    assert nbgrader("export", "--to", str(course / "grades.csv"), *_overrides(course)).returncode == 0
    with open(course / "grades.csv") as f:
        scores = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    assert scores == {"solved": 7.0, "blank": 0.0, "wrong": 4.0}
    feedback = (course / "feedback" / "wrong" / "rnn" / "rnn.html").read_text()
    assert "test_rnn_forward" in feedback and "carry h from step t-1 to step t" in feedback


def test_student_validate(tmp_path, solution_nb, release_nb):
    answers = answer_sources(solution_nb)
    nb = nbformat.from_dict(json.loads(json.dumps(release_nb)))
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            c.source = answers[gid]
    nbformat.write(nb, tmp_path / "good.ipynb")
    good = nbgrader("validate", str(tmp_path / "good.ipynb"), cwd=tmp_path)
    assert "Success! Your notebook passes all the tests." in good.stdout, good.stdout + good.stderr
    for c in nb.cells:
        c.source = c.source.replace("np.tanh(x @ Wx + h_prev @ Wh + b)", "x @ Wx + h_prev @ Wh + b")
    nbformat.write(nb, tmp_path / "bad.ipynb")
    bad = nbgrader("validate", str(tmp_path / "bad.ipynb"), cwd=tmp_path)
    assert "the tanh is missing" in bad.stdout, bad.stdout
    shutil.rmtree(tmp_path)
