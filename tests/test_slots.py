"""Sandbox slots are leased machine-wide: two sandboxes running at once never share a slot (and so a uid), and a
process killed with SIGKILL gives its slots back."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from autograder import slots

pytestmark = pytest.mark.unit


def test_leases_held_at_once_are_distinct_and_freed_on_exit(tmp_path):
    with slots.lease(tmp_path) as a, slots.lease(tmp_path) as b:
        assert a != b
    with slots.lease(tmp_path) as again:
        assert again == min(a, b)


def test_a_killed_holder_in_another_process_frees_its_slot(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", f"""
import sys, time
from pathlib import Path
from autograder import slots
with slots.lease(Path({str(tmp_path)!r})) as slot:
    print(slot, flush=True)
    time.sleep(60)
"""], stdout=subprocess.PIPE, text=True)
    try:
        held = int(holder.stdout.readline())
        with slots.lease(tmp_path) as mine:
            assert mine != held  # the other process's lease is seen
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    with slots.lease(tmp_path) as after:
        assert after == held
