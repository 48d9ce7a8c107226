"""The grades CSV: one row per learner, from the gradebook and the grading records.

Points come from the gradebook (nbgrader's ``score``: an instructor's or the verifier's manual
score where there is one, else the automatic score), so reflections graded by hand in the
formgrader count as soon as they are graded. Status and reasons come from the records, so a
refused submission is listed too, never dropped.

A late hand-in loses what the course's late policy says (:mod:`grading.late_policy`): ``total`` is
after that deduction, ``late_deduction`` says how much. The formgrader shows the points before it.
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grading.autograde import Course, class_records
from grading.course import ASSIGNMENT, put_environment_tools_on_path
from grading.late_policy import late_deduction, read_late_policy
from grading.score import VERIFIED_CELLS

COLUMNS = (
    "learner",
    "status",
    "autograded_points",
    "autograded_max",
    "reflection_points",
    "reflection_max",
    "reflections_to_grade",
    "late",
    "late_deduction",
    "total",
    "max_total",
    "disagreements",
    "reasons",
    "submission_sha256",
)


def _points(book: Gradebook, learner: str) -> dict[str, float | int]:
    verified = {cell.grade_id for cell in VERIFIED_CELLS}
    totals = {"autograded_points": 0.0, "autograded_max": 0.0, "reflection_points": 0.0, "reflection_max": 0.0}
    totals["reflections_to_grade"] = 0
    try:
        submission = book.find_submission(ASSIGNMENT, learner)
    except MissingEntry:
        return totals
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            kind = "autograded" if grade.name in verified else "reflection"
            totals[f"{kind}_points"] += grade.score or 0.0
            totals[f"{kind}_max"] += grade.max_score
            if kind == "reflection" and grade.manual_score is None:
                totals["reflections_to_grade"] += 1
    return totals


def _due_date(book: Gradebook) -> datetime.datetime | None:
    """The assignment's due date in the gradebook (nbgrader keeps it in UTC), or None."""
    try:
        due = book.find_assignment(ASSIGNMENT).duedate
    except MissingEntry:
        return None
    return due.replace(tzinfo=datetime.UTC) if due is not None else None


def grade_rows(course: Course) -> list[dict]:
    """One dict per learner with the columns of :data:`COLUMNS`, and ``late_unknown``: why a late
    hand-in's deduction cannot be told ("" when it can)."""
    put_environment_tools_on_path()
    policy = read_late_policy(course.workspace)
    rows = []
    with Gradebook(course.db_url) as book:
        due = _due_date(book)
        for record in class_records(course):
            row = {"learner": record.learner, "status": record.status} | _points(book, record.learner)
            points = row["autograded_points"] + row["reflection_points"]
            deduction = late_deduction(policy, record.late, record.submitted, due, points)
            row["late"] = record.late
            row["late_deduction"] = deduction.points
            row["late_unknown"] = deduction.note if deduction.unknown else ""
            row["total"] = round(points - deduction.points, 2)
            row["max_total"] = row["autograded_max"] + row["reflection_max"]
            row["disagreements"] = " ".join(record.disagreements)
            row["reasons"] = " | ".join(record.reasons)
            row["submission_sha256"] = record.submission_sha256
            rows.append(row)
    return rows


def write_grades(course: Course, out: Path) -> Path:
    """Write the grades CSV to ``out``; return its path."""
    rows = grade_rows(course)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return out
