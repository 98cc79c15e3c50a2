"""The student edition: the public course, written from the instructor's private repository.

    python -m autograder.edition [OUT]             # make student-edition (OUT: _build/student-edition)
    python -m autograder.edition --publish         # make publish-student: commit it to the public repository
    python -m autograder.edition --repository      # print that repository's URL (make publish uses it)

The edition holds what students and the book's launch buttons need: the book sources (intro.md, instructors.md,
chapters/, _config.yml, _toc.yml, _ext/), the released exercises/, the `rnncourse` package (visible cases only),
the benchmark and training scripts the chapters import, a README and a pyproject.toml with which students install
everything in one command. It leaves out everything that grades them: solutions/, autograder/ (hidden cases,
canaries, the gradebook), nbgrader_config.py, jupyterhub/, tests/, `rnncourse.answers` (the reference NumPy RNN
the capstone chapter trains), and every Python file that imports `autograder` or `rnncourse.answers`
(benchmarks/grading.py; benchmarks/numpy_vs_torch_lstm.py, whose NumPy LSTM forward is a graded function;
scripts/char_lm_long.py). Only files committed to git are copied.

The public repository and branch are `repository:` in _config.yml, the one place that names them: the launch
buttons, the chapter notebooks' setup cell and the download menu all point there.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "_build" / "student-edition"
COPIED = ("intro.md", "instructors.md", "_config.yml", "_toc.yml", "chapters", "_ext", "exercises", "rnncourse",
          "benchmarks", "scripts")
INSTRUCTOR_IMPORT = re.compile(r"^\s*(from|import)\s+(autograder\b|rnncourse\.answers\b|rnncourse import answers)",
                               re.MULTILINE)
INSTRUCTOR_ONLY = ("rnncourse/answers/",)   # reference implementations of graded functions (rnncourse.answers)
# What rnncourse itself imports; JupyterLab and the book's tools come from pyproject.toml's `lab` and `book` extras.
# rich: rnncourse.bench.kit's tables; threadpoolctl: rnncourse.devices sets NumPy's BLAS threads
RNNCOURSE_NEEDS = ("numpy", "torch", "matplotlib", "rich", "threadpoolctl")
VALIDATE = ("nbgrader",)   # optional for students: `nbgrader validate` before handing in

README = """\
# {title}: the student edition

The exercises, the book's sources and the `rnncourse` package with the checks you run in the notebooks.
The book itself is online; every chapter links its exercise notebook.

## Install (Linux, macOS, Windows; Python 3.11 or newer)

```
python -m pip install .
```

Run it in a terminal, in this folder (a `git clone --branch {branch} {url}`, or the ZIP of branch `{branch}` that
{url} offers). It installs JupyterLab, NumPy, PyTorch, Matplotlib and `rnncourse`, at the versions the course
is tested with. A virtual environment keeps them apart from your other projects: first `python -m venv .venv`,
then activate it (`source .venv/bin/activate` on Linux and macOS, `.venv\\Scripts\\activate` on Windows).
On Linux without an NVIDIA GPU, add `--extra-index-url https://download.pytorch.org/whl/cpu` to get PyTorch's
much smaller CPU build.

## Do an exercise

```
jupyter lab exercises/
```

Open `exercises/rnn/rnn.ipynb`, write your code where it says `# YOUR CODE HERE`, and run the test cell under
each answer: a failing check says which output and which time step is wrong, expected vs got, and often what the
typical mistake is. Before handing in, restart the kernel and run all cells. The grader runs more cases than you
see. To validate as the grader's tool does: `python -m pip install ".[validate]"`, then
`nbgrader validate exercises/rnn/rnn.ipynb`.

## Run the chapters

The book's Colab and Binder buttons open a chapter with everything installed. Locally,
`python -m pip install ".[book]"` adds what opens the chapters (`chapters/*.md`, MyST notebooks) in JupyterLab.
"""


def repository() -> tuple[str, str]:
    """The student edition's public repository and branch: `repository:` in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"], config["repository"].get("branch", "main")


def pins() -> dict[str, str]:
    """{name: 'name==version'} from requirements.txt, the course's exact pins."""
    lines = (line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    return {line.split("==")[0].lower(): line for line in lines if "==" in line}


def student_files() -> list[Path]:
    """The committed files of the edition, relative to the course root."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", *COPIED], cwd=ROOT, capture_output=True, check=True)
    files = [Path(p) for p in listed.stdout.decode().split("\0") if p]
    return [p for p in files if not p.as_posix().startswith(INSTRUCTOR_ONLY)
            and not (p.suffix == ".py" and INSTRUCTOR_IMPORT.search((ROOT / p).read_text()))]


def pyproject() -> str:
    """The edition's pyproject.toml: rnncourse and the chapters' scripts, at the course's exact pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned, extras = pins(), project["optional-dependencies"]

    def exact(names):
        return json.dumps([pinned[n.lower()] for n in names])
    return f"""\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "rnncourse"
version = "{project['version']}"
description = "The RNN course's exercises and checks (student edition)."
requires-python = "{project['requires-python']}"
dependencies = {exact([*RNNCOURSE_NEEDS, *extras['lab']])}

[project.optional-dependencies]
book = {exact(extras['book'])}
validate = {exact(VALIDATE)}

[tool.setuptools.packages.find]
include = ["rnncourse*", "benchmarks*"]
"""


def build(out: Path = DEFAULT_OUT) -> Path:
    """Write the student edition into `out` (emptied first) and return it."""
    if out.exists():
        shutil.rmtree(out)
    for rel in student_files():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, out / rel)
    url, branch = repository()
    title = yaml.safe_load((ROOT / "_config.yml").read_text())["title"]
    (out / "README.md").write_text(README.format(title=title, url=url, branch=branch))
    (out / "pyproject.toml").write_text(pyproject())
    (out / "binder").mkdir()   # Binder opens the chapters: the package with the book's extra, the course's Python
    (out / "binder" / "requirements.txt").write_text(".[book]\n")
    (out / "binder" / "runtime.txt").write_text("python-3.11\n")
    return out


def publish(out: Path, url: str, branch: str) -> str:
    """Commit the edition in `out` on top of `branch` of the repository at `url` (a new branch the first time)
    and push it; students update with `git pull`. Returns the commit's message."""
    described = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.strip()
    message = f"Student edition of the course at {described}"
    with tempfile.TemporaryDirectory() as tmp:
        git = ["git", "-c", "user.name=rnn-course", "-c", "user.email=rnn-course@localhost",
               f"--git-dir={tmp}/.git", f"--work-tree={out}"]
        subprocess.run([*git, "init", "-q"], check=True)
        if subprocess.run([*git, "fetch", "-q", "--depth", "1", url, branch], capture_output=True).returncode == 0:
            subprocess.run([*git, "reset", "-q", "--soft", "FETCH_HEAD"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", message], check=True)
        subprocess.run([*git, "push", "-q", url, f"HEAD:refs/heads/{branch}"], check=True)
    return message


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.edition", description=__doc__.split("\n\n")[0])
    p.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    p.add_argument("--publish", action="store_true", help="then push it to `repository:` of _config.yml")
    p.add_argument("--repository", action="store_true", help="print the public repository's URL and stop")
    a = p.parse_args(argv)
    url, branch = repository()
    if a.repository:
        print(url)
        return 0
    out = build(a.out.resolve())
    print(f"Student edition: {out} ({sum(1 for f in out.rglob('*') if f.is_file())} files)")
    if a.publish:
        print(publish(out, url, branch), f"-> {url} (branch {branch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
