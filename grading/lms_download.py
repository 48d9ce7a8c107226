"""An LMS's bulk download of hand-ins, mapped to the roster's learner ids before grading.

Canvas ("Download Submissions") and Moodle ("Download all submissions") name each learner's file
after the learner, not after the id the grader uses:

- Canvas: ``doejane_1003_98765_day26.zip``: the name, Canvas's user id (the roster's ``canvas_id``),
  the file's id (a later upload has a larger one) and the file's own name; a late copy has
  ``_LATE`` after the name (``doejane_LATE_1003_98770_day26.zip``);
- Moodle: ``Jane Doe_12345_assignsubmission_file_day26.zip``, or a folder
  ``Jane Doe_12345_assignsubmission_file/`` holding the file: the full name (matched to the roster's
  first and last name) and the assignment's participant number.

:func:`unpack_lms_download` reads such a download (the zip, or the folder it unpacks to), finds each
copy's learner in the roster, and keeps one copy per learner: the newest on time, else the newest
late one, flagged. On time means: not marked late by the LMS and, when a deadline is given, uploaded
at or before it (the time each file carries in the download). It writes each kept copy as
``LEARNER.zip`` (or a folder ``LEARNER/`` when the learner uploaded loose files) into a folder that
``day26 autograde`` then grades as usual, with a manifest (:data:`MANIFEST`) of where each came
from. Files it cannot place (a name that is not the LMS's, a learner not in the roster) are listed,
never graded under a made-up id.
"""

from __future__ import annotations

import datetime
import json
import re
import shutil
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath

from grading.roster import Roster, RosterEntry
from helpers.errors import Day26Error
from helpers.hand_in import MAX_TOTAL_BYTES

MANIFEST = ".submissions.json"  # beside the copies (LMS or exchange); a dot file, so it is not graded
CANVAS_NAME = re.compile(r"(?P<name>[^_/]+?)(?P<late>_LATE)?_(?P<user>\d+)_(?P<file_id>\d+)_(?P<file>[^/]+)")
MOODLE_NAME = re.compile(
    r"(?P<name>[^_/]+)_(?P<participant>\d+)_assignsubmission_file_?(?:/(?P<inner>.+)|(?P<file>[^/]+))?"
)


@dataclass
class DownloadedCopy:
    """One learner's upload in the download. ``uploaded`` is the time the download gives the file;
    ``order`` breaks ties (Canvas's file id)."""

    learner: str
    lms: str  # "canvas" or "moodle"
    members: list[str]  # the download's entries that make this copy
    uploaded: str  # ISO, with its UTC offset
    order: int = 0
    marked_late: bool = False  # Canvas's _LATE

    def is_late(self, deadline: datetime.datetime | None) -> bool:
        after = deadline is not None and datetime.datetime.fromisoformat(self.uploaded) > deadline.astimezone()
        return self.marked_late or after


@dataclass
class LmsIntake:
    """What :func:`unpack_lms_download` made of a download: per learner the copy kept, whether it is
    late, and the copies set aside; the entries it could not place, with why."""

    folder: Path
    kept: dict[str, DownloadedCopy] = field(default_factory=dict)
    late: dict[str, bool] = field(default_factory=dict)
    set_aside: dict[str, list[str]] = field(default_factory=dict)  # learner -> the other copies' entries
    unplaced: list[str] = field(default_factory=list)  # "entry: why"

    def summary(self) -> str:
        """A few lines: learners found, late ones, copies set aside, and what could not be placed."""
        lines = [f"{len(self.kept)} learner(s) in the download, copies in {self.folder}"]
        late = sorted(learner for learner, is_late in self.late.items() if is_late)
        if late:
            lines.append(f"late (graded, flagged): {', '.join(late)}")
        for learner, entries in sorted(self.set_aside.items()):
            lines.append(f"{learner}: kept {self.kept[learner].members[0]}; set aside {', '.join(entries)}")
        lines += [f"not graded: {line}" for line in self.unplaced]
        return "\n".join(lines)


