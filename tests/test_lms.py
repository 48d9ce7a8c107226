"""Grades for Canvas and Moodle, and the roster they are mapped with (grading/lms.py, grading/roster.py).

A small class is built the cheap way: an nbgrader gradebook made with nbgrader.api (the assignment,
one autograded cell and one reflection) and grading records written with grading.records. The
files written are read back by each format's own rules.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from grading.autograde import Course
from grading.cli import main
from grading.course import ASSIGNMENT, autoflush_warnings_ignored, put_environment_tools_on_path
from grading.grades import COLUMNS
from grading.lms import CANVAS_COLUMNS, lms_grades, write_canvas, write_moodle
from grading.records import GRADED, REFUSED, REVIEW, GradeRecord, write_record
from grading.roster import ROSTER_COLUMNS, read_roster, write_names_to_gradebook
from grading.score import VERIFIED_CELLS
from helpers.errors import Day26Error

ROOT = Path(__file__).resolve().parents[1]
TEST_CELL = VERIFIED_CELLS[0]  # an autograded cell: its points are the verified ones
REFLECTION = "00-reflection"  # any other graded cell is a reflection, graded by hand
MAX_POINTS = 6.0  # 4 for the test cell, 2 for the reflection

# learner -> (status, test cell points, reflection points or None when not graded by hand yet)
CLASS = {
    "ann": (GRADED, 4.0, 1.5),
    "bob": (REVIEW, 4.0, 2.0),
    "cat": (REFUSED, None, None),
    "dan": (GRADED, 3.0, None),
}
ROSTER = """learner,first_name,last_name,email,canvas_id,sis_user_id,sis_login_id,section,moodle_idnumber
ann,Ann,Lee,ann.lee@example.edu,1001,S-1,alee,Section A,M-1
bob,Bob,Ng,bob.ng@example.edu,1002,S-2,bng,Section A,M-2
cat,Cat,Roy,cat.roy@example.edu,1003,S-3,croy,Section B,M-3
dan,Dan,Oh,dan.oh@example.edu,1004,S-4,doh,Section B,M-4
eve,Eve,Li,eve.li@example.edu,1005,S-5,eli,Section B,M-5
"""


def _build_gradebook(path: Path) -> None:
    put_environment_tools_on_path()  # nbgrader runs alembic from PATH
    with Gradebook(f"sqlite:///{path}") as book, autoflush_warnings_ignored():
        book.add_assignment(ASSIGNMENT)
        book.add_notebook(TEST_CELL.notebook, ASSIGNMENT)
        book.add_grade_cell(TEST_CELL.grade_id, TEST_CELL.notebook, ASSIGNMENT, max_score=4, cell_type="code")
        book.add_grade_cell(REFLECTION, TEST_CELL.notebook, ASSIGNMENT, max_score=2, cell_type="markdown")
        book.add_solution_cell(REFLECTION, TEST_CELL.notebook, ASSIGNMENT)  # the formgrader's comment box
        for learner, (status, test_points, reflection_points) in CLASS.items():
            if status == REFUSED:
                continue  # nothing of a refused submission reaches the gradebook
            book.add_student(learner)
            book.add_submission(ASSIGNMENT, learner)
            book.find_grade(TEST_CELL.grade_id, TEST_CELL.notebook, ASSIGNMENT, learner).manual_score = test_points
            book.find_grade(REFLECTION, TEST_CELL.notebook, ASSIGNMENT, learner).manual_score = reflection_points
            book.find_comment(REFLECTION, TEST_CELL.notebook, ASSIGNMENT, learner).manual_comment = f"Dear {learner}"
        book.db.commit()


def _write_records(course: Course) -> None:
    reasons = {
        REVIEW: ["05_combined: out of time: a cell ran longer than the time limit"],
        REFUSED: ["refused at intake"],
    }
    for learner, (status, _, _) in CLASS.items():
        record = GradeRecord(
            learner=learner, status=status, reasons=reasons.get(status, []), submission_sha256="0" * 64
        )
        write_record(course.record(learner), record)


@pytest.fixture(scope="module")
def class_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class's gradebook, built once (nbgrader takes about 5 s to create a gradebook file)."""
    path = tmp_path_factory.mktemp("gradebook") / "gradebook.db"
    _build_gradebook(path)
    return path


@pytest.fixture
def course(tmp_path: Path, class_gradebook: Path) -> Course:
    """A workspace with a copy of the class's gradebook and the records of ann (graded), bob (needs
    review), cat (refused) and dan (graded, reflection not graded by hand yet); eve is in the roster only."""
    course = Course(tmp_path, tmp_path / "course")
    course.workspace.mkdir()
    shutil.copyfile(class_gradebook, course.gradebook)
    _write_records(course)
    return course


