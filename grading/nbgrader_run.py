"""What ``python -m grading.execute`` runs: one learner's notebooks autograded with nbgrader, one
notebook at a time, into a scratch copy of the gradebook. Running each notebook on its own means a
notebook that crashes its kernel or runs out of time loses only its own cells, and gives each
notebook its own time limit (:class:`NotebookDeadline`). After every notebook the outcome is
written to a small JSON report, so the grader knows how far a killed run got.

Each notebook still gets a kernel of its own, but the kernel of the next notebook is started while the
current one runs (``grading/kernel_ahead.py``).

The grader (``grading.autograde``) reads the report and the executed notebooks, and copies the
scores into the real gradebook; learner code never sees the real one.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import psutil
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.apps import NbGraderAPI
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets import Integer

from grading.course import ASSIGNMENT, autoflush_warnings_ignored, course_config
from grading.kernel_ahead import kernel_ahead
from helpers.files import write_text_atomically

GRACE_SECONDS = 60
stopped_for_time: list[str] = []  # notebooks whose kernel the watchdog had to kill


class NotebookDeadline(Execute):
    """nbgrader's Execute with a time limit for each cell and a watchdog for the whole notebook.

    A cell that runs longer than ``notebook_seconds`` is interrupted by nbgrader, which records a
    ``CellTimeoutError`` in its output and goes on with the next cell. A notebook still running
    ``GRACE_SECONDS`` after its budget (a kernel that ignores interrupts, a string of slow cells)
    has its kernel killed; nbgrader then reports a dead kernel, and the notebook is named in
    :data:`stopped_for_time`.
    """

    notebook_seconds = Integer(600, help="Seconds one notebook may run (each cell, and in all).").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        name = (resources or {}).get("nbgrader", {}).get("notebook", "notebook")
        kernel_name = self.kernel_name or nb.metadata.get("kernelspec", {}).get("name", "python3")
        folder = str((resources or {}).get("metadata", {}).get("path") or Path.cwd())
        taken = kernel_ahead.take(kernel_name, folder) if km is None else None
        watchdog = threading.Timer(self.notebook_seconds + GRACE_SECONDS, self._stop_kernel, args=(name,))
        watchdog.daemon = True
        watchdog.start()
        try:
            kernel_ahead.start(kernel_name, folder, list(self.extra_arguments))
            return super().preprocess(nb, resources, km or taken)
        finally:
            watchdog.cancel()
            if taken is not None:  # nbclient stops only the kernels it started itself
                self._stop_taken_kernel(taken)

    def _stop_taken_kernel(self, taken: AsyncKernelManager) -> None:
        if self.km is taken:
            self._cleanup_kernel()  # what nbclient does with its own kernel when a notebook ends
        else:
            with contextlib.suppress(Exception):
                run_sync(taken.shutdown_kernel)(now=True)

    @staticmethod
    def _stop_kernel(name: str) -> None:
        stopped_for_time.append(name)
        for child in psutil.Process().children(recursive=True):  # the kernel is this process's child
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


def write_report(path: Path, report: dict) -> None:
    """Replace the report file in one step, so a reader never sees half of it."""
    write_text_atomically(path, json.dumps(report, indent=1))


def execute_notebooks(
    root: Path, workspace: Path, gradebook: Path, learner: str, notebooks: list[str], seconds: int, report: Path
) -> dict:
    """Autograde ``notebooks`` of ``learner`` one by one; return (and keep writing) the report."""
    config = course_config(root, workspace, gradebook)
    config.NotebookDeadline.notebook_seconds = seconds
    config.Execute.timeout = seconds  # per cell (nbclient re-reads its settings from the config)
    # A notebook's kernel is done once its last cell has replied (every output is in by then): stop it
    # at once instead of waiting for the process to wind down, 1 to 3 s per notebook with torch loaded.
    config.Execute.shutdown_kernel = "immediate"
    # After a cell's reply, nbclient waits this long for the kernel's last messages (its outputs and
    # "idle"), and nbgrader fails the notebook when they are late. nbclient's 4 s proved too short with
    # two hand-ins graded side by side on 2 cores, each with a kernel starting ahead.
    config.Execute.iopub_timeout = 30
    config.Autograde.autograde_preprocessors = [
        NotebookDeadline,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    api = NbGraderAPI(config=config)
    outcome: dict = {"learner": learner, "notebooks": {}}
    for index, notebook in enumerate(notebooks):
        kernel_ahead.notebooks_left = len(notebooks) - 1 - index
        outcome["notebooks"][notebook] = {"status": "running", "started": time.time()}
        write_report(report, outcome)
        api.coursedir.notebook_id = notebook
        started = time.monotonic()
        with autoflush_warnings_ignored():
            result = api.autograde(ASSIGNMENT, learner, force=True, create=True)
        outcome["notebooks"][notebook] = {
            "status": "done" if result.get("success") else "failed",
            "seconds": round(time.monotonic() - started, 2),
            "error": (result.get("error") or "")[-2000:],
            "log": (result.get("log") or "")[-4000:],
            "stopped_for_time": notebook in stopped_for_time,
        }
        write_report(report, outcome)
    return outcome
