"""Grades in the import formats of Canvas and Moodle, mapped to LMS users through the roster.

Which points go out: each learner's ``total`` of :func:`grading.grades.grade_rows` (the verified
points of the autograded cells plus the reflections' points from the gradebook), out of the
assignment's maximum in the gradebook. An LMS cannot carry a status, so a learner whose submission
"needs review" or was "refused", and a roster learner with no graded submission, gets an empty
grade, never a number that may be wrong; :attr:`LmsGrade.note` says why, one line per learner. A late
hand-in's total is after the course's late policy (:mod:`grading.late_policy`); one that is late by a
time nobody can tell (no due date) under a policy that deducts gets an empty grade too.
A graded learner missing from the roster is an error: no grade is ever left out silently.

Canvas (its Gradebook import, read by Canvas's ``GradebookImporter``): the columns ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment titled
``<title> (<Canvas assignment id>)``, or just ``<title>`` (Canvas then matches the title or creates
the assignment); a second row starting ``Points Possible`` carries the maximum. Canvas finds each
learner by ``ID``, else ``SIS User ID``, else ``SIS Login ID``; an empty grade changes nothing.

Moodle (Grades > Import > CSV file): a header row, one row per learner; the import maps one column
to the user ("Map from" ``Email address`` or ``ID number``, "Map to" ``useremail`` or
``useridnumber``) and each other column to a grade item. An empty cell imports as "no grade".
The file has no place for the maximum: the grade item's maximum grade is set in Moodle.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grading.autograde import Course
from grading.course import ASSIGNMENT, put_environment_tools_on_path
from grading.grades import grade_rows
from grading.records import GRADED, REFUSED, REVIEW
from grading.roster import Roster, RosterEntry
from helpers.errors import Day26Error
from helpers.files import write_text_atomically

LMS_TITLE = "Day 26"  # the assignment's (Canvas) or grade item's (Moodle) column title
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_POSSIBLE = "Points Possible"
MOODLE_USER_FIELDS = {"email": "Email address", "idnumber": "ID number"}  # --moodle-user -> column title


@dataclass(frozen=True)
class LmsGrade:
    """The grade one roster learner gets in the LMS: ``points`` is None where it is left empty."""

    entry: RosterEntry
    points: float | None
    note: str = ""  # why the grade is empty, or what to know about it; "" when nothing


@dataclass(frozen=True)
class LmsGrades:
    """Every roster learner's grade, in roster order, and the assignment's maximum."""

    roster: Roster
    grades: tuple[LmsGrade, ...]
    max_points: float

    def notes(self) -> list[str]:
        """One line per learner with a note, e.g. ``bob: needs review, grade left empty (...)``."""
        return [f"{grade.entry.learner}: {grade.note}" for grade in self.grades if grade.note]


def _assignment_max_points(course: Course) -> float:
    put_environment_tools_on_path()
    with Gradebook(course.db_url) as book:
        try:
            return float(book.find_assignment(ASSIGNMENT).max_score)
        except MissingEntry:
            raise Day26Error(
                f"{course.gradebook}: no {ASSIGNMENT} assignment in it. Run day26 autograde first."
            ) from None


def _first_reason(row: dict) -> str:
    return row["reasons"].split(" | ")[0] if row["reasons"] else "no reason recorded"


def _lms_grade(entry: RosterEntry, row: dict | None, max_points: float) -> LmsGrade:
    if row is None:
        return LmsGrade(entry, None, "no graded submission, grade left empty")
    if row["status"] in (REVIEW, REFUSED):
        return LmsGrade(entry, None, f"{row['status']}, grade left empty ({_first_reason(row)})")
    if row["status"] != GRADED:
        return LmsGrade(entry, None, f"status '{row['status']}', grade left empty")
    if row["late_unknown"]:
        return LmsGrade(entry, None, f"{row['late_unknown']}; grade left empty")
    note = f"late: {_points_text(row['late_deduction'])} points deducted" if row["late_deduction"] else ""
    if row["reflections_to_grade"]:
        count = row["reflections_to_grade"]
        note = (note + "; " if note else "") + (
            f"{count} reflection{'s' if count > 1 else ''} not graded by hand yet in the formgrader: "
            f"the grade {_points_text(row['total'])}/{_points_text(max_points)} counts only the points given so far"
        )
    return LmsGrade(entry, float(row["total"]), note)


def lms_grades(course: Course, roster: Roster) -> LmsGrades:
    """Every roster learner's grade; a Day26Error when a graded learner is not in the roster."""
    rows = {row["learner"]: row for row in grade_rows(course)}
    if not rows:
        raise Day26Error(f"{course.workspace / 'records'}: no grading records yet. Run day26 autograde first.")
    in_roster = roster.by_learner()
    missing = sorted(learner for learner in rows if learner not in in_roster)
    if missing:
        raise Day26Error(
            f"{roster.path}: not in the roster, {len(missing)} learner{'s' if len(missing) > 1 else ''} "
            f"with a grading record (add them, so no grade is lost): {', '.join(missing)}"
        )
    max_points = _assignment_max_points(course)
    grades = tuple(_lms_grade(entry, rows.get(entry.learner), max_points) for entry in roster.entries)
    return LmsGrades(roster, grades, max_points)


