"""The course is one installed project: its packages import from anywhere, with nothing added to the module search
path by any file, and the grader has its command."""
import re
import subprocess

import pytest

from helpers import BIN, ROOT, env

pytestmark = pytest.mark.unit

PATH_EDITS = re.compile(r"sys\.path\.(insert|append|extend)\(|sys\.path\s*=|['\"]PYTHONPATH['\"]\s*:|PYTHONPATH=")


def test_the_packages_import_outside_the_course_folder(tmp_path):
    code = "import autograder.hidden.rnn, autograder.edition, rnncourse.cases.gru, benchmarks.lstm_speed"
    run = subprocess.run([str(BIN / "python"), "-c", code], cwd=tmp_path, env=env(), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]


def test_the_grader_has_its_command():
    run = subprocess.run([str(BIN / "rnn-grade"), "grade", "--help"], env=env(), capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0 and "--memory-mb" in run.stdout, run.stderr[-2000:]


def test_no_python_file_or_notebook_edits_the_module_search_path():
    listed = subprocess.run(["git", "ls-files", "*.py", "*.ipynb"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.split("\n")
    files = [f for f in listed if f and not f.startswith("tests/fixtures/") and f != "tests/test_project.py"]
    assert "_ext/standalone_notebooks.py" in files and "solutions/rnn/rnn.ipynb" in files
    assert PATH_EDITS.search('sys.path.insert(0, str(ROOT))') and PATH_EDITS.search('{"PYTHONPATH": str(ROOT)}')
    offending = [f for f in files if PATH_EDITS.search((ROOT / f).read_text())]
    assert offending == []
