"""Sandbox slots leased host-wide, so that every sandbox running at once on a machine has its own uid.

Each slot gives a sandbox its unprivileged uid (`sandbox.sandbox_uid`), and RLIMIT_NPROC counts processes per
uid: two sandboxes sharing one would share a process budget, and a fork bomb in one would starve the other. The
grader's threads, and several Dask workers started on one machine, all lease from the same place: a slot is an
exclusive `flock` on a file of one folder, so a worker killed with SIGKILL gives its slots back with its life.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

FOLDER = Path(tempfile.gettempdir()) / "rnn-grade-slots"
MAX_SLOTS = 4096  # uids SANDBOX_UID_BASE .. + 4095: far above the sandboxes a machine can run at once
_lock = threading.Lock()  # one thread of this process probes the files at a time


@contextlib.contextmanager
def lease(folder: Path = FOLDER) -> Iterator[int]:
    """The lowest slot no other sandbox of this machine holds, held until the block ends."""
    folder.mkdir(mode=0o700, exist_ok=True)
    while True:
        with _lock:
            for slot in range(MAX_SLOTS):
                fd = os.open(folder / f"{slot}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                break
            else:
                fd = None
        if fd is not None:
            break
        time.sleep(0.05)  # every slot taken: wait for a sandbox to end
    try:
        yield slot
    finally:
        os.close(fd)  # closing the descriptor releases the lock
