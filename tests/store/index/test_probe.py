"""The index check's child processes (store/index/probe.py) die with their parent, on Linux by the kernel
(PR_SET_PDEATHSIG) and on other platforms (macOS) by a thread watching the parent: a child that outlived a killed
index owner would race the next owner for the directory."""

import os
import signal
import subprocess
import sys
import time

import pytest

# The parent starts the guarded child, prints the child's pid, and waits to be killed.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
print(child.pid, flush=True)
time.sleep(120)
"""
CHILD = """
import os, time
from agent_postmortem.store.index.probe import guard
guard(os.getppid(), 1 << 30, platform={platform!r})
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:  # a zombie waiting for init to reap it is gone too
        return stat.read().split(") ")[1][0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_a_guarded_child_exits_when_its_parent_is_killed(platform: str) -> None:
    command = [sys.executable, "-c", PARENT, CHILD.format(platform=platform)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        time.sleep(1.0)  # the child has imported the guard and set it up
        assert alive(child)
        parent.send_signal(signal.SIGKILL)
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
