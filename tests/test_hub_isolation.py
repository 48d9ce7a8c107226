"""A course hub with learners kept apart (`day26 hub --isolated`, grading/hub_isolation.py): real OS
accounts, real file modes, and nbgrader's exchange used by the learners' own accounts.

It needs root on Linux (it makes OS accounts, and removes them after). The learners' accounts run the
course's Python; where a folder on the way to it lets only its owner pass (here the interpreter lives
under /root, mode 0700), the exchange part opens that folder to others (o+x: pass, not list) for its
own duration and restores its mode after, as the hub's error message tells an instructor to do.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hub_ports import free_hub_port

from grading.hub import CourseSpawner, HubSettings, write_hub_config
from grading.hub_isolation import account_of, closed_to_others

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = ["isoann", "isobob"]
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0 or shutil.which("useradd") is None,
    reason="OS accounts per learner need root and useradd on Linux",
)


def _as(learner: str, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``command`` as the learner's OS account, as their server would."""
    account = pwd.getpwnam(account_of(learner))
    drop = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", "--"]
    home = cwd or Path("/")
    environment = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run([*drop, *command], cwd=home, env=environment, capture_output=True, text=True, check=False)


def _can_read(learner: str, path: Path) -> bool:
    return _as(learner, "cat", str(path)).returncode == 0


