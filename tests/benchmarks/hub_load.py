"""A class logging in at once: ``day26 hub`` on this machine, N learners logging in together, each
waiting for their JupyterLab. Prints the seconds until each learner's JupyterLab answered (median and
slowest), and the memory of the learners' servers once all are up: what a hub of N learners costs
before anyone runs a notebook.

    .venv/bin/python tests/benchmarks/hub_load.py 40

It needs JupyterHub's proxy (``make hub`` installs it into course/hub/). The hub runs in a scratch
course folder on a free port and is stopped at the end; nothing in the repository is written.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests")]

from hub_ports import free_hub_port  # noqa: E402

HEADER = "learner,first_name,last_name,email,canvas_id,sis_user_id,sis_login_id,section,moodle_idnumber\n"


def course_folder(learners: int) -> Path:
    """A scratch course folder: the release, the nbgrader settings, a roster, the proxy linked in."""
    proxy = ROOT / "course" / "hub" / "node_modules"
    if not proxy.is_dir():
        sys.exit(f"{proxy}: no JupyterHub proxy here. Install it with: make hub's first step, or "
                 "npm install --prefix course/hub configurable-http-proxy@5")  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="day26-hub-load-"))
    for folder in ("solutions", "notebooks"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copyfile(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    (root / "roster.csv").write_text(HEADER + "".join(f"l{n:03d},L,{n},,,,,,\n" for n in range(learners)))
    (root / "course" / "hub").mkdir(parents=True)
    (root / "course" / "hub" / "node_modules").symlink_to(proxy)
    return root


def log_in_and_wait(address: str, learner: str, password: str, started: float, ready: dict) -> None:
    """One learner: log in, then ask for their JupyterLab until it answers; record the seconds."""
    session = requests.Session()
    session.get(f"{address}/hub/login", timeout=60)
    xsrf = next(cookie.value for cookie in session.cookies if cookie.name == "_xsrf")
    session.post(f"{address}/hub/login", data={"username": learner, "password": password, "_xsrf": xsrf}, timeout=120)
    while time.monotonic() - started < 900:
        try:
            lab = session.get(f"{address}/user/{learner}/lab", timeout=60)
            if lab.ok and f"/user/{learner}/lab" in lab.url:
                ready[learner] = time.monotonic() - started
                return
        except requests.RequestException:
            pass
        time.sleep(2)


def servers_memory() -> list[int]:
    """Resident bytes of each learner's JupyterLab server (jupyterhub-singleuser) running now."""
    sizes = []
    for process in psutil.process_iter(["cmdline", "memory_info"]):
        if any("jupyterhub-singleuser" in part for part in process.info["cmdline"] or []):
            sizes.append(process.info["memory_info"].rss)
    return sizes


def main() -> None:
    learners = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    root, port = course_folder(learners), free_hub_port()
    command = [sys.executable, "-m", "grading.cli", "hub", "--roster", str(root / "roster.csv"), "--instructor",
               "teacher", "--root", str(root), "--port", str(port)]  # fmt: skip
    log = (root / "hub.log").open("wb")
    hub = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                requests.get(f"{address}/hub/login", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if hub.poll() is not None:
                    sys.exit(f"the hub did not start: {(root / 'hub.log').read_text()[-2000:]}")
                time.sleep(1)
        password = json.loads((root / "course" / "hub" / "passwords.json").read_text())["learners"]
        ready: dict[str, float] = {}
        started = time.monotonic()
        names = [f"l{n:03d}" for n in range(learners)]
        threads = [threading.Thread(target=log_in_and_wait, args=(address, name, password, started, ready))
                   for name in names]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sizes = servers_memory()
        seconds = sorted(ready.values())
        print(f"{len(ready)} of {learners} learners' JupyterLab answered; seconds after all logged in at once: "
              f"median {statistics.median(seconds):.1f}, slowest {seconds[-1]:.1f}")  # fmt: skip
        print(
            f"{len(sizes)} servers running: {sum(sizes) / 1e9:.2f} GB resident in all, "
            f"{statistics.median(sizes) / 1e6:.0f} MB each (median), {max(sizes) / 1e6:.0f} MB the largest"
        )
        print(f"this machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    finally:
        os.killpg(hub.pid, signal.SIGINT)
        try:
            hub.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
