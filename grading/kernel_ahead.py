"""The kernel of the next notebook, started while the current notebook runs (``grading.execute``).

Each notebook the grader runs still gets a kernel of its own, as nbgrader gives it. But nbgrader would
start it only when the notebook's turn comes, and the kernel would then spend its first seconds
importing torch, ONNX Runtime and the exporter. Started one notebook ahead, with
``grading/kernel_warm_up.py`` run as it starts, those seconds overlap the previous notebook's work
(and, for the first notebook, nbgrader's own start-up).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

WARM_UP_FILE = Path(__file__).with_name("kernel_warm_up.py")


class KernelAhead:
    """The kernel of the next notebook, started while the current notebook runs.

    :meth:`start` launches it (in the notebook folder, with nbgrader's environment and the warm-up
    file); :meth:`take` hands it to the next notebook if it is still alive and fits (same kernel,
    same folder), else returns None and the notebook starts its own kernel as nbgrader would.
    """

    def __init__(self) -> None:
        self.manager: AsyncKernelManager | None = None
        self.folder: str | None = None
        self.notebooks_left = 0  # notebooks after the current one: no kernel is started after the last

    def start(self, kernel_name: str, folder: str, extra_arguments: list[str]) -> None:
        self.discard()
        if self.notebooks_left <= 0:
            return
        manager = AsyncKernelManager(kernel_name=kernel_name)
        arguments = [*extra_arguments, "--HistoryManager.hist_file=:memory:"]
        arguments.append(f"--IPKernelApp.exec_files={WARM_UP_FILE}")
        environment = {**os.environ, "NBGRADER_EXECUTION": "autograde"}
        try:
            run_sync(manager.start_kernel)(extra_arguments=arguments, cwd=folder, env=environment)
        except Exception as error:  # the notebook then starts its kernel when its turn comes, as nbgrader does
            print(f"could not start the next notebook's kernel ahead: {error}", file=sys.stderr)
            return
        self.manager, self.folder = manager, folder

    def take(self, kernel_name: str, folder: str) -> AsyncKernelManager | None:
        manager = self.manager
        if manager is None:
            return None
        same_folder = self.folder is not None and Path(self.folder).resolve() == Path(folder).resolve()
        if manager.kernel_name == kernel_name and same_folder and run_sync(manager.is_alive)():
            self.manager = None
            return manager
        self.discard()  # a kernel the watchdog killed, or one that does not fit
        return None

    def discard(self) -> None:
        """Stop the kernel started ahead, if no notebook took it."""
        manager, self.manager = self.manager, None
        if manager is not None:
            with contextlib.suppress(Exception):
                run_sync(manager.shutdown_kernel)(now=True)


kernel_ahead = KernelAhead()
