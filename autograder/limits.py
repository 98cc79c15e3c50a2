"""Resource limits for running one submission, each configurable from the command line."""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    seconds_per_call: float = 10.0     # one answer cell or one test call
    seconds_per_notebook: float = 60.0  # the whole submission, hard wall clock
    memory_mb: int = 1024               # all the sandbox's processes together, and each one's address space
    processes: int = 32                 # processes/threads the sandbox user may own
    output_kb: int = 4096               # largest file the sandbox may write
    disk_mb: int = 64                   # everything it may write to its job folder
    open_files: int = 128

    @staticmethod
    def default_jobs() -> int:
        return os.cpu_count() or 1
