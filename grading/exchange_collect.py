"""Hand-ins from nbgrader's exchange (the Assignments tab of a course hub), collected for the grader.

On a hub, learners fetch the day and submit it from JupyterLab's Assignments tab; each submission
lands in the exchange's inbound folder with nbgrader's timestamp. :func:`collect_from_exchange` runs
nbgrader's own collect, with two changes from the course's settings:

- it keeps every file of a submission, the artifacts included (the course's settings leave ``*.pth``
  and ``*.onnx`` out of what nbgrader copies, so an instructor's files never overwrite a learner's);
- it collects into ``course/collected/`` (not nbgrader's submitted folder, which ``day26 autograde``
  fills itself), and it takes each learner's newest submission before the due date when there is one,
  else their newest (nbgrader's ``before_duedate``).

It then records beside them, as for an LMS download (:mod:`grading.lms_download`), when each was
submitted and whether after the due date, so the grade record and the gradebook carry the late flag.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeError
from nbgrader.exchange.default import ExchangeCollect
from nbgrader.utils import parse_utc

from grading.autograde import Course
from grading.course import ASSIGNMENT, course_config, put_environment_tools_on_path
from grading.lms_download import write_manifest
from helpers.errors import Day26Error

COLLECTED = "collected"
KEEP_EVERYTHING = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]  # nbgrader's own default ignore


def due_date(course: Course) -> datetime.datetime | None:
    """The assignment's due date in the gradebook (UTC, with its zone), or None."""
    put_environment_tools_on_path()
    with Gradebook(course.db_url) as book:
        try:
            due = book.find_assignment(ASSIGNMENT).duedate
        except MissingEntry:
            return None
    return due.replace(tzinfo=datetime.UTC) if due is not None else None


def collect_from_exchange(course: Course) -> Path:
    """Collect every learner's submission of the day from the exchange into ``course/collected/``, with
    a record of when each was submitted and whether late; return that folder."""
    folder = course.workspace / COLLECTED
    config = course_config(course.root, course.workspace)
    config.CourseDirectory.submitted_directory = os.path.relpath(folder, course.root)
    config.CourseDirectory.ignore = KEEP_EVERYTHING
    config.ExchangeCollect.before_duedate = True
    config.CourseDirectory.assignment_id = ASSIGNMENT
    collect = ExchangeCollect(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                              config=config)  # fmt: skip
    try:
        collect.start()  # nbgrader's own collect (the formgrader's Collect button comes here too)
    except ExchangeError as error:
        raise Day26Error(f"nbgrader collect from {config.Exchange.root}: {error or 'it failed'}") from None
    due = due_date(course)
    learners = {}
    for learner in sorted(path.name for path in folder.iterdir() if path.is_dir()) if folder.is_dir() else []:
        stamp = folder / learner / ASSIGNMENT / "timestamp.txt"
        submitted = parse_utc(stamp.read_text().strip()).replace(tzinfo=datetime.UTC) if stamp.is_file() else None
        learners[learner] = {
            "uploaded": submitted.isoformat() if submitted else "",
            "late": bool(submitted and due and submitted > due),
            "members": [f"exchange: {learner}'s submission of {ASSIGNMENT}"],
            "set_aside": [],
        }
    folder.mkdir(parents=True, exist_ok=True)
    write_manifest(folder, f"nbgrader exchange {config.Exchange.root}", due, learners, [])
    return folder
