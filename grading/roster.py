"""The class roster: which LMS user each nbgrader learner id is, read from a CSV the instructor keeps.

One row per learner, with a header naming every column of :data:`ROSTER_COLUMNS` (in any order;
other columns are ignored). Only ``learner`` must be filled in; the LMS exports say which learners
lack the identifier they need. Every mistake is one :class:`~helpers.errors.Day26Error` naming the
file and the line. :func:`write_names_to_gradebook` gives the formgrader the learners' names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook

from grading.course import put_environment_tools_on_path
from helpers.errors import Day26Error
from helpers.hand_in import LEARNER_ID  # nbgrader student ids (day26 autograde checks the same)

ROSTER_COLUMNS = (
    "learner",  # the nbgrader learner id: the submission's folder or zip name
    "first_name",
    "last_name",
    "email",  # Moodle can map on it ("Email address")
    "canvas_id",  # Canvas's numeric user id (the "ID" column of a Canvas gradebook export)
    "sis_user_id",  # Canvas's "SIS User ID"
    "sis_login_id",  # Canvas's "SIS Login ID"
    "section",  # Canvas's "Section"
    "moodle_idnumber",  # Moodle's "ID number" of the user profile
)
# Two learners with the same value here would send one LMS user two grades.
UNIQUE_COLUMNS = ("email", "canvas_id", "sis_user_id", "sis_login_id", "moodle_idnumber")


@dataclass(frozen=True)
class RosterEntry:
    """One learner of the roster; empty strings where the roster leaves a value out."""

    learner: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    moodle_idnumber: str = ""
    line: int = 0  # the roster line it came from, for messages

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


@dataclass(frozen=True)
class Roster:
    """The learners of a roster file, in the file's order."""

    path: Path
    entries: tuple[RosterEntry, ...]

    def by_learner(self) -> dict[str, RosterEntry]:
        return {entry.learner: entry for entry in self.entries}


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the (line number, row) pairs of a CSV file, or one clear error."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Excel writes one) is fine
    except FileNotFoundError:
        raise Day26Error(f"{path}: no such roster file.") from None
    except UnicodeDecodeError:
        raise Day26Error(f"{path}: not UTF-8 text. Save the roster as CSV UTF-8.") from None
    except OSError as error:
        raise Day26Error(f"{path}: cannot read the roster: {error.strerror}.") from None
    reader = csv.DictReader(text.splitlines(keepends=True))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as error:
        raise Day26Error(f"{path}, line {reader.line_num}: not a readable CSV row ({error}).") from None
    if not header:
        raise Day26Error(f"{path}: empty. The first line must name the columns: {', '.join(ROSTER_COLUMNS)}.")
    return header, rows


def _is_blank(row: dict[str, str | list[str] | None]) -> bool:
    """A line of empty cells only (``,,,``), which spreadsheets leave below the data."""
    return None not in row and not any((value or "").strip() for value in row.values())


def _entry(path: Path, line: int, row: dict[str, str | list[str] | None]) -> RosterEntry:
    if None in row:  # csv.DictReader puts the cells beyond the header under the key None
        raise Day26Error(f"{path}, line {line}: more cells than the header has columns.")
    values = {column: (row.get(column) or "").strip() for column in ROSTER_COLUMNS}
    learner = values["learner"]
    if not learner:
        raise Day26Error(f"{path}, line {line}: the learner id is empty. Give the submission's folder or zip name.")
    if not LEARNER_ID.fullmatch(learner):
        raise Day26Error(
            f"{path}, line {line}: '{learner}' is not a learner id (letters, digits, '.', '_', '-', "
            "as the submission's folder or zip name)."
        )
    if values["canvas_id"] and not values["canvas_id"].isdigit():
        raise Day26Error(
            f"{path}, line {line}: canvas_id '{values['canvas_id']}' is not Canvas's numeric user id "
            "(the ID column of a Canvas gradebook export)."
        )
    return RosterEntry(**values, line=line)


def _check_unique(path: Path, entries: list[RosterEntry]) -> None:
    for column in ("learner", *UNIQUE_COLUMNS):
        first_line: dict[str, int] = {}
        for entry in entries:
            value = getattr(entry, column)
            if not value:
                continue
            if value in first_line:
                raise Day26Error(
                    f"{path}, line {entry.line}: duplicate {column} '{value}' (also on line {first_line[value]})."
                )
            first_line[value] = entry.line


def read_roster(path: str | Path) -> Roster:
    """Read and check the roster at ``path``; a mistake is a Day26Error naming the file and the line."""
    path = Path(path)
    header, rows = _rows(path)
    missing = [column for column in ROSTER_COLUMNS if column not in header]
    if missing:
        raise Day26Error(
            f"{path}, line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}. "
            f"The header needs all of: {', '.join(ROSTER_COLUMNS)}."
        )
    entries = [_entry(path, line, row) for line, row in rows if not _is_blank(row)]
    if not entries:
        raise Day26Error(f"{path}: no learners in it, only the header.")
    _check_unique(path, entries)
    return Roster(path, tuple(entries))


def write_names_to_gradebook(roster: Roster, db_url: str) -> int:
    """Give every roster learner their first name, last name and email in the nbgrader gradebook
    at ``db_url`` (the formgrader shows them), adding learners not there yet; return how many."""
    put_environment_tools_on_path()
    with Gradebook(db_url) as book:
        for entry in roster.entries:
            book.update_or_create_student(
                entry.learner,
                first_name=entry.first_name or None,
                last_name=entry.last_name or None,
                email=entry.email or None,
            )
    return len(roster.entries)
