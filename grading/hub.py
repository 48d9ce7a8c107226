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

Every learner's server runs as the user who started the hub, as JupyterHub's
``SimpleLocalProcessSpawner`` does: learners are not isolated from each other or from the course
files. That suits a trial with colleagues, not a class; for a class use one OS account per learner
(``SystemdSpawner``) or Kubernetes (docs/instructor/hub.md).
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
    (folder / SETTINGS_FILE).write_text(json.dumps(asdict(settings), indent=1))
    config = folder / "jupyterhub_config.py"
    config.write_text(
        '"""Written by day26 hub from hub-settings.json beside it (grading/hub.py): edit those, not this."""\n'
        "from grading.hub import configure\n\n"
        f"configure(get_config(), {str(folder / SETTINGS_FILE)!r})  # noqa: F821\n"
    )
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
    from jupyterhub.spawner import SimpleLocalProcessSpawner
    from traitlets import Unicode
except ImportError:  # pragma: no cover - without JupyterHub installed, `day26 hub` says so
    SimpleLocalProcessSpawner = object  # type: ignore[assignment,misc]
    Unicode = None  # type: ignore[assignment]


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

        def preexec() -> None:
            os.makedirs(home, 0o755, exist_ok=True)
            os.chdir(folder)
            if learner:  # one learner's benchmark runs on their own cores, and cannot take all the memory
                resource.setrlimit(resource.RLIMIT_AS, (settings.memory_bytes, settings.memory_bytes))
                os.sched_setaffinity(0, share)

        return preexec


def hub_settings(root: Path, workspace: Path, learners: list[str], instructor: str, port: int) -> HubSettings:
    """Checked settings: valid user names, the instructor not among the learners, the proxy installed."""
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
    )
