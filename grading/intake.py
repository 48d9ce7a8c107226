"""Intake: the first stage of grading one submission.

A submission (a learner's folder or a zip of it) is copied into the grader's workspace before
anything runs. Intake refuses, with the reason, anything that could reach outside the
workspace or swamp the grader: links, archive paths with ``..`` or an absolute path, and
files over the size cap. It records the sha256 of every file it accepts. A refused
submission leaves nothing half-copied behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grading.safety import UnsafeFile, refuse_unless_plain_file
from helpers.hand_in import MAX_FILE_BYTES, MAX_TOTAL_BYTES  # the learner's `day26 pack` checks the same caps

CHUNK = 1 << 20


class Refused(Exception):
    """The submission cannot be accepted; the message says why."""


@dataclass
class IntakeResult:
    """What intake did with one submission. ``files`` maps relative paths to sha256 digests."""

    learner: str
    accepted: bool
    reason: str = ""
    folder: Path | None = None
    files: dict[str, str] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as hex, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_folder(source: Path, target: Path, max_file: int, max_total: int) -> None:
    total = 0
    for directory, subfolders, names in os.walk(source, followlinks=False):
        here = Path(directory)
        for name in subfolders + names:
            relative = (here / name).relative_to(source)
            if (here / name).is_dir() and not (here / name).is_symlink():
                continue
            try:
                refuse_unless_plain_file(here / name, relative.as_posix(), max_file)
            except UnsafeFile as problem:
                raise Refused(str(problem)) from None
            info = (here / name).lstat()
            total += info.st_size
            if total > max_total:
                raise Refused(f"the submission is over the {max_total / 1e6:.0f} MB cap")
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(here / name, target / relative)


def _extract_zip(source: Path, target: Path, max_file: int, max_total: int) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile:
        raise Refused(f"{source.name} is not a readable zip file") from None
    total = 0
    with archive:
        for member in archive.infolist():
            path = PurePosixPath(member.filename)
            if path.is_absolute() or member.filename.startswith(("/", "\\")) or ".." in path.parts:
                raise Refused(f"the archive path '{member.filename}' points outside the submission")
            if stat.S_ISLNK(member.external_attr >> 16):
                raise Refused(f"the archive holds a link, '{member.filename}'; submit real files only")
            if member.is_dir():
                continue
            if member.file_size > max_file:
                raise Refused(f"{member.filename} is {member.file_size / 1e6:.0f} MB, over the cap")
            destination = target / Path(*path.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as stream, destination.open("wb") as out:
                written = 0
                for block in iter(lambda: stream.read(CHUNK), b""):  # never trust the declared size
                    written += len(block)
                    total += len(block)
                    if written > max_file or total > max_total:
                        raise Refused(f"{member.filename} unpacks to more than the size cap")
                    out.write(block)


def intake(
    source: str | Path, workspace: str | Path, max_file: int = MAX_FILE_BYTES, max_total: int = MAX_TOTAL_BYTES
) -> IntakeResult:
    """Copy one submission (folder or .zip) into ``workspace/<learner>`` and hash every file.

    The learner id is the folder's or the zip's name. An earlier intake of the same learner is
    replaced only once the new copy is complete.
    """
    source, workspace = Path(source), Path(workspace)
    learner = source.stem if source.suffix == ".zip" else source.name
    staging = workspace / f".incoming-{learner}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        if source.is_symlink():
            raise Refused(f"{source.name} is a link; submit the folder or zip itself")
        if source.is_dir():
            _copy_folder(source, staging, max_file, max_total)
        elif source.suffix == ".zip" and source.is_file():
            _extract_zip(source, staging, max_file, max_total)
        else:
            raise Refused(f"{source.name} is neither a folder nor a .zip file")
    except Refused as refusal:
        shutil.rmtree(staging, ignore_errors=True)
        return IntakeResult(learner, accepted=False, reason=str(refusal))
    final = workspace / learner
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    files = {
        path.relative_to(final).as_posix(): file_sha256(path) for path in sorted(final.rglob("*")) if path.is_file()
    }
    return IntakeResult(learner, accepted=True, folder=final, files=files)
