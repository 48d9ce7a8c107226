"""The grader's kernels started one notebook ahead (grading/kernel_ahead.py): real kernels, started and
stopped; what a notebook's kernel holds before its first cell."""

from __future__ import annotations

from jupyter_core.utils import run_sync

from grading.kernel_ahead import KernelAhead


def _run(manager, code: str) -> str:
    """Execute ``code`` in the kernel of ``manager``; its stdout."""
    client = manager.client()
    client.start_channels()
    try:
        run_sync(client.wait_for_ready)(timeout=120)
        printed: list[str] = []

        def keep_stdout(message: dict) -> None:
            if message["msg_type"] == "stream" and message["content"]["name"] == "stdout":
                printed.append(message["content"]["text"])

        run_sync(client.execute_interactive)(code, output_hook=keep_stdout, timeout=120)
        return "".join(printed)
    finally:
        client.stop_channels()


def test_a_kernel_started_ahead_is_warm_binds_no_name_and_runs_where_the_notebook_runs(tmp_path):
    ahead = KernelAhead()
    ahead.notebooks_left = 1
    ahead.start("python3", str(tmp_path), [])
    manager = ahead.take("python3", str(tmp_path / "." / ""))  # the same folder, spelled differently
    assert manager is not None and ahead.take("python3", str(tmp_path)) is None  # taken once
    try:
        printed = _run(
            manager,
            "import os, sys\n"
            "print('torch' in sys.modules, 'onnxruntime' in sys.modules)\n"
            "print('torch' in dir(), 'importlib' in dir(), '_start_warm_up' in dir())\n"
            "print(os.getcwd(), os.environ.get('NBGRADER_EXECUTION'))\n"
            "import threading\n"
            "print([t.name for t in threading.enumerate() if 'warm' in t.name])\n",
        )
    finally:
        run_sync(manager.shutdown_kernel)(now=True)
    loaded, bound, where, warming = printed.splitlines()
    assert loaded == "True True", "the warm-up imports the day's libraries"
    assert bound == "False False False", "the warm-up leaves the notebook's namespace as a fresh kernel's"
    assert where == f"{tmp_path} autograde"
    assert warming == "[]", "the first cell runs once the warm-up thread has ended"


def test_a_kernel_that_does_not_fit_or_cannot_start_is_not_used(tmp_path, capfd):
    ahead = KernelAhead()
    ahead.notebooks_left = 2
    ahead.start("python3", str(tmp_path), [])
    assert len(ahead.waiting) == 1
    assert ahead.take("python3", str(tmp_path / "elsewhere")) is None  # another folder: stopped, not used
    assert ahead.waiting == []

    ahead.start("no-such-kernel", str(tmp_path), [], ahead=2)  # the notebook then starts its own kernel
    assert ahead.waiting == [] and ahead.take("no-such-kernel", str(tmp_path)) is None
    assert "could not start the next notebook's kernel ahead" in capfd.readouterr().err

    ahead.notebooks_left = 0  # after the last notebook nothing is started
    ahead.start("python3", str(tmp_path), [])
    assert ahead.waiting == []


def test_kernels_started_two_ahead_are_taken_in_order_and_never_outnumber_the_notebooks(tmp_path):
    ahead = KernelAhead()
    ahead.notebooks_left = 1  # one notebook left: one kernel, however many are asked for
    ahead.start("python3", str(tmp_path), [], ahead=2)
    assert len(ahead.waiting) == 1
    ahead.discard()
    assert ahead.waiting == []

    ahead.notebooks_left = 3
    ahead.start("python3", str(tmp_path), [], ahead=2)
    first, second = (manager for manager, _ in ahead.waiting)
    try:
        assert ahead.take("python3", str(tmp_path)) is first
        ahead.notebooks_left = 2
        ahead.start("python3", str(tmp_path), [])  # one still waits: nothing more is started
        assert [manager for manager, _ in ahead.waiting] == [second]
        run_sync(second.shutdown_kernel)(now=True)  # the next one died (the watchdog killed it)
        assert ahead.take("python3", str(tmp_path)) is None and ahead.waiting == []
    finally:
        run_sync(first.shutdown_kernel)(now=True)
        ahead.discard()
