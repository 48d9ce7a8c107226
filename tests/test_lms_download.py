"""An LMS's bulk download mapped to the roster before grading (grading/lms_download.py): Canvas's and
Moodle's file names, late copies, several uploads of one learner, names the roster does not know; and
the late flag reaching the grade record and nbgrader's gradebook."""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from test_lms import ROSTER

from grading.autograde import Course, read_record
from grading.cli import main
from grading.course import ASSIGNMENT, autoflush_warnings_ignored, put_environment_tools_on_path
from grading.lms_download import MANIFEST, lms_submission, unpack_lms_download
from grading.roster import read_roster
from grading.score import copy_scores

DEADLINE = datetime.datetime(2026, 12, 7, 18, 0)
BEFORE, AFTER = (2026, 12, 7, 17, 30, 0), (2026, 12, 7, 19, 15, 0)


def _download(path: Path, entries: dict[str, tuple[bytes, tuple]]) -> Path:
    """A bulk download zip: entry name -> (bytes, the upload time the LMS gives the file)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, (content, when) in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), content)
    return path


@pytest.fixture
def roster(tmp_path):
    (tmp_path / "roster.csv").write_text(ROSTER)
    return read_roster(tmp_path / "roster.csv")


def test_a_canvas_download_keeps_the_newest_copy_on_time_and_flags_late_ones(tmp_path, roster):
    download = _download(tmp_path / "submissions.zip", {
        "leeann_1001_98765_day26.zip": (b"ann on time", BEFORE),
        "leeann_LATE_1001_98790_day26.zip": (b"ann late", AFTER),
        "ngbob_1002_98760_day26.zip": (b"bob first", (2026, 12, 7, 12, 0, 0)),
        "ngbob_1002_98770_day26-1.zip": (b"bob second", BEFORE),
        "roycat_LATE_1003_98800_day26.zip": (b"cat late only", AFTER),
        "stranger_2000_98801_day26.zip": (b"who?", BEFORE),
        "ohdan_1004_98802_01_baseline.ipynb": (b"{}", BEFORE),
        "ohdan_1004_98803_00_start.ipynb": (b"{}", BEFORE),
        "notes.txt": (b"", BEFORE),
    })  # fmt: skip
    unpacked = unpack_lms_download(download, roster, tmp_path / "mapped")
    folder = unpacked.folder
    assert (folder / "ann.zip").read_bytes() == b"ann on time" and not unpacked.late["ann"]
    assert unpacked.set_aside["ann"] == ["leeann_LATE_1001_98790_day26.zip"]  # kept aside, not lost
    assert (folder / "bob.zip").read_bytes() == b"bob second"
    assert (folder / "cat.zip").read_bytes() == b"cat late only" and unpacked.late["cat"]
    assert sorted(path.name for path in (folder / "dan").iterdir()) == ["00_start.ipynb", "01_baseline.ipynb"]
    assert not (folder / "stranger.zip").exists() and not (folder / "leeann_1001_98765_day26.zip").exists()
    assert any("Canvas user 2000 is in no roster row's canvas_id" in line for line in unpacked.unplaced)
    assert any(line.startswith("notes.txt: not named") for line in unpacked.unplaced)
    assert "late (graded, flagged): cat" in unpacked.summary()
    manifest = json.loads((folder / MANIFEST).read_text())
    cat = manifest["learners"]["cat"]
    assert cat["late"] and cat["uploaded"].startswith("2026-12-07T19:15:00")
    assert lms_submission(folder / "cat.zip")["members"] == ["roycat_LATE_1003_98800_day26.zip"]
    assert lms_submission(tmp_path / "elsewhere" / "cat.zip") is None  # a hand-in that did not come that way


def test_a_moodle_download_is_matched_by_name_and_judged_late_by_the_deadline(tmp_path, roster):
    download = _download(tmp_path / "moodle.zip", {
        "Ann Lee_555_assignsubmission_file/day26.zip": (b"ann", BEFORE),
        "Bob Ng_556_assignsubmission_file_day26.zip": (b"bob", AFTER),
        "Zed Zed_557_assignsubmission_file_day26.zip": (b"zed", BEFORE),
        "Eve Li_558_assignsubmission_file/../../escape.zip": (b"eve", BEFORE),
    })  # fmt: skip
    unpacked = unpack_lms_download(download, roster, tmp_path / "mapped", deadline=DEADLINE)
    assert (unpacked.folder / "ann.zip").read_bytes() == b"ann" and not unpacked.late["ann"]
    assert (unpacked.folder / "bob.zip").read_bytes() == b"bob" and unpacked.late["bob"]
    assert any("'Zed Zed' is in no roster row" in line for line in unpacked.unplaced)
    assert any("leaves the learner's folder" in line for line in unpacked.unplaced)
    assert not (tmp_path / "escape.zip").exists() and "eve" not in unpacked.kept
    unpacked_folder = tmp_path / "unzipped"  # the download unpacked by hand reads the same
    with zipfile.ZipFile(download) as archive:
        archive.extractall(unpacked_folder, members=[n for n in archive.namelist() if ".." not in n])
    again = unpack_lms_download(unpacked_folder, roster, tmp_path / "mapped-again")
    assert sorted(again.kept) == ["ann", "bob"]


def test_a_late_submission_time_reaches_the_gradebook_as_nbgrader_counts_lateness(tmp_path):
    put_environment_tools_on_path()
    gradebook = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(gradebook) as book, autoflush_warnings_ignored():
        book.add_assignment(ASSIGNMENT, duedate=DEADLINE)
    empty = f"sqlite:///{tmp_path / 'scratch.db'}"
    with Gradebook(empty):
        pass
    copy_scores(empty, gradebook, "bob", datetime.datetime(*AFTER))
    copy_scores(empty, gradebook, "ann", datetime.datetime(*BEFORE))
    with Gradebook(gradebook) as book:
        assert book.find_submission(ASSIGNMENT, "bob").total_seconds_late == 75 * 60
        assert book.find_submission(ASSIGNMENT, "ann").total_seconds_late == 0


def test_day26_autograde_reads_a_download_with_the_roster_and_records_the_late_flag(day26_home, tmp_path, capsys):
    (tmp_path / "roster.csv").write_text(ROSTER)
    download = _download(tmp_path / "submissions.zip", {
        "roycat_LATE_1003_98800_day26.zip": (_zip_of({"readme.txt": b"no notebooks"}), AFTER),
        "stranger_2000_98801_day26.zip": (b"who?", BEFORE),
    })  # fmt: skip
    root, workspace = Path(__file__).resolve().parents[1], tmp_path / "course"
    options = ["--root", str(root), "--workspace", str(workspace), "--workers", "1"]
    status = main(["autograde", str(download), "--roster", str(tmp_path / "roster.csv"), "--deadline",
                   "2026-12-07T18:00", *options])  # fmt: skip
    shown = capsys.readouterr().out
    assert status == 0 and "late (graded, flagged): cat" in shown and "Canvas user 2000" in shown
    record = read_record(Course(root, workspace), "cat")
    assert record.late and record.submitted.startswith("2026-12-07T19:15:00")
    assert record.lms_files == ["roycat_LATE_1003_98800_day26.zip"]
    assert main(["autograde", str(download), "--roster", str(tmp_path / "roster.csv"), "--deadline", "tomorrow",
                 *options]) == 2  # fmt: skip


def _zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
