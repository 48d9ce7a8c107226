"""Feedback: one self-contained HTML page per learner, from their grading record.

The page shows how the submission ended (and whether it was late), the total the LMS receives, the
points of each exercise's autograded cell named as the notebooks name it (and where the notebook's own
test said otherwise), the written answers' points with the instructor's comments from the formgrader,
every verifier check with the learner's figure, the threshold and a reason they can act on, the
comparison plot the learner drew, and the learner's pseudonym on the class leaderboard. Everything
comes from the record and the executed folder: nothing is re-measured, nothing from the
learner is trusted as markup (all text is escaped, the plot is embedded only if it is a PNG).
"""

from __future__ import annotations

import base64
import re
from html import escape
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from grading.autograde import GRADED, REFUSED, Course, class_records
from grading.course import ASSIGNMENT, put_environment_tools_on_path
from grading.grades import grade_rows
from grading.late_policy import read_late_policy
from grading.leaderboard import leaderboard_secret, pseudonym
from grading.records import GradeRecord
from grading.score import VERIFIED_CELLS
from helpers import contract

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PLOT_BYTES = 5_000_000

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: .35rem .5rem; text-align: left; vertical-align: top; }
.pass { color: #1a7f37; font-weight: 600; } .FAIL { color: #cf222e; font-weight: 600; }
.review { color: #9a6700; font-weight: 600; } .muted { color: #666; font-size: .9em; }
img { max-width: 100%; border: 1px solid #ddd; }
"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _checks_section(record: GradeRecord) -> str:
    checks = record.verdict.checks if record.verdict is not None else []
    if not checks:
        return "<p>The verifier did not report any check.</p>"
    rows = [
        [
            escape(check.artifact),
            escape(check.name),
            escape(check.measured),
            escape(check.target),
            f'<span class="{escape(check.status)}">{escape(check.status)}</span>',
            escape(check.reason),
        ]
        for check in checks
    ]
    return _table(["artifact", "check", "your figure", "threshold", "result", "what to do"], rows)


def exercise_titles(course: Course) -> dict[str, str]:
    """Each notebook's title as the learner reads it (its first heading, without the time), by notebook."""
    titles = {}
    for path in sorted((course.root / "notebooks" / ASSIGNMENT).glob("*.ipynb")):
        first = next(iter(nbformat.read(path, as_version=4).cells), None)
        heading = first.source.splitlines()[0] if first is not None and first.source else ""
        titles[path.stem] = re.sub(r"\s*\(\d+ min\)$", "", heading.lstrip("# ").strip()) or path.stem
    return titles


def _cells_section(record: GradeRecord, titles: dict[str, str]) -> str:
    checked = {cell.grade_id: cell for cell in VERIFIED_CELLS}
    rows = []
    for cell in record.cells:
        points = "instructor decides" if cell.verifier_points is None else f"{cell.verifier_points:g}"
        said = "did not run" if cell.notebook_points is None else f"{cell.notebook_points:g}"
        note = "your notebook's test gave a different result" if cell.disagrees else ""
        check = checked.get(cell.grade_id)
        where = f"{titles.get(check.notebook, check.notebook)}: {check.artifact}" if check else cell.grade_id
        named = f'{escape(where)} <span class="muted">({escape(cell.grade_id)})</span>'
        rows.append([named, f"{points} / {cell.max_points:g}", escape(cell.reason), escape(said), escape(note)])
    return _table(["exercise", "points (verified by the grader)", "why", "your notebook's test", ""], rows)


def _reflections_section(book: Gradebook, learner: str, titles: dict[str, str]) -> str:
    """The written answers' points and the instructor's comments, as graded in the formgrader."""
    verified = {cell.grade_id for cell in VERIFIED_CELLS}
    try:
        submission = book.find_submission(ASSIGNMENT, learner)
    except MissingEntry:
        return "<p>No written answer of yours is in the gradebook.</p>"
    rows = []
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            if grade.name in verified:
                continue
            points = "not graded yet" if grade.manual_score is None else f"{grade.score:g}"
            try:
                comment = book.find_comment(grade.name, notebook.name, ASSIGNMENT, learner).comment or ""
            except MissingEntry:
                comment = ""
            title = titles.get(notebook.name, notebook.name)
            rows.append([escape(title), f"{points} / {grade.max_score:g}", escape(comment)])
    return _table(["written answer", "points", "your instructor's comment"], rows)


def _total_line(course: Course, record: GradeRecord) -> str:
    """The total the LMS export sends (the gradebook's points), or why it sends none yet."""
    row = next((row for row in grade_rows(course) if row["learner"] == record.learner), None)
    if row is None:
        return ""
    total = f"{row['total']:g} / {row['max_total']:g}"
    if record.status != GRADED:
        return f"<h2>Total so far: {total}</h2><p>Your grade goes to the LMS once your instructor has reviewed it.</p>"
    if row["late_unknown"]:
        return (f"<h2>Total before the late policy: {row['total']:g} / {row['max_total']:g}</h2>"
                "<p>Your grade goes to the LMS once your instructor has set the due date.</p>")  # fmt: skip
    waiting = row["reflections_to_grade"]
    notes = [f"{row['late_deduction']:g} points deducted for handing in late"] if row["late_deduction"] else []
    notes += [f"{waiting} written answer(s) not graded yet: their points are not in it"] if waiting else []
    note = f" ({'; '.join(notes)})" if notes else ""
    return f"<h2>Total: {total}</h2><p>The grade your LMS receives{escape(note)}.</p>"


def _plot_section(course: Course, learner: str) -> str:
    plot = contract.COMPARISON_PLOT.path(course.folder("autograded", learner) / contract.ARTIFACTS_DIR)
    if not plot.is_file() or plot.is_symlink() or plot.stat().st_size > MAX_PLOT_BYTES:
        return "<p>No comparison plot was found.</p>"
    data = plot.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        return "<p>artifacts/comparison.png is not a PNG image.</p>"
    return f'<img alt="your comparison plot" src="data:image/png;base64,{base64.b64encode(data).decode()}">'


COPY_NOTICE = (
    "Your hand-in matches another learner's (the grader's copy check). Your instructor reviews both "
    "and will talk to you; the points above are not final until then."
)


def learner_facing_reasons(record: GradeRecord) -> list[str]:
    """The record's reasons for the learner's page: the copy check's lines name the other learner
    and their files, so the page says only that there is a match (the records and the grades CSV
    keep the evidence for the instructor)."""
    others = [reason for reason in record.reasons if reason not in record.copy_reasons]
    return [COPY_NOTICE, *others] if record.copy_reasons else others


def feedback_page(course: Course, record: GradeRecord, titles: dict[str, str] | None = None) -> str:
    """The HTML page for one learner's record."""
    learner = record.learner
    titles = exercise_titles(course) if titles is None else titles
    parts = [f"<h1>Day 26 feedback: {escape(learner)}</h1>", f"<p>Status: <b>{escape(record.status)}</b></p>"]
    if record.late:
        policy = read_late_policy(course.workspace).explained()
        parts.append(f"<p>Handed in late: uploaded {escape(record.submitted)}. It was graded all the same; in this "
                     f"course {escape(policy)}.</p>")  # fmt: skip
    reasons = learner_facing_reasons(record)
    if reasons:
        parts.append("<ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in reasons) + "</ul>")
    if record.status != REFUSED:
        put_environment_tools_on_path()
        with Gradebook(course.db_url) as book:
            reflections = _reflections_section(book, learner, titles)
        parts += [
            _total_line(course, record),
            f"<h2>Autograded points: {record.points:g} / {record.max_points:g}</h2>",
            "<p>The grader re-measured your artifacts in a separate process (hidden test data, its own timings); "
            "its result decides the points.</p>",
            _cells_section(record, titles),
            "<h2>Your written answers</h2>",
            reflections,
            "<h2>Your artifacts, measured by the grader</h2>",
            _checks_section(record),
            "<h2>Your comparison plot</h2>",
            _plot_section(course, learner),
            f"<p>Your name on the class leaderboard: <b>{escape(pseudonym(leaderboard_secret(course), learner))}</b> "
            "(when your instructor shows it with pseudonyms).</p>",
        ]
    versions = ", ".join(f"{name} {version}" for name, version in record.versions.items())
    parts.append(
        f'<p class="muted">Submission sha256 {escape(record.submission_sha256)}. '
        f"Graded {escape(record.started)} with {escape(versions)}.</p>"
    )
    body = "\n".join(parts)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Day 26 feedback: {escape(learner)}'
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def write_feedback(course: Course, out: Path) -> list[Path]:
    """Write ``<out>/<learner>.html`` for every graded or refused learner; return the pages."""
    out.mkdir(parents=True, exist_ok=True)
    pages, titles = [], exercise_titles(course)
    for record in class_records(course):
        page = out / f"{record.learner}.html"
        page.write_text(feedback_page(course, record, titles))
        pages.append(page)
    return pages
