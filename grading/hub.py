"""A course hub on one machine: JupyterHub with nbgrader's exchange, for a trial run of the class.

``day26 hub --roster roster.csv --instructor NAME`` writes ``course/hub/jupyterhub_config.py`` and starts
JupyterHub (from PyPI) behind configurable-http-proxy (from npm). It sets up:

- accounts: the instructor (a JupyterHub admin) and every learner of the roster, logging in with the
  two passwords it prints once (JupyterHub's shared-password authenticator: one password for the
  learners, another for the instructor; see docs/instructor/hub.md for a production authenticator);
- the instructor's JupyterLab in the course folder, so the formgrader and ``day26`` work as usual;
- each learner's JupyterLab in a home folder of their own under ``course/hub/homes/``, with an
  ``nbgrader_config.py`` that names the course, the exchange and their id, and the course's time limit
  per cell for Validate: the Assignments tab then fetches and submits the day;
- nbgrader's exchange in ``course/exchange`` (the instructor releases there, ``day26 collect`` collects);
- the reference models shared from the instructor's cache (``DAY26_HOME``);
- limits per learner: a memory ceiling and a share of the cores (:class:`CourseSpawner`).

By default every learner's server runs as the user who started the hub, as JupyterHub's
``SimpleLocalProcessSpawner`` does: learners are not isolated from each other or from the course
files. That suits a trial with colleagues, not a class. For a class, ``day26 hub --isolated`` (as root)
runs each learner's server as an OS account of their own and hides the grader's files
(grading/hub_isolation.py); for 300 learners, Kubernetes (docs/instructor/cluster.md).
"""

from __future__ import annotations

import json
import os
import resource
import secrets
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grading.course import CELL_TIMEOUT_SECONDS
from grading.hub_isolation import account_of, drop_to, isolate, require_reachable_python, require_root
from helpers.errors import Day26Error
from helpers.hand_in import LEARNER_ID

HUB_FOLDER = "hub"  # in the grading workspace (course/)
PROXY = "configurable-http-proxy"
PROXY_INSTALL = "npm install --prefix course/hub configurable-http-proxy@5"
SETTINGS_FILE = "hub-settings.json"
PASSWORDS_FILE = "passwords.json"  # readable by the instructor only (0600)
GIB = 1 << 30
# What a learner's JupyterLab leaves out: the instructor's parts of nbgrader (the Assignments tab stays).
LEARNER_SERVER = {"ServerApp": {"jpserver_extensions": {
    "nbgrader.server_extensions.formgrader": False, "nbgrader.server_extensions.course_list": False}}}  # fmt: skip
LEARNER_LAB = {"disabledExtensions": {
    "@jupyter/nbgrader:formgrader": True, "@jupyter/nbgrader:create-assignment": True,
    "@jupyter/nbgrader:course-list": True}}  # fmt: skip
QUIET_LAB = {"checkForUpdates": False, "fetchNews": "false"}  # no news pop-up over the page
# JupyterHub forbids framing a user's server ("frame-ancestors 'none'"); the formgrader is a frame of
# the instructor's own JupyterLab, so the instructor's server allows frames from itself only.
INSTRUCTOR_SERVER = {"ServerApp": {"tornado_settings": {"headers": {
    "Content-Security-Policy": "frame-ancestors 'self'"}}}}  # fmt: skip


@dataclass
class HubSettings:
    """What the hub's configuration needs; written next to it as JSON. Paths are absolute."""

    root: str  # the course folder
    workspace: str  # course/
    instructor: str
    learners: list[str]
    port: int = 8000
    memory_bytes: int = 8 * GIB  # per learner's server and what it starts (the grader's limit too)
    cores_per_learner: int = 1
    proxy: str = ""
    python_bin: str = field(default_factory=lambda: str(Path(sys.executable).parent))
    day26_home: str = ""
    isolated: bool = False  # an OS account per learner and the grader's files hidden (grading/hub_isolation.py)
    learner_uids: dict[str, int] = field(default_factory=dict)  # filled when isolated

    @property
    def hub_folder(self) -> Path:
        return Path(self.workspace) / HUB_FOLDER

    @property
    def homes(self) -> Path:
        return self.hub_folder / "homes"

    @property
    def exchange(self) -> Path:
        return Path(self.workspace) / "exchange"


def find_proxy(workspace: Path) -> str:
    """configurable-http-proxy: the copy ``npm install --prefix course/hub`` made, else one on PATH."""
    local = workspace / HUB_FOLDER / "node_modules" / ".bin" / PROXY
    found = str(local) if local.is_file() else shutil.which(PROXY)
    if not found:
        raise Day26Error(f"{PROXY}: not installed (JupyterHub's proxy, from npm). Install it with: {PROXY_INSTALL}")
    return found


def passwords(hub_folder: Path) -> dict[str, str]:
    """The learners' and the instructor's passwords: made once, kept in ``passwords.json`` (mode 0600)."""
    path = hub_folder / PASSWORDS_FILE
    if not path.is_file():
        hub_folder.mkdir(parents=True, exist_ok=True)
        made = {"learners": secrets.token_urlsafe(9), "instructor": secrets.token_urlsafe(24)}  # 12 and 32 characters
        path.touch(mode=0o600)
        path.write_text(json.dumps(made, indent=1))
    return json.loads(path.read_text())


