"""How much memory a learner's day takes: the solution notebooks of one track run in order, one kernel
per notebook as JupyterLab starts them, in a learner's folder, while the kernel's memory (resident set
of the kernel and every process it starts) is sampled every 0.1 s. Prints each notebook's peak and
seconds, and the day's peak: the figure a hub's per-learner memory guarantee is sized from.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/benchmarks/learner_memory.py images text tabular

Run it with nothing else running (it executes every cell, the sweeps included); a cell that raises is
counted in its notebook's column and the rest still run. A JupyterLab server
adds its own, measured once beside its kernels on the hub: about 160 MB (docs/instructor/cluster.md).
Nothing in the repository is written; the folder it works in is printed.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

import nbformat  # noqa: E402
import psutil  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from grading.samples import choose, hand_in, notebooks_of  # noqa: E402

MB = 1e6
SAMPLE_SECONDS = 0.1


def tree_rss(process: psutil.Process) -> int:
    """Bytes resident in ``process`` and all its descendants now (processes that end meanwhile count 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


class PeakMemory:
    """Samples a kernel's process tree in a thread until stopped; ``peak`` is the largest sum, in bytes."""

    def __init__(self, pid: int) -> None:
        self.process, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            try:
                self.peak = max(self.peak, tree_rss(self.process))
            except psutil.Error:
                return

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def run_measured(path: Path) -> tuple[float, int, int]:
    """Run the notebook at ``path`` in its folder, in a fresh kernel, every cell even after an error:
    (seconds, peak bytes, cells that raised)."""
    notebook = nbformat.read(path, as_version=4)
    where = {"metadata": {"path": str(path.parent)}}
    client = NotebookClient(notebook, timeout=1200, kernel_name="python3", resources=where, allow_errors=True)
    started = time.perf_counter()
    with client.setup_kernel():
        sampler = PeakMemory(client.km.provisioner.pid)
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        peak = sampler.stop()
    raised = sum(
        any(output.get("output_type") == "error" for output in cell.get("outputs", []))
        for cell in notebook.cells
        if cell.cell_type == "code"
    )
    return time.perf_counter() - started, peak, raised


def main() -> None:
    tracks = [argument for argument in sys.argv[1:] if not argument.startswith("--")] or ["images"]
    work = Path(tempfile.mkdtemp(prefix="day26-learner-memory-"))
    columns = " | ".join(f"{name} MB (s)" for name in ("00", "01", "02", "03", "04", "05"))
    print(f"| track | {columns} | day's peak MB |")
    print("| --- |" + " ---: |" * 7)
    for track in tracks:
        folder = hand_in(work / track, notebooks_of(ROOT / "solutions" / "day26", {"00-solution-3": choose(track)}))
        cells, peaks = [], []
        for path in sorted(folder.glob("*.ipynb")):
            seconds, peak, raised = run_measured(path)
            cells.append(f"{peak / MB:,.0f} ({seconds:.0f})" + (f", {raised} cell(s) raised" if raised else ""))
            peaks.append(peak)
        print(f"| {track} | " + " | ".join(cells) + f" | {max(peaks) / MB:,.0f} |", flush=True)
    print(f"(in {work})")


if __name__ == "__main__":
    main()
