"""Runs one submission inside the sandbox. Untrusted territory: nothing here decides a score.

It executes the answer cells, calls the requested functions on the inputs the grader sent, and
writes back plain arrays (`np.savez`, no pickle) and JSON. The student's code runs in this very
process and may rewrite any of it; the grader only ever reads data from the job folder.
Usage: python -I runner.py JOB_DIR/job.json (what to run, and the name of every file to write:
autograder/jobfolder.py, which this script, alone in the sandbox, cannot import).
"""
import io
import json
import os
import signal
import sys
import traceback

import numpy as np

JOB = os.path.dirname(sys.argv[1])
with open(sys.argv[1]) as _f:
    SPEC = json.load(_f)
LIMIT = float(SPEC["seconds_per_call"])
STREAM_CAP = 64 * 1024


class CellTimeout(BaseException):
    """Raised by the alarm when one cell or one call runs past its time limit."""


class CappedStream(io.TextIOBase):
    """A stdout/stderr that keeps the first 64 KiB and drops the rest."""

    def __init__(self, path):
        self._file, self._left = open(path, "w"), STREAM_CAP

    def write(self, text):
        keep = text[: max(self._left, 0)]
        self._left -= len(text)
        self._file.write(keep)
        return len(text)

    def flush(self):
        self._file.flush()


def _alarm(*_):
    raise CellTimeout()


def limited(fn):
    signal.setitimer(signal.ITIMER_REAL, LIMIT)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def path(name, case=None):
    return os.path.join(JOB, SPEC["files"][name].format(case=case))


def event(text):
    with open(path("events"), "a") as f:
        f.write(text + "\n")


def describe(exc):
    if isinstance(exc, CellTimeout):
        return str(exc) or f"timed out after {LIMIT:g} s"
    lines = traceback.format_exception_only(type(exc), exc)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    at = f" ({frames[-1].filename[1:-1]}, line {frames[-1].lineno})" if frames else ""
    return ("".join(lines).strip() + at)[:2000]


def without_magics(source):
    return "\n".join("# " + line if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def main():
    signal.signal(signal.SIGALRM, _alarm)
    sys.stdout = CappedStream(path("stdout"))
    sys.stderr = CappedStream(path("stderr"))
    cells, calls = SPEC["cells"], SPEC["calls"]
    namespace = {"__name__": "__main__"}
    statuses = {}
    for cell in cells:
        event("cell " + cell["id"])
        try:
            code = compile(without_magics(cell["source"]), f"<cell {cell['id']}>", "exec")
            limited(lambda: exec(code, namespace))
            statuses[cell["id"]] = "ok"
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: all are the student's
            statuses[cell["id"]] = describe(exc)
        with open(path("cells"), "w") as f:
            json.dump(statuses, f)
    timed_out = set()
    for call in calls:
        event("call " + str(call["case"]))
        try:
            if call["func"] in timed_out:
                raise CellTimeout("skipped: an earlier call of this function timed out")
            fn = namespace.get(call["func"])
            if not callable(fn):
                raise NameError(f"{call['func']} is not defined (or is not a function)")
            with np.load(os.path.join(JOB, call["inputs"]), allow_pickle=False) as data:
                arrays = iter([data[f"arr_{i}"] for i in range(len(data.files))])
                args = [[next(arrays) for _ in range(n)] if n >= 0 else next(arrays) for n in call["layout"]]
            result = limited(lambda: fn(*args))
            items = list(result) if isinstance(result, tuple) else [result]
            outputs = [x for item in items for x in (item if isinstance(item, (list, tuple)) else [item])]
            arrays = [np.asarray(o) for o in outputs]
            np.savez(path("result", call["case"]), *arrays)
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, CellTimeout):
                timed_out.add(call["func"])
            with open(path("error", call["case"]), "w") as f:
                f.write(describe(exc))
    event("done")


main()