def learner_nbgrader_config(settings: HubSettings, learner: str) -> str:
    """The ``nbgrader_config.py`` in a learner's home: the course, the exchange, their id, the cell limit."""
    home = settings.homes / learner
    return (
        "# Written by day26 hub: nbgrader's Assignments tab and Validate read it.\n"
        "c = get_config()  # noqa: F821\n"
        'c.CourseDirectory.course_id = "day26"\n'
        f"c.CourseDirectory.student_id = {learner!r}\n"
        f"c.CourseDirectory.root = {str(home)!r}\n"
        f"c.Exchange.root = {str(settings.exchange)!r}\n"
        f"c.Exchange.assignment_dir = {str(home)!r}\n"
        f"c.Execute.timeout = {CELL_TIMEOUT_SECONDS}\n"
        f"c.ExecutePreprocessor.timeout = {CELL_TIMEOUT_SECONDS}\n"
    )


def write_hub_config(settings: HubSettings) -> Path:
    """Write ``course/hub/jupyterhub_config.py`` and its settings, the learners' homes and their
    nbgrader settings, and the exchange folder; return the configuration file."""
    folder = settings.hub_folder
    folder.mkdir(parents=True, exist_ok=True)
    settings.exchange.mkdir(parents=True, exist_ok=True)
    for user in [*settings.learners, settings.instructor]:
        settings_dir = (
            settings.homes / user / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
        )
        settings_dir.mkdir(parents=True, exist_ok=True)
        (settings_dir / "notification.jupyterlab-settings").write_text(json.dumps(QUIET_LAB))
    instructor_config = settings.homes / settings.instructor / ".jupyter" / "jupyter_server_config.json"
    instructor_config.write_text(json.dumps(INSTRUCTOR_SERVER))
    for learner in settings.learners:
        home = settings.homes / learner
        (home / "nbgrader_config.py").write_text(learner_nbgrader_config(settings, learner))
        (home / ".jupyter" / "labconfig").mkdir(parents=True, exist_ok=True)
        (home / ".jupyter" / "jupyter_server_config.json").write_text(json.dumps(LEARNER_SERVER))
        (home / ".jupyter" / "labconfig" / "page_config.json").write_text(json.dumps(LEARNER_LAB))
    if settings.isolated:
        require_reachable_python(Path(settings.python_bin))
    (folder / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=1))
    config = folder / "jupyterhub_config.py"
    config.write_text(
        '"""Written by day26 hub from hub-settings.json beside it (grading/hub.py): edit those, not this."""\n'
        "from grading.hub import configure\n\n"
        f"configure(get_config(), {str(folder / SETTINGS_FILE)!r})  # noqa: F821\n"
    )
    if settings.isolated:
        settings.learner_uids = isolate(Path(settings.root), Path(settings.workspace), settings.homes,
                                        settings.exchange, settings.learners, settings.day26_home)  # fmt: skip
        (folder / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=1))
    return config


def configure(c, settings_file: str) -> None:
    """Fill JupyterHub's configuration ``c`` from the settings file :func:`write_hub_config` wrote."""
    settings = HubSettings(**json.loads(Path(settings_file).read_text()))
    secret = passwords(settings.hub_folder)
    folder = settings.hub_folder
    c.JupyterHub.bind_url = f"http://127.0.0.1:{settings.port}"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings.port + 1}"  # not JupyterHub's 8081 and 8001, which
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.port + 2}"  # another hub may hold
    c.JupyterHub.db_url = f"sqlite:///{folder / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(folder / "jupyterhub_cookie_secret")
    c.ConfigurableHTTPProxy.command = [settings.proxy]
    c.ConfigurableHTTPProxy.pid_file = str(folder / "jupyterhub-proxy.pid")
    if settings.isolated:  # each learner's own password, their OS account's; the instructor's as before
        c.JupyterHub.authenticator_class = CourseAuthenticator
        c.CourseAuthenticator.instructor = settings.instructor
        c.CourseAuthenticator.instructor_password = secret["instructor"]
        c.CourseAuthenticator.open_sessions = False  # the spawner starts the server; no login session
    else:
        c.JupyterHub.authenticator_class = "shared-password"
        c.SharedPasswordAuthenticator.user_password = secret["learners"]
        c.SharedPasswordAuthenticator.admin_password = secret["instructor"]
    c.Authenticator.admin_users = {settings.instructor}
    c.Authenticator.allowed_users = set(settings.learners) | {settings.instructor}
    c.JupyterHub.spawner_class = CourseSpawner
    c.Spawner.cmd = [str(Path(settings.python_bin) / "jupyterhub-singleuser")]
    c.Spawner.default_url = "/lab"
    c.Spawner.mem_limit = settings.memory_bytes
    c.Spawner.cpu_limit = float(settings.cores_per_learner)
    c.Spawner.http_timeout = 120
    c.Spawner.start_timeout = 180
    c.CourseSpawner.settings_file = settings_file
    c.CourseSpawner.home_dir_template = str(settings.homes / "{username}")
    if os.geteuid() == 0:  # a container's root (CI): JupyterLab refuses root unless told
        c.Spawner.args = ["--allow-root"]


