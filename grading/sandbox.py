"""The sandbox that learner code runs in while it is graded.

Learner notebooks are executed by nbgrader in a child process with three limits:

- **time**: each notebook has a budget of seconds (enforced inside nbgrader, see
  ``grading.execute``), and the whole child has a wall-clock budget as a backstop; a child
  that overruns it is killed with every process it started (the Jupyter kernel included);
- **memory**: an address-space limit (``RLIMIT_AS``) that the kernel inherits, so a runaway
  allocation fails inside the notebook instead of taking the machine down;
- **isolation**, where Linux allows unprivileged user namespaces (``unshare``): no network
  (a fresh network namespace with only loopback), and a read-only view of the course, the
  grader's workspace, the reference models and the home folder, with only the learner's
  own output folders writable, and the file holding the hidden split's seed shown empty; and
  its own process namespace: learner code sees and can signal only its own processes, and they
  all die when the grader (or the Dask worker running it) dies.
  Where that is not possible the grader says so, once, clearly.

Run as ``python -m grading.sandbox --read-only P ... --writable P ... -- COMMAND ...`` this
module is also the small program that sets up the namespace's mounts before it becomes
COMMAND; :func:`sandboxed` builds that command line.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psutil

GIB = 2**30


@dataclass(frozen=True)
class Limits:
    """What one learner's execution may use. Seconds are wall-clock; memory is in bytes."""

    notebook_seconds: int = 600
    memory_bytes: int = 8 * GIB


@dataclass(frozen=True)
class Isolation:
    """Whether this machine can cut learner code off from the network and the grader's files."""

    available: bool
    warning: str = ""


# unshare's options: own user (mapped to root inside, for mounts), network, mounts and processes;
# --fork makes the command the namespace's first process and --kill-child kills it (and so every
# process in the namespace) when unshare itself is killed; --mount-proc shows only their processes.
NAMESPACES = ("--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc")


@cache
def probe_isolation() -> Isolation:
    """Try once to make the namespaces the sandbox needs; say clearly when it cannot."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return Isolation(False, "no `unshare` on this system")
    probe = [unshare, *NAMESPACES, sys.executable, "-m", "grading.sandbox"]
    try:
        done = subprocess.run([*probe, "--", "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Isolation(False, f"unshare failed ({error})")
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return Isolation(False, f"unprivileged namespaces are not allowed here ({detail})")
    return Isolation(True)


def isolation_warning(isolation: Isolation) -> str:
    """The warning an instructor must read when learner code cannot be isolated."""
    return (
        f"WARNING: no sandbox isolation on this machine: {isolation.warning}. Learner code will run with "
        "your user's rights and network access; time and memory limits still apply. Grade inside a "
        "container or a throwaway user account to be safe."
    )


def sandboxed(command: list[str], read_only: list[Path], writable: list[Path], hidden: list[Path] = ()) -> list[str]:
    """``command`` wrapped so that it runs without network, seeing ``read_only`` folders read-only,
    only ``writable`` ones (inside them) writable, and the ``hidden`` files empty."""
    if not probe_isolation().available:
        return command
    mounts: list[str] = []
    for path in hidden:
        mounts += ["--hide", str(Path(path).resolve())]
    for folder in read_only:
        mounts += ["--read-only", str(Path(folder).resolve())]
    for folder in writable:
        mounts += ["--writable", str(Path(folder).resolve())]
    return [
        shutil.which("unshare") or "unshare",
        *NAMESPACES,
        sys.executable,
        "-m",
        "grading.sandbox",
        *mounts,
        "--",
        *command,
    ]


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def _child_setup(memory_bytes: int):
    """What the child does between fork and exec: take the memory limit, and ask Linux to kill
    it if the grader dies (a grader killed with SIGKILL cannot clean up after itself)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        if sys.platform.startswith("linux"):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return apply


@dataclass
class Finished:
    """How a sandboxed child ended. ``output`` holds the last lines it printed."""

    returncode: int | None
    killed_after_seconds: float | None
    seconds: float
    output: str


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill a child and everything it started (kernels run in sessions of their own)."""
    try:
        parent = psutil.Process(process.pid)
        family = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        family = []
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(family, timeout=10)
    process.wait()


def run_limited(
    command: list[str],
    limits: Limits,
    wall_seconds: float,
    log_file: Path,
    env: dict,
    register: Callable[[int], contextlib.AbstractContextManager] | None = None,
) -> Finished:
    """Run ``command`` under the memory limit and a wall-clock budget; its output goes to ``log_file``.
    ``register(pid)``, when given, is held around the child's run (see :mod:`grading.lane`)."""
    started = time.monotonic()
    with log_file.open("w") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_child_setup(limits.memory_bytes),
        )
        try:
            with register(process.pid) if register else contextlib.nullcontext():
                returncode: int | None = process.wait(timeout=wall_seconds)
            killed_after = None
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            returncode, killed_after = None, time.monotonic() - started
        except BaseException:  # Ctrl-C or an error in the grader: leave no learner code running
            _kill_tree(process)
            raise
    tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-20:])
    return Finished(returncode, killed_after, time.monotonic() - started, tail)


# --- inside the namespace -------------------------------------------------------------------


def _mount(*arguments: str) -> None:
    subprocess.run(["mount", *arguments], check=True, capture_output=True)


def _enter(read_only: list[str], writable: list[str], hidden: list[str], command: list[str]) -> None:
    """Set up mounts and loopback inside fresh namespaces, then become ``command``."""
    for folder in read_only:
        if os.path.isdir(folder):
            _mount("--bind", folder, folder)
            _mount("-o", "remount,bind,ro", folder)
    for folder in writable:  # bound after, so they stay writable inside read-only parents
        os.makedirs(folder, exist_ok=True)
        _mount("--bind", folder, folder)
        _mount("-o", "remount,bind,rw", folder)
    for path in hidden:  # last, so that no later bind mount of a parent folder uncovers them
        if os.path.isfile(path):
            _mount("--bind", "/dev/null", path)
    # The Jupyter kernel talks to nbgrader over TCP on 127.0.0.1: bring up loopback only.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
    os.execvp(command[0], command)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m grading.sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--read-only", action="append", default=[])
    parser.add_argument("--writable", action="append", default=[])
    parser.add_argument("--hide", action="append", default=[], help="a file to show empty")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    try:
        _enter(args.read_only, args.writable, args.hide, command)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        sys.exit(f"sandbox setup failed: {error} {detail.decode(errors='replace').strip()}")


if __name__ == "__main__":
    main()