def _entry_time(info: zipfile.ZipInfo) -> str:
    """The time the download gives an entry (the LMS's local time), with this machine's UTC offset."""
    return datetime.datetime(*info.date_time).astimezone().isoformat()


def _by_moodle_name(roster: Roster) -> dict[str, list[RosterEntry]]:
    names: dict[str, list[RosterEntry]] = {}
    for entry in roster.entries:
        if entry.full_name:
            names.setdefault(entry.full_name.casefold(), []).append(entry)
    return names


def _copies(infos: list[zipfile.ZipInfo], roster: Roster) -> tuple[list[DownloadedCopy], list[str]]:
    """Each entry of the download as a learner's copy, or a line saying why it cannot be placed."""
    by_canvas_id = {entry.canvas_id: entry for entry in roster.entries if entry.canvas_id}
    by_name = _by_moodle_name(roster)
    copies: dict[tuple[str, str], DownloadedCopy] = {}
    unplaced = []
    for info in infos:
        if info.is_dir():
            continue
        path = info.filename
        moodle, canvas = MOODLE_NAME.fullmatch(path), CANVAS_NAME.fullmatch(path)
        if moodle:
            matches = by_name.get(moodle["name"].casefold(), [])
            if len(matches) != 1:
                why = "in no roster row's first_name and last_name" if not matches else "in several roster rows"
                unplaced.append(f"{path}: the Moodle name '{moodle['name']}' is {why}")
                continue
            key = (matches[0].learner, f"moodle-{moodle['participant']}")
            copy = copies.setdefault(key, DownloadedCopy(matches[0].learner, "moodle", [], _entry_time(info)))
            copy.members.append(path)
            copy.uploaded = max(copy.uploaded, _entry_time(info))
        elif canvas:
            entry = by_canvas_id.get(canvas["user"])
            if entry is None:
                unplaced.append(f"{path}: Canvas user {canvas['user']} is in no roster row's canvas_id")
                continue
            is_zip = path.lower().endswith(".zip")
            key = (entry.learner, f"canvas-{canvas['file_id']}" if is_zip else f"canvas-files-{bool(canvas['late'])}")
            copy = copies.setdefault(key, DownloadedCopy(entry.learner, "canvas", [], _entry_time(info)))
            copy.members.append(path)
            copy.uploaded = max(copy.uploaded, _entry_time(info))
            copy.order = max(copy.order, int(canvas["file_id"]))
            copy.marked_late = copy.marked_late or bool(canvas["late"])
        else:
            unplaced.append(f"{path}: not named as Canvas or Moodle name a bulk download's files")
    return list(copies.values()), unplaced


def _read_download(download: Path) -> tuple[zipfile.ZipFile | None, list[zipfile.ZipInfo]]:
    """The download as zip entries: the zip itself, or a folder (its unpacked form) seen as entries."""
    if download.is_file():
        try:
            archive = zipfile.ZipFile(download)
        except (zipfile.BadZipFile, OSError) as error:
            raise Day26Error(f"{download}: not a readable zip ({error}). Download it from the LMS again.") from None
        return archive, archive.infolist()
    if not download.is_dir():
        raise Day26Error(f"{download}: no such file or folder. Give the LMS's bulk download (the zip or its folder).")
    infos = []
    for path in sorted(download.rglob("*")):
        if path.is_file() and not path.is_symlink() and not path.name.startswith("."):
            info = zipfile.ZipInfo.from_file(path, path.relative_to(download).as_posix())
            infos.append(info)
    return None, infos


def _file_path(member: str) -> PurePosixPath:
    """The learner's own path of the file an entry holds (the LMS's prefix taken off)."""
    match = MOODLE_NAME.fullmatch(member) or CANVAS_NAME.fullmatch(member)
    own = (match.groupdict().get("inner") or match.groupdict().get("file")) if match else None
    return PurePosixPath(own or PurePosixPath(member).name)