@pytest.fixture
def roster_file(tmp_path: Path) -> Path:
    assert ROSTER.splitlines()[0] == ",".join(ROSTER_COLUMNS)  # the columns the README documents
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return path


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


# --- Canvas -----------------------------------------------------------------------------------


def test_the_canvas_file_reads_back_by_canvas_import_rules(course, roster_file, tmp_path):
    out = write_canvas(lms_grades(course, read_roster(roster_file)), tmp_path / "canvas.csv", "4242")
    header, points_possible, *learners = _read_csv(out)
    # Canvas's importer: "Student" and "ID" first, SIS User ID then SIS Login ID, Section last of the learner columns
    assert tuple(header[:5]) == CANVAS_COLUMNS == ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
    title, assignment_id = re.fullmatch(r"(.*)\s\((\d+)\)", header[5]).groups()  # Canvas's title_and_id
    assert (title, assignment_id, len(header)) == ("Day 26", "4242", 6)
    assert "Points Possible" in points_possible[0] and points_possible[1:5] == ["", "", "", ""]
    assert float(points_possible[5]) == MAX_POINTS
    assert [row[1] for row in learners] == ["1001", "1002", "1003", "1004", "1005"]  # one row per roster learner
    assert all(len(row) == len(header) for row in learners)
    by_id = {row[1]: row for row in learners}
    assert by_id["1001"] == ["Lee, Ann", "1001", "S-1", "alee", "Section A", "5.5"]  # 4 verified + 1.5 reflection
    assert by_id["1004"][5] == "3"  # graded; its reflection counts 0 so far (said in its note)
    for needs_review_refused_or_absent in ("1002", "1003", "1005"):
        assert by_id[needs_review_refused_or_absent][5] == ""


def test_without_an_assignment_id_the_canvas_column_is_the_title(course, roster_file, tmp_path):
    out = write_canvas(lms_grades(course, read_roster(roster_file)), tmp_path / "canvas.csv")
    assert _read_csv(out)[0][5] == "Day 26"  # Canvas matches the title, or creates the assignment


def test_canvas_needs_an_identifier_for_every_learner(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        ROSTER.replace("bob,Bob,Ng,bob.ng@example.edu,1002,S-2,bng,", "bob,Bob,Ng,bob.ng@example.edu,,,,")
    )
    with pytest.raises(Day26Error) as error:
        write_canvas(lms_grades(course, read_roster(roster)), tmp_path / "canvas.csv")
    assert str(error.value).startswith(f"{roster}: no canvas_id, sis_user_id or sis_login_id for bob (line 3).")
    assert not (tmp_path / "canvas.csv").exists()


# --- Moodle -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_field", "column", "identifier"),
    [("email", "Email address", "ann.lee@example.edu"), ("idnumber", "ID number", "M-1")],
)
def test_the_moodle_file_reads_back_by_moodle_import_rules(
    course, roster_file, tmp_path, user_field, column, identifier
):
    out = write_moodle(lms_grades(course, read_roster(roster_file)), tmp_path / "moodle.csv", user_field)
    header, *learners = _read_csv(out)
    assert header == [column, "First name", "Last name", "Day 26"]  # the user column to map from, one grade item
    assert len(learners) == 5 and all(len(row) == 4 and row[0] for row in learners)  # Moodle stops at an unknown user
    assert learners[0] == [identifier, "Ann", "Lee", "5.5"]
    grades = {row[1]: row[3] for row in learners}
    assert grades == {"Ann": "5.5", "Bob": "", "Cat": "", "Dan": "3", "Eve": ""}


# --- which points go out ------------------------------------------------------------------------


def test_learners_left_empty_are_each_named_in_one_line(course, roster_file):
    notes = lms_grades(course, read_roster(roster_file)).notes()
    assert len(notes) == 4 and all("\n" not in note for note in notes)
    bob, cat, dan, eve = notes
    assert bob.startswith("bob: needs review, grade left empty (05_combined: out of time")
    assert cat.startswith("cat: refused, grade left empty (refused at intake")
    assert dan.startswith("dan: 1 reflection not graded by hand yet") and "3/6" in dan
    assert eve == "eve: no graded submission, grade left empty"


