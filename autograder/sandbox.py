"""Start the runner on one job folder inside a sandbox, under limits, and kill it on any limit.

Strong mode (bubblewrap found): own user, mount, PID, network and IPC namespaces; the file system
holds only the OS, the Python installation and the job folder (no course directory, no gradebook,
no other submissions, no home); run as a throw-away unprivileged uid when the grader is root.
Weak mode (no bubblewrap): the same rlimits and process-group kill, without the file-system and
network isolation. In both modes the sandbox's processes together stay under one memory bound
(`memory_bound.py`: cgroups, else a watchdog). The grader announces which mode and which bound it uses.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from autograder import memory_bound
from autograder.jobfolder import MAX_RESULT_FILES, Job, is_result_name
from autograder.limits import Limits

SANDBOX_UID_BASE = 61000
ENV = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1",
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


@dataclass
class RunOutcome:
    killed: str  # "" when the runner ended by itself, else why it was killed
    exit_code: int | None
    seconds: float
    over_memory: bool  # its processes together passed the memory bound, at any moment of the run


def strong_sandbox_available() -> bool:
    return shutil.which("bwrap") is not None


def _system_binds() -> list[str]:
    """Read-only: the OS libraries and the Python installation; nothing else of the host."""
    args = []
    for top in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    for prefix in sorted({sys.base_prefix, sys.prefix}):
        if prefix.startswith("/usr"):
            continue
        parents = [p for p in reversed(Path(prefix).parents) if str(p) != "/"]
        args += [x for p in parents for x in ("--perms", "0755", "--dir", str(p))]
        args += ["--ro-bind", prefix, prefix]
    return args


@functools.lru_cache(maxsize=1)
def _bwrap_has_size() -> bool:
    """Whether this bubblewrap knows `--size` (a cap on a tmpfs); older versions refuse unknown options."""
    try:
        return "--size" in subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False


def _bwrap(job: Path, uid: int | None, limits: Limits | None = None) -> list[str]:
    """bubblewrap around the runner. As root, bwrap sets up the mounts and `setpriv` then drops to
    `uid` (so that RLIMIT_NPROC applies); otherwise an unprivileged user namespace does both."""
    env = [x for k, v in ENV.items() for x in ("--setenv", k, v)]
    isolation = (["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
                 if uid is not None else ["--unshare-all"])
    drop = (["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
             "--bounding-set=-all"] if uid is not None else [])
    # /tmp is RAM, outside RLIMIT_AS and the watchdog's sum; half the memory bound keeps a full /tmp an
    # ordinary "no space left" error rather than a sandbox stopped for memory.
    tmp_size = ["--size", str(limits.memory_mb * 2**20 // 2)] if limits and _bwrap_has_size() else []
    bwrap = shutil.which("bwrap") or "bwrap"  # found on the grader's PATH: the command runs with ENV's PATH
    return [bwrap, "--die-with-parent", "--new-session", *isolation, "--clearenv", *env,
            # /tmp first: the course (and its venv) may itself live under /tmp, bound on top of it below
            *tmp_size, "--tmpfs", "/tmp", *_system_binds(), "--proc", "/proc", "--dev", "/dev",
            "--bind", str(job), "/job", "--chdir", "/job", "--", *drop]


def _preexec(limits: Limits, uid: int | None, strong: bool, box: memory_bound.Box | memory_bound.Watchdog):
    def apply():
        box.enter()  # first, while still root: every process of the sandbox is born in its cgroups
        mem = limits.memory_mb * 2**20
        for res, value in ((resource.RLIMIT_AS, mem), (resource.RLIMIT_FSIZE, limits.output_kb * 1024),
                           (resource.RLIMIT_NOFILE, limits.open_files), (resource.RLIMIT_CORE, 0),
                           (resource.RLIMIT_CPU, int(limits.seconds_per_notebook) + 1)):
            resource.setrlimit(res, (value, value))
        if uid is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
            if not strong:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
    return apply


def sandbox_uid(slot: int, strong: bool) -> int | None:
    """A distinct unprivileged uid per parallel slot, when the grader may switch users (root).
    Without bwrap the uid must still reach the Python installation (e.g. not under a 0700 /root)."""
    if os.geteuid() != 0:
        return None
    if not strong and not _world_reachable(Path(sys.executable).resolve()):
        return None
    return SANDBOX_UID_BASE + slot


def _world_reachable(path: Path) -> bool:
    return all(os.stat(p).st_mode & 0o001 for p in path.parents)


def run_job(job: Job, limits: Limits, *, strong: bool, slot: int,
            bound: memory_bound.CgroupBound | memory_bound.WatchdogBound) -> RunOutcome:
    """Run the runner on `job` and wait, killing the process tree on a time or memory limit."""
    uid = sandbox_uid(slot, strong)
    if uid is not None:
        for path in [job.folder, *job.folder.rglob("*")]:
            os.chown(path, uid, uid)
    command = [sys.executable, "-I", "-B", *job.runner_args("/job" if strong else str(job.folder))]
    if strong:
        command = _bwrap(job.folder, uid, limits) + command
    start = time.monotonic()
    box = bound.box()
    try:
        with open(job.process_log, "wb") as log:
            proc = subprocess.Popen(command, cwd=job.folder, env=ENV, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True,
                                    preexec_fn=_preexec(limits, uid, strong, box))
            killed = _supervise(proc, job, limits, start, box)
    finally:
        box.close()
    _take_back_outputs(job, uid)
    return RunOutcome(killed, proc.returncode, time.monotonic() - start, killed == over_memory_reason(limits))


def _take_back_outputs(job: Job, uid: int | None) -> None:
    """Replace job/out by a grader-owned copy holding only the regular files the grader reads.

    The submission owned job/ and job/out/ while it ran: it could leave symlinks there (to the hidden
    tests, the solutions, /etc/shadow: the grader runs as root on the host and would follow them into
    the student's feedback), FIFOs (a reader blocks forever), or replace out/ itself by a link. So:
    job/ goes back to root, out/ is renamed aside, and each file is opened with O_NOFOLLOW|O_NONBLOCK,
    checked to be a regular file on the open descriptor and copied into a fresh out/.
    """
    if uid is not None:
        os.chown(job.folder, 0, 0, follow_symlinks=False)
        os.chmod(job.folder, 0o755)
    out, aside = job.out, job.folder / "out.untrusted"
    try:
        os.rename(out, aside)
    except FileNotFoundError:
        pass
    os.mkdir(out, 0o755)
    try:
        if not stat.S_ISDIR(os.lstat(aside).st_mode):
            return _ensure_log(job)
        entries = os.scandir(aside)
    except OSError:
        return _ensure_log(job)
    copied = 0
    with entries:
        for entry in entries:
            if copied >= MAX_RESULT_FILES:
                break
            if not is_result_name(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            with open(fd, "rb") as src:
                if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
                    continue
                with open(out / entry.name, "xb") as dst:
                    shutil.copyfileobj(src, dst)
            copied += 1
    _ensure_log(job)


def _ensure_log(job: Job) -> None:
    """Job.early_exit reads the process log unconditionally: a submission that deleted it must not
    crash the batch."""
    job.process_log.touch()


def _over_disk_quota(folder: Path, max_bytes: int, max_files: int = 10_000) -> bool:
    """Whether the job folder holds more than `max_bytes` or `max_files` (links are not followed)."""
    total, count, stack = 0, 0, [str(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    count += 1
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                    if total > max_bytes or count > max_files:
                        return True
        except OSError:
            continue
    return False


def over_memory_reason(limits: Limits) -> str:
    return f"it used more than {limits.memory_mb} MB of memory (all its processes together)"


def _supervise(proc: subprocess.Popen, job: Job, limits: Limits, start: float,
               box: memory_bound.Box | memory_bound.Watchdog) -> str:
    """Wait for the runner; kill its whole process group on the notebook limit, a stalled call,
    a job folder grown past the disk quota, or its processes together past the memory limit."""
    last_size, last_change, last_disk_check, last_memory_check = -1, start, start, start
    over_memory = over_memory_reason(limits)
    while proc.poll() is None:
        now = time.monotonic()
        size = job.events.stat().st_size if job.events.exists() else 0
        if size != last_size:
            last_size, last_change = size, now
        reason = ""
        if now - start > limits.seconds_per_notebook:
            reason = f"the whole notebook ran past {limits.seconds_per_notebook:g} s"
        elif now - last_change > limits.seconds_per_call + 2:
            reason = f"a cell or test call ran past {limits.seconds_per_call:g} s and ignored the alarm"
        elif now - last_memory_check > 0.05:
            last_memory_check = now
            if box.over_limit(proc.pid):
                reason = over_memory
        elif now - last_disk_check > 0.25:
            last_disk_check = now
            if _over_disk_quota(job.folder, limits.disk_mb * 2**20):
                reason = f"it wrote more than {limits.disk_mb} MiB (or 10,000 files) to its job folder"
        if reason:
            _kill_group(proc)
            return reason
        time.sleep(0.01)
    _kill_group(proc)  # leftovers a submission may have started in the background
    # the kernel may have killed one of its processes for memory just before the runner ended
    return over_memory if box.over_limit(proc.pid) else ""


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