def _points_text(points: float | None) -> str:
    """Points as an LMS reads them: ``27.5``, ``36``; empty for no grade."""
    return "" if points is None else f"{round(points, 2):g}"


def _require(lms: LmsGrades, has_identifier, what: str, why: str) -> None:
    lacking = [f"{g.entry.learner} (line {g.entry.line})" for g in lms.grades if not has_identifier(g.entry)]
    if lacking:
        raise Day26Error(f"{lms.roster.path}: no {what} for {', '.join(lacking)}. {why}")


def _csv_text(rows: list[list[str]]) -> str:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue()


def canvas_name(entry: RosterEntry) -> str:
    """The learner's name as Canvas's own export writes it ("Last, First")."""
    return ", ".join(part for part in (entry.last_name, entry.first_name) if part)


def write_canvas(lms: LmsGrades, out: Path, assignment_id: str | None = None) -> Path:
    """Write the Canvas Gradebook import file to ``out``; ``assignment_id`` is the Canvas
    assignment's number (in its address), None to let Canvas match the title or create it."""
    if assignment_id is not None and not assignment_id.isdigit():
        raise Day26Error(
            f"--canvas-assignment {assignment_id}: give the Canvas assignment's number "
            "(the digits after /assignments/ in its address)."
        )
    _require(
        lms,
        lambda entry: entry.canvas_id or entry.sis_user_id or entry.sis_login_id,
        "canvas_id, sis_user_id or sis_login_id",
        "Canvas finds learners by them.",
    )
    title = f"{LMS_TITLE} ({assignment_id})" if assignment_id else LMS_TITLE
    rows = [[*CANVAS_COLUMNS, title], [CANVAS_POINTS_POSSIBLE, "", "", "", "", _points_text(lms.max_points)]]
    for grade in lms.grades:
        entry = grade.entry
        identifiers = [entry.canvas_id, entry.sis_user_id, entry.sis_login_id, entry.section]
        rows.append([canvas_name(entry), *identifiers, _points_text(grade.points)])
    return write_text_atomically(out, _csv_text(rows))


def write_moodle(lms: LmsGrades, out: Path, user_field: str = "email") -> Path:
    """Write the Moodle CSV grade import file to ``out``; ``user_field`` (``email`` or
    ``idnumber``) is the column Moodle maps users from."""
    if user_field not in MOODLE_USER_FIELDS:
        raise Day26Error(f"--moodle-user {user_field}: choose one of {', '.join(MOODLE_USER_FIELDS)}.")
    attribute = "email" if user_field == "email" else "moodle_idnumber"
    _require(
        lms,
        lambda entry: getattr(entry, attribute),
        attribute,
        "Moodle stops the whole import at a row whose user it cannot find.",
    )
    rows = [[MOODLE_USER_FIELDS[user_field], "First name", "Last name", LMS_TITLE]]
    for grade in lms.grades:
        entry = grade.entry
        rows.append([getattr(entry, attribute), entry.first_name, entry.last_name, _points_text(grade.points)])
    return write_text_atomically(out, _csv_text(rows))