def test_a_graded_learner_missing_from_the_roster_stops_the_export(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(line for line in ROSTER.splitlines() if not line.startswith(("bob", "dan"))) + "\n")
    with pytest.raises(Day26Error) as error:
        lms_grades(course, read_roster(roster))
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{roster}: not in the roster, 2 learners with a grading record")
    assert message.endswith("bob, dan")


# --- the roster ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("learner,first_name,last_name\nann,Ann,Lee\n", "line 1: missing columns email, canvas_id"),
        (ROSTER + "ann,Ann,Again,,,,,,\n", "line 7: duplicate learner 'ann' (also on line 2)"),
        (ROSTER.replace("\ncat,", "\n,"), "line 4: the learner id is empty"),
        (ROSTER.replace("dan.oh@", "cat.roy@"), "line 5: duplicate email 'cat.roy@example.edu' (also on line 4)"),
        (ROSTER.replace(",1003,", ",C1003,"), "line 4: canvas_id 'C1003' is not Canvas's numeric user id"),
        (ROSTER.replace("\neve,", "\nEve Li,"), "line 6: 'Eve Li' is not a learner id"),
        (ROSTER.splitlines()[0] + "\n", "no learners in it"),
        ("", "empty"),
    ],
)
def test_a_roster_mistake_is_one_line_naming_the_file_and_the_line(tmp_path, text, expected):
    roster = tmp_path / "roster.csv"
    roster.write_text(text)
    with pytest.raises(Day26Error) as error:
        read_roster(roster)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{roster}") and expected in message


def test_a_roster_may_carry_a_byte_order_mark_blank_lines_and_other_columns(tmp_path):
    roster = tmp_path / "roster.csv"
    lines = ROSTER.splitlines()
    roster.write_text("\ufeff" + lines[0] + ",notes\n" + lines[1] + ",first row\n,,,,,,,,,\n", encoding="utf-8")
    (ann,) = read_roster(roster).entries
    assert (ann.learner, ann.full_name, ann.canvas_id, ann.line) == ("ann", "Ann Lee", "1001", 2)


def test_the_roster_names_land_in_the_gradebook(course, roster_file):
    assert write_names_to_gradebook(read_roster(roster_file), course.db_url) == 5
    with Gradebook(course.db_url) as book:
        names = {s.id: (s.first_name, s.last_name, s.email) for s in book.students}
        assert names["ann"] == ("Ann", "Lee", "ann.lee@example.edu")
        assert names["eve"] == ("Eve", "Li", "eve.li@example.edu")  # not graded yet: listed with their name
        assert len(book.find_submission(ASSIGNMENT, "ann").notebooks) == 1  # the grades are untouched


# --- the commands -------------------------------------------------------------------------------


def _day26(course: Course, *arguments: str) -> int:
    return main([*arguments, "--root", str(course.root), "--workspace", str(course.workspace)])


def test_day26_grades_writes_each_format_and_says_who_is_left_empty(course, roster_file, capsys):
    assert _day26(course, "grades", "--format", "canvas", "--roster", str(roster_file)) == 0
    printed = capsys.readouterr().out
    assert "bob: needs review, grade left empty" in printed and "cat: refused, grade left empty" in printed
    assert _read_csv(course.workspace / "grades-canvas.csv")[1][0] == "Points Possible"
    assert (
        _day26(course, "grades", "--format", "moodle", "--roster", str(roster_file), "--moodle-user", "idnumber") == 0
    )
    assert "maximum grade is 6" in capsys.readouterr().out
    assert _read_csv(course.workspace / "grades-moodle.csv")[0][0] == "ID number"
    assert _day26(course, "grades") == 0  # the generic CSV, as before
    assert tuple(_read_csv(course.workspace / "grades.csv")[0]) == COLUMNS


def test_day26_grades_and_roster_say_what_is_wrong_in_one_line(course, roster_file, capsys):
    assert _day26(course, "grades", "--format", "canvas") == 2
    assert capsys.readouterr().err.startswith("day26 grades: error: --format canvas needs --roster ROSTER.csv")
    assert _day26(course, "grades", "--roster", str(roster_file)) == 2
    assert "--roster goes with --format canvas or moodle" in capsys.readouterr().err
    missing = course.root / "nowhere.csv"
    assert _day26(course, "roster", str(missing)) == 2
    assert capsys.readouterr().err == f"day26 roster: error: {missing}: no such roster file.\n"


def test_day26_roster_names_the_gradebook_it_wrote(course, roster_file, capsys):
    assert _day26(course, "roster", str(roster_file)) == 0
    printed = capsys.readouterr().out
    assert f"names and emails of 5 learners from {roster_file} in the gradebook {course.gradebook}" in printed