try:  # JupyterHub is the instructor's, on the machine that runs the hub; the rest of grading works without it
    from jupyterhub.auth import PAMAuthenticator
    from jupyterhub.spawner import SimpleLocalProcessSpawner
    from traitlets import Unicode
except ImportError:  # pragma: no cover - without JupyterHub installed, `day26 hub` says so
    SimpleLocalProcessSpawner = PAMAuthenticator = object  # type: ignore[assignment,misc]
    Unicode = None  # type: ignore[assignment]


class CourseAuthenticator(PAMAuthenticator):  # type: ignore[misc,valid-type]
    """The isolated hub's login: a learner ``ann`` with the password of the OS account ``day26-ann``
    (PAM, JupyterHub's own default way), the instructor with the password ``day26 hub`` made."""

    if Unicode is not None:
        instructor = Unicode(config=True, help="the instructor's hub user name")
        instructor_password = Unicode(config=True, help="the instructor's password")

    async def authenticate(self, handler, data):
        name = data.get("username", "").strip().lower()
        if name == self.instructor:
            given = data.get("password", "").encode()
            return name if secrets.compare_digest(given, self.instructor_password.encode()) else None
        try:
            account = account_of(name)
        except Day26Error:
            return None
        checked = await super().authenticate(handler, {"username": account, "password": data.get("password", "")})
        return name if checked else None


class CourseSpawner(SimpleLocalProcessSpawner):  # type: ignore[misc,valid-type]
    """Each user's JupyterLab: the instructor's in the course folder, a learner's in their home; with
    the reference models shared, and a memory ceiling (``mem_limit``, as the address space) and
    ``cpu_limit`` cores of their own (chosen in turn) for a learner's server and all it starts."""

    if Unicode is not None:
        settings_file = Unicode(config=True, help="the hub settings day26 hub wrote")

    def _settings(self) -> HubSettings:
        """The hub's settings, read from ``settings_file`` once per spawner."""
        if getattr(self, "_read_settings", None) is None:
            self._read_settings = HubSettings(**json.loads(Path(self.settings_file).read_text()))
        return self._read_settings

    def _is_instructor(self) -> bool:
        return self.user.name == self._settings().instructor

    def get_env(self) -> dict:
        env = super().get_env()
        settings = self._settings()
        env["JUPYTER_CONFIG_DIR"] = str(settings.homes / self.user.name / ".jupyter")
        env["PATH"] = f"{settings.python_bin}{os.pathsep}{env.get('PATH', os.defpath)}"
        if settings.day26_home:
            env["DAY26_HOME"] = settings.day26_home
        return env

    def make_preexec_fn(self, name: str):
        settings = self._settings()
        folder = settings.root if self._is_instructor() else str(settings.homes / self.user.name)
        home = str(settings.homes / self.user.name)
        learner = not self._is_instructor()
        cores = sorted(os.sched_getaffinity(0))
        index = settings.learners.index(self.user.name) if learner and self.user.name in settings.learners else 0
        share = {
            cores[(index * settings.cores_per_learner + k) % len(cores)] for k in range(settings.cores_per_learner)
        }
        uid = settings.learner_uids.get(self.user.name) if learner and settings.isolated else None
        if learner and settings.isolated and uid is None:
            raise RuntimeError(f"{self.user.name}: no OS account in {self.settings_file}; run day26 hub again")

        def preexec() -> None:
            os.makedirs(home, 0o755, exist_ok=True)
            os.chdir(folder)
            if learner:  # one learner's benchmark runs on their own cores, and cannot take all the memory
                resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
                os.sched_setaffinity(0, share)
            if uid is not None:  # the learner's own OS account, for good
                drop_to(uid)

        return preexec


def hub_settings(
    root: Path, workspace: Path, learners: list[str], instructor: str, port: int, isolated: bool = False
) -> HubSettings:
    """Checked settings: valid user names, the instructor not among the learners, the proxy installed;
    when ``isolated``, run as root and every learner's OS account name short enough."""
    if isolated:
        require_root()
        for learner in learners:
            account_of(learner)
    for name in [*learners, instructor]:
        if not LEARNER_ID.fullmatch(name) or name.lower() != name:
            raise Day26Error(f"{name}: not a hub user name (lowercase letters, digits, '.', '_', '-'). Change it.")
    if instructor in learners:
        raise Day26Error(
            f"{instructor}: the instructor is also a learner in the roster. Give the instructor another name."
        )
    return HubSettings(
        root=str(root.resolve()),
        workspace=str(workspace.resolve()),
        instructor=instructor,
        learners=list(learners),
        port=port,
        proxy=find_proxy(workspace),
        day26_home=os.environ.get("DAY26_HOME", ""),
        isolated=isolated,
    )
