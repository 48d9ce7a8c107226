"""Feedback: one self-contained HTML page per learner, from their grading record.

The page shows how the submission ended, every verifier check with the learner's figure, the
threshold and a reason they can act on, the points of each autograded cell (and where the
notebook's own test said otherwise), and the comparison plot the learner drew. Everything
comes from the record and the executed folder: nothing is re-measured, nothing from the
learner is trusted as markup (all text is escaped, the plot is embedded only if it is a PNG).
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from grading.autograde import REFUSED, Course, class_records
from grading.records import GradeRecord
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


def _cells_section(record: GradeRecord) -> str:
    rows = []
    for cell in record.cells:
        points = "instructor decides" if cell.verifier_points is None else f"{cell.verifier_points:g}"
        said = "did not run" if cell.notebook_points is None else f"{cell.notebook_points:g}"
        note = "your notebook's test gave a different result" if cell.disagrees else ""
        rows.append(
            [escape(cell.grade_id), f"{points} / {cell.max_points:g}", escape(cell.reason), escape(said), escape(note)]
        )
    return _table(["test cell", "points (verified by the grader)", "why", "your notebook's test", ""], rows)


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


def feedback_page(course: Course, record: GradeRecord) -> str:
    """The HTML page for one learner's record."""
    learner = record.learner
    parts = [f"<h1>Day 26 feedback: {escape(learner)}</h1>", f"<p>Status: <b>{escape(record.status)}</b></p>"]
    reasons = learner_facing_reasons(record)
    if reasons:
        parts.append("<ul>" + "".join(f"<li>{escape(reason)}</li>" for reason in reasons) + "</ul>")
    if record.status != REFUSED:
        parts += [
            f"<h2>Autograded points: {record.points:g} / {record.max_points:g}</h2>",
            "<p>The grader re-measured your artifacts in a separate process (hidden test data, its own timings); "
            "its result decides the points. Your written reflections are graded by hand.</p>",
            _cells_section(record),
            "<h2>Your artifacts, measured by the grader</h2>",
            _checks_section(record),
            "<h2>Your comparison plot</h2>",
            _plot_section(course, learner),
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
    pages = []
    for record in class_records(course):
        page = out / f"{record.learner}.html"
        page.write_text(feedback_page(course, record))
        pages.append(page)
    return pages
