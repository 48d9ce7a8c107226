"""An accuracy check that noise cannot decide: the change is measured on paired samples, its
interval comes from the disagreements, and a drop too close to the budget to tell goes to review."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.accuracy_change import clopper_pearson, judge_drop, paired_change


def test_clopper_pearson_matches_the_textbook_values():
    low, high = clopper_pearson(0, 10)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-6)  # 0.3085
    low, high = clopper_pearson(5, 10)
    assert low == pytest.approx(0.1871, abs=1e-4) and high == pytest.approx(0.8129, abs=1e-4)


def _pair(samples: int, lost: int, gained: int, both_right: int):
    """Correctness arrays of a baseline and a candidate on ``samples`` samples."""
    baseline = np.zeros(samples, bool)
    candidate = np.zeros(samples, bool)
    baseline[:lost] = True  # baseline right, candidate wrong
    candidate[lost : lost + gained] = True  # the other way round
    baseline[lost + gained : lost + gained + both_right] = True
    candidate[lost + gained : lost + gained + both_right] = True
    return baseline, candidate


def test_only_the_disagreements_count():
    change = paired_change(*_pair(300, lost=5, gained=2, both_right=280))
    assert (change.lost, change.gained, change.samples) == (5, 2, 300)
    assert change.drop_points == pytest.approx(1.0)
    assert change.baseline_correct == 285 and change.candidate_correct == 282


def test_the_same_predictions_are_sure_to_lose_nothing():
    verdict = judge_drop(paired_change(*_pair(300, 0, 0, 290)), budget_points=0.1)
    assert verdict.passed is True and "sure" in verdict.text and "likely" not in verdict.text


def test_a_drop_over_the_budget_by_a_sample_or_two_goes_to_review_not_to_a_lost_point():
    """300 hidden samples, budget 1 point: 5 lost and 1 gained is 1.33 points, but two of those
    disagreements falling the other way would make it 0.67: the samples cannot tell."""
    verdict = judge_drop(paired_change(*_pair(300, lost=5, gained=1, both_right=280)), budget_points=1.0)
    assert verdict.passed is None and "too close to tell" in verdict.text


def test_a_drop_far_over_the_budget_fails_for_sure():
    verdict = judge_drop(paired_change(*_pair(300, lost=30, gained=2, both_right=250)), budget_points=1.0)
    assert verdict.passed is False and "sure" in verdict.text


def test_a_drop_within_the_budget_passes_and_says_how_sure():
    sure = judge_drop(paired_change(*_pair(1500, lost=3, gained=3, both_right=1000)), budget_points=1.0)
    assert sure.passed is True and sure.text.endswith("sure")
    likely = judge_drop(paired_change(*_pair(300, lost=3, gained=1, both_right=280)), budget_points=1.0)
    assert likely.passed is True and "likely" in likely.text


def test_arrays_of_different_samples_are_refused():
    with pytest.raises(ValueError, match="same samples"):
        paired_change(np.ones(3, bool), np.ones(4, bool))
