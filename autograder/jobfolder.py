"""The job folder: everything the trusted grader and the sandboxed runner exchange, and nothing else.

Written by the grader (Job.create):
    runner.py            the runner, copied in (the sandbox sees nothing of the course)
    job.json             the cells to run, the calls to make, the seconds per call, the name of every output
    inputs/<n>.npz       the arguments of call n, plain arrays
Written by the runner (untrusted; the sandbox copies back regular files with these names only, and they are
read here size-capped and without pickle):
    out/<n>.npz          what call n returned, plain arrays
    out/<n>.err          or why call n failed
    out/cells.json       how each cell ran
    out/events.log       one line per cell or call started, then "done"
    out/stdout.txt, out/stderr.txt   the submission's prints (capped)
Written by the sandbox: out/process.txt, the runner process's own output.

The runner runs alone in the sandbox and cannot import this module: it reads every name it writes from job.json.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

RUNNER = Path(__file__).with_name("runner.py")
OUTPUTS = {"cells": "out/cells.json", "events": "out/events.log", "stdout": "out/stdout.txt",
           "stderr": "out/stderr.txt", "result": "out/{case}.npz", "error": "out/{case}.err"}
PROCESS_LOG = "out/process.txt"
_OUT_NAMES = {Path(p).name for p in [*OUTPUTS.values(), PROCESS_LOG] if "{case}" not in p}
MAX_RESULT_FILES = 4096
MAX_RESULT_BYTES = 8 * 2**20


def is_result_name(name: str) -> bool:
    """Whether `name` is a file of job/out the grader reads (anything else the runner leaves is ignored)."""
    return name in _OUT_NAMES or re.fullmatch(r"\d{1,6}\.(npz|err)", name) is not None


def read_text(path: Path, limit: int = 4000) -> str:
    with open(path, "rb") as f:
        return f.read(limit).decode("utf-8", "replace")


class Job:
    """One submission's job folder (`folder`), as the grader writes it and reads it back."""

    def __init__(self, folder: Path):
        self.folder, self.out = folder, folder / "out"
        self.events, self.process_log = folder / OUTPUTS["events"], folder / PROCESS_LOG

    @classmethod
    def create(cls, prefix: str, cells: list[dict], calls: list[tuple[str, list]], seconds_per_call: float) -> Job:
        """A fresh folder (`prefix` + random, in the system's temporary folder, open to the sandbox's uid) with what
        the runner needs: `cells` ({"id", "source"}) to run in order, then `calls` ((function name, arguments),
        each argument an array or a list of arrays) to make. The caller removes it."""
        folder = Path(tempfile.mkdtemp(prefix=prefix))
        os.chmod(folder, 0o755)
        (folder / "out").mkdir()
        (folder / "inputs").mkdir()
        spec = []
        for n, (func, args) in enumerate(calls):
            flat = [x for a in args for x in (a if isinstance(a, list) else [a])]
            np.savez(folder / "inputs" / f"{n}.npz", *flat)
            layout = [len(a) if isinstance(a, list) else -1 for a in args]  # -1: one array, n: a list of n
            spec.append({"case": n, "func": func, "inputs": f"inputs/{n}.npz", "layout": layout})
        (folder / "job.json").write_text(json.dumps({"seconds_per_call": seconds_per_call, "cells": cells,
                                                     "calls": spec, "files": OUTPUTS}))
        shutil.copy(RUNNER, folder / "runner.py")
        return cls(folder)

    @staticmethod
    def runner_args(inside: str) -> list[str]:
        """The runner's script and argument, for the job folder seen at `inside` in the sandbox."""
        return [f"{inside}/runner.py", f"{inside}/job.json"]

    def result(self, n: int) -> list[np.ndarray] | str | None:
        """What call n returned (arrays), why it failed or was refused (text), or None when it left nothing."""
        npz, err = self.folder / OUTPUTS["result"].format(case=n), self.folder / OUTPUTS["error"].format(case=n)
        if npz.exists():
            return _read_arrays(npz)
        if err.exists():
            return read_text(err)
        return None

    def cell_statuses(self) -> dict[str, str]:
        path = self.folder / OUTPUTS["cells"]
        try:
            data = json.loads(read_text(path, 200_000)) if path.exists() else {}
            return {str(k): str(v)[:2000] for k, v in data.items()} if isinstance(data, dict) else {}
        except ValueError:
            return {"runner": "its cell log was unreadable"}

    def early_exit(self, exit_code: int | None) -> str:
        """Why the runner stopped before the end, read from its own log (empty when it finished)."""
        if self.events.exists() and read_text(self.events, 10**6).rstrip().endswith("done"):
            return ""
        tail = read_text(self.process_log, 10**5)[-300:].strip()
        signal_name = f" (killed by signal {-exit_code})" if exit_code is not None and exit_code < 0 else ""
        return (f"the submission process ended early with exit code {exit_code}{signal_name}"
                + (f": {tail}" if tail else ""))


def _read_arrays(path: Path) -> list[np.ndarray] | str:
    """The arrays of one result file, read without pickle and refused before loading when the
    file, or what its zip members would unpack to, is larger than the grader accepts."""
    too_big = "its output is larger than the grader accepts."
    not_numeric = "it returned something that is not a numeric array (objects are not accepted)."
    if path.stat().st_size > MAX_RESULT_BYTES:
        return too_big
    try:
        with zipfile.ZipFile(path) as z:
            if sum(info.file_size for info in z.infolist()) > MAX_RESULT_BYTES:
                return too_big
    except (zipfile.BadZipFile, OSError, ValueError):
        return not_numeric
    try:
        with np.load(path, allow_pickle=False) as data:
            return [np.array(data[f"arr_{i}"]) for i in range(len(data.files))]
    except Exception:  # noqa: BLE001 - whatever the sandbox wrote, an unreadable file is a wrong answer
        return not_numeric
