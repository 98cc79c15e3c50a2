"""The sandbox's command line: what is mounted, in which order."""
import sys
from pathlib import Path

import pytest

from autograder import sandbox

pytestmark = pytest.mark.unit


def test_tmp_is_mounted_before_the_python_installation(tmp_path):
    """The course (and its venv) may live under /tmp: a tmpfs mounted after it would hide Python."""
    args = sandbox._bwrap(tmp_path, uid=None)
    tmpfs = max(i for i, a in enumerate(args) if a == "--tmpfs" and args[i + 1] == "/tmp")
    prefix_binds = [i for i, a in enumerate(args) if a == "--ro-bind" and args[i + 1] in (sys.prefix, sys.base_prefix)]
    assert prefix_binds and all(tmpfs < i for i in prefix_binds)


def test_nothing_of_the_course_is_mounted_but_its_venv(tmp_path):
    course = str(Path(__file__).resolve().parents[1])
    args = sandbox._bwrap(tmp_path, uid=None)
    sources = [args[i + 1] for i, a in enumerate(args) if a in ("--bind", "--ro-bind", "--ro-bind-try")]
    from_course = [s for s in sources if s.startswith(course)]
    assert all(s == sys.prefix for s in from_course), from_course
