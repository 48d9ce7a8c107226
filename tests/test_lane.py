"""The benchmark lane pauses every other grading process while it measures, and only those."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from grading.lane import machine_to_itself, registered

BUSY = "import sys, time\nwhile True: time.sleep(0.01)  # {marker}"


def _start(marker: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", BUSY.format(marker=marker)])
    time.sleep(0.3)
    return child


def _eventually(condition, seconds: float = 5.0) -> bool:
    """True once ``condition()`` holds: a signal takes effect when the kernel next schedules the process."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_registered_process_and_its_children_are_paused_then_resumed(tmp_path):
    workspace = tmp_path / "workspace"
    parent = subprocess.Popen(  # a grading process that started a child, as nbgrader starts a kernel
        [sys.executable, "-c", f"import subprocess, sys, time\nsubprocess.Popen([sys.executable, '-c', "
         f"'import time\\nwhile True: time.sleep(0.01)'])\nwhile True: time.sleep(0.01)  # {workspace}"]
    )  # fmt: skip
    stranger = _start("not the grader's")
    try:
        family = []
        for _ in range(100):  # the child starts within seconds, more on a loaded machine
            family = [psutil.Process(parent.pid), *psutil.Process(parent.pid).children(recursive=True)]
            if len(family) == 2:
                break
            time.sleep(0.1)
        assert len(family) == 2
        with registered(workspace, "learner-execute", parent.pid):
            # a stale file whose number now belongs to another program: never paused
            (workspace / "running" / "old.pid").write_text(str(stranger.pid))
            with machine_to_itself(workspace) as paused:
                assert paused == 2
                assert _eventually(lambda: all(process.status() == psutil.STATUS_STOPPED for process in family))
                assert psutil.Process(stranger.pid).status() != psutil.STATUS_STOPPED
            assert _eventually(lambda: all(process.status() != psutil.STATUS_STOPPED for process in family))
        assert not (workspace / "running" / "learner-execute.pid").exists()
    finally:
        for process in (parent, stranger):
            for member in psutil.Process(process.pid).children(recursive=True):
                member.kill()
            process.kill()
            process.wait()


def test_nothing_registered_pauses_nothing(tmp_path):
    with machine_to_itself(tmp_path) as paused:
        assert paused == 0