def _copy_out(download: Path, archive: zipfile.ZipFile | None, copy: DownloadedCopy, folder: Path) -> None:
    """Write ``copy`` as ``LEARNER.zip`` (one zip uploaded) or ``LEARNER/`` (loose files) into ``folder``."""
    single_zip = len(copy.members) == 1 and copy.members[0].lower().endswith(".zip")
    for member in copy.members:
        own = _file_path(member)
        target = folder / f"{copy.learner}.zip" if single_zip else folder / copy.learner / own
        target.parent.mkdir(parents=True, exist_ok=True)
        source = archive.open(member) if archive is not None else (download / member).open("rb")
        with source as stream, target.open("wb") as out:
            shutil.copyfileobj(stream, out)


def _unsafe(copy: DownloadedCopy, sizes: dict[str, int]) -> str | None:
    """Why a copy cannot be written out as it is (a path that leaves its folder, too many bytes)."""
    for member in copy.members:
        own = _file_path(member)
        if own.is_absolute() or ".." in own.parts:
            return f"{member}: a path that leaves the learner's folder"
    size = sum(sizes[member] for member in copy.members)
    if size > MAX_TOTAL_BYTES:
        return f"{', '.join(copy.members)}: {size:,} bytes, over the {MAX_TOTAL_BYTES:,} a hand-in may hold"
    return None


def unpack_lms_download(
    download: str | Path, roster: Roster, folder: str | Path, deadline: datetime.datetime | None = None
) -> LmsIntake:
    """Map an LMS bulk download (Canvas or Moodle) to the roster's learner ids: one copy per learner
    written to ``folder`` (made empty first), and :data:`MANIFEST` beside them."""
    download, folder = Path(download), Path(folder)
    archive, infos = _read_download(download)
    copies, unplaced = _copies(infos, roster)
    sizes = {info.filename: info.file_size for info in infos}
    unsafe = {id(copy): _unsafe(copy, sizes) for copy in copies}
    unplaced += [why for why in unsafe.values() if why]
    copies = [copy for copy in copies if not unsafe[id(copy)]]
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    intake = LmsIntake(folder, unplaced=unplaced)
    by_learner: dict[str, list[DownloadedCopy]] = {}
    for copy in copies:
        by_learner.setdefault(copy.learner, []).append(copy)
    for learner, theirs in sorted(by_learner.items()):
        theirs.sort(key=lambda copy: (copy.uploaded, copy.order))
        on_time = [copy for copy in theirs if not copy.is_late(deadline)]
        kept = (on_time or theirs)[-1]
        intake.kept[learner], intake.late[learner] = kept, kept.is_late(deadline)
        others = [member for copy in theirs if copy is not kept for member in copy.members]
        if others:
            intake.set_aside[learner] = others
        _copy_out(download, archive, kept, folder)
    if archive is not None:
        archive.close()
    learners = {
        learner: {**asdict(copy), "late": intake.late[learner], "set_aside": intake.set_aside.get(learner, [])}
        for learner, copy in intake.kept.items()
    }
    write_manifest(folder, str(download), deadline, learners, unplaced)
    return intake


def write_manifest(folder: Path, source: str, deadline: datetime.datetime | None, learners: dict, others: list) -> None:
    """Record beside the hand-ins in ``folder`` where each came from: per learner ``uploaded`` (ISO with its
    UTC offset), ``late``, ``members`` (what it was made of) and ``set_aside``; ``others``: not graded."""
    manifest = {"source": source, "deadline": deadline.isoformat() if deadline else None, "learners": learners,
                "not_graded": others}  # fmt: skip
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))


def lms_submission(source: Path) -> dict | None:
    """What the manifest beside ``source`` (a hand-in from an LMS download or the exchange) says of it: the
    upload time, whether it is late, what it was made of; None for a hand-in that did not come that way."""
    manifest = source.parent / MANIFEST
    if not manifest.is_file():
        return None
    learner = source.stem if source.suffix == ".zip" else source.name
    try:
        return json.loads(manifest.read_text())["learners"].get(learner)
    except (OSError, json.JSONDecodeError, KeyError, AttributeError):
        return None