# --- the feedback page agrees with the export ---------------------------------------------------


def test_the_feedback_page_names_exercises_shows_comments_and_the_total_the_lms_receives(course, roster_file):
    from html import unescape

    from grading.feedback import exercise_titles, feedback_page
    from grading.leaderboard import build_leaderboard
    from grading.records import read_record
    from grading.score import CellScore

    record = read_record(course.record("ann"))
    record.cells = [CellScore(TEST_CELL.grade_id, TEST_CELL.notebook, 4.0, 4.0, 4.0, "verified")]
    page = feedback_page(Course(ROOT, course.workspace), record)
    titles = exercise_titles(Course(ROOT, course.workspace))
    assert titles["05_combined"] == "Exercise 5 · Combined optimization"  # its heading, without the time
    assert f"{titles[TEST_CELL.notebook]}: {TEST_CELL.artifact}" in unescape(page)  # as the notebook names it
    lms = next(grade for grade in lms_grades(course, read_roster(roster_file)).grades if grade.entry.learner == "ann")
    assert f"Total: {lms.points:g} / {MAX_POINTS:g}" in page  # 4 + 1.5: what the Canvas or Moodle file holds
    assert "Dear ann" in page and "1.5 / 2" in page  # the written answer's points and the instructor's comment
    build_leaderboard(course, naming="pseudonym")
    from grading.leaderboard import leaderboard_secret, pseudonym

    assert pseudonym(leaderboard_secret(course), "ann") in page


# --- the late policy ------------------------------------------------------------------------------


def _late(course: Course, learner: str, submitted: str) -> None:
    from grading.records import read_record

    record = read_record(course.record(learner))
    record.late, record.submitted = True, submitted
    write_record(course.record(learner), record)


def test_a_late_hand_in_loses_what_the_late_policy_says_in_the_grades_the_lms_file_and_the_feedback(
    course, roster_file, tmp_path, capsys
):
    import datetime

    from grading.feedback import feedback_page
    from grading.grades import grade_rows
    from grading.records import read_record

    _late(course, "ann", "2026-12-08T20:30:00+00:00")  # 26.5 h after the due date: 2 started days
    assert _day26(course, "late-policy") == 0 and "late policy: none" in capsys.readouterr().out
    assert {row["learner"]: row["total"] for row in grade_rows(course)}["ann"] == 5.5  # flagged only
    assert _day26(course, "late-policy", "10%/day, floor 50%") == 0
    assert "loses 10 % of its points per started day late, never below 50 %" in capsys.readouterr().out

    unknown = next(row for row in grade_rows(course) if row["learner"] == "ann")  # no due date anywhere yet
    assert unknown["late_unknown"] and unknown["late_deduction"] == 0
    grades = {grade.entry.learner: grade for grade in lms_grades(course, read_roster(roster_file)).grades}
    assert grades["ann"].points is None and "late, by a time unknown" in grades["ann"].note

    with Gradebook(course.db_url) as book, autoflush_warnings_ignored():  # the formgrader's due date (UTC)
        book.update_or_create_assignment(ASSIGNMENT, duedate=datetime.datetime(2026, 12, 7, 18, 0))
    ann = next(row for row in grade_rows(course) if row["learner"] == "ann")
    assert (ann["late"], ann["late_deduction"], ann["total"], ann["late_unknown"]) == (True, 1.1, 4.4, "")
    out = write_canvas(lms_grades(course, read_roster(roster_file)), tmp_path / "canvas.csv")
    assert {row[1]: row[5] for row in _read_csv(out)[2:]}["1001"] == "4.4"  # 5.5 less 20 %
    page = feedback_page(Course(ROOT, course.workspace), read_record(course.record("ann")))
    assert "Total: 4.4 / 6" in page and "1.1 points deducted for handing in late" in page
    assert "loses 10 % of its points per started day late" in page
    dan = next(row for row in grade_rows(course) if row["learner"] == "dan")  # on time: untouched
    assert (dan["late"], dan["late_deduction"], dan["total"]) == (False, 0.0, 3.0)

    _late(course, "ann", "2026-12-12T18:00:01+00:00")  # 5 days and a second: the floor holds
    assert next(row for row in grade_rows(course) if row["learner"] == "ann")["total"] == 2.75
    assert _day26(course, "late-policy", "zero") == 0
    assert next(row for row in grade_rows(course) if row["learner"] == "ann")["total"] == 0
    assert _day26(course, "late-policy", "ten percent") == 2
    assert "write none, zero, a rate such as 10%/day" in capsys.readouterr().err
