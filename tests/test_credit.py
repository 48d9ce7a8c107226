"""Partial credit: a test cell's points split over the verifier's checks (``[credit]`` in helpers/targets.toml)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grading.score import VERIFIED_CELLS, verifier_points
from grading.verify import Check, Verdict
from helpers.errors import Day26Error
from helpers.targets import credit_split

ROOT = Path(__file__).resolve().parents[1]
COMBINED = next(cell for cell in VERIFIED_CELLS if cell.grade_id == "05-test-9")


def _points_in_the_notebooks() -> dict[str, float]:
    points = {}
    for path in (ROOT / "solutions" / "day26").glob("0*.ipynb"):
        for cell in json.loads(path.read_text())["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            if meta.get("grade") and cell["cell_type"] == "code":
                points[meta["grade_id"]] = float(meta["points"])
    return points


def _verdict(*checks: Check) -> Verdict:
    return Verdict("learner", "images", list(checks))


def _combined(size: bool | None = True, speed: bool | None = True, accuracy: bool = True, size_required=True):
    return _verdict(
        Check("optimized.onnx", "structure", "300,000 weights", "< 1,105,807", True),
        Check(
            "optimized.onnx",
            "size",
            "13.10x smaller",
            ">= 10x",
            size,
            "" if size else "not small enough",
            13.1,
            size_required,
        ),
        Check(
            "optimized.onnx",
            "accuracy",
            "97.67% (+0.67 pts)",
            "lose <= 1 pts",
            accuracy,
            "" if accuracy else "too much accuracy lost",
        ),
        Check(
            "optimized.onnx",
            "speed",
            "7.90x faster",
            ">= 8x",
            speed,
            {
                True: "",
                False: "not fast enough: remove channels",
                None: "within 10% of the target: an instructor decides",
            }[speed],
            7.9,
        ),
    )


def test_every_split_adds_up_to_its_cells_points_and_names_checks_the_cell_has():
    points, split = _points_in_the_notebooks(), credit_split()
    assert split, "helpers/targets.toml has no [credit] table"
    for grade_id, shares in split.items():
        cell = next(c for c in VERIFIED_CELLS if c.grade_id == grade_id)
        assert sum(shares.values()) == points[grade_id], grade_id
        assert not cell.checks or set(shares) <= set(cell.checks), (grade_id, shares, cell.checks)


def test_three_of_four_checks_earn_their_points_and_the_reason_says_what_the_fourth_needs():
    points, reason = verifier_points(COMBINED, 5.0, _combined(speed=False))
    assert points == 2.5
    assert (
        "speed 7.90x faster, needs >= 8x" in reason
        and "0 of 2.5" in reason
        and "size 13.10x smaller: 2.5 of 2.5" in reason
    )
    assert verifier_points(COMBINED, 5.0, _combined())[0] == 5.0
    assert verifier_points(COMBINED, 5.0, _combined(size=False, speed=False))[0] == 0.0


def test_accuracy_is_a_condition_so_a_broken_or_untouched_model_earns_nothing():
    points, reason = verifier_points(COMBINED, 5.0, _combined(accuracy=False))
    assert points == 0.0 and "accuracy" in reason and "condition for all 5 points" in reason
    refused = _verdict(Check("optimized.onnx", "file", "refused", "safe, loadable", False, "not an ONNX file"))
    assert verifier_points(COMBINED, 5.0, refused)[0] == 0.0


def test_a_check_the_track_does_not_require_gives_its_points_to_the_required_ones():
    # stocks: size is not a target, so it passes by itself and must not earn points on its own
    assert verifier_points(COMBINED, 5.0, _combined(speed=False, size_required=False))[0] == 0.0
    assert verifier_points(COMBINED, 5.0, _combined(size_required=False))[0] == 5.0
    # the verifier does not measure a size the track does not require (stocks): speed carries the cell
    unmeasured = _combined(speed=False)
    unmeasured.checks = [check for check in unmeasured.checks if check.name != "size"]
    assert verifier_points(COMBINED, 5.0, unmeasured)[0] == 0.0
    unmeasured.checks[-1].passed = True
    assert verifier_points(COMBINED, 5.0, unmeasured)[0] == 5.0


def test_a_speed_inside_the_guard_band_leaves_the_cell_to_an_instructor_with_the_certain_points():
    points, reason = verifier_points(COMBINED, 5.0, _combined(speed=None))
    assert points is None and "2.5 of 5 points are certain" in reason and "instructor decides" in reason


def test_a_split_that_does_not_add_up_is_named_in_one_line():
    with pytest.raises(Day26Error, match=r'targets.toml: \[credit."05-test-9"\] gives 6 points'):
        verifier_points(COMBINED, 5.0, _combined(), split={"size": 3, "speed": 3})


def test_a_cell_without_a_split_stays_all_or_nothing():
    assert verifier_points(COMBINED, 5.0, _combined(speed=False), split={})[0] == 0.0
