"""The benchmark lane has the machine to itself while it measures.

A speed verdict compares two timings taken side by side; anything else computing on the same
machine slows the two unequally (an INT8 model that fits in cache suffers differently from its
FP32 baseline), so a learner's ratio would depend on whose notebooks the grader happened to run
at the same time. Measured on this 2-core machine: the images reference's combined model 19x
faster than its baseline in a quiet lane, 8.3x to 10x while another submission's notebooks ran.

So every grading process that is not the lane (a submission's sandboxed notebooks, the
verifier's other checks) registers itself in ``<workspace>/running/`` while it runs, and the lane
pauses all of them (``SIGSTOP``, with every process they started) for the seconds it measures,
then lets them go on (``SIGCONT``). Their time limits are wall-clock budgets with room for
this; a paused notebook loses nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psutil

RUNNING_FOLDER = "running"


@contextlib.contextmanager
def registered(workspace: Path, name: str, pid: int) -> Iterator[None]:
    """Record, for as long as the block runs, that process ``pid`` computes for the grader."""
    folder = workspace / RUNNING_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    pid_file = folder / f"{name}.pid"
    pid_file.write_text(str(pid))
    try:
        yield
    finally:
        pid_file.unlink(missing_ok=True)


def _registered_processes(workspace: Path) -> list[psutil.Process]:
    """The registered processes and everything they started. A file whose process is gone, or whose
    number now belongs to a program that is not the grader's (its command line does not name the
    workspace), is skipped: it is never paused."""
    processes: list[psutil.Process] = []
    for pid_file in sorted((workspace / RUNNING_FOLDER).glob("*.pid")):
        try:
            root = psutil.Process(int(pid_file.read_text()))
            if str(workspace) not in " ".join(root.cmdline()):
                continue
            processes += [root, *root.children(recursive=True)]
        except (OSError, ValueError, psutil.Error):
            continue
    return processes


@contextlib.contextmanager
def machine_to_itself(workspace: Path) -> Iterator[int]:
    """Pause every registered grading process for the block; yields how many were paused."""
    paused = []
    for process in _registered_processes(workspace):
        with contextlib.suppress(psutil.Error):
            process.suspend()
            paused.append(process)
    try:
        yield len(paused)
    finally:
        for process in paused:
            with contextlib.suppress(psutil.Error):
                process.resume()
