"""Bound the memory of a whole sandbox (every process a submission starts, together), as well as the machine allows.

Chosen once per grading run, in this order:
1. cgroup v2: a child of the grader's cgroup per sandbox, with `memory.max`, `memory.swap.max`, `memory.oom.group`
   and `pids.max`;
2. cgroup v1 (only the v1 memory controller is mounted): a child of the grader's memory cgroup per sandbox, with
   `memory.limit_in_bytes` (and `memory.memsw.limit_in_bytes` when swap is accounted), plus `pids.max` in a
   child of its pids cgroup when that v1 controller is mounted too;
3. neither writable (no root, no delegated cgroup): a watchdog that sums the resident memory of the sandbox's
   process tree every few milliseconds and has the sandbox stopped past the limit.

With 1 and 2 the kernel itself keeps the group under the limit: when it is reached, it kills a process of that
group only, never the grader or another student's sandbox; the supervisor (sandbox._supervise) sees the kill in
the group's OOM count and stops the rest. RLIMIT_AS (sandbox._preexec) still bounds each process on its own.
The watchdog only sees the process tree: in the weak sandbox (no PID namespace) a process that leaves the tree
(double fork) escapes it.
"""
from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import psutil

from autograder.limits import Limits

MB = 2**20
_names = itertools.count()


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, options) of every mount this process sees."""
    rows = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 4:
            rows.append((fields[1].replace("\\040", " "), fields[2], set(fields[3].split(","))))
    return rows


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup per v1 controller ("memory", "pids") and for v2 (key "")."""
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            own[name] = path
    return own


class Box:
    """One sandbox's cgroups (one folder per hierarchy; the first holds the memory controller)."""

    def __init__(self, folders: list[Path], oom_file: str):
        self.folders, self.oom_file = folders, oom_file

    def enter(self) -> None:
        """Move the calling process in. Runs in the sandbox's first process, before it execs, so that every
        process it starts is born inside."""
        pid = str(os.getpid()).encode()
        for folder in self.folders:
            fd = os.open(folder / "cgroup.procs", os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)

    def over_limit(self, pid: int) -> bool:
        """Whether the kernel had to kill a process of this group for memory (`oom_kill N`, v1 and v2 alike)."""
        try:
            text = (self.folders[0] / self.oom_file).read_text()
        except OSError:
            return False
        counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(counts.get("oom_kill", 0)) > 0

    def close(self) -> None:
        """Kill whatever is left in the group (a process may have left the sandbox's session) and remove it."""
        deadline = time.monotonic() + 5
        for folder in self.folders:
            while True:
                try:
                    for pid in (folder / "cgroup.procs").read_text().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)  # the killed processes are still exiting


class Watchdog:
    """No cgroup to use: sum the resident memory of the sandbox's process tree."""

    def __init__(self, limit_bytes: int):
        self.limit_bytes = limit_bytes

    def enter(self) -> None:
        pass

    def over_limit(self, pid: int) -> bool:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return False
        total = 0
        for proc in tree:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total > self.limit_bytes

    def close(self) -> None:
        pass


class CgroupBound:
    """Makes one child cgroup per sandbox under `parents` (memory hierarchy first) with these settings."""

    def __init__(self, description: str, parents: list[Path], settings: list[dict[str, str]], oom_file: str):
        self.description, self.parents, self.settings, self.oom_file = description, parents, settings, oom_file

    def box(self) -> Box:
        name = f"autograder-{os.getpid()}-{next(_names)}"
        made = []
        try:
            for parent, settings in zip(self.parents, self.settings):
                folder = parent / name
                folder.mkdir()
                made.append(folder)
                for file, value in settings.items():  # in order: v1 wants memory before memory+swap
                    if (folder / file).exists():
                        (folder / file).write_text(value)
        except OSError:
            Box(made, self.oom_file).close()
            raise
        return Box(made, self.oom_file)


class WatchdogBound:
    """Where no cgroup can be used: one watchdog per sandbox."""

    def __init__(self, limits: Limits):
        self.limit_bytes = limits.memory_mb * MB
        self.description = (f"a watchdog summing the resident memory of each sandbox's processes, "
                            f"{limits.memory_mb} MB per submission (no cgroup this grader may use)")

    def box(self) -> Watchdog:
        return Watchdog(self.limit_bytes)


def _v2(limits: Limits) -> CgroupBound | None:
    mounts = [m for m, fs, _ in _mounts() if fs == "cgroup2"]
    own = _own_cgroups().get("")
    if not mounts or own is None:
        return None
    parent = Path(mounts[0] + own)
    try:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        missing = [c for c in ("memory", "pids") if c not in enabled]
        if missing:
            (parent / "cgroup.subtree_control").write_text(" ".join("+" + c for c in missing))
    except OSError:
        return None
    settings = {"memory.max": str(limits.memory_mb * MB), "memory.swap.max": "0", "memory.oom.group": "1",
                "pids.max": str(limits.processes)}  # oom.group: the kernel kills the whole sandbox at once
    return CgroupBound(f"cgroup v2 (memory.max {limits.memory_mb} MB, pids.max {limits.processes}) per submission",
                       [parent], [settings], "memory.events")


def _v1(limits: Limits) -> CgroupBound | None:
    own = _own_cgroups()
    parents = {}
    for controller in ("memory", "pids"):
        mounts = [m for m, fs, opts in _mounts() if fs == "cgroup" and controller in opts]
        if mounts and controller in own and (Path(mounts[0] + own[controller]) / "cgroup.procs").exists():
            parents[controller] = Path(mounts[0] + own[controller])
    if "memory" not in parents:
        return None
    memory = {"memory.limit_in_bytes": str(limits.memory_mb * MB),
              "memory.memsw.limit_in_bytes": str(limits.memory_mb * MB)}
    names = ["memory.limit_in_bytes" + (" + memsw" if (parents["memory"] / "memory.memsw.limit_in_bytes").exists()
                                        else "")]
    folders, settings = [parents["memory"]], [memory]
    if "pids" in parents:
        folders.append(parents["pids"])
        settings.append({"pids.max": str(limits.processes)})
        names.append(f"pids.max {limits.processes}")
    return CgroupBound(f"cgroup v1 memory controller ({', '.join(names)}; {limits.memory_mb} MB per submission)",
                       folders, settings, "memory.oom_control")


def _remove_stale(parent: Path) -> None:
    """Groups left behind by a grader that was killed: empty once its sandboxes are gone (a group in use
    refuses rmdir)."""
    for folder in parent.glob("autograder-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            try:
                folder.rmdir()
            except OSError:
                pass


def choose(limits: Limits) -> CgroupBound | WatchdogBound:
    """The best bound this machine lets the grader use, proven by making (and removing) one group."""
    for candidate in (_v2, _v1):
        try:
            bound = candidate(limits)
            if bound is not None:
                bound.box().close()
                for parent in bound.parents:
                    _remove_stale(parent)
                return bound
        except (OSError, ValueError):
            continue
    return WatchdogBound(limits)