@pytest.fixture
def isolated_course():
    """A course folder as an instructor's looks (solutions, grader code, gradebook, reference models),
    in a folder others may pass (pytest's own is its owner's alone), with the hub written --isolated."""
    made = [learner for learner in LEARNERS if not _account_exists(account_of(learner))]
    root = Path(tempfile.mkdtemp(prefix="day26-isolated-", dir="/tmp"))
    root.chmod(0o755)
    files = {
        "solutions/day26/01_baseline.ipynb": "hidden tests",
        "grading/hidden.py": "HIDDEN_SEED = 1",
        ".git/config": "history with every solution",
        "helpers/measure.py": "def size_on_disk(): ...",
        "course/gradebook.db": "every learner's points",
        "course/records/isobob.json": "bob's record",
        "reference/week5_images_v1.pth": "the reference model",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
        (root / name).chmod(0o644)
    (root / "reference" / "week5_images_v1.pth").chmod(0o666)  # as a careless umask leaves it
    settings = HubSettings(root=str(root), workspace=str(root / "course"), instructor="teacher",
                           learners=LEARNERS, proxy="configurable-http-proxy", isolated=True,
                           day26_home=str(root / "reference"))  # fmt: skip
    opened = _open_the_way_to(Path(settings.python_bin))
    try:
        write_hub_config(settings)
        yield root, settings
    finally:
        for folder, mode in opened.items():
            folder.chmod(mode)
        shutil.rmtree(root, ignore_errors=True)
        for learner in made:  # a server the hub left running would keep the account in use
            subprocess.run(["pkill", "-KILL", "-u", account_of(learner)], capture_output=True, check=False)
            time.sleep(0.5)
            subprocess.run(["userdel", account_of(learner)], capture_output=True, check=False)


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _open_the_way_to(python_bin: Path) -> dict[Path, int]:
    """o+x on each folder on the way to the course's Python that lacks it; their modes before."""
    closed = set(closed_to_others(python_bin / "python")) | set(closed_to_others(python_bin / "nbgrader"))
    modes = {folder: stat.S_IMODE(folder.stat().st_mode) for folder in closed}
    for folder, mode in modes.items():
        folder.chmod(mode | 0o001)
    return modes


def test_each_learner_has_an_account_and_reads_neither_the_others_nor_the_graders_files(isolated_course):
    root, settings = isolated_course
    ann, bob = LEARNERS
    homes = root / "course" / "hub" / "homes"
    assert {learner: pwd.getpwuid(uid).pw_name for learner, uid in settings.learner_uids.items()} == {
        ann: "day26-isoann",
        bob: "day26-isobob",
    }
    assert _can_read(ann, homes / ann / "nbgrader_config.py")
    assert _as(ann, "touch", str(homes / ann / "mine.txt")).returncode == 0
    assert not _can_read(bob, homes / ann / "nbgrader_config.py")
    assert _as(bob, "ls", str(homes / ann)).returncode != 0
    assert _as(bob, "ls", str(homes)).returncode != 0  # not even the list of learners
    secrets = ["solutions/day26/01_baseline.ipynb", "grading/hidden.py", ".git/config", "course/gradebook.db",
               "course/records/isobob.json", "course/hub/hub-settings.json", "course/hub/passwords.json"]  # fmt: skip
    for secret in secrets:
        assert not _can_read(ann, root / secret), secret
    assert _can_read(ann, root / "helpers" / "measure.py")  # the learner package
    assert _can_read(ann, root / "reference" / "week5_images_v1.pth")  # the reference models, shared
    assert _as(ann, "sh", "-c", f"echo x >> {root / 'reference' / 'week5_images_v1.pth'}").returncode != 0
    exchange = root / "course" / "exchange"
    assert stat.S_IMODE(exchange.stat().st_mode) == 0o1777
    (exchange / "day26").mkdir()
    assert _as(ann, "rmdir", str(exchange / "day26")).returncode != 0  # the sticky bit: only its owner removes it


def test_the_spawner_starts_a_learners_server_as_their_account_with_its_limits(isolated_course):
    root, settings = isolated_course
    spawner = CourseSpawner(settings_file=str(Path(settings.workspace) / "hub" / "hub-settings.json"))
    spawner.user = type("HubUser", (), {"name": LEARNERS[0]})()
    shown = subprocess.run(["sh", "-c", "id -u; ulimit -v; pwd"], preexec_fn=spawner.make_preexec_fn(LEARNERS[0]),
                           capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    assert shown == [str(settings.learner_uids[LEARNERS[0]]), str(settings.memory_bytes // 1024),
                     str(root / "course" / "hub" / "homes" / LEARNERS[0])]  # fmt: skip


def test_learners_fetch_and_submit_through_the_exchange_as_their_own_accounts(isolated_course):
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseAssignment

    from grading.cli import main
    from grading.course import ASSIGNMENT, course_config

    _, settings = isolated_course
    workspace = Path(settings.workspace)
    config = course_config(ROOT, workspace)  # the day's release, from this project's notebooks
    config.CourseDirectory.assignment_id = ASSIGNMENT
    ExchangeReleaseAssignment(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                              config=config).start()  # fmt: skip
    nbgrader = str(Path(settings.python_bin) / "nbgrader")
    for learner in LEARNERS:
        home = settings.homes / learner
        fetched = _as(learner, nbgrader, "fetch_assignment", ASSIGNMENT, cwd=home)
        assert fetched.returncode == 0, fetched.stderr[-600:]
        work = f"mkdir -p artifacts && echo {learner} > artifacts/model.onnx"  # what their notebooks write
        assert _as(learner, "sh", "-c", work, cwd=home / ASSIGNMENT).returncode == 0
        submitted = _as(learner, nbgrader, "submit", ASSIGNMENT, cwd=home)
        assert submitted.returncode == 0, submitted.stderr[-600:]
    assert not _can_read(LEARNERS[1], settings.homes / LEARNERS[0] / ASSIGNMENT / "01_baseline.ipynb")
    inbound = settings.exchange / "day26" / "inbound"
    assert _as(LEARNERS[1], "ls", str(inbound)).returncode != 0  # nobody lists the others' submissions
    (workspace / "gradebook.db").unlink()  # the fixture's stand-in; collect makes a real one
    assert main(["collect", "--root", str(ROOT), "--workspace", str(workspace)]) == 0
    for learner in LEARNERS:
        collected = workspace / "collected" / learner / ASSIGNMENT
        assert (collected / "artifacts" / "model.onnx").read_text().strip() == learner
        assert (collected / "05_combined.ipynb").is_file()


def _stop_group(group: int) -> None:
    """Ctrl-C to the hub (``day26 hub`` and JupyterHub share a process group); SIGKILL after 60 s."""
    try:
        os.killpg(group, signal.SIGINT)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(group, signal.SIGKILL)


def test_day26_hub_isolated_starts_each_learners_jupyterlab_as_their_account(isolated_course):
    """The real hub, started as an instructor starts it: a learner logs in, JupyterLab starts, and what
    it writes belongs to the learner's account, readable by nobody else (the hub's umask)."""
    requests = pytest.importorskip("requests")
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: JupyterHub's proxy (configurable-http-proxy) comes from npm")
    root, settings = isolated_course
    proxy = ["npm", "install", "--prefix", str(root / "course" / "hub"), "--no-audit", "--no-fund", "--silent"]
    subprocess.run([*proxy, "configurable-http-proxy@5"], check=True, timeout=600, capture_output=True)
    header = "learner,first_name,last_name,email,canvas_id,sis_user_id,sis_login_id,section,moodle_idnumber\n"
    (root / "roster.csv").write_text(header + "".join(f"{name},A,B,,,,,,\n" for name in LEARNERS))
    port = free_hub_port()
    command = [sys.executable, "-m", "grading.cli", "hub", "--roster", str(root / "roster.csv"), "--instructor",
               "teacher", "--root", str(root), "--port", str(port), "--isolated"]  # fmt: skip
    log = root / "hub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env=os.environ | {"DAY26_HOME": settings.day26_home})  # fmt: skip
    address, learner = f"http://127.0.0.1:{port}", LEARNERS[0]
    try:
        session = requests.Session()
        deadline = time.monotonic() + 120
        while True:
            try:
                session.get(f"{address}/hub/login", timeout=5).raise_for_status()
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the hub did not start: {log.read_text()[-3000:]}")
                time.sleep(1)
        rows = (root / "course" / "hub" / "learner-passwords.csv").read_text().splitlines()[1:]
        passwords = dict(row.split(",", 1) for row in rows)  # each learner's own
        xsrf = next(cookie.value for cookie in session.cookies if cookie.name == "_xsrf")
        other = session.post(f"{address}/hub/login", data={"username": learner, "password": passwords[LEARNERS[1]],
                                                           "_xsrf": xsrf})  # fmt: skip
        assert "/hub/login" in other.url  # refused: bob's password does not open ann's account
        xsrf = next(cookie.value for cookie in session.cookies if cookie.name == "_xsrf")
        session.post(f"{address}/hub/login", data={"username": learner, "password": passwords[learner], "_xsrf": xsrf})
        deadline = time.monotonic() + 150
        while True:  # the spawn, then JupyterHub's OAuth round that gives the browser the server's cookie
            lab = session.get(f"{address}/user/{learner}/lab", timeout=30)
            if lab.ok and f"/user/{learner}/lab" in lab.url:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"{learner}'s JupyterLab did not start: {log.read_text()[-3000:]}")
            time.sleep(2)
        xsrf = next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith(f"/user/{learner}"))
        made = session.post(f"{address}/user/{learner}/api/contents", json={"type": "notebook"},
                            headers={"X-XSRFToken": xsrf}, timeout=30)  # fmt: skip
        assert made.status_code == 201, made.text
        written = settings.homes / learner / made.json()["path"]
        assert written.stat().st_uid == pwd.getpwnam(account_of(learner)).pw_uid
        assert stat.S_IMODE(written.stat().st_mode) & 0o077 == 0
    except requests.RequestException as error:
        pytest.fail(f"the hub stopped answering ({error}): {log.read_text()[-3000:]}")
    finally:
        _stop_group(process.pid)
