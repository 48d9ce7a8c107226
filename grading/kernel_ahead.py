"""The kernels of the next notebooks, started while the current notebook runs (``grading.execute``).

Each notebook the grader runs still gets a kernel of its own, as nbgrader gives it. But nbgrader would
start it only when the notebook's turn comes, and the kernel would then spend its first seconds
importing torch, ONNX Runtime and the exporter. Started one notebook ahead, with
``grading/kernel_warm_up.py`` run as it starts, those seconds overlap the previous notebook's work
(and, for the first notebook, nbgrader's own start-up). The first two kernels start together, before
nbgrader loads: the first notebook (00, the start) runs for under a second, too short for the second
notebook's kernel to warm up behind it.
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
    """The kernels of the next notebooks, started while the current notebook runs.

    :meth:`start` launches them (in the notebook folder, with nbgrader's environment and the warm-up
    file); :meth:`take` hands the first one to the next notebook if it is still alive and fits (same
    kernel, same folder), else returns None and the notebook starts its own kernel as nbgrader would.
    """

    def __init__(self) -> None:
        self.waiting: list[tuple[AsyncKernelManager, str]] = []  # (kernel, folder), in the notebooks' order
        self.notebooks_left = 0  # notebooks after the current one: no kernel is started beyond the last

    def start(self, kernel_name: str, folder: str, extra_arguments: list[str], ahead: int = 1) -> None:
        """Start kernels until ``ahead`` of them wait for the next notebooks (never more kernels than
        notebooks left). A kernel that cannot start is reported on stderr and not retried."""
        while len(self.waiting) < min(ahead, self.notebooks_left):
            manager = self._launch(kernel_name, folder, extra_arguments)
            if manager is None:
                return
            self.waiting.append((manager, folder))

    @staticmethod
    def _launch(kernel_name: str, folder: str, extra_arguments: list[str]) -> AsyncKernelManager | None:
        manager = AsyncKernelManager(kernel_name=kernel_name)
        arguments = [*extra_arguments, "--HistoryManager.hist_file=:memory:"]
        arguments.append(f"--IPKernelApp.exec_files={WARM_UP_FILE}")
        environment = {**os.environ, "NBGRADER_EXECUTION": "autograde"}
        try:
            run_sync(manager.start_kernel)(extra_arguments=arguments, cwd=folder, env=environment)
        except Exception as error:  # the notebook then starts its kernel when its turn comes, as nbgrader does
            print(f"could not start the next notebook's kernel ahead: {error}", file=sys.stderr)
            return None
        return manager

    def take(self, kernel_name: str, folder: str) -> AsyncKernelManager | None:
        """The first waiting kernel, for the notebook about to run in ``folder``; None when there is
        none, or when it died or does not fit (then every waiting kernel is stopped)."""
        if not self.waiting:
            return None
        manager, started_in = self.waiting.pop(0)
        same_folder = Path(started_in).resolve() == Path(folder).resolve()
        if manager.kernel_name == kernel_name and same_folder and run_sync(manager.is_alive)():
            return manager
        self.waiting.insert(0, (manager, started_in))
        self.discard()  # a kernel the watchdog killed, or kernels that do not fit
        return None

    def discard(self) -> None:
        """Stop every kernel started ahead that no notebook took."""
        waiting, self.waiting = self.waiting, []
        for manager, _ in waiting:
            with contextlib.suppress(Exception):
                run_sync(manager.shutdown_kernel)(now=True)


kernel_ahead = KernelAhead()
