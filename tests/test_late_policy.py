"""The late policy's arithmetic and its one line of text (grading/late_policy.py)."""

from __future__ import annotations

import datetime

import pytest

from grading.late_policy import LatePolicy, late_deduction, parse_late_policy, read_late_policy, write_late_policy
from helpers.errors import Day26Error

DUE = datetime.datetime(2026, 12, 7, 18, 0, tzinfo=datetime.UTC)
HOUR = 3600


@pytest.mark.parametrize(
    ("text", "policy"),
    [
        ("none", LatePolicy()),
        ("zero", LatePolicy(100.0, "day", 0.0)),
        ("10%/day", LatePolicy(10.0, "day", 0.0)),
        (" 2.5 % / hour ", LatePolicy(2.5, "hour", 0.0)),
        ("10%/day, floor 50%", LatePolicy(10.0, "day", 50.0)),
    ],
)
def test_a_policy_reads_from_its_line_and_writes_back_the_same_line(text, policy):
    assert parse_late_policy(text) == policy
    assert parse_late_policy(str(policy)) == policy


@pytest.mark.parametrize("text", ["", "10", "10%", "10%/week", "0%/day", "150%/day", "10%/day, floor 100%"])
def test_a_policy_that_cannot_be_read_says_how_to_write_one(text):
    with pytest.raises(Day26Error, match="late policy"):
        parse_late_policy(text)


def test_each_started_day_or_hour_costs_its_share_down_to_the_floor():
    daily = LatePolicy(10.0, "day", 50.0)
    assert daily.deduction(20.0, 0) == 0
    assert daily.deduction(20.0, 1) == 2.0  # one second late: one started day
    assert daily.deduction(20.0, 24 * HOUR) == 2.0
    assert daily.deduction(20.0, 24 * HOUR + 1) == 4.0
    assert daily.deduction(20.0, 30 * 24 * HOUR) == 10.0  # never below half
    assert LatePolicy(2.0, "hour").deduction(25.0, 90 * 60) == 1.0  # two started hours, 4 %
    assert parse_late_policy("zero").deduction(25.0, 1) == 25.0
    assert LatePolicy().deduction(25.0, 10 * 24 * HOUR) == 0  # none: flagged only


def test_the_time_late_comes_from_the_submission_time_and_the_due_date():
    policy = parse_late_policy("10%/day")
    on_time = late_deduction(policy, False, "2026-12-07T17:00:00+00:00", DUE, 20.0)
    assert on_time.points == 0 and not on_time.unknown
    late = late_deduction(policy, True, "2026-12-07T20:00:00+01:00", DUE, 20.0)  # 18:00 UTC + 1 h
    assert late.points == 2.0 and "late by 1.0 h" in late.note
    unknown = late_deduction(policy, True, "2026-12-07T20:00:00+00:00", None, 20.0)  # an LMS's _LATE_, no due date
    assert unknown.unknown and unknown.points == 0 and "--deadline" in unknown.note
    assert not late_deduction(LatePolicy(), True, "", None, 20.0).unknown  # nothing to deduct, nothing to know


def test_the_policy_is_kept_in_the_course_folder(tmp_path):
    assert read_late_policy(tmp_path) == LatePolicy()
    write_late_policy(tmp_path, parse_late_policy("10%/day, floor 50%"))
    assert str(read_late_policy(tmp_path)) == "10%/day, floor 50%"
    (tmp_path / "late-policy.json").write_text("{not json")
    with pytest.raises(Day26Error, match=r"late-policy\.json: not a late policy"):
        read_late_policy(tmp_path)
