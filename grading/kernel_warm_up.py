"""Run by a grading kernel as it starts (``IPKernelApp.exec_files``), before any cell of the notebook.

It imports the libraries the day's notebooks use, so that the seconds this takes are spent while the
previous notebook is still running (``grading.execute`` starts each notebook's kernel one notebook
ahead). On 2 cores of an AVX2 CPU: 6 s, and the first ``torch.onnx.export`` of a notebook then takes
5 s instead of 15 s. A module that cannot be imported is left to the notebook, which reports it.

The imports run in a thread of their own, a module at a time, and only while a core is idle. Running
beside the notebook still at work, they made its 2-thread PyTorch work several times slower: the
OpenMP threads of a parallel region wait for each other, and one of them had lost its core (accuracy
over 500 images: 1.0 s alone, 4.7 s beside the imports; 02's first measuring cell 2.4 s in one process,
5-6.5 s under the grader). Lowering the thread's priority does not help: each kernel is a session of
its own, and Linux shares the CPU between sessions fairly whatever their threads' nice values
(``sched_autogroup``). Before the notebook's first cell (IPython's ``pre_execute`` event) the kernel
stops waiting for idle cores, finishes the imports and only then runs the cell, so a cell never imports
a module the warm-up is importing.

The notebook's own ``import`` lines still run and still bind their names: this file binds no name in
the notebook's namespace, so a notebook that forgets an import fails here as it does for the learner.
"""


def _start_warm_up() -> None:
    """Start the imports in a thread; make the first cell wait for them. Everything the thread needs is
    local to this function: the notebook's namespace keeps none of it."""
    import contextlib
    import importlib
    import os
    import threading

    libraries = (
        "numpy",
        "torch",
        "torch.export",
        "torch._dynamo",  # what torch.export and torch.onnx.export load on their first call
        "torch.onnx",
        "onnx",
        "onnxscript",
        "onnxscript.function_libs.torch_lib.ops",  # the operator library the ONNX exporter translates with
        "onnxruntime",
        "onnxruntime.quantization",
        "torch_pruning",
        "matplotlib.figure",
    )
    cores = os.cpu_count() or 1  # the CPUs /proc/stat counts (the machine's, whatever this process may use)
    idle_cores_needed = 0.6  # cores left idle by every other process, over the last look
    look_seconds = 0.1
    notebook_started = threading.Event()

    def idle_and_total_jiffies() -> tuple[int, int]:
        """The machine's idle and total CPU time since boot, in jiffies (/proc/stat, all cores)."""
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields[:8])  # idle + iowait; user to steal

    def wait_for_an_idle_core() -> None:
        """Return when a core was idle over the last look, or once the notebook starts."""
        try:
            idle, total = idle_and_total_jiffies()
            while not notebook_started.wait(look_seconds):
                idle_now, total_now = idle_and_total_jiffies()
                if total_now > total and cores * (idle_now - idle) / (total_now - total) >= idle_cores_needed:
                    return
                idle, total = idle_now, total_now
        except (OSError, ValueError, IndexError):  # no /proc/stat as Linux writes it: import at once
            return

    def import_when_a_core_is_idle() -> None:
        for module in libraries:
            wait_for_an_idle_core()
            with contextlib.suppress(Exception):  # the notebook's own import reports what is wrong
                importlib.import_module(module)

    warm_up = threading.Thread(target=import_when_a_core_is_idle, name="day26-warm-up", daemon=True)
    warm_up.start()
    shell = get_ipython()  # noqa: F821 (IPython provides it to the files a kernel runs as it starts)

    def finish_before_the_first_cell() -> None:
        notebook_started.set()
        warm_up.join()
        shell.events.unregister("pre_execute", finish_before_the_first_cell)

    shell.events.register("pre_execute", finish_before_the_first_cell)


_start_warm_up()
del _start_warm_up
