"""Learners kept apart on a course hub: an OS account each, and file modes that hide the grader's files.

Without it every learner's JupyterLab runs as the user who started the hub, and a learner's code can
read what that user reads: the other learners' homes, the solutions with their hidden tests, the
grader's hidden-split seed (``grading/``), the gradebook and every hand-in in ``course/``. With
``day26 hub --isolated`` (run as root, on Linux):

- each learner's server runs as an OS account of its own, ``day26-<learner id>`` (made with ``useradd``
  when missing: a system account with no login shell, so it exists only for the hub);
- each learner logs in with a password of their own, the account's (checked by PAM, as JupyterHub's
  default authenticator does), listed for you in ``course/hub/learner-passwords.csv``: one learner
  cannot log in as another, as they could with one shared password;
- a learner's home (``course/hub/homes/<id>``) belongs to that account, mode 0700: no other learner
  can list or read it;
- in the course folder only what a learner's environment needs stays readable
  (:data:`READABLE_FOR_LEARNERS`: the Python environment, the ``helpers`` package, the learner
  release, the docs); everything else becomes the instructor's alone (0700 or 0600);
- ``course/`` and the hub's folders stay passable (0711) but not listable, so a learner reaches their
  home and the exchange and nothing beside them; the hub's passwords, database, cookie secret and
  settings are the instructor's alone;
- nbgrader's exchange is writable by all with the sticky bit (1777), as nbgrader asks; nbgrader sets the
  modes inside it (a learner can submit into ``inbound`` but not list it);
- the reference models (``DAY26_HOME``) lose every write bit for group and others: learners read them,
  nobody else changes them (its cached splits are read with pickle, so a writable cache would run
  anyone's code in everyone's kernel).

The instructor's server still runs as the hub's user, in the course folder. The learners' accounts
must reach the course's Python: :func:`require_reachable_python` says which folder is in the way.
"""

from __future__ import annotations

import csv
import io
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from helpers.errors import Day26Error

ACCOUNT_PREFIX = "day26-"
LEARNER_PASSWORDS_FILE = "learner-passwords.csv"  # in course/hub/: each learner's own login password
MAX_ACCOUNT_NAME = 32  # useradd's limit on Linux
# What a learner's server needs from the course folder; the rest is the instructor's alone.
READABLE_FOR_LEARNERS = frozenset(
    {".venv", "helpers", "notebooks", "docs", "README.md", "LICENSE", "environment.yml", "pyproject.toml",
     "day26_workbook.egg-info", "mkdocs.yml"}
)  # fmt: skip
PASSABLE = 0o711  # others may pass through to a known path, not list what is there


def account_of(learner: str) -> str:
    """The OS account a learner's server runs as."""
    name = ACCOUNT_PREFIX + learner
    if len(name) > MAX_ACCOUNT_NAME:
        raise Day26Error(
            f"{learner}: the OS account {name!r} would be longer than {MAX_ACCOUNT_NAME} characters. "
            "Give the learner a shorter id in the roster."
        )
    return name


def require_root() -> None:
    """Isolation makes accounts and changes owners: only root may, on Linux."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        raise Day26Error(
            "day26 hub --isolated: run it as root on Linux (it makes an OS account per learner and changes "
            "file owners); without --isolated the hub is for a trial with colleagues only."
        )


def ensure_account(name: str, home: Path) -> pwd.struct_passwd:
    """The OS account ``name``, made when missing (a system account, no password, no login shell)."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pass
    useradd = shutil.which("useradd")
    if useradd is None:
        raise Day26Error(f"{name}: no such OS account, and no useradd to make it. Make it, then start the hub again.")
    nologin = shutil.which("nologin") or "/usr/sbin/nologin"
    command = [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", str(home), "--shell",
               nologin, name]  # fmt: skip
    made = subprocess.run(command, capture_output=True, text=True, check=False)
    if made.returncode != 0:
        raise Day26Error(f"useradd {name}: {made.stderr.strip() or 'it failed'}")
    return pwd.getpwnam(name)


