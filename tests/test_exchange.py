"""The loop through nbgrader's exchange, as a course hub runs it, without the browser: the instructor
releases the day, learners fetch and submit it (nbgrader's own exchange classes, what the Assignments
tab calls), and `day26 collect` collects every submission for the sandboxed grader with its artifacts
and its time, the newest one before the deadline, and late ones flagged (grading/exchange_collect.py)."""

from __future__ import annotations

import datetime
import json
import time
from pathlib import Path

from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeFetchAssignment, ExchangeReleaseAssignment, ExchangeSubmit
from traitlets.config import Config

from grading.cli import main
from grading.course import ASSIGNMENT, course_config
from grading.lms_download import MANIFEST, lms_submission

ROOT = Path(__file__).resolve().parent.parent


def _learner_config(home: Path, learner: str, exchange: Path) -> Config:
    """What a learner's JupyterLab on the hub gives nbgrader: their home, the course, the exchange, their id."""
    config = Config()
    config.CourseDirectory.root = str(home)
    config.CourseDirectory.course_id = "day26"
    config.CourseDirectory.student_id = learner
    config.CourseDirectory.assignment_id = ASSIGNMENT
    config.Exchange.root = str(exchange)
    config.Exchange.assignment_dir = str(home)  # where fetch puts the day, and submit takes it from
    return config


def _run(exchange_class, config: Config) -> None:
    coursedir = CourseDirectory(config=config)
    exchange_class(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()


def _fetch_work_and_submit(tmp_path: Path, learner: str, exchange: Path, note: str) -> None:
    home = tmp_path / "homes" / learner
    config = _learner_config(home, learner, exchange)
    if not (home / ASSIGNMENT).is_dir():
        _run(ExchangeFetchAssignment, config)
    artifacts = home / ASSIGNMENT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "model.onnx").write_text(note)  # a learner's artifact: the course settings would drop *.onnx
    _run(ExchangeSubmit, config)


def test_submissions_go_through_the_exchange_and_are_collected_with_artifacts_and_times(tmp_path, day26_home):
    workspace = tmp_path / "course"
    config = course_config(ROOT, workspace)
    config.CourseDirectory.assignment_id = ASSIGNMENT
    exchange = Path(config.Exchange.root)
    _run(ExchangeReleaseAssignment, config)  # the formgrader's Release button
    _fetch_work_and_submit(tmp_path, "ann", exchange, "ann, on time")
    _fetch_work_and_submit(tmp_path, "bob", exchange, "bob, on time")
    time.sleep(1.1)
    deadline = datetime.datetime.now()
    time.sleep(1.1)
    _fetch_work_and_submit(tmp_path, "bob", exchange, "bob, after the deadline")
    _fetch_work_and_submit(tmp_path, "cat", exchange, "cat, after the deadline")
    assert (tmp_path / "homes" / "ann" / ASSIGNMENT / "05_combined.ipynb").is_file()  # fetched as released

    options = ["--root", str(ROOT), "--workspace", str(workspace), "--json"]
    assert main(["collect", *options, "--deadline", deadline.isoformat(timespec="seconds")]) == 0
    collected = workspace / "collected"
    assert (collected / "bob" / ASSIGNMENT / "artifacts" / "model.onnx").read_text() == "bob, on time"
    assert (collected / "cat" / ASSIGNMENT / "artifacts" / "model.onnx").read_text() == "cat, after the deadline"
    assert (collected / "ann" / ASSIGNMENT / "01_baseline.ipynb").is_file()
    learners = json.loads((collected / MANIFEST).read_text())["learners"]
    assert {learner: entry["late"] for learner, entry in learners.items()} == {"ann": False, "bob": False, "cat": True}
    cat = lms_submission(collected / "cat")  # what day26 autograde reads into the grade record
    assert cat["late"] and datetime.datetime.fromisoformat(cat["uploaded"]) > deadline.astimezone()
