"""The grades CSV: one row per learner, from the gradebook and the grading records.

Points come from the gradebook (nbgrader's ``score``: an instructor's or the verifier's manual
score where there is one, else the automatic score), so reflections graded by hand in the
formgrader count as soon as they are graded. Status and reasons come from the records, so a
refused submission is listed too, never dropped.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from grading.autograde import Course
from grading.course import ASSIGNMENT, put_environment_tools_on_path
from grading.score import VERIFIED_CELLS

COLUMNS = (
    "learner",
    "status",
    "autograded_points",
    "autograded_max",
    "reflection_points",
    "reflection_max",
    "reflections_to_grade",
    "total",
    "max_total",
    "disagreements",
    "reasons",
    "submission_sha256",
)


def read_records(course: Course) -> list[dict]:
    """Every learner's grading record, in name order."""
    records = []
    for path in sorted((course.workspace / "records").glob("*.json")):
        try:
            records.append(json.loads(path.read_text()))
        except ValueError:
            raise ValueError(f"{path}: not a readable grading record; run day26 autograde again") from None
    return records


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


def grade_rows(course: Course) -> list[dict]:
    """One dict per learner with the columns of :data:`COLUMNS`."""
    put_environment_tools_on_path()
    rows = []
    with Gradebook(course.db_url) as book:
        for record in read_records(course):
            row = {"learner": record["learner"], "status": record["status"]} | _points(book, record["learner"])
            row["total"] = row["autograded_points"] + row["reflection_points"]
            row["max_total"] = row["autograded_max"] + row["reflection_max"]
            row["disagreements"] = " ".join(c["grade_id"] for c in record.get("cells", []) if c.get("disagrees"))
            row["reasons"] = " | ".join(record.get("reasons", []))
            row["submission_sha256"] = record.get("submission_sha256", "")
            rows.append(row)
    return rows


def write_grades(course: Course, out: Path) -> Path:
    """Write the grades CSV to ``out``; return its path."""
    rows = grade_rows(course)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return out