def set_password(account: str, password: str) -> None:
    """The account's login password (what the hub's PAM login checks), through chpasswd."""
    chpasswd = shutil.which("chpasswd")
    if chpasswd is None:
        raise Day26Error(f"{account}: no chpasswd to set its password. Set it with passwd, then start the hub again.")
    done = subprocess.run([chpasswd], input=f"{account}:{password}\n", capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Day26Error(f"chpasswd {account}: {done.stderr.strip() or 'it failed'}")


def learner_passwords(hub_folder: Path, learners: Iterable[str]) -> dict[str, str]:
    """One password per learner, made once and kept in ``learner-passwords.csv`` (the instructor's alone) to
    hand out; a learner new in the roster gets one, the others keep theirs."""
    path = hub_folder / LEARNER_PASSWORDS_FILE
    known = {}
    if path.is_file():
        rows = csv.DictReader(io.StringIO(path.read_text()))
        known = {row["learner"]: row["password"] for row in rows}
    passwords = {learner: known.get(learner) or secrets.token_urlsafe(9) for learner in learners}
    if passwords != known:
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["learner", "password"])
        writer.writerows(passwords.items())
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(text.getvalue())
    return passwords


def _own_tree(folder: Path, uid: int, gid: int) -> None:
    """``folder`` and all in it owned by ``uid``/``gid``; the folder itself mode 0700."""
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, uid, gid)
    folder.chmod(0o700)


def _instructor_only(path: Path) -> None:
    """``path`` (and, for a folder, nothing in it) readable by its owner alone."""
    if path.is_symlink():
        return
    mode = path.stat().st_mode
    path.chmod(stat.S_IMODE(mode) & 0o700)


def _read_only_for_others(folder: Path) -> None:
    """Every write bit for group and others removed, in ``folder`` and below."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o022)


def closed_to_others(path: Path) -> list[Path]:
    """The folders on the way to ``path`` (links followed) that others may not pass (no o+x)."""
    closed = []
    for folder in reversed(path.resolve().parents):
        if not stat.S_IMODE(folder.stat().st_mode) & 0o001:
            closed.append(folder)
    return closed


def require_reachable_python(python_bin: Path) -> None:
    """Learners' servers run the course's Python as their own accounts: every folder on the way to it
    (and to the interpreter its links lead to) must let others pass."""
    python = python_bin / "python"
    closed = sorted(set(closed_to_others(python_bin / "jupyterhub-singleuser")) | set(closed_to_others(python)))
    if closed:
        raise Day26Error(
            f"{python} (really {python.resolve()}): the learners' accounts cannot reach it, "
            f"{', '.join(str(folder) for folder in closed)} lets only its owner pass. Install the course "
            "environment where everyone may read it (e.g. under /opt), or let others pass: "
            f"chmod o+x {' '.join(str(folder) for folder in closed)}"
        )


def isolate(root: Path, workspace: Path, homes: Path, exchange: Path, learners: Iterable[str],
            day26_home: str) -> dict[str, int]:  # fmt: skip
    """Make the accounts and set the modes described in this module; return each learner's uid."""
    require_root()
    learners = list(learners)
    passwords = learner_passwords(homes.parent, learners)
    uids = {}
    for learner in learners:
        home = homes / learner
        account = ensure_account(account_of(learner), home)
        set_password(account.pw_name, passwords[learner])
        _own_tree(home, account.pw_uid, account.pw_gid)
        uids[learner] = account.pw_uid
    shared = {workspace.resolve()} | ({Path(day26_home).resolve()} if day26_home else set())
    for entry in root.iterdir():
        if entry.name not in READABLE_FOR_LEARNERS and entry.resolve() not in shared:
            _instructor_only(entry)
    root.chmod(stat.S_IMODE(root.stat().st_mode) | 0o755)
    for entry in workspace.iterdir():
        if entry.resolve() not in {homes.parent.resolve(), exchange.resolve()}:
            _instructor_only(entry)
    for entry in homes.parent.iterdir():  # the hub's database, passwords, cookie secret and settings
        if entry.resolve() != homes.resolve():
            _instructor_only(entry)
    for folder in (workspace, homes.parent, homes):
        folder.chmod(PASSABLE)
    exchange.chmod(0o1777)
    if day26_home and Path(day26_home).is_dir():
        _read_only_for_others(Path(day26_home))
    return uids


def drop_to(uid: int) -> None:
    """In a child about to start a learner's server: become that learner's account for good."""
    account = pwd.getpwuid(uid)
    os.setgroups([])
    os.setgid(account.pw_gid)
    os.setuid(account.pw_uid)
